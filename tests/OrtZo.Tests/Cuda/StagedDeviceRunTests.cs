using System.Diagnostics;
using System.Text.Json;
using NUnit.Framework;

namespace OrtZo.Tests.Cuda;

/// <summary>
/// The staged device script's dry run: both device phases (checks, bench) with each GPU step replaced by its CPU
/// twin, driving the built CLI and bench — doctor, the refusal of gpu-check without a driver, make-model, two training
/// runs, a bench step — so the script that reaches the GPU machine has run end to end here. Packing (publish, xz, the
/// part limits) is `run.sh pack`, left out here for time. The time limit only keeps a hung child from holding CI.
/// </summary>
public class StagedDeviceRunTests
{
    [Test]
    [CancelAfter(1_200_000)]
    public void TheDryRunOfTheDeviceScriptSucceedsAndWritesItsFiles()
    {
        // the bench of this very build (bin/ or the GPU build's bin-gpu/), which the test project builds
        string bench = Path.Combine(TestPaths.RepoRoot, "bench", "OrtZo.Bench",
            Path.GetRelativePath(Path.Combine(TestPaths.RepoRoot, "tests", "OrtZo.Tests"), AppContext.BaseDirectory));
        Assert.That(File.Exists(Path.Combine(bench, "OrtZo.Bench.dll")), Is.True, $"the bench is not built at {bench}");
        using var output = new OrtZo.Tests.Onnx.TempFolder("dryrun");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TestPaths.RepoRoot };
        psi.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "bench", "gpu", "run.sh"));
        psi.ArgumentList.Add("--dry-run");
        psi.Environment["OUT"] = output.Path;
        psi.Environment["ORTZO_GPU_APP"] = AppContext.BaseDirectory;
        psi.Environment["ORTZO_GPU_BENCH"] = bench;
        psi.Environment["ORTZO_GPU_TRAIN_STEPS"] = "2";
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        string log = string.Concat(new[] { "checks.log", "bench.log" }.Select(f => Path.Combine(output.Path, f)).Where(File.Exists).Select(File.ReadAllText));
        Assert.That(p.ExitCode, Is.Zero, stdout.Result + stderr.Result + log);
        Assert.That(File.ReadAllText(Path.Combine(output.Path, "env.txt")), Does.Contain("ONNX Runtime"));
        using var train = JsonDocument.Parse(File.ReadAllText(Path.Combine(output.Path, "train.json")));
        Assert.That(train.RootElement.GetArrayLength(), Is.EqualTo(2), "stories260k and the 10.9M model trained");
        foreach (var run in train.RootElement.EnumerateArray()) Assert.That(run.GetProperty("steps").GetInt64(), Is.EqualTo(2));
        string generate = File.ReadAllText(Path.Combine(output.Path, "generate.txt"));
        Assert.That(generate.Split('\n').Count(l => l.EndsWith(": same text with and without the cache", StringComparison.Ordinal)), Is.EqualTo(2), generate);
        Assert.That(generate, Does.Contain("tokens/s (KV cache)").And.Contain("tokens/s (recomputing the sequence)"));
        using var benchJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(output.Path, "bench.json")));
        Assert.That(benchJson.RootElement.GetProperty("runs").EnumerateArray().First().GetProperty("device").GetString(), Is.EqualTo("cpu"));
    }
}
