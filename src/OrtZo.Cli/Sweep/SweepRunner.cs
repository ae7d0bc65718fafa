using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OrtZo.Cli.Plots;
using OrtZo.WeightStore;

namespace OrtZo.Cli.Sweep;

/// <summary>Everything a sweep needs besides its plan.</summary>
internal sealed record SweepSettings
{
    public required string OutputFolder { get; init; }
    /// <summary>Options of every trial; each trial sets its learning rate and ε. TotalSteps is the full run length, so a
    /// schedule is the same whether a trial stops at a low rung or not.</summary>
    public required ZoOptions BaseOptions { get; init; }
    /// <summary>The run settings of a trial (eval interval, checkpoints, log); the sweep sets the folder, steps, resume and divergence.</summary>
    public required TrainingRunSettings TrialRun { get; init; }
    public required double DivergenceFactor { get; init; }
    public required JsonElement Spec { get; init; }
    public bool Resume { get; init; }
    public bool KeepAll { get; init; }
}

/// <summary>
/// Runs a successive-halving sweep: every trial is an ordinary <see cref="TrainingLoop"/> run in
/// <c>&lt;out&gt;/trials/&lt;name&gt;</c>; promotion resumes it from its checkpoint to the next rung's steps, a killed sweep
/// picks up from <c>sweep.json</c> and the trials' checkpoints, and a diverging trial stops at once.
/// </summary>
internal sealed class SweepRunner(SweepSettings settings, IReadOnlyList<Bracket> plan, Func<ZoModel> openModel, TaskData train, TaskData dev, Action<string> log)
{
    public const string TrialsFolder = "trials", TableFile = "sweep.md", PictureFile = "sweep.png";

    private readonly string _outDir = Path.GetFullPath(settings.OutputFolder);

    public SweepState Run(CancellationToken cancel)
    {
        Directory.CreateDirectory(_outDir);
        var state = LoadOrCreateState();
        state.Write(_outDir);
        foreach (var bracket in plan)
        {
            var members = state.Trials.Where(t => t.Bracket == bracket.Index).ToList();
            for (int i = 0; i < bracket.Rungs.Count; i++)
            {
                var rung = bracket.Rungs[i];
                foreach (var trial in members)
                {
                    if (cancel.IsCancellationRequested) return state;
                    if (trial.Rungs.Any(r => r.Rung == i)) continue;   // done before the sweep was stopped
                    RunSegment(trial, i, rung, cancel);
                    state.Write(_outDir);
                }
                if (cancel.IsCancellationRequested) return state;
                var ranked = members.OrderBy(t => RankKey(t.Rungs.Single(r => r.Rung == i))).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
                for (int place = 0; place < ranked.Count; place++)
                {
                    var trial = ranked[place];
                    var result = trial.Rungs.Single(r => r.Rung == i);
                    if (result.StoppedReason is { } why) trial.Outcome = why;
                    else if (i == bracket.Rungs.Count - 1) trial.Outcome = $"ran all {rung.Steps} steps: rank {place + 1} of {ranked.Count}";
                    else if (place >= rung.Promoted) trial.Outcome = $"halted at {rung.Steps} steps: rank {place + 1} of {ranked.Count}";
                }
                members = ranked.Take(rung.Promoted).Where(t => t.Rungs.Single(r => r.Rung == i).StoppedReason is null).ToList();
                state.Write(_outDir);
            }
        }
        // The winner: among the trials that got furthest (the last rung, normally), the lowest best dev loss. A trial that
        // diverged in that rung still competes with its best-by-dev model, saved before it diverged — as a grid run
        // that diverges late keeps its best model; a sweep whose last survivor diverges still names a model.
        var measured = state.Trials.Where(t => t.Rungs.Count > 0 && t.Rungs[^1].BestDevLoss is { } l && double.IsFinite(l)).ToList();
        long Reached(TrialRecord t) => plan.Single(b => b.Index == t.Bracket).Rungs[t.Rungs[^1].Rung].Steps;
        long furthest = measured.Count == 0 ? 0 : measured.Max(Reached);
        var winner = measured.Where(t => Reached(t) == furthest)
            .OrderBy(t => t.Rungs[^1].BestDevLoss).ThenBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault();
        state.Winner = winner?.Name;
        if (winner is not null) winner.Outcome = "winner; " + winner.Outcome;
        state.TotalForwards = state.Trials.Sum(t => t.Rungs.Count == 0 ? 0 : t.Rungs[^1].Forwards);
        state.Finished = true;
        state.Write(_outDir);
        if (!settings.KeepAll && state.Winner is not null) PruneLosers(state);
        return state;
    }

    public string TrialFolder(string name) => Path.Combine(_outDir, TrialsFolder, name);

    private SweepState LoadOrCreateState()
    {
        var existing = SweepState.Read(_outDir);
        if (existing is not null && !settings.Resume)
            throw new OrtZoException(OrtZoErrorKind.OutputExists, OptionError.Conflict, $"{Path.Combine(_outDir, SweepState.FileName)}: the output folder already holds a sweep",
                Path.Combine(_outDir, SweepState.FileName), "--out", hint: "pass --resume to continue it, or choose another --out");
        var fresh = new SweepState { Spec = settings.Spec, Trials = CreateTrials() };
        if (existing is null) return fresh;
        bool sameSpec = JsonSerializer.Serialize(existing.Spec) == JsonSerializer.Serialize(settings.Spec);
        bool samePlan = existing.Trials.Select(t => (t.Name, t.Lr, t.Eps)).SequenceEqual(fresh.Trials.Select(t => (t.Name, t.Lr, t.Eps)));
        if (!sameSpec || !samePlan)
            throw new OrtZoException(OrtZoErrorKind.InvalidOption, OptionError.Conflict,
                $"{Path.Combine(_outDir, SweepState.FileName)}: the sweep in --out was started with other options (spec or trials differ)",
                Path.Combine(_outDir, SweepState.FileName), "--resume", hint: "resume with the options it was started with (its sweep.json lists them), or choose another --out");
        existing.Finished = false;
        existing.Winner = null;
        (existing.WinnerTestAccuracy, existing.WinnerTestLoss) = (null, null);
        return existing;
    }

    private List<TrialRecord> CreateTrials()
    {
        var trials = new List<TrialRecord>();
        foreach (var bracket in plan)
            for (int k = 0; k < bracket.Configs.Count; k++)
                trials.Add(new TrialRecord
                {
                    Name = plan.Count == 1 ? $"t{k:D2}" : $"b{bracket.Index}-t{k:D2}",
                    Bracket = bracket.Index,
                    Lr = bracket.Configs[k].Lr,
                    Eps = bracket.Configs[k].Eps,
                });
        return trials;
    }

    private void RunSegment(TrialRecord trial, int rungIndex, Rung rung, CancellationToken cancel)
    {
        string folder = TrialFolder(trial.Name);
        var options = settings.BaseOptions with { LearningRate = trial.Lr, Epsilon = trial.Eps };
        options.Validate();
        var run = settings.TrialRun with
        {
            OutputFolder = folder,
            Steps = rung.Steps,
            Resume = true,   // a fresh folder starts; a promoted or interrupted trial continues from its checkpoint
            DivergenceFactor = settings.DivergenceFactor,
        };
        var clock = Stopwatch.StartNew();
        using var model = openModel();
        var summary = TrainingLoop.Run(model, train, dev, null, options, run, cancel: cancel);
        if (cancel.IsCancellationRequested) return;   // not recorded: a resumed sweep continues the segment
        double? accuracy = DevAccuracyAt(folder, summary.BestStep);
        trial.Rungs.Add(new RungResult
        {
            Rung = rungIndex,
            Steps = summary.Steps,
            BestDevLoss = summary.BestDevLoss,
            DevAccuracy = accuracy,
            BestStep = summary.BestStep,
            Forwards = summary.Forwards,
            StoppedReason = summary.StoppedReason,
            Seconds = clock.Elapsed.TotalSeconds,
        });
        log($"{trial.Name} lr {Format(trial.Lr)} ε {Format(trial.Eps)}: {summary.Steps} steps, best dev loss {summary.BestDevLoss?.ToString("F4", CultureInfo.InvariantCulture) ?? "–"}" +
            (accuracy is { } a ? $", dev accuracy {100 * a:F1} %" : "") + (summary.StoppedReason is { } why ? $" — {why}" : "") + $" ({clock.Elapsed.TotalSeconds:F0} s)");
    }

    private static double? DevAccuracyAt(string folder, long? step)
    {
        if (step is null) return null;
        var curves = RunCurves.Read(folder);
        int i = Array.LastIndexOf(curves.DevSteps, (double)step.Value);
        return i >= 0 && double.IsFinite(curves.DevAccuracy[i]) ? curves.DevAccuracy[i] / 100 : null;
    }

    /// <summary>Order within a rung: finite dev loss ascending; diverged or unmeasured trials last.</summary>
    private static double RankKey(RungResult r) =>
        r.StoppedReason is null && r.BestDevLoss is { } l && double.IsFinite(l) ? l : double.PositiveInfinity;

    /// <summary>The winner's folder stays whole; the others keep metrics, summary and curves but not their model folders.</summary>
    private void PruneLosers(SweepState state)
    {
        foreach (var trial in state.Trials.Where(t => t.Name != state.Winner))
            foreach (string sub in new[] { "best", "final", TrainingLoop.CheckpointFolder })
            {
                string path = Path.Combine(TrialFolder(trial.Name), sub);
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            }
    }

    /// <summary>Learning rates and ε as people write them: 1e-4, 2.42e-4, 0.01 → 1e-2.</summary>
    public static string Format(double v) => v.ToString("0.##e-0", CultureInfo.InvariantCulture);
}
