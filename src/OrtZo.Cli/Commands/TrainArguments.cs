using System.CommandLine;
using OrtZo.Training;

using OrtZo;
namespace OrtZo.Cli.Commands;

/// <summary>
/// The options that shape one training run, shared by <c>ortzo train</c> and <c>ortzo sweep</c> (whose trials are
/// train runs): data, model, optimizer and loop settings. The learning rate, ε, output folder and resume flag are
/// each command's own.
/// </summary>
internal sealed class TrainArguments
{
    public readonly Option<string> Model = new("--model") { Description = "OrtZo model folder to start from", Required = true };
    public readonly Option<string> Data = new("--data") { Description = "Training data file", Required = true };
    public readonly Option<string?> Dev = new("--dev") { Description = "Dev data: evaluated every --eval-every steps; the lowest dev loss gives <out>/best" };
    public readonly Option<string?> Test = new("--test") { Description = "Test data: evaluated once at the end (on the best model when --dev is given)" };
    public readonly Option<string> Task = EvalCommand.TaskOption();
    public readonly Option<string> Optimizer = new("--optimizer")
    {
        Description = "mezo (= zo-sgd) | sparse-mezo | zo-sign | zo-mmt | zo-adam | zo-cons",
        DefaultValueFactory = _ => "mezo",
    };
    public readonly Option<long> Steps = new("--steps") { Description = "Total steps of the run (of a sweep: of a trial that reaches the last rung)", DefaultValueFactory = _ => 1000 };
    public readonly Option<int> Batch = new("--batch") { Description = "Examples per step", DefaultValueFactory = _ => 16 };
    public readonly Option<ulong> Seed = new("--seed") { Description = "Master seed of perturbations and data order", DefaultValueFactory = _ => 0UL };
    public readonly Option<long> EvalEvery = new("--eval-every") { Description = "Dev evaluation (and checkpoint) interval; 0 = at the end only", DefaultValueFactory = _ => 0 };
    public readonly Option<long> CheckpointEvery = new("--checkpoint-every") { Description = "Checkpoint interval (default: --eval-every)", DefaultValueFactory = _ => 0 };
    public readonly Option<long> LogEvery = new("--log-every") { Description = "Write a metrics line every N steps", DefaultValueFactory = _ => 1 };
    public readonly Option<string> Device = CommonOptions.Device();
    public readonly Option<int?> Threads = CommonOptions.Threads();
    public readonly Option<double> Sparsity = new("--sparsity") { Description = "Sparse-MeZO: fraction of each masked tensor kept fixed", DefaultValueFactory = _ => 0.8 };
    public readonly Option<string> SparseTargets = new("--sparse-targets")
    {
        Description = "Sparse-MeZO: weight kinds with magnitude masks, comma-separated: matrices,embeddings,head,norms,biases,other,all",
        DefaultValueFactory = _ => "matrices",
    };
    public readonly Option<bool> FreezeUnmasked = new("--freeze-unmasked") { Description = "Sparse-MeZO: freeze the weights outside --sparse-targets (default: train them densely)" };
    public readonly Option<string> Schedule = new("--schedule") { Description = "constant | linear", DefaultValueFactory = _ => "constant" };
    public readonly Option<double> WeightDecay = new("--weight-decay") { Description = "λ of MeZO's decay term (not on norms and biases)", DefaultValueFactory = _ => 0 };
    public readonly Option<int> Queries = new("--queries") { Description = "q: two-point estimates averaged per step", DefaultValueFactory = _ => 1 };
    public readonly Option<int> MicroBatches = new("--micro-batches") { Description = "S: pieces a step's batch is scored in; the step loss is their mean (the unit of work of --distributed)", DefaultValueFactory = _ => 1 };
    public readonly Option<bool> OnePoint = new("--one-point") { Description = "One-point estimate (L(θ+εz) − L(θ))/ε" };
    public readonly Option<string> BlockWise = new("--block-wise") { Description = "off | coordinate | jacobi", DefaultValueFactory = _ => "off" };
    public readonly Option<double> GradPrune = new("--grad-prune") { Description = "ZO with gradient pruning: global magnitude-pruning ratio (0 = off)", DefaultValueFactory = _ => 0 };
    public readonly Option<int> GradPruneResample = new("--grad-prune-resample") { Description = "Steps between redraws of the pruning masks", DefaultValueFactory = _ => 1 };
    public readonly Option<double> Momentum = new("--momentum") { Description = "β of zo-mmt, β1 of zo-adam", DefaultValueFactory = _ => 0.9 };
    public readonly Option<double> Beta2 = new("--beta2") { Description = "β2 of zo-adam", DefaultValueFactory = _ => 0.999 };
    public readonly Option<bool> StochasticRounding = new("--stochastic-rounding") { Description = "Round 16-bit weight updates stochastically (reproducible)" };
    public readonly Option<string> Objective = new("--objective") { Description = "loss | accuracy (−accuracy of the batch as the ZO signal, non-differentiable)", DefaultValueFactory = _ => "loss" };
    public readonly Option<int> EvalBatch = new("--eval-batch") { Description = "Examples per evaluation batch", DefaultValueFactory = _ => 16 };
    public readonly Option<int?> NumTrain = new("--num-train") { Description = "MeZO protocol: sample this many training examples from --data (numpy-exact)" };
    public readonly Option<int?> NumDev = new("--num-dev") { Description = "MeZO protocol: sample this many dev examples from --data too (when no --dev file)" };
    public readonly Option<int?> NumTest = new("--num-test") { Description = "MeZO protocol: sample this many test examples from --test" };
    public readonly Option<int> SampleSeed = new("--sample-seed") { Description = "numpy seed of the MeZO sampling", DefaultValueFactory = _ => 0 };
    public readonly TrainCommand.PeftCommandOptions Peft = TrainCommand.PeftCommandOptions.Create();

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[]
                 {
                     Model, Data, Dev, Test, Task, Optimizer, Steps, Batch, Seed, EvalEvery, CheckpointEvery, LogEvery, Device, Threads,
                     Sparsity, SparseTargets, FreezeUnmasked, Schedule, WeightDecay, Queries, OnePoint, BlockWise, GradPrune, GradPruneResample,
                     Momentum, Beta2, StochasticRounding, Objective, EvalBatch, NumTrain, NumDev, NumTest, SampleSeed, MicroBatches,
                 })
            command.Options.Add(option);
        Peft.AddTo(command);
    }

    /// <summary>Training, dev and test data after MeZO's sampling options.</summary>
    public (TaskData Train, TaskData? Dev, TaskData? Test) LoadData(ParseResult result)
    {
        string taskName = result.GetValue(Task)!;
        var train = TaskData.Load(result.GetValue(Data)!, taskName);
        TaskData? devData = result.GetValue(Dev) is { } devPath ? TaskData.Load(devPath, taskName) : null;
        TaskData? testData = result.GetValue(Test) is { } testPath ? TaskData.Load(testPath, taskName) : null;
        int sSeed = result.GetValue(SampleSeed);
        if (result.GetValue(NumTrain) is int nTrain)
        {
            int nDev = devData is null ? result.GetValue(NumDev) ?? 0 : 0;
            var (tr, dv) = train.SampleTrainAndDev(nTrain, nDev, sSeed);
            train = tr;
            if (nDev > 0) devData = dv;
        }
        if (result.GetValue(NumTest) is int nTest && testData is not null) testData = testData.Sample(nTest, sSeed);
        return (train, devData, testData);
    }

    /// <summary>Opens --model (with --peft); an adapter folder brings its own scheme, which picks the default lr and ε.</summary>
    public ZoModel OpenModel(ParseResult result) =>
        ZoModel.Open(result.GetValue(Model)!, CommonOptions.ParseDevice(result.GetValue(Device)!), result.GetValue(Threads),
            Peft.Parse(result, result.GetValue(Seed)));

    /// <summary>The run's optimizer options with the given learning rate and ε (null: the scheme's defaults), validated.</summary>
    public ZoOptions BuildOptions(ParseResult result, ZoModel zo, double? lr, double? eps)
    {
        var (defaultLr, defaultEps) = PeftOptions.DefaultHyperparameters(zo.Peft?.Scheme ?? PeftScheme.Full);
        var options = new ZoOptions
        {
            Optimizer = TrainCommand.ParseOptimizer(result.GetValue(Optimizer)!),
            LearningRate = lr ?? defaultLr,
            Epsilon = eps ?? defaultEps,
            Seed = result.GetValue(Seed),
            BatchSize = result.GetValue(Batch),
            Schedule = result.GetValue(Schedule) switch
            {
                "constant" => LearningRateSchedule.Constant,
                "linear" => LearningRateSchedule.Linear,
                var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--schedule", $"\'{s}\'; expected constant or linear"),
            },
            TotalSteps = result.GetValue(Steps),
            WeightDecay = result.GetValue(WeightDecay),
            Sparsity = result.GetValue(Sparsity),
            SparseTargets = TrainCommand.ParseKinds(result.GetValue(SparseTargets)!),
            FreezeUnmasked = result.GetValue(FreezeUnmasked),
            Beta1 = result.GetValue(Momentum),
            Beta2 = result.GetValue(Beta2),
            Queries = result.GetValue(Queries),
            MicroBatches = result.GetValue(MicroBatches),
            OnePoint = result.GetValue(OnePoint),
            BlockWise = result.GetValue(BlockWise) switch
            {
                "off" => BlockWiseMode.Off,
                "coordinate" => BlockWiseMode.Coordinate,
                "jacobi" => BlockWiseMode.Jacobi,
                var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--block-wise", $"\'{s}\'; expected off, coordinate or jacobi"),
            },
            GradientPruning = result.GetValue(GradPrune),
            GradientPruningResample = result.GetValue(GradPruneResample),
            StochasticRounding = result.GetValue(StochasticRounding),
            Objective = result.GetValue(Objective) switch
            {
                "loss" => ZoObjective.Loss,
                "accuracy" => ZoObjective.Accuracy,
                var s => throw OptionErrors.Fail(OptionError.UnknownValue, "--objective", $"\'{s}\'; expected loss or accuracy"),
            },
        };
        options.Validate();
        return options;
    }

    public TrainingRunSettings BuildSettings(ParseResult result, string outDir, bool resume) => new()
    {
        OutputFolder = outDir,
        Steps = result.GetValue(Steps),
        EvalEvery = result.GetValue(EvalEvery),
        CheckpointEvery = result.GetValue(CheckpointEvery),
        LogEvery = result.GetValue(LogEvery),
        EvalBatchSize = result.GetValue(EvalBatch),
        Resume = resume,
    };
}
