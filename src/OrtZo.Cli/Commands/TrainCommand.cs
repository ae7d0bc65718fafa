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
        var args = new TrainArguments();
        var lr = new Option<double?>("--lr") { Description = "Learning rate (default per --peft, tuned on stories260k: full 1e-4, lora 1e-3, prefix 3e-2, prompt 1e-1; MeZO used 1e-6, 1e-4, 1e-2 on OPT-13B)" };
        var eps = new Option<double?>("--eps") { Description = "Perturbation scale ε (default per --peft: full 1e-3, lora 1e-2, prefix 1e-1, prompt 1e-2)" };
        var outDir = new Option<string>("--out") { Description = "Output folder: metrics.jsonl, checkpoint/, best/, final/, summary.json, curves.png", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its checkpoint (a larger --steps extends it)" };

        var command = new Command("train", "Fine-tune a model with a zeroth-order optimizer") { lr, eps, outDir, resume };
        args.AddTo(command);
        foreach (var option in DistributedTrain.Options) command.Options.Add(option);
        command.SetAction(result =>
        {
            CommonOptions.Apply(result);
            var (train, devData, testData) = args.LoadData(result);
            using var zo = args.OpenModel(result);
            var options = args.BuildOptions(result, zo, result.GetValue(lr), result.GetValue(eps));
            if (result.GetValue(DistributedTrain.Distributed))
            {
                // Workers open the model folder as it is; they would silently train the full model instead of adapters.
                if (zo.Peft is not null)
                    throw OptionErrors.Fail(OptionError.Conflict, "--distributed", $"with --peft {zo.Peft.Scheme.ToString().ToLowerInvariant()}: distributed runs train full models only; run PEFT in one process");
                return DistributedTrain.Start(result, options, result.GetValue(args.Model)!, result.GetValue(args.Data)!, result.GetValue(args.Task)!,
                    result.GetValue(outDir)!, result.GetValue(args.CheckpointEvery));
            }
            var settings = args.BuildSettings(result, result.GetValue(outDir)!, result.GetValue(resume));
            AnsiConsole.MarkupLine($"model [bold]{Markup.Escape(zo.FolderPath)}[/]: {zo.BaseParameterCount:N0} parameters; task {Markup.Escape(train.Task)}: {train.Count} train" +
                                   (devData is null ? "" : $", {devData.Count} dev") + (testData is null ? "" : $", {testData.Count} test"));
            if (zo.Peft is { } used)
                AnsiConsole.MarkupLine($"peft {used.Scheme.ToString().ToLowerInvariant()}: {zo.ParameterCount:N0} trainable adapter parameters, base weights frozen as {used.FrozenBase.ToString().ToLowerInvariant()}");
            AnsiConsole.MarkupLine($"optimizer {Markup.Escape(result.GetValue(args.Optimizer)!)}, lr {options.LearningRate:G3}, ε {options.Epsilon:G3}, batch {options.BatchSize}, seed {options.Seed}, {settings.Steps} steps");

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
