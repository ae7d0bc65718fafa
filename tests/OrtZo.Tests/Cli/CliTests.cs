using System.Text.Json;
using NUnit.Framework;

namespace OrtZo.Tests.Cli;

public class CliTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("ortzo-cli-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static string Split(string name) => Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", name + ".jsonl");

    private string Sample(string split, int n)
    {
        string path = Path.Combine(_dir, $"{split}-{n}.jsonl");
        File.WriteAllLines(path, File.ReadLines(Split(split)).Take(n));
        return path;
    }

    [Test]
    public void EvalPrintsAccuracyAndWritesTheReport()
    {
        string report = Path.Combine(_dir, "report.json");
        var (code, stdout, stderr) = CliRunner.Run("eval", "--model", TestPaths.Stories260k, "--data", Sample("dev", 12), "--task", "jsonl", "--batch", "5", "--report", report);
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout, Does.Match(@"accuracy \d+\.\d+ ?% \(\d+/12\)"));
        using var doc = JsonDocument.Parse(File.ReadAllText(report));
        var root = doc.RootElement;
        double accuracy = root.GetProperty("accuracy").GetDouble();
        var examples = root.GetProperty("examples").EnumerateArray().ToList();
        Assert.That(examples, Has.Count.EqualTo(12));
        int correct = 0;
        foreach (var e in examples)
        {
            var candidates = e.GetProperty("candidates").EnumerateArray().ToList();
            Assert.That(candidates, Has.Count.EqualTo(2));
            foreach (var c in candidates)
            {
                int tokens = c.GetProperty("tokens").GetInt32();
                Assert.That(tokens, Is.GreaterThan(0));
                Assert.That(c.GetProperty("mean").GetDouble(), Is.EqualTo(c.GetProperty("sum").GetDouble() / tokens).Within(1e-9));
            }
            int argmax = candidates[0].GetProperty("mean").GetDouble() >= candidates[1].GetProperty("mean").GetDouble() ? 0 : 1;
            Assert.That(e.GetProperty("prediction").GetInt32(), Is.EqualTo(argmax));
            if (argmax == e.GetProperty("label").GetInt32()) correct++;
        }
        Assert.That(accuracy, Is.EqualTo(correct / 12.0).Within(1e-12));
    }

    [Test]
    public void TrainWritesMetricsModelsAndSummaryAndTheTunedModelEvaluates()
    {
        string outDir = Path.Combine(_dir, "run");
        var (code, stdout, stderr) = CliRunner.Run("train", "--model", TestPaths.Stories260k, "--data", Sample("train", 40), "--dev", Sample("dev", 10),
            "--test", Sample("test", 10), "--task", "jsonl", "--optimizer", "sparse-mezo", "--sparsity", "0.8", "--steps", "6", "--batch", "4",
            "--lr", "3e-4", "--eps", "1e-3", "--seed", "2", "--eval-every", "3", "--out", outDir);
        Assert.That(code, Is.Zero, stdout + stderr);
        var lines = File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var steps = lines.Where(l => l.TryGetProperty("loss", out _)).Select(l => l.GetProperty("step").GetInt64()).ToList();
        Assert.That(steps, Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6 }), "one metrics line per step");
        var evals = lines.Where(l => l.TryGetProperty("dev_loss", out _)).Select(l => l.GetProperty("step").GetInt64()).ToList();
        Assert.That(evals, Is.EqualTo(new long[] { 0, 3, 6 }));
        foreach (string folder in new[] { "final", "best", "checkpoint" })
            Assert.That(Directory.Exists(Path.Combine(outDir, folder)), folder);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        Assert.That(summary.RootElement.GetProperty("steps").GetInt64(), Is.EqualTo(6));
        Assert.That(summary.RootElement.GetProperty("test_accuracy").GetDouble(), Is.InRange(0.0, 1.0));
        Assert.That(stdout, Does.Contain("best dev loss"));

        var (evalCode, evalOut, evalErr) = CliRunner.Run("eval", "--model", Path.Combine(outDir, "final"), "--data", Sample("dev", 10), "--task", "jsonl");
        Assert.That(evalCode, Is.Zero, evalErr);
        Assert.That(evalOut, Does.Contain("accuracy"));

        // extending the finished run
        var (more, moreOut, moreErr) = CliRunner.Run("train", "--model", TestPaths.Stories260k, "--data", Sample("train", 40), "--dev", Sample("dev", 10),
            "--task", "jsonl", "--optimizer", "sparse-mezo", "--sparsity", "0.8", "--steps", "8", "--batch", "4", "--lr", "3e-4", "--eps", "1e-3",
            "--seed", "2", "--eval-every", "3", "--out", outDir, "--resume");
        Assert.That(more, Is.Zero, moreOut + moreErr);
        var after = File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("loss", out _)).Select(l => l.GetProperty("step").GetInt64()).ToList();
        Assert.That(after, Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
    }

    [Test]
    public void MalformedDataFailsWithFileLineAndField()
    {
        string bad = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllLines(bad, ["{\"prompt\": \"a\", \"candidates\": [\" b\", \" c\"], \"label\": 0}", "{\"prompt\": \"a\", \"candidates\": [\" b\"], \"label\": 3}"]);
        var (code, _, stderr) = CliRunner.Run("eval", "--model", TestPaths.Stories260k, "--data", bad, "--task", "jsonl");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain($"{bad}:2").And.Contain("label").And.Contain("hint:"));
    }

    [Test]
    public void MissingModelFolderIsAClearError()
    {
        var (code, _, stderr) = CliRunner.Run("info", Path.Combine(_dir, "nope"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.StartWith("error:").And.Contain("model folder not found"));
    }

    [Test]
    public void ImportThenInfoOnATorchExport()
    {
        string outDir = Path.Combine(_dir, "imported");
        var (code, stdout, stderr) = CliRunner.Run("import", Path.Combine(TestPaths.Fixtures, "onnx", "torch_tiny_gpt.onnx"), "--out", outDir);
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(File.Exists(Path.Combine(outDir, "ortzo.json")));
        var (infoCode, info, infoErr) = CliRunner.Run("info", outDir);
        Assert.That(infoCode, Is.Zero, infoErr);
        Assert.That(info, Does.Contain("layers.0").And.Contain("layers.1"));
    }

    [Test]
    public void DoctorReportsTheLibraryNamedByTheEnvironmentAndChecksTheKernels()
    {
        string native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so");
        Assert.That(File.Exists(native), native);
        var (code, stdout, stderr) = CliRunner.RunWith(new Dictionary<string, string> { ["ORTZO_ORT_LIB"] = native }, ["doctor"]);
        Assert.That(code, Is.Zero, stdout + stderr);
        // redirected output is one "key: value" line per row, so the path arrives whole however long it is
        Assert.That(stdout, Does.Match($@"(?m)^ONNX Runtime \(native\): 1\.\d+\.\d+ from {System.Text.RegularExpressions.Regex.Escape(native)}$"));
        Assert.That(stdout, Does.Contain("weight kernels: SIMD passes bit-identical"));

        var (bad, _, badErr) = CliRunner.RunWith(new Dictionary<string, string> { ["ORTZO_ORT_LIB"] = Path.Combine(_dir, "missing.so") }, ["doctor"]);
        Assert.That(bad, Is.EqualTo(2));
        Assert.That(badErr, Does.Contain("ORTZO_ORT_LIB").And.Contain("missing.so"));
    }
}
