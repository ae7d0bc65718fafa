using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OrtZo.Session;
using OrtZo.Tasks;
using OrtZo.Training;
using OrtZo.Engine;

namespace OrtZo;

/// <summary>
/// Fine-tunes a <see cref="ZoModel"/> on a task with a zeroth-order optimizer. Each <see cref="Step"/> runs the
/// model forward a few times on the next training batch and updates the weights in place; the caller owns
/// the loop, evaluation and checkpoints.
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
    private readonly TaskData _train;
    private readonly EncodedExample[] _encoded;
    private readonly WeightBuffers _buffers;
    private readonly CpuPassRunner _runner;
    private readonly WeightPasses _passes;
    private readonly ZoStep _step;
    private readonly BatchOrder _order;
    private readonly int[] _batch;
    private readonly ScoringRow[] _rows;
    private readonly TrainingProbe _probe;
    private readonly LocalStepLosses _localLosses = new();
    private readonly IReadOnlyList<float> _ratios;
    private readonly string _dataFingerprint;
    private readonly Stopwatch _clock = new();
    private double _elapsedBefore;

    /// <summary>Starts a run at step 0 from the model's current weights.</summary>
    public ZoTrainer(ZoModel model, TaskData train, ZoOptions options) : this(model, train, options, resume: null) { }

    private ZoTrainer(ZoModel model, TaskData train, ZoOptions options, (string Folder, RunState State)? resume)
    {
        options.Validate();
        if (train.Count == 0) throw new ArgumentException("the training data has no examples", nameof(train));
        if (model.BeforeWeightsRead is not null) throw new InvalidOperationException("this model already has a trainer");
        _model = model;
        _train = train;
        Options = options;
        _encoded = model.Encode(train);
        _dataFingerprint = Fingerprint(train);
        _probe = new TrainingProbe(this);
        _ratios = resume?.State.TensorRatios ?? TrainingPlan.ComputeRatios(model.Folder.Manifest, model.Slab, options);
        var tensors = TrainingPlan.Tensors(model.Folder.Manifest, model.Slab, options, _ratios);
        _buffers = new WeightBuffers(model.Slab, tensors, TrainingPlan.StateBuffers(options));
        try
        {
            _runner = new CpuPassRunner(_buffers, model.Threads);
            _passes = new WeightPasses(_runner);
            var groups = model.Folder.CreateGroups(model.Slab.Layout);
            _step = new ZoStep(_passes, TrainingPlan.Settings(options), groups.Names.Select(groups.SlotsOf).ToList());
            _order = new BatchOrder(train.Count, options.Seed);
            _batch = new int[options.BatchSize];
            int maxCandidates = _encoded.Max(e => e.CandidateCount);
            _rows = new ScoringRow[options.BatchSize * maxCandidates];
            int longest = _encoded.Max(e => e.Rows.Max(r => r.Length));
            int seq = Math.Min(model.MaxLength, (longest + ScoringBatcher.LengthMultiple - 1) / ScoringBatcher.LengthMultiple * ScoringBatcher.LengthMultiple);
            model.Session(_rows.Length, Math.Max(2, seq));
            if (resume is { } r)
            {
                Checkpoint.Load(r.Folder, _buffers);
                StepIndex = r.State.Step;
                _step.UpdatesApplied = r.State.UpdatesApplied;
                SkippedSteps = r.State.SkippedSteps;
                Forwards = r.State.Forwards;
                _elapsedBefore = r.State.ElapsedSeconds;
            }
            model.BeforeWeightsRead = _step.Settle;
        }
        catch
        {
            _runner?.Dispose();
            _buffers.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Continues a run from a checkpoint written by <see cref="SaveCheckpoint"/>: loads its weights into
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
            throw new ArgumentException($"{Path.Combine(checkpoint, RunState.FileName)}: the run was started with other options; resuming needs the same ones (only the step count may grow).\n  checkpoint: {saved}\n  given:      {given}");
        if (state.BaseModel != model.BaseModelKey)
            throw new ArgumentException($"{Path.Combine(checkpoint, RunState.FileName)}: the run trained {state.BaseModel ?? "all weights of a model"}; " +
                                        $"this model is {model.BaseModelKey ?? "opened without PEFT"}; resuming needs the same base model and adapter options");
        string fingerprint = Fingerprint(train);
        if (fingerprint != state.DataFingerprint)
            throw new ArgumentException($"{Path.Combine(checkpoint, RunState.FileName)}: the training data differs from the run's ({state.DataFingerprint} vs {fingerprint})");
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
    public long ExtraMemoryBytes => _buffers.ExtraBytes;

    /// <summary>Weights the optimizer moves (elements of non-frozen tensors).</summary>
    public long TrainableParameters => _buffers.TrainableElementCount;

    /// <summary>Weight passes run so far (a fused restore-update-perturb pass counts once).</summary>
    public long WeightPassCount => _passes.PassCount;

    /// <summary>Wall time spent in steps, including before a resume.</summary>
    public TimeSpan Elapsed => TimeSpan.FromSeconds(_elapsedBefore) + _clock.Elapsed;

    /// <summary>Takes one ZO step on the next training batch.</summary>
    public StepResult Step() => Step(_localLosses);

    /// <summary>Takes one ZO step whose probe losses come from <paramref name="losses"/> (a distributed replica's source).</summary>
    internal StepResult Step(IStepLossSource losses)
    {
        long step = StepIndex;
        long started = Stopwatch.GetTimestamp();
        _clock.Start();
        try
        {
            _order.Fill(step, _batch);
            _probe.Begin(step, losses);
            double lr = LearningRates.At(Options, step);
            var outcome = _step.Run(step, (float)lr, _probe);
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

    /// <summary>
    /// SHA-256 of the settled weights and optimizer state, in hex: equal digests mean bit-identical replicas.
    /// </summary>
    internal unsafe string WeightsDigest()
    {
        _step.Settle();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(sha, _buffers.Slab.BasePointer, _buffers.Slab.ByteLength);
        if (_buffers.State1 is { } s1) Append(sha, s1.Pointer, s1.ByteLength);
        if (_buffers.State2 is { } s2) Append(sha, s2.Pointer, s2.ByteLength);
        sha.AppendData(BitConverter.GetBytes(_step.UpdatesApplied));
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();

        // spans hold at most 2 GiB; weights may be larger
        static void Append(IncrementalHash sha, byte* data, long length)
        {
            for (long done = 0; done < length; done += 1 << 30)
                sha.AppendData(new ReadOnlySpan<byte>(data + done, (int)Math.Min(1 << 30, length - done)));
        }
    }

    /// <summary>Evaluates the current weights (the held-back update is applied first).</summary>
    public EvalResult Evaluate(TaskData data, int batchSize = 16) => _model.Evaluate(data, batchSize);

    /// <summary>Writes a checkpoint folder from which <see cref="Resume"/> continues bit for bit.</summary>
    public void SaveCheckpoint(string folder, double? bestDevLoss = null, long? bestStep = null) => SaveCheckpoint(folder, bestDevLoss, bestStep, null);

    internal void SaveCheckpoint(string folder, double? bestDevLoss, long? bestStep, Action<string>? afterFile)
    {
        _step.Settle();
        Checkpoint.Write(folder, _buffers, CurrentState(bestDevLoss, bestStep), afterFile);
    }

    internal RunState CurrentState(double? bestDevLoss, long? bestStep) => new()
    {
        Step = StepIndex,
        UpdatesApplied = _step.UpdatesApplied,
        SkippedSteps = SkippedSteps,
        Forwards = Forwards,
        Options = Options,
        TensorRatios = _ratios,
        DataFingerprint = _dataFingerprint,
        Model = _model.FolderPath,
        BaseModel = _model.BaseModelKey,
        BestDevLoss = bestDevLoss,
        BestStep = bestStep,
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

    public void Dispose()
    {
        _step.Settle();
        _model.BeforeWeightsRead = null;
        _runner.Dispose();
        _buffers.Dispose();
    }

    /// <summary>
    /// The probe ZoStep calls: hands each probe point to the step's loss source, and scores micro-batches on
    /// demand, laying a micro-batch out in the session only when it is scored (a replaying replica never is).
    /// </summary>
    private sealed class TrainingProbe(ZoTrainer trainer) : ILossProbe, IMicroBatchScorer
    {
        private IStepLossSource _source = null!;
        private long _step;
        private int _probeIndex;
        private int _laidOut = -1;
        private ScoringSession? _session;
        private int _rows, _seq;
        private Prediction[] _predictions = [];

        public int Count => trainer.Options.MicroBatches;

        public void Begin(long step, IStepLossSource source)
        {
            _step = step;
            _source = source;
            _probeIndex = 0;
            _laidOut = -1;
        }

        public double Loss() => _source.Loss(_step, _probeIndex++, this);

        public void Resolve(Span<double> losses) => _source.Resolve(_step, losses);

        double IMicroBatchScorer.Loss(int microBatch)
        {
            if (_laidOut != microBatch) LayOut(microBatch);
            _session!.Run(_rows, _seq);
            if (trainer.Options.Objective == ZoObjective.Accuracy)
            {
                if (_predictions.Length < _rows) _predictions = new Prediction[_rows];
                int n = TaskMetrics.Predict(trainer._rows.AsSpan(0, _rows), _session.MeanLogprob(_rows), _predictions);
                return -TaskMetrics.Accuracy(_predictions.AsSpan(0, n));
            }
            return TaskLoss.Compute(trainer._train.TrainAsClassification, trainer._rows.AsSpan(0, _rows), _session.SumLogprob(_rows), _session.MeanLogprob(_rows));
        }

        private void LayOut(int microBatch)
        {
            var model = trainer._model;
            var (start, end) = MicroBatches.Range(trainer._batch.Length, Count, microBatch);
            ReadOnlySpan<int> selection = trainer._batch.AsSpan(start, end - start);
            var which = trainer._train.TrainAsClassification || trainer.Options.Objective == ZoObjective.Accuracy ? CandidateRows.All : CandidateRows.GoldOnly;
            var shape = ScoringBatcher.Measure(trainer._encoded, selection, which, model.MaxLength);
            _rows = shape.Rows;
            _seq = Math.Max(2, shape.SequenceLength);
            _session = model.Session(_rows, _seq);
            ScoringBatcher.Fill(trainer._encoded, selection, which, model.MaxLength, model.Tokenizer.PadId ?? 0,
                _session.InputIds(_rows, _seq), _session.AttentionMask(_rows, _seq), _session.LabelMask(_rows, _seq), trainer._rows);
            _laidOut = microBatch;
        }
    }
}
