using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OrtZo.Engine;
using OrtZo.Tasks;
using OrtZo.Training;

namespace OrtZo;

/// <summary>
/// Fine-tunes a <see cref="ZoModel"/> on a task with a zeroth-order optimizer. Each <see cref="Step"/> runs the
/// model forward a few times on the next training batch and updates the weights in place; the caller owns
/// the loop, evaluation and checkpoints. The trainer drives the model's engine (it owns nothing the model
/// needs afterwards): while it lives, evaluating, saving or exporting the model applies its pending update.
/// </summary>
/// <example>
/// <code>
/// using var model = ZoModel.Open("models/tiny-gpt");
/// var train = TaskData.Load("train.jsonl", "jsonl");
/// using var trainer = new ZoTrainer(model, train, new ZoOptions { Optimizer = ZoOptimizer.SparseMeZO, LearningRate = 1e-4 });
/// for (int i = 0; i &lt; 500; i++) trainer.Step();
/// model.Save("out/final");
/// </code>
/// </example>
public sealed class ZoTrainer : IDisposable
{
    private readonly ZoModel _model;
    private readonly TrainingEngine _engine;
    private readonly BatchOrder _order;
    private readonly LocalLosses _localLosses;
    private readonly IReadOnlyList<float> _ratios;
    private readonly string _dataFingerprint;
    private readonly Stopwatch _clock = new();
    private double _elapsedBefore;

    /// <summary>Starts a run at step 0 from the model's current weights.</summary>
    public ZoTrainer(ZoModel model, TaskData train, ZoOptions options) : this(model, train, options, resume: null) { }

    private ZoTrainer(ZoModel model, TaskData train, ZoOptions options, (string Folder, RunState State)? resume)
    {
        options.Validate();
        if (train.Count == 0) throw OptionErrors.Fail(OptionError.Unusable, "train", "the training data has no examples");
        _model = model;
        Options = options;
        var encoded = model.Encode(train);
        _dataFingerprint = Fingerprint(train);
        var weights = model.ReadWeights();
        var manifest = model.Folder.Manifest;
        if (resume is { } saved && saved.State.TensorRatios.Count != weights.Layout.Slots.Count)
            throw CheckpointErrors.Fail(CheckpointError.ThresholdsMismatch, Path.Combine(saved.Folder, RunState.FileName), "tensor_ratios",
                $"{saved.State.TensorRatios.Count} per-tensor thresholds for a model of {weights.Layout.Slots.Count} tensors: the checkpoint is of another model");
        _ratios = resume?.State.TensorRatios ?? TrainingPlan.ComputeRatios(manifest, weights, options);
        var groups = model.Folder.CreateGroups(weights.Layout);
        _engine = model.Engine.Weights.BeginTraining(TrainingPlan.Tensors(manifest, weights, options, _ratios), TrainingPlan.StateBuffers(options),
            TrainingPlan.Settings(options), groups.Names.Select(groups.SlotsOf).ToList());
        try
        {
            _order = new BatchOrder(train.Count, options.Seed);
            MicroBatches = new MicroBatchScorer(model, train, encoded, options);
            _localLosses = new LocalLosses(MicroBatches);
            if (resume is { } r)
            {
                Checkpoint.Load(r.Folder, _engine);
                StepIndex = r.State.Step;
                _engine.Step.UpdatesApplied = r.State.UpdatesApplied;
                SkippedSteps = r.State.SkippedSteps;
                Forwards = r.State.Forwards;
                _elapsedBefore = r.State.ElapsedSeconds;
            }
        }
        catch
        {
            model.Engine.Weights.EndTraining(_engine);
            throw;
        }
    }

    /// <summary>
    /// Continues a run from a checkpoint written by <see cref="SaveCheckpoint(string)"/>: loads its weights into
    /// <paramref name="model"/> and its optimizer state, so the run goes on bit for bit as if never stopped.
    /// </summary>
    /// <param name="options">Options to continue with; only <see cref="ZoOptions.TotalSteps"/> may differ from the checkpoint's (null keeps them).</param>
    public static ZoTrainer Resume(string checkpoint, ZoModel model, TaskData train, ZoOptions? options = null)
    {
        var state = Checkpoint.ReadState(checkpoint);
        var opts = options ?? state.Options;
        string saved = JsonSerializer.Serialize(state.Options with { TotalSteps = 1 }, RunState.Json);
        string given = JsonSerializer.Serialize(opts with { TotalSteps = 1 }, RunState.Json);
        if (saved != given)
            throw CheckpointErrors.Fail(CheckpointError.OptionsDiffer, Path.Combine(checkpoint, RunState.FileName), "options",
                $"the run was started with other options; resuming needs the same ones (only the step count may grow).\n  checkpoint: {saved}\n  given:      {given}");
        if (state.BaseModel != model.BaseModelKey)
            throw CheckpointErrors.Fail(CheckpointError.ModelDiffers, Path.Combine(checkpoint, RunState.FileName), "base_model",
                $"the run trained {state.BaseModel ?? "all weights of a model"}; this model is {model.BaseModelKey ?? "opened without PEFT"}; " +
                "resuming needs the same base model and adapter options");
        string fingerprint = Fingerprint(train);
        if (fingerprint != state.DataFingerprint)
            throw CheckpointErrors.Fail(CheckpointError.DataDiffers, Path.Combine(checkpoint, RunState.FileName), "data_fingerprint",
                $"the training data differs from the run's ({state.DataFingerprint} vs {fingerprint})");
        return new ZoTrainer(model, train, opts, (checkpoint, state));
    }

    public ZoOptions Options { get; }

    /// <summary>Steps taken so far (the index of the next step).</summary>
    public long StepIndex { get; private set; }

    /// <summary>Steps whose loss was NaN/Inf, skipped with the weights restored.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Forward passes run by steps so far.</summary>
    public long Forwards { get; private set; }

    /// <summary>Engine memory besides the weights: Sparse-MeZO mask bits and optimizer state, in bytes.</summary>
    public long ExtraMemoryBytes => _engine.Buffers.ExtraBytes;

    /// <summary>Weights the optimizer moves (elements of non-frozen tensors).</summary>
    public long TrainableParameters => _engine.Buffers.TrainableElementCount;

    /// <summary>Weight passes run so far (a fused restore-update-perturb pass counts once).</summary>
    public long WeightPassCount => _engine.Passes.PassCount;

    /// <summary>Wall time spent in steps, including before a resume.</summary>
    public TimeSpan Elapsed => TimeSpan.FromSeconds(_elapsedBefore) + _clock.Elapsed;

    /// <summary>The scorer of the current step's micro-batches (a distributed replica's loss source scores through it).</summary>
    internal MicroBatchScorer MicroBatches { get; }

    /// <summary>Takes one ZO step on the next training batch.</summary>
    public StepResult Step() => Step(_localLosses);

    /// <summary>Takes one ZO step whose probe losses come from <paramref name="losses"/> (a distributed replica's source).</summary>
    internal StepResult Step(IStepLosses losses)
    {
        long step = StepIndex;
        long started = Stopwatch.GetTimestamp();
        _clock.Start();
        try
        {
            MicroBatches.Begin(step, _order);
            double lr = LearningRates.At(Options, step);
            var outcome = _engine.Step.Run(step, (float)lr, losses);
            StepIndex = step + 1;
            Forwards += outcome.Forwards;
            if (outcome.Skipped) SkippedSteps++;
            return new StepResult(step, outcome.Loss, outcome.ProjectedGradient, outcome.Skipped, lr, outcome.Forwards,
                Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            _clock.Stop();
        }
    }

    /// <summary>SHA-256 of the settled weights and optimizer state, in hex: equal digests mean bit-identical replicas.</summary>
    internal string WeightsDigest() => _engine.Digest();

    /// <summary>Evaluates the current weights (the held-back update is applied first).</summary>
    public EvalResult Evaluate(TaskData data, int batchSize = 16) => _model.Evaluate(data, batchSize);

    /// <summary>Writes a checkpoint folder from which <see cref="Resume"/> continues bit for bit.</summary>
    public void SaveCheckpoint(string folder) => SaveCheckpoint(folder, null);

    /// <param name="notes">The caller's own numbers to keep with the checkpoint (the CLI's best dev loss); read back with <see cref="ReadCheckpointNotes"/>.</param>
    /// <param name="afterFile">Called with each file's path once written (a seam for crash tests).</param>
    internal void SaveCheckpoint(string folder, IReadOnlyDictionary<string, double>? notes, Action<string>? afterFile = null) =>
        Checkpoint.Write(folder, _engine, CurrentState(notes), afterFile);

    /// <summary>The notes a checkpoint was saved with (empty when none).</summary>
    internal static IReadOnlyDictionary<string, double> ReadCheckpointNotes(string checkpoint) =>
        Checkpoint.ReadState(checkpoint).Notes ?? new Dictionary<string, double>();

    internal RunState CurrentState(IReadOnlyDictionary<string, double>? notes) => new()
    {
        Step = StepIndex,
        UpdatesApplied = _engine.Step.UpdatesApplied,
        SkippedSteps = SkippedSteps,
        Forwards = Forwards,
        Options = Options,
        TensorRatios = _ratios,
        DataFingerprint = _dataFingerprint,
        Model = _model.FolderPath,
        BaseModel = _model.BaseModelKey,
        Notes = notes,
        ElapsedSeconds = Elapsed.TotalSeconds,
    };

    internal static string Fingerprint(TaskData data)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var e in data.Examples)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(e.Prompt));
            sha.AppendData([0]);
            foreach (var c in e.Candidates)
            {
                sha.AppendData(Encoding.UTF8.GetBytes(c));
                sha.AppendData([1]);
            }
            sha.AppendData(BitConverter.GetBytes(e.Gold));
        }
        return $"{data.Count}:{Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant()}";
    }

    /// <summary>Applies the pending update and detaches from the model, which keeps the trained weights.</summary>
    public void Dispose()
    {
        if (_model.Engine.Weights.Training == _engine) _model.Engine.Weights.EndTraining(_engine);
    }
}
