using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OrtZo.Session;
using OrtZo.Tasks;
using OrtZo.Training;
using OrtZo.Zo;

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
    private readonly TrainingProbe _probe = new();
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
    public StepResult Step()
    {
        long step = StepIndex;
        long started = Stopwatch.GetTimestamp();
        _clock.Start();
        try
        {
            _order.Fill(step, _batch);
            var which = _train.TrainAsClassification || Options.Objective == ZoObjective.Accuracy ? CandidateRows.All : CandidateRows.GoldOnly;
            var shape = ScoringBatcher.Measure(_encoded, _batch, which, _model.MaxLength);
            int seq = Math.Max(2, shape.SequenceLength);
            var session = _model.Session(shape.Rows, seq);
            ScoringBatcher.Fill(_encoded, _batch, which, _model.MaxLength, _model.Tokenizer.PadId ?? 0,
                session.InputIds(shape.Rows, seq), session.AttentionMask(shape.Rows, seq), session.LabelMask(shape.Rows, seq), _rows);
            _probe.Bind(session, shape.Rows, seq, _rows.AsMemory(0, shape.Rows), _train.TrainAsClassification, Options.Objective);
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

    /// <summary>The loss of the bound batch at the current weights.</summary>
    private sealed class TrainingProbe : ILossProbe
    {
        private ScoringSession? _session;
        private int _rows, _seq;
        private ReadOnlyMemory<ScoringRow> _rowInfo;
        private bool _classification;
        private ZoObjective _objective;
        private Prediction[] _predictions = [];

        public void Bind(ScoringSession session, int rows, int seq, ReadOnlyMemory<ScoringRow> rowInfo, bool classification, ZoObjective objective)
        {
            _session = session;
            _rows = rows;
            _seq = seq;
            _rowInfo = rowInfo;
            _classification = classification;
            _objective = objective;
            if (_predictions.Length < rows) _predictions = new Prediction[rows];
        }

        public double Loss()
        {
            _session!.Run(_rows, _seq);
            if (_objective == ZoObjective.Accuracy)
            {
                int n = TaskMetrics.Predict(_rowInfo.Span, _session.MeanLogprob(_rows), _predictions);
                return -TaskMetrics.Accuracy(_predictions.AsSpan(0, n));
            }
            return TaskLoss.Compute(_classification, _rowInfo.Span, _session.SumLogprob(_rows), _session.MeanLogprob(_rows));
        }
    }
}
