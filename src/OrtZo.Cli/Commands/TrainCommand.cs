using System.CommandLine;
using OrtZo.Training;
using Spectre.Console;

using OrtZo;
namespace OrtZo.Cli.Commands;

/// <summary><c>ortzo train</c>: a ZO fine-tuning run with metrics, dev selection, checkpoints and resume.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "OrtZo model folder to start from", Required = true };
        var data = new Option<string>("--data") { Description = "Training data file", Required = true };
        var dev = new Option<string?>("--dev") { Description = "Dev data: evaluated every --eval-every steps; the lowest dev loss gives <out>/best" };
        var test = new Option<string?>("--test") { Description = "Test data: evaluated once at the end (on the best model when --dev is given)" };
        var task = EvalCommand.TaskOption();
        var optimizer = new Option<string>("--optimizer")
        {
            Description = "mezo (= zo-sgd) | sparse-mezo | zo-sign | zo-mmt | zo-adam | zo-cons",
            DefaultValueFactory = _ => "mezo",
        };
        var steps = new Option<long>("--steps") { Description = "Total steps of the run", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch") { Description = "Examples per step", DefaultValueFactory = _ => 16 };
        var lr = new Option<double?>("--lr") { Description = "Learning rate (default per --peft, tuned on stories260k: full 1e-4, lora 1e-3, prefix 3e-2, prompt 1e-1; MeZO used 1e-6, 1e-4, 1e-2 on OPT-13B)" };
        var eps = new Option<double?>("--eps") { Description = "Perturbation scale ε (default per --peft: full 1e-3, lora 1e-2, prefix 1e-1, prompt 1e-2)" };
        var seed = new Option<ulong>("--seed") { Description = "Master seed of perturbations and data order", DefaultValueFactory = _ => 0UL };
        var outDir = new Option<string>("--out") { Description = "Output folder: metrics.jsonl, checkpoint/, best/, final/, summary.json", Required = true };
        var evalEvery = new Option<long>("--eval-every") { Description = "Dev evaluation (and checkpoint) interval; 0 = at the end only", DefaultValueFactory = _ => 0 };
        var checkpointEvery = new Option<long>("--checkpoint-every") { Description = "Checkpoint interval (default: --eval-every)", DefaultValueFactory = _ => 0 };
        var logEvery = new Option<long>("--log-every") { Description = "Write a metrics line every N steps", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its checkpoint (a larger --steps extends it)" };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var sparsity = new Option<double>("--sparsity") { Description = "Sparse-MeZO: fraction of each masked tensor kept fixed", DefaultValueFactory = _ => 0.8 };
        var sparseTargets = new Option<string>("--sparse-targets")
        {
            Description = "Sparse-MeZO: weight kinds with magnitude masks, comma-separated: matrices,embeddings,head,norms,biases,other,all",
            DefaultValueFactory = _ => "matrices",
        };
        var freezeUnmasked = new Option<bool>("--freeze-unmasked") { Description = "Sparse-MeZO: freeze the weights outside --sparse-targets (default: train them densely)" };
        var schedule = new Option<string>("--schedule") { Description = "constant | linear", DefaultValueFactory = _ => "constant" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "λ of MeZO's decay term (not on norms and biases)", DefaultValueFactory = _ => 0 };
        var queries = new Option<int>("--queries") { Description = "q: two-point estimates averaged per step", DefaultValueFactory = _ => 1 };
        var microBatches = new Option<int>("--micro-batches") { Description = "S: pieces a step's batch is scored in; the step loss is their mean (the unit of work of --distributed)", DefaultValueFactory = _ => 1 };
        var onePoint = new Option<bool>("--one-point") { Description = "One-point estimate (L(θ+εz) − L(θ))/ε" };
        var blockWise = new Option<string>("--block-wise") { Description = "off | coordinate | jacobi", DefaultValueFactory = _ => "off" };
        var gradPrune = new Option<double>("--grad-prune") { Description = "ZO with gradient pruning: global magnitude-pruning ratio (0 = off)", DefaultValueFactory = _ => 0 };
        var gradPruneResample = new Option<int>("--grad-prune-resample") { Description = "Steps between redraws of the pruning masks", DefaultValueFactory = _ => 1 };
        var momentum = new Option<double>("--momentum") { Description = "β of zo-mmt, β1 of zo-adam", DefaultValueFactory = _ => 0.9 };
        var beta2 = new Option<double>("--beta2") { Description = "β2 of zo-adam", DefaultValueFactory = _ => 0.999 };
        var stochasticRounding = new Option<bool>("--stochastic-rounding") { Description = "Round 16-bit weight updates stochastically (reproducible)" };
        var objective = new Option<string>("--objective") { Description = "loss | accuracy (−accuracy of the batch as the ZO signal, non-differentiable)", DefaultValueFactory = _ => "loss" };
        var evalBatch = new Option<int>("--eval-batch") { Description = "Examples per evaluation batch", DefaultValueFactory = _ => 16 };
        var numTrain = new Option<int?>("--num-train") { Description = "MeZO protocol: sample this many training examples from --data (numpy-exact)" };
        var numDev = new Option<int?>("--num-dev") { Description = "MeZO protocol: sample this many dev examples from --data too (when no --dev file)" };
        var numTest = new Option<int?>("--num-test") { Description = "MeZO protocol: sample this many test examples from --test" };
        var sampleSeed = new Option<int>("--sample-seed") { Description = "numpy seed of the MeZO sampling", DefaultValueFactory = _ => 0 };
        var peft = PeftCommandOptions.Create();

        var command = new Command("train", "Fine-tune a model with a zeroth-order optimizer")
        {
            model, data, dev, test, task, optimizer, steps, batch, lr, eps, seed, outDir, evalEvery, checkpointEvery, logEvery, resume,
            device, threads, sparsity, sparseTargets, freezeUnmasked, schedule, weightDecay, queries, onePoint, blockWise, gradPrune,
            gradPruneResample, momentum, beta2, stochasticRounding, objective, evalBatch, numTrain, numDev, numTest, sampleSeed, microBatches,
        };
        peft.AddTo(command);
        foreach (var option in DistributedTrain.Options) command.Options.Add(option);
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            string taskName = result.GetValue(task)!;
            var train = TaskData.Load(result.GetValue(data)!, taskName);
            TaskData? devData = result.GetValue(dev) is { } devPath ? TaskData.Load(devPath, taskName) : null;
            TaskData? testData = result.GetValue(test) is { } testPath ? TaskData.Load(testPath, taskName) : null;
            int sSeed = result.GetValue(sampleSeed);
            if (result.GetValue(numTrain) is int nTrain)
            {
                int nDev = devData is null ? result.GetValue(numDev) ?? 0 : 0;
                var (tr, dv) = train.SampleTrainAndDev(nTrain, nDev, sSeed);
                train = tr;
                if (nDev > 0) devData = dv;
            }
            if (result.GetValue(numTest) is int nTest && testData is not null) testData = testData.Sample(nTest, sSeed);

            // The model is opened first: an adapter folder brings its own scheme, which picks the default lr and ε.
            using var zo = ZoModel.Open(result.GetValue(model)!, CommonOptions.ParseDevice(result.GetValue(device)!), result.GetValue(threads),
                peft.Parse(result, result.GetValue(seed)));
            var (defaultLr, defaultEps) = PeftOptions.DefaultHyperparameters(zo.Peft?.Scheme ?? PeftScheme.Full);
            var options = new ZoOptions
            {
                Optimizer = ParseOptimizer(result.GetValue(optimizer)!),
                LearningRate = result.GetValue(lr) ?? defaultLr,
                Epsilon = result.GetValue(eps) ?? defaultEps,
                Seed = result.GetValue(seed),
                BatchSize = result.GetValue(batch),
                Schedule = result.GetValue(schedule) switch
                {
                    "constant" => LearningRateSchedule.Constant,
                    "linear" => LearningRateSchedule.Linear,
                    var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--schedule", $"\'{s}\'; expected constant or linear"),
                },
                TotalSteps = result.GetValue(steps),
                WeightDecay = result.GetValue(weightDecay),
                Sparsity = result.GetValue(sparsity),
                SparseTargets = ParseKinds(result.GetValue(sparseTargets)!),
                FreezeUnmasked = result.GetValue(freezeUnmasked),
                Beta1 = result.GetValue(momentum),
                Beta2 = result.GetValue(beta2),
                Queries = result.GetValue(queries),
                MicroBatches = result.GetValue(microBatches),
                OnePoint = result.GetValue(onePoint),
                BlockWise = result.GetValue(blockWise) switch
                {
                    "off" => BlockWiseMode.Off,
                    "coordinate" => BlockWiseMode.Coordinate,
                    "jacobi" => BlockWiseMode.Jacobi,
                    var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--block-wise", $"\'{s}\'; expected off, coordinate or jacobi"),
                },
                GradientPruning = result.GetValue(gradPrune),
                GradientPruningResample = result.GetValue(gradPruneResample),
                StochasticRounding = result.GetValue(stochasticRounding),
                Objective = result.GetValue(objective) switch
                {
                    "loss" => ZoObjective.Loss,
                    "accuracy" => ZoObjective.Accuracy,
                    var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--objective", $"\'{s}\'; expected loss or accuracy"),
                },
            };
            options.Validate();
            if (result.GetValue(DistributedTrain.Distributed))
            {
                // Workers open the model folder as it is; they would silently train the full model instead of adapters.
                if (zo.Peft is not null)
                    throw OptionErrors.Fail(OptionError.Conflict, "--distributed", $"with --peft {zo.Peft.Scheme.ToString().ToLowerInvariant()}: distributed runs train full models only; run PEFT in one process");
                return DistributedTrain.Start(result, options, result.GetValue(model)!, result.GetValue(data)!, taskName, result.GetValue(outDir)!, result.GetValue(checkpointEvery));
            }
            var settings = new TrainingRunSettings
            {
                OutputFolder = result.GetValue(outDir)!,
                Steps = result.GetValue(steps),
                EvalEvery = result.GetValue(evalEvery),
                CheckpointEvery = result.GetValue(checkpointEvery),
                LogEvery = result.GetValue(logEvery),
                EvalBatchSize = result.GetValue(evalBatch),
                Resume = result.GetValue(resume),
            };
            AnsiConsole.MarkupLine($"model [bold]{Markup.Escape(zo.FolderPath)}[/]: {zo.BaseParameterCount:N0} parameters; task {Markup.Escape(train.Task)}: {train.Count} train" +
                                   (devData is null ? "" : $", {devData.Count} dev") + (testData is null ? "" : $", {testData.Count} test"));
            if (zo.Peft is { } used)
                AnsiConsole.MarkupLine($"peft {used.Scheme.ToString().ToLowerInvariant()}: {zo.ParameterCount:N0} trainable adapter parameters, base weights frozen as {used.FrozenBase.ToString().ToLowerInvariant()}");
            AnsiConsole.MarkupLine($"optimizer {Markup.Escape(result.GetValue(optimizer)!)}, lr {options.LearningRate:G3}, ε {options.Epsilon:G3}, batch {options.BatchSize}, seed {options.Seed}, {settings.Steps} steps");

            TrainingSummary? summary = null;
            using var cancel = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var bar = ctx.AddTask("training", maxValue: settings.Steps);
                    double? lastDev = null;
                    summary = TrainingLoop.Run(zo, train, devData, testData, options, settings, p =>
                    {
                        if (p.DevLoss is { } d) lastDev = d;
                        bar.Value = p.Step;
                        bar.Description = $"step {p.Step} loss {p.Loss:F4} {p.StepsPerSecond:F2} step/s" + (lastDev is { } ld ? $" dev {ld:F4}" : "");
                    }, cancel.Token);
                });
            Print(summary!, settings.OutputFolder);
            return cancel.IsCancellationRequested ? 130 : 0;
        });
        return command;
    }

    private static void Print(TrainingSummary s, string outDir)
    {
        var table = new Table().AddColumns("", "value");
        table.AddRow("steps", $"{s.Steps} ({s.SkippedSteps} skipped), {s.Forwards} forwards");
        table.AddRow("time", $"{s.Seconds:F1} s, {s.StepsPerSecond:F2} step/s");
        table.AddRow("last loss (L+)", $"{s.LastLoss:F4}");
        if (s.InitialDevLoss is { } d0) table.AddRow("dev before", $"loss {d0:F4}, accuracy {s.InitialDevAccuracy:P1}");
        if (s.BestDevLoss is { } b) table.AddRow("best dev loss", $"{b:F4} at step {s.BestStep}");
        if (s.FinalDevLoss is { } df) table.AddRow("dev after", $"loss {df:F4}, accuracy {s.FinalDevAccuracy:P1}");
        if (s.TestAccuracy is { } ta) table.AddRow($"test ({s.TestModel})", $"accuracy {ta:P2}, loss {s.TestLoss:F4}");
        table.AddRow("trainable", $"{s.TrainableParameters:N0} parameters; extra memory {s.ExtraMemoryBytes:N0} B");
        table.AddRow("peak RSS", $"{s.PeakWorkingSetBytes / 1048576.0:F0} MiB");
        table.AddRow("weights digest", s.WeightsDigest[..16]);
        table.AddRow("output", Markup.Escape(Path.GetFullPath(outDir)));
        AnsiConsole.Write(table);
    }

    /// <summary>
    /// The --peft option and its hyperparameters. Without --peft the model trains all its weights (or, for an adapter
    /// folder a PEFT run saved, the adapters it holds, with its own settings).
    /// </summary>
    internal sealed class PeftCommandOptions
    {
        private readonly Option<string?> _scheme = new("--peft") { Description = "full | lora | prefix | prompt: train all weights, or only adapters on a frozen base (default full)" };
        private readonly Option<int> _loraRank = new("--lora-rank") { Description = "LoRA rank r", DefaultValueFactory = _ => 8 };
        private readonly Option<double> _loraAlpha = new("--lora-alpha") { Description = "LoRA α (the branch is scaled by α/r)", DefaultValueFactory = _ => 16 };
        private readonly Option<string?> _loraTargets = new("--lora-targets")
        {
            Description = "Comma-separated projection names to adapt (parts of weight or node names); default q_proj,v_proj, or the fused c_attn/query_key_value/qkv_proj/Wqkv",
        };
        private readonly Option<int> _prefixTokens = new("--prefix-tokens") { Description = "Prefix tuning: learned key/value rows per layer", DefaultValueFactory = _ => 5 };
        private readonly Option<string> _prefixInit = new("--prefix-init") { Description = "real (keys/values of random tokens, MeZO's default) | random", DefaultValueFactory = _ => "real" };
        private readonly Option<int> _promptTokens = new("--prompt-tokens") { Description = "Prompt tuning: virtual tokens in front of the input", DefaultValueFactory = _ => 10 };
        private readonly Option<string> _promptInit = new("--prompt-init") { Description = "vocab (embeddings of random tokens) | random", DefaultValueFactory = _ => "vocab" };
        private readonly Option<double> _initStd = new("--peft-init-std") { Description = "σ of --prefix-init random and --prompt-init random", DefaultValueFactory = _ => 1.0 };
        private readonly Option<string> _frozenBase = new("--frozen-base")
        {
            Description = "initializers (ORT may prepack them: faster) | inputs (variable graph inputs, no prepacked copy)",
            DefaultValueFactory = _ => "initializers",
        };

        public static PeftCommandOptions Create() => new();

        public void AddTo(Command command)
        {
            foreach (Option option in new Option[] { _scheme, _loraRank, _loraAlpha, _loraTargets, _prefixTokens, _prefixInit, _promptTokens, _promptInit, _initStd, _frozenBase })
                command.Options.Add(option);
        }

        /// <summary>The options, or null when --peft was not given; <paramref name="seed"/> seeds the adapters' initialisation.</summary>
        public PeftOptions? Parse(ParseResult result, ulong seed)
        {
            if (result.GetValue(_scheme) is not { } name) return null;
            var scheme = name.ToLowerInvariant() switch
            {
                "full" => PeftScheme.Full,
                "lora" => PeftScheme.Lora,
                "prefix" => PeftScheme.Prefix,
                "prompt" => PeftScheme.Prompt,
                _ => throw OptionErrors.Fail(OptionError.UnknownValue, "--peft", $"'{name}'; expected full, lora, prefix or prompt"),
            };
            var options = new PeftOptions
            {
                Scheme = scheme,
                LoraRank = result.GetValue(_loraRank),
                LoraAlpha = result.GetValue(_loraAlpha),
                LoraTargets = result.GetValue(_loraTargets) is { } targets
                    ? targets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    : null,
                PrefixTokens = result.GetValue(_prefixTokens),
                PromptTokens = result.GetValue(_promptTokens),
                // one flag per scheme on the command line, one setting in the options: a run has one scheme
                RandomInit = scheme switch
                {
                    PeftScheme.Prefix => result.GetValue(_prefixInit) switch
                    {
                        "real" => false,
                        "random" => true,
                        var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--prefix-init", $"'{s}'; expected real or random"),
                    },
                    PeftScheme.Prompt => result.GetValue(_promptInit) switch
                    {
                        "vocab" => false,
                        "random" => true,
                        var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--prompt-init", $"'{s}'; expected vocab or random"),
                    },
                    _ => false,
                },
                RandomInitStd = result.GetValue(_initStd),
                InitSeed = seed,
                FrozenBase = result.GetValue(_frozenBase) switch
                {
                    "initializers" => FrozenBase.Initializers,
                    "inputs" => FrozenBase.Inputs,
                    var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--frozen-base", $"\'{s}\'; expected initializers or inputs"),
                },
            };
            options.Validate();
            return options;
        }
    }

    internal static ZoOptimizer ParseOptimizer(string name) => name.ToLowerInvariant() switch
    {
        "mezo" or "zo-sgd" => ZoOptimizer.MeZO,
        "sparse-mezo" => ZoOptimizer.SparseMeZO,
        "zo-sign" => ZoOptimizer.ZoSign,
        "zo-mmt" => ZoOptimizer.ZoMomentum,
        "zo-adam" => ZoOptimizer.ZoAdam,
        "zo-cons" => ZoOptimizer.ZoConservative,
        _ => throw OptionErrors.Fail(OptionError.UnknownValue, "--optimizer", $"\'{name}\'; expected mezo, zo-sgd, sparse-mezo, zo-sign, zo-mmt, zo-adam or zo-cons"),
    };

    internal static WeightKinds ParseKinds(string text)
    {
        var kinds = WeightKinds.None;
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            kinds |= part.ToLowerInvariant() switch
            {
                "matrices" => WeightKinds.Matrices,
                "embeddings" => WeightKinds.Embeddings,
                "head" => WeightKinds.Head,
                "norms" => WeightKinds.Norms,
                "biases" => WeightKinds.Biases,
                "other" => WeightKinds.Other,
                "all" => WeightKinds.All,
                _ => throw OptionErrors.Fail(OptionError.UnknownValue, "--sparse-targets", $"unknown kind '{part}'; expected matrices, embeddings, head, norms, biases, other or all"),
            };
        return kinds;
    }
}
