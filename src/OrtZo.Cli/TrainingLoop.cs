using System.Diagnostics;
using System.Text.Json;
using OrtZo.Onnx.Model;
using OrtZo.WeightStore;
using OrtZo.Cli.Plots;

using OrtZo;
using OrtZo.Training;

namespace OrtZo.Cli;

/// <summary>Settings of a whole training run as <c>ortzo train</c> drives it.</summary>
internal sealed record TrainingRunSettings
{
    public required string OutputFolder { get; init; }
    public required long Steps { get; init; }
    /// <summary>Evaluate on dev (and keep the best model) every this many steps; 0 = only at the end.</summary>
    public long EvalEvery { get; init; }
    /// <summary>Write a resumable checkpoint every this many steps; 0 = at eval points and the end.</summary>
    public long CheckpointEvery { get; init; }
    public long LogEvery { get; init; } = 1;
    public int EvalBatchSize { get; init; } = 16;
    public bool Resume { get; init; }
    /// <summary>
    /// Stop the run at once when a step's loss is not finite or exceeds this many times the run's start (the higher of
    /// its dev loss before training and its first step's loss); null = never. A sweep sets it so a diverging trial
    /// costs no more.
    /// </summary>
    public double? DivergenceFactor { get; init; }
    /// <summary>Write curves.png beside metrics.jsonl at the end (default).</summary>
    public bool DrawCurves { get; init; } = true;
}

/// <summary>Progress of a run, reported after every step.</summary>
internal readonly record struct TrainingProgress(long Step, long TotalSteps, double Loss, double StepsPerSecond, double? DevLoss, double? DevAccuracy);

/// <summary>What a finished run measured.</summary>
internal sealed record TrainingSummary
{
    public required long Steps { get; init; }
    public required long SkippedSteps { get; init; }
    public required long Forwards { get; init; }
    public required double Seconds { get; init; }
    public required double StepsPerSecond { get; init; }
    public required double LastLoss { get; init; }
    public double? InitialDevLoss { get; init; }
    public double? InitialDevAccuracy { get; init; }
    public double? BestDevLoss { get; init; }
    public long? BestStep { get; init; }
    public double? FinalDevLoss { get; init; }
    public double? FinalDevAccuracy { get; init; }
    public double? TestAccuracy { get; init; }
    public double? TestLoss { get; init; }
    public string? TestModel { get; init; }
    public required long TrainableParameters { get; init; }
    public required long ExtraMemoryBytes { get; init; }
    public required long PeakWorkingSetBytes { get; init; }
    /// <summary>SHA-256 of the final weights, optimizer state and update count: equal digests, bit-identical runs.</summary>
    public required string WeightsDigest { get; init; }
    /// <summary>Why the run ended before its last step (divergence), or null when it ran to the end or was cancelled.</summary>
    public string? StoppedReason { get; init; }
}

/// <summary>
/// The run <c>ortzo train</c> performs: steps with JSONL metrics, dev evaluation and best-model selection by
/// dev loss (MeZO's load_best_model_at_end), periodic checkpoints, a final model and a test evaluation.
/// Layout of the output folder: metrics.jsonl, checkpoint/, best/ (with dev data), final/, summary.json, curves.png.
/// </summary>
internal static class TrainingLoop
{
    public const string MetricsFile = "metrics.jsonl";
    public const string CheckpointFolder = "checkpoint";
    public const string SummaryFile = "summary.json";

    public static TrainingSummary Run(ZoModel model, TaskData train, TaskData? dev, TaskData? test, ZoOptions options,
        TrainingRunSettings run, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        string outDir = Path.GetFullPath(run.OutputFolder);
        Directory.CreateDirectory(outDir);
        string checkpointDir = Path.Combine(outDir, CheckpointFolder);
        string metricsPath = Path.Combine(outDir, MetricsFile);
        ModelFolder.RecoverReplace(checkpointDir);
        bool resuming = run.Resume && File.Exists(Path.Combine(checkpointDir, RunState.FileName));
        if (!run.Resume && File.Exists(Path.Combine(checkpointDir, RunState.FileName)))
            throw CheckpointErrors.Fail(CheckpointError.RunExists, Path.Combine(checkpointDir, RunState.FileName), null,
                "the output folder already holds a run", hint: "pass --resume to continue it, or choose another --out");

        double? bestLoss = null, initialDevLoss = null, initialDevAcc = null, finalDevLoss = null, finalDevAcc = null;
        long? bestStep = null;
        long lastEvalStep = -1;
        double? startLoss = null;
        string? stoppedReason = null;
        using var trainer = resuming
            ? ZoTrainer.Resume(checkpointDir, model, train, options)
            : new ZoTrainer(model, train, options);
        if (resuming)
        {
            var notes = ZoTrainer.ReadCheckpointNotes(checkpointDir);
            if (notes.TryGetValue(BestDevLossNote, out double b)) bestLoss = b;
            if (notes.TryGetValue(BestStepNote, out double bs)) bestStep = (long)bs;
            TruncateMetrics(metricsPath, trainer.StepIndex);
            if (notes.TryGetValue(StartLossNote, out double sl)) startLoss = sl;
            if (notes.TryGetValue(DivergedNote, out _))
                stoppedReason = ReadStoppedReason(outDir);
        }
        else
        {
            File.Delete(metricsPath);
            if (dev is not null)
            {
                var d0 = trainer.Evaluate(dev, run.EvalBatchSize);
                (initialDevLoss, initialDevAcc) = (d0.Loss, d0.Accuracy);
                startLoss = d0.Loss;
                AppendMetrics(metricsPath, new { step = 0L, dev_loss = d0.Loss, dev_accuracy = d0.Accuracy });
            }
        }

        using var metrics = new StreamWriter(metricsPath, append: true) { AutoFlush = false };
        var clock = Stopwatch.StartNew();
        long startStep = trainer.StepIndex;
        double lastLoss = double.NaN;
        long checkpointEvery = run.CheckpointEvery > 0 ? run.CheckpointEvery : run.EvalEvery;
        while (stoppedReason is null && trainer.StepIndex < run.Steps && !cancel.IsCancellationRequested)
        {
            var r = trainer.Step();
            lastLoss = r.Loss;
            long done = trainer.StepIndex;
            // The start is the higher of the dev loss before training and the first step's loss (the base model on its
            // first batch): either alone can be a lucky low estimate on few examples, and a false alarm stops a good run.
            if (done == 1 && double.IsFinite(r.Loss)) startLoss = Math.Max(startLoss ?? r.Loss, r.Loss);
            if (run.DivergenceFactor is { } factor)
            {
                if (!double.IsFinite(r.Loss))
                    stoppedReason = $"diverged: loss not finite at step {done}";
                else if (startLoss is { } start && r.Loss > factor * start)
                    stoppedReason = $"diverged: loss {r.Loss:G4} > {factor:G3} × start {start:G4} at step {done}";
            }
            if (run.LogEvery > 0 && (done % run.LogEvery == 0 || done == run.Steps))
                metrics.WriteLine(JsonSerializer.Serialize(new
                {
                    step = done,
                    loss = Finite(r.Loss),
                    projected_grad = Finite(r.ProjectedGradient),
                    lr = r.LearningRate,
                    skipped = r.Skipped,
                    step_ms = r.Elapsed.TotalMilliseconds,
                }));
            double? devLoss = null, devAcc = null;
            bool evalNow = stoppedReason is null && dev is not null && run.EvalEvery > 0 && done % run.EvalEvery == 0;
            if (evalNow)
            {
                var d = trainer.Evaluate(dev!, run.EvalBatchSize);
                (devLoss, devAcc) = (d.Loss, d.Accuracy);
                (finalDevLoss, finalDevAcc, lastEvalStep) = (d.Loss, d.Accuracy, done);
                metrics.WriteLine(JsonSerializer.Serialize(new { step = done, dev_loss = d.Loss, dev_accuracy = d.Accuracy }));
                if (double.IsFinite(d.Loss) && (bestLoss is null || d.Loss < bestLoss))
                {
                    bestLoss = d.Loss;
                    bestStep = done;
                    model.Save(Path.Combine(outDir, "best"));
                }
            }
            if (stoppedReason is null && checkpointEvery > 0 && done % checkpointEvery == 0 && done < run.Steps)
            {
                metrics.Flush();
                trainer.SaveCheckpoint(checkpointDir, Notes(bestLoss, bestStep, startLoss, diverged: false));
            }
            double rate = (done - startStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            progress?.Invoke(new TrainingProgress(done, run.Steps, r.Loss, rate, devLoss, devAcc));
        }
        metrics.Flush();

        if (dev is not null && lastEvalStep != trainer.StepIndex)
        {
            var d = trainer.Evaluate(dev, run.EvalBatchSize);
            (finalDevLoss, finalDevAcc) = (d.Loss, d.Accuracy);
            metrics.WriteLine(JsonSerializer.Serialize(new { step = trainer.StepIndex, dev_loss = d.Loss, dev_accuracy = d.Accuracy }));
            metrics.Flush();
            if (double.IsFinite(d.Loss) && (bestLoss is null || d.Loss < bestLoss))
            {
                bestLoss = d.Loss;
                bestStep = trainer.StepIndex;
                model.Save(Path.Combine(outDir, "best"));
            }
        }
        trainer.SaveCheckpoint(checkpointDir, Notes(bestLoss, bestStep, startLoss, diverged: stoppedReason is not null));
        model.Save(Path.Combine(outDir, "final"));

        double? testAcc = null, testLoss = null;
        string? testModel = null;
        if (test is not null)
        {
            // MeZO reports the test accuracy of the model chosen by dev loss.
            if (dev is not null && bestStep is not null && bestStep != trainer.StepIndex)
            {
                using var best = ZoModel.Open(Path.Combine(outDir, "best"), model.Device, model.Threads);
                var t = best.Evaluate(test, run.EvalBatchSize);
                (testAcc, testLoss, testModel) = (t.Accuracy, t.Loss, "best");
            }
            else
            {
                var t = trainer.Evaluate(test, run.EvalBatchSize);
                (testAcc, testLoss, testModel) = (t.Accuracy, t.Loss, dev is null ? "final" : "best");
            }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var summary = new TrainingSummary
        {
            Steps = trainer.StepIndex,
            SkippedSteps = trainer.SkippedSteps,
            Forwards = trainer.Forwards,
            Seconds = seconds,
            StepsPerSecond = (trainer.StepIndex - startStep) / Math.Max(1e-9, seconds),
            LastLoss = lastLoss,
            InitialDevLoss = initialDevLoss,
            InitialDevAccuracy = initialDevAcc,
            BestDevLoss = bestLoss,
            BestStep = bestStep,
            FinalDevLoss = finalDevLoss,
            FinalDevAccuracy = finalDevAcc,
            TestAccuracy = testAcc,
            TestLoss = testLoss,
            TestModel = testModel,
            TrainableParameters = trainer.TrainableParameters,
            ExtraMemoryBytes = trainer.ExtraMemoryBytes,
            PeakWorkingSetBytes = Process.GetCurrentProcess().PeakWorkingSet64,
            WeightsDigest = trainer.WeightsDigest(),
            StoppedReason = stoppedReason,
        };
        AtomicFile.WriteAllText(Path.Combine(outDir, SummaryFile), JsonSerializer.Serialize(summary, RunState.Json) + "\n");
        if (run.DrawCurves) DrawCurves(outDir);
        return summary;
    }

    /// <summary>
    /// curves.png, after everything else is saved; a machine whose drawing library cannot load loses the picture,
    /// not the run: the reason goes to stderr and `ortzo plot` can draw it later.
    /// </summary>
    private static void DrawCurves(string outDir)
    {
        try
        {
            CurvesFigure.Write([RunCurves.Read(outDir)], Path.Combine(outDir, CurvesFigure.FileName));
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            Console.Error.WriteLine($"warning: {CurvesFigure.FileName} not drawn: the drawing library (SkiaSharp) did not load: {e.GetBaseException().Message}");
        }
    }

    /// <summary>The run loop's own state kept in each checkpoint, so a resumed run keeps its best-so-far model.</summary>
    private const string BestDevLossNote = "best_dev_loss", BestStepNote = "best_step", StartLossNote = "start_loss", DivergedNote = "diverged";

    private static Dictionary<string, double>? Notes(double? bestLoss, long? bestStep, double? startLoss, bool diverged)
    {
        var notes = new Dictionary<string, double>();
        if (bestLoss is { } b && bestStep is { } s) (notes[BestDevLossNote], notes[BestStepNote]) = (b, s);
        if (startLoss is { } start) notes[StartLossNote] = start;
        if (diverged) notes[DivergedNote] = 1;
        return notes.Count == 0 ? null : notes;
    }

    /// <summary>A diverged run stays stopped when resumed: its reason is read back from the summary it wrote.</summary>
    private static string ReadStoppedReason(string outDir)
    {
        string path = Path.Combine(outDir, SummaryFile);
        if (File.Exists(path))
        {
            var summary = JsonSerializer.Deserialize<TrainingSummary>(File.ReadAllText(path), RunState.Json);
            if (summary?.StoppedReason is { } reason) return reason;
        }
        return "diverged";
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static void AppendMetrics(string path, object line) => File.AppendAllText(path, JsonSerializer.Serialize(line) + "\n");

    /// <summary>On resume, drops metric lines of steps after the checkpoint: the resumed run writes them again.</summary>
    private static void TruncateMetrics(string path, long step)
    {
        if (!File.Exists(path)) return;
        var kept = File.ReadLines(path).Where(line =>
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                return doc.RootElement.TryGetProperty("step", out var s) && s.GetInt64() <= step;
            }
            catch (JsonException)
            {
                return false;   // a line torn by the kill
            }
        }).ToList();
        AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join("\n", kept) + "\n");
    }
}
