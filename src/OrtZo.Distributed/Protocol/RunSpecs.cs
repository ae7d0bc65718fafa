using OrtZo.Distributed.Worker;

namespace OrtZo.Distributed.Protocol;

/// <summary>Builds a run spec, hashing the model, data and options the way workers will check them.</summary>
public static class RunSpecs
{
    public static RunSpec Create(string runId, string modelPath, string dataPath, string task, ZoOptions options, string runDirectory,
        DistributionMode mode = DistributionMode.DataParallel, int trainExamples = 0, int leaseMilliseconds = 2000, int digestEvery = 10, int checkpointEvery = 100)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runId);
        if (runId.StartsWith('_')) throw OptionErrors.Fail(OptionError.OutOfRange, "--run", $"'{runId}': ids starting with '_' are reserved");
        ArgumentOutOfRangeException.ThrowIfLessThan(leaseMilliseconds, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(digestEvery);
        ArgumentOutOfRangeException.ThrowIfNegative(checkpointEvery);
        string model = Path.GetFullPath(modelPath), data = Path.GetFullPath(dataPath);
        var inputs = RunInputs.Load(model, data, task, trainExamples, options, mode);
        return new RunSpec
        {
            RunId = runId,
            ModelPath = model,
            DataPath = data,
            Task = task,
            TrainExamples = trainExamples,
            OptionsJson = RunInputs.OptionsJson(options),
            Mode = mode,
            RunDirectory = Path.GetFullPath(runDirectory),
            LeaseMilliseconds = leaseMilliseconds,
            DigestEvery = digestEvery,
            CheckpointEvery = checkpointEvery,
            SpecHash = inputs.SpecHash,
        };
    }
}
