using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OrtZo.Distributed.Protocol;
using OrtZo.Training;

namespace OrtZo.Distributed.Worker;

/// <summary>
/// The training data and options a run spec names, as this machine loads them, and the spec hash they give:
/// SHA-256 over the model folder's files, the data fingerprint, the options and the distribution mode.
/// Two machines compute the same hash only if they would run the same run.
/// </summary>
internal sealed class RunInputs
{
    private RunInputs(TaskData train, ZoOptions options, string specHash)
    {
        Train = train;
        Options = options;
        SpecHash = specHash;
    }

    public TaskData Train { get; }
    public ZoOptions Options { get; }
    public string SpecHash { get; }

    public static RunInputs Load(string modelPath, string dataPath, string task, int trainExamples, ZoOptions options, DistributionMode mode)
    {
        options.Validate();
        if (mode == DistributionMode.QueryParallel && (options.OnePoint || options.BlockWise != BlockWiseMode.Off || options.Optimizer == ZoOptimizer.ZoConservative))
            throw OptionErrors.Fail(OptionError.Conflict, "--mode", "query-parallel mode needs the two-point q-query estimator (no --one-point, --block-wise or zo-cons)");
        var train = TaskData.Load(dataPath, task);
        if (trainExamples > 0) train = train.Take(trainExamples);
        if (train.Count == 0) throw OptionErrors.Fail(OptionError.Unusable, "--data", $"{dataPath}: no training examples");
        string optionsJson = OptionsJson(options);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string file in Directory.GetFiles(modelPath).Where(f => !f.EndsWith(".md", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
            sha.AppendData(FileSha256(file));
        }
        sha.AppendData(Encoding.UTF8.GetBytes($"\ndata {ZoTrainer.Fingerprint(train)}\noptions {optionsJson}\nmode {mode}\n"));
        return new RunInputs(train, options, Convert.ToHexString(sha.GetHashAndReset())[..32].ToLowerInvariant());
    }

    public static RunInputs Load(RunSpec spec) =>
        Load(spec.ModelPath, spec.DataPath, spec.Task, spec.TrainExamples, ParseOptions(spec.OptionsJson), spec.Mode);

    public static string OptionsJson(ZoOptions options) => JsonSerializer.Serialize(options, RunState.Json);

    public static ZoOptions ParseOptions(string json) =>
        JsonSerializer.Deserialize<ZoOptions>(json, RunState.Json) ?? throw new ArgumentException("empty options in the run spec");

    internal static byte[] FileSha256(string path)
    {
        using var stream = File.OpenRead(path);
        return SHA256.HashData(stream);
    }
}
