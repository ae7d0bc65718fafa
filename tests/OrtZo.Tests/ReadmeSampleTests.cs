using System.Runtime.CompilerServices;
using NUnit.Framework;
using OrtZo;

namespace OrtZo.Tests;

/// <summary>The README's embedding sample is this test's code, line for line, and it runs.</summary>
public class ReadmeSampleTests
{
    [Test]
    public void ReadmeSampleIsThisCodeAndItRuns()
    {
        Assert.That(ReadmeBlock(), Is.EqualTo(SampleLines()), "README.md's C# sample and this test's sample must be the same code");
        string cwd = Environment.CurrentDirectory;
        var stdout = Console.Out;
        var captured = new StringWriter();
        Environment.CurrentDirectory = TestPaths.RepoRoot;
        Console.SetOut(captured);
        try
        {
            // README sample start
            using var model = ZoModel.Open("models/stories260k");
            var train = TaskData.Load("data/story-feelings/train.jsonl", "jsonl");
            var dev = TaskData.Load("data/story-feelings/dev.jsonl", "jsonl");
            var options = new ZoOptions { Optimizer = ZoOptimizer.SparseMeZO, LearningRate = 3e-4, Epsilon = 1e-3, BatchSize = 16 };
            using (var trainer = new ZoTrainer(model, train, options))
                for (int i = 0; i < 200; i++)
                {
                    StepResult r = trainer.Step();                 // two forwards, two passes over the weights
                    if (r.Step % 50 == 0) Console.WriteLine($"step {r.Step}: loss {r.Loss:F4}");
                }
            Console.WriteLine($"dev accuracy {model.Evaluate(dev).Accuracy:P1}");
            model.Save("runs/sample/final");
            // README sample end
        }
        finally
        {
            Console.SetOut(stdout);
            Environment.CurrentDirectory = cwd;
        }
        string text = captured.ToString();
        TestContext.Out.Write(text);
        Assert.That(text, Does.Contain("step 0: loss").And.Contain("step 150: loss").And.Contain("dev accuracy"));
        double accuracy = double.Parse(text.Split("dev accuracy ")[1].Split('%')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(accuracy, Is.GreaterThan(70), "the sample's run learns the demo task");
        string saved = Path.Combine(TestPaths.RepoRoot, "runs", "sample", "final");
        Assert.That(File.Exists(Path.Combine(saved, "ortzo.json")));
        Directory.Delete(Path.Combine(TestPaths.RepoRoot, "runs", "sample"), true);
    }

    private static List<string> SampleLines([CallerFilePath] string path = "")
    {
        var lines = File.ReadAllLines(path);
        int start = Array.FindIndex(lines, l => l.Trim() == "// README sample start") + 1;
        int end = Array.FindIndex(lines, l => l.Trim() == "// README sample end");
        return Dedent(lines[start..end]);
    }

    private static List<string> ReadmeBlock()
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "README.md"));
        int open = Array.FindIndex(lines, l => l.Trim() == "```csharp");
        int close = Array.FindIndex(lines, open + 1, l => l.Trim() == "```");
        var block = lines[(open + 1)..close].ToList();
        Assert.That(block[0], Is.EqualTo("using OrtZo;"));
        return Dedent(block.Skip(1).SkipWhile(string.IsNullOrWhiteSpace).ToArray());
    }

    private static List<string> Dedent(string[] lines)
    {
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return lines.Select(l => l.Length >= indent ? l[indent..] : l.Trim()).ToList();
    }
}
