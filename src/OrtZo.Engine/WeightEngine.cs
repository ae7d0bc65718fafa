using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>
/// A model's weights and their passes under one owner. The backend holds the weights on their device; while a
/// trainer runs, its <see cref="TrainingEngine"/> holds the step's held-back pass. Whatever reads the weights
/// (evaluation, saving, export, generation) goes through <see cref="Settle"/> or <see cref="ReadHost"/>, so a
/// held-back update is applied first — without anything being installed on the model from outside.
/// </summary>
internal sealed class WeightEngine(IWeightBackend backend) : IDisposable
{
    public IWeightBackend Backend { get; } = backend;

    public SlabLayout Layout => Backend.Layout;

    /// <summary>The training plan in force, or null when no trainer is attached.</summary>
    public TrainingEngine? Training { get; private set; }

    public TrainingEngine BeginTraining(IReadOnlyList<TrainableTensor> tensors, int stateBuffers, ZoSettings settings,
        IReadOnlyList<IReadOnlyList<int>> blocks)
    {
        if (Training is not null) throw new InvalidOperationException("this model already has a trainer; dispose it before starting another");
        Training = TrainingEngine.Create(Backend, tensors, stateBuffers, settings, blocks);
        return Training;
    }

    /// <summary>Settles and releases a plan started by <see cref="BeginTraining"/>.</summary>
    public void EndTraining(TrainingEngine training)
    {
        if (!ReferenceEquals(training, Training)) throw new InvalidOperationException("that training plan does not belong to this model");
        Training = null;
        training.Dispose();
    }

    /// <summary>Leaves θ on the device: applies a held-back update, if any.</summary>
    public void Settle() => Training?.Settle();

    /// <summary>The settled weights in host memory.</summary>
    public CpuSlab ReadHost()
    {
        Settle();
        Backend.Download();
        return Backend.Host;
    }

    public void Dispose()
    {
        if (Training is { } t)
        {
            Training = null;
            t.Dispose();
        }
        Backend.Dispose();
    }
}
