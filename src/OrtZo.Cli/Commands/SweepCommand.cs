using System.CommandLine;
using System.Text.Json;
using OrtZo.Cli.Sweep;
using OrtZo.Training;
using Spectre.Console;

using OrtZo;
namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo sweep</c>: searches the learning rate (and ε) by successive halving over train runs.</summary>
internal static class SweepCommand
{
    public static Command Create()
    {
        var args = new TrainArguments();
        var lr = new Option<string>("--lr") { Description = "Learning rates to search: LOW:HIGH (log-spaced, --per-decade per decade, both ends included) or a list a,b,c", Required = true };
        var eps = new Option<string?>("--eps") { Description = "ε to search too: a list a,b or LOW:HIGH (3 log-spaced points); default the scheme's ε" };
        var budget = new Option<long?>("--budget") { Description = "Training forwards the whole sweep may spend (a MeZO step is 2 forwards); with a --lr range it decides the rungs (and how many points, when fewer than --per-decade fit)" };
        var perDecade = new Option<double?>("--per-decade")
        {
            Description = $"With a --lr range and --budget: rates per decade to try (default {HalvingPlan.DefaultPerDecade}; fewer if the budget cannot halve that many); budget left over lengthens the rungs",
        };
        var trials = new Option<int?>("--trials") { Description = "With a --lr range and no --budget: configurations per bracket" };
        var eta = new Option<int>("--eta") { Description = "Keep the best 1/η of the trials at each rung", DefaultValueFactory = _ => 3 };
        var minSteps = new Option<long>("--min-steps") { Description = "Fewest steps of the first rung", DefaultValueFactory = _ => 10 };
        var brackets = new Option<int>("--brackets") { Description = "Hyperband brackets (1 = plain successive halving); they split --budget, each trading configurations for steps", DefaultValueFactory = _ => 1 };
        var divergeFactor = new Option<double>("--diverge-factor")
        {
            Description = "Stop a trial at once when a step's loss is not finite or above this many times its start (the higher of the dev loss before training and the first step's loss)",
            DefaultValueFactory = _ => 4,
        };
        var outDir = new Option<string>("--out") { Description = "Sweep folder: trials/<name> (train runs), sweep.json, sweep.md, sweep.png", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the sweep in --out (finished trial segments are kept, the running one resumes from its checkpoint)" };
        var keepAll = new Option<bool>("--keep-all") { Description = "Keep every trial's model folders (default: only the winner's; the others keep metrics, summary and curves)" };
        var distributed = new Option<bool>("--distributed") { Description = "Not supported: sweeps run their trials in this process", Hidden = true };

        var command = new Command("sweep",
            "Search the learning rate (and ε) by successive halving on dev loss: every trial is a train run under <out>/trials, " +
            "promoted trials resume rather than restart, diverging trials stop at once, and the winner's folder is kept. " +
            "Trials share the data order and seeds (--seed). --distributed sweeps are out of scope: a sweep runs its trials one after another in this process.")
        {
            lr, eps, budget, perDecade, trials, eta, minSteps, brackets, divergeFactor, outDir, resume, keepAll, distributed,
        };
        args.AddTo(command);
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            if (result.GetValue(distributed))
                throw OptionErrors.Fail(OptionError.Conflict, "--distributed", "is not supported by sweep: trials run one after another in this process; run `ortzo train --distributed` with the learning rate a sweep chose");
            var (train, devData, testData) = args.LoadData(result);
            if (devData is null)
                throw OptionErrors.Fail(OptionError.Conflict, "--dev", "is needed: a sweep ranks its trials by dev loss (give --dev, or --num-train with --num-dev)");
            if (result.GetValue(divergeFactor) is var k && !(k > 1 && double.IsFinite(k)))
                throw OptionErrors.Fail(OptionError.OutOfRange, "--diverge-factor", $"{k}: must be a finite number above 1");

            ZoOptions baseOptions;
            using (var probe = args.OpenModel(result))
                baseOptions = args.BuildOptions(result, probe, null, null);
            var lrSpace = SearchSpace.Parse(result.GetValue(lr)!, "--lr");
            var epsSpace = result.GetValue(eps) is { } e ? SearchSpace.Parse(e, "--eps") : SearchSpace.Single("--eps", baseOptions.Epsilon);
            long? budgetSteps = null;
            if (result.GetValue(budget) is { } forwards)
            {
                if (forwards < 1) throw OptionErrors.Fail(OptionError.OutOfRange, "--budget", $"{forwards}: must be a positive number of forwards");
                budgetSteps = forwards / ForwardsPerStep(baseOptions);
            }
            var plan = HalvingPlan.Create(lrSpace, epsSpace, result.GetValue(args.Steps), result.GetValue(eta), result.GetValue(minSteps),
                result.GetValue(brackets), budgetSteps, result.GetValue(trials), result.GetValue(perDecade));

            string folder = result.GetValue(outDir)!;
            var trialRun = args.BuildSettings(result, folder, resume: true);
            var spec = JsonSerializer.SerializeToElement(new
            {
                model = Path.GetFullPath(result.GetValue(args.Model)!),
                data = Path.GetFullPath(result.GetValue(args.Data)!),
                dev = result.GetValue(args.Dev) is { } d ? Path.GetFullPath(d) : null,
                task = result.GetValue(args.Task),
                num_train = result.GetValue(args.NumTrain),
                num_dev = result.GetValue(args.NumDev),
                sample_seed = result.GetValue(args.SampleSeed),
                options = baseOptions with { LearningRate = 1, Epsilon = 1 },
                eval_every = trialRun.EvalEvery,
                eval_batch = trialRun.EvalBatchSize,
                diverge_factor = result.GetValue(divergeFactor),
                plan = plan.Select(b => new { bracket = b.Index, rungs = b.Rungs }),
            }, RunState.Json);
            var settings = new SweepSettings
            {
                OutputFolder = folder,
                BaseOptions = baseOptions,
                TrialRun = trialRun,
                DivergenceFactor = result.GetValue(divergeFactor),
                Spec = spec,
                Resume = result.GetValue(resume),
                KeepAll = result.GetValue(keepAll),
            };

            long planned = plan.Sum(b => b.Steps);
            AnsiConsole.MarkupLine($"sweep of {plan.Sum(b => b.Configs.Count)} trials in {plan.Count} bracket(s), {planned} training steps ≈ {planned * ForwardsPerStep(baseOptions)} forwards" +
                                   (result.GetValue(budget) is { } bf ? $" (budget {bf})" : ""));
            foreach (var b in plan)
                AnsiConsole.MarkupLine($"  bracket {b.Index}: " + string.Join(" → ", b.Rungs.Select(r => $"{r.Trials} trial(s) to {r.Steps} steps")));

            using var cancel = new CancellationTokenSource();
            Console.CancelKeyPress += (_, ev) => { ev.Cancel = true; cancel.Cancel(); };
            var runner = new SweepRunner(settings, plan, () => args.OpenModel(result), train, devData,
                line => AnsiConsole.MarkupLine(Markup.Escape(line)));
            var state = runner.Run(cancel.Token);
            if (cancel.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine($"stopped; continue with the same command and --resume");
                return 130;
            }
            if (state.Winner is { } winner && testData is not null)
            {
                string winnerFolder = runner.TrialFolder(winner);
                string model = Directory.Exists(Path.Combine(winnerFolder, "best")) ? Path.Combine(winnerFolder, "best") : Path.Combine(winnerFolder, "final");
                using var best = ZoModel.Open(model, CommonOptions.ParseDevice(result.GetValue(args.Device)!), result.GetValue(args.Threads));
                var t = best.Evaluate(testData, trialRun.EvalBatchSize);
                (state.WinnerTestAccuracy, state.WinnerTestLoss) = (t.Accuracy, t.Loss);
                state.Write(Path.GetFullPath(folder));
            }
            SweepReport.WriteFiles(state, Path.GetFullPath(folder), runner.TrialFolder);
            SweepReport.Print(state);
            if (state.Winner is not { } won)
                throw OptionErrors.Fail(OptionError.OutOfRange, "--lr", "found no trial with a finite dev loss; search lower learning rates (the table is in sweep.md)");
            var w = state.Trials.Single(t => t.Name == won);
            AnsiConsole.MarkupLine($"winner [bold]{won}[/]: lr {SweepRunner.Format(w.Lr)}, ε {SweepRunner.Format(w.Eps)}, best dev loss {w.Rungs[^1].BestDevLoss:F4}" +
                                   (state.WinnerTestAccuracy is { } ta ? $", test accuracy {100 * ta:F1} %" : "") +
                                   $"; {state.TotalForwards} training forwards; folder {Markup.Escape(runner.TrialFolder(won))}");
            return 0;
        });
        return command;
    }

    /// <summary>Forwards of one step, to turn --budget into steps: two per query (two-point), q + 1 (one-point), five (ZO-SGD-Cons).</summary>
    internal static int ForwardsPerStep(ZoOptions o)
    {
        if (o.BlockWise != BlockWiseMode.Off)
            throw OptionErrors.Fail(OptionError.Conflict, "--budget", "cannot be converted to steps with --block-wise (its forwards per step depend on the model's groups); give --trials instead");
        return o.Optimizer == ZoOptimizer.ZoConservative ? 5 : o.OnePoint ? o.Queries + 1 : 2 * o.Queries;
    }
}
