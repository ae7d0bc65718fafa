using System.Text.Json;
using NUnit.Framework;
using OrtZo.Onnx;
using OrtZo.Tests.Onnx;
using OrtZo.Tests.Peft;

namespace OrtZo.Tests.Export;

/// <summary>
/// <c>ortzo export</c> round trips: plain ONNX Runtime on the exported file must give the logits the tuned OrtZo
/// model's graph computes (with its slab bound). Tolerances: 1e-5 absolute on logits of magnitude ≲ 10 where the
/// graph is the same and only weight inputs became initializers; 1e-4 for merged LoRA, whose forward rounds
/// x·(W + sBA) instead of x·W + s(xAᵀ)Bᵀ.
/// </summary>
public class ExportTests
{
    private TempFolder _temp = null!;

    [OneTimeSetUp]
    public void CreateTemp() => _temp = new TempFolder("export");

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private string Cache => Path.Combine(_temp.Path, "cache");

    private string Out(string name) => Path.Combine(_temp.Path, name);

    [Test]
    public void AFullModelExportsWithItsCurrentWeights()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        PeftFixtures.Perturb(model, 1, 0.2f);
        var report = model.Export(Out("full"));
        Assert.That(report.Files, Is.EquivalentTo(new[] { "model.onnx", "tokenizer.model", "export.json" }));
        var rows = PeftFixtures.RandomRows(2, 16, 512, seed: 2);
        var (expected, _) = PeftFixtures.GraphLogits(model, rows);
        var (actual, shape) = PeftFixtures.ExportedLogits(Path.Combine(report.Folder, "model.onnx"), rows);
        Assert.That(shape, Is.EqualTo(new long[] { 2, 16, 512 }));
        double diff = PeftFixtures.MaxAbsDiff(expected, actual);
        TestContext.Out.WriteLine($"full: max |Δ logits| {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-5));
        using var description = JsonDocument.Parse(File.ReadAllText(Path.Combine(report.Folder, "export.json")));
        Assert.That(description.RootElement.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "input_ids", "attention_mask" }));
        Assert.That(description.RootElement.GetProperty("tokenizer").GetProperty("kind").GetString(), Is.EqualTo("sentencepiece"));
    }

    [TestCase(true, 1e-4, TestName = "LoRA exports merged into the base weights")]
    [TestCase(false, 1e-5, TestName = "LoRA exports with its branch kept")]
    public void LoraExports(bool merge, double tolerance)
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: new PeftOptions { Scheme = PeftScheme.Lora, CacheFolder = Cache });
        PeftFixtures.Perturb(model, 3, 0.2f);
        var report = model.Export(Out(merge ? "lora-merged" : "lora-branch"), new ExportOptions { MergeLora = merge });
        Assert.That(report.LoraMerged, Is.EqualTo(merge));
        var rows = PeftFixtures.RandomRows(2, 16, 512, seed: 4);
        var (expected, _) = PeftFixtures.GraphLogits(model, rows);
        var (actual, _) = PeftFixtures.ExportedLogits(Path.Combine(report.Folder, "model.onnx"), rows);
        double diff = PeftFixtures.MaxAbsDiff(expected, actual);
        using var full = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        double effect = PeftFixtures.MaxAbsDiff(PeftFixtures.GraphLogits(full, rows).Values, expected);
        TestContext.Out.WriteLine($"LoRA {(merge ? "merged" : "kept")}: max |Δ logits| {diff:E2} (the adapters moved logits by up to {effect:F3}); {report.Parameters:N0} parameters");
        Assert.That(diff, Is.LessThan(tolerance));
        Assert.That(effect, Is.GreaterThan(1e-2), "the adapters must matter, or the comparison proves nothing");
        Assert.That(report.Parameters, Is.EqualTo(merge ? full.ParameterCount : full.ParameterCount + model.ParameterCount));
    }

    [Test]
    public void LoraOnMatMulOverInOutWeightsMergesInThatLayout()
    {
        // torch's export: nn.Linear weights pre-transposed to [in, out] and read by MatMul; the branch uses
        // Transpose(A), Transpose(B) and a scale Mul, the merge adds (A^T B^T)·s in the [in, out] layout.
        string folder = PeftFixtures.TorchTinyGpt(Out("torch"));
        using var model = ZoModel.Open(folder, threads: 2, peft: new PeftOptions { Scheme = PeftScheme.Lora, LoraTargets = ["c_attn", "c_fc"], LoraRank = 4, LoraAlpha = 8, CacheFolder = Cache });
        PeftFixtures.Perturb(model, 7, 0.2f);
        var report = model.Export(Out("torch-lora"));
        var rows = PeftFixtures.RandomRows(2, 12, 64, seed: 8);
        var (expected, _) = PeftFixtures.GraphLogits(model, rows);
        var (actual, _) = PeftFixtures.ExportedLogits(Path.Combine(report.Folder, "model.onnx"), rows);
        using var full = ZoModel.Open(folder, threads: 2);
        double effect = PeftFixtures.MaxAbsDiff(PeftFixtures.GraphLogits(full, rows).Values, expected);
        double diff = PeftFixtures.MaxAbsDiff(expected, actual);
        TestContext.Out.WriteLine($"torch export, LoRA on c_attn and c_fc merged: max |Δ logits| {diff:E2} (adapters moved logits by up to {effect:F3})");
        Assert.That(diff, Is.LessThan(1e-4));
        Assert.That(effect, Is.GreaterThan(1e-2));
    }

    [TestCase(PeftScheme.Prefix)]
    [TestCase(PeftScheme.Prompt)]
    public void PrefixAndPromptExportWithTheirLearnedTensors(PeftScheme scheme)
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: new PeftOptions { Scheme = scheme, CacheFolder = Cache });
        PeftFixtures.Perturb(model, 5, 0.2f);
        var report = model.Export(Out(scheme.ToString()));
        var rows = PeftFixtures.RandomRows(2, 16, 512, seed: 6);
        var (graph, graphShape) = PeftFixtures.GraphLogits(model, rows);
        int front = (int)graphShape[1] - 16;   // prompt tuning's graph keeps its virtual positions in front
        var expected = Enumerable.Range(0, 2).SelectMany(r => graph.AsSpan((r * (16 + front) + front) * 512, 16 * 512).ToArray()).ToArray();
        var (actual, shape) = PeftFixtures.ExportedLogits(Path.Combine(report.Folder, "model.onnx"), rows);
        Assert.That(shape, Is.EqualTo(new long[] { 2, 16, 512 }), "the export's logits cover the real tokens only");
        double diff = PeftFixtures.MaxAbsDiff(expected, actual);
        TestContext.Out.WriteLine($"{scheme}: max |Δ logits| {diff:E2} ({front} virtual positions sliced off)");
        Assert.That(diff, Is.LessThan(1e-5));
    }

    [Test]
    public void ExportRefusesToWriteOverTheFolderItReads()
    {
        string copy = Out("copy-of-stories");
        CopyFolder(TestPaths.Stories260k, copy);
        using var model = ZoModel.Open(copy, threads: 2);
        var e = Assert.Throws<OrtZoException>(() => model.Export(copy));
        Assert.That(e!.Message, Does.Contain("must not replace the folder it reads from"));
    }

    internal static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
