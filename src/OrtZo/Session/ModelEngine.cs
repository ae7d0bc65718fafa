using OrtZo.Engine;
using OrtZo.Onnx.Model;
using OrtZo.Runtime;
using OrtZo.WeightStore;

namespace OrtZo.Session;

/// <summary>
/// What a <see cref="ZoModel"/> owns: its weights on their device with their passes (<see cref="WeightEngine"/>,
/// including a trainer's held-back pass) and the ONNX Runtime session bound to those very buffers. A trainer
/// drives it; evaluation, saving, export and generation settle it directly.
/// </summary>
internal sealed class ModelEngine : IDisposable
{
    private ScoringSession? _session;

    public ModelEngine(ModelFolder folder, IWeightBackend backend, ZoDevice device, int threads)
    {
        Folder = folder;
        Weights = new WeightEngine(backend);
        Device = device;
        Threads = threads;
    }

    /// <summary>Opens the backend that <paramref name="device"/> names over weights loaded on the host (it takes them over).</summary>
    public static IWeightBackend CreateBackend(CpuSlab weights, ZoDevice device, int threads)
    {
        if (device.Kind == DeviceKind.Cpu) return new CpuWeightBackend(weights, threads);
        // fail before any device memory is taken when the CUDA provider cannot be had in this build or on this machine
        ExecutionProviders.EnsureAvailable(device, probeDevice: false);   // the backend opens the context itself
        try
        {
            return new Cuda.CudaWeightBackend(weights, device.Index);
        }
        catch (Cuda.CudaUnavailableException e)
        {
            throw OptionErrors.Device(DeviceError.NoDriver, $"device {device}: {e.Message}");
        }
    }

    public ModelFolder Folder { get; }
    public WeightEngine Weights { get; }
    public ZoDevice Device { get; }
    public int Threads { get; }

    public void Settle() => Weights.Settle();

    /// <summary>A scoring session able to run at least rows × seq; recreated (rarely) when a batch outgrows it.</summary>
    public ScoringSession Session(int rows, int seq)
    {
        if (_session is { } s && s.MaxRows >= rows && s.MaxSeq >= seq) return s;
        int maxRows = Math.Max(rows, _session?.MaxRows ?? 0);
        int maxSeq = Math.Min(Folder.Manifest.MaxLength, Math.Max(seq, _session?.MaxSeq ?? 0));
        _session?.Dispose();
        _session = null;
        _session = new ScoringSession(Folder, Weights.Backend, Device, maxRows, maxSeq, Threads);
        return _session;
    }

    public void Dispose()
    {
        _session?.Dispose();
        Weights.Dispose();
    }
}
