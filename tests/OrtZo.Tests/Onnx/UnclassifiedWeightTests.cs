using NUnit.Framework;
using OrtZo.Import;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.Onnx.Proto;
using OrtZo.Tests.Peft;
using OrtZo.Tools;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// A TinyGpt with one extra learned tensor no role fits: a [1, 1, 256] gate multiplied into layer 0's MLP
/// activations (rank 3, read by a Mul, no norm or matrix product nearby). The import must refuse it by name, shape
/// and reader, write nothing, and import it frozen when the user keeps it by name.
/// </summary>
public class UnclassifiedWeightTests
{
    private static readonly TinyGptConfig Config = new() { VocabSize = 96, ModelDim = 64, Layers = 2, Heads = 4, MaxLength = 32, Seed = 13 };
    private const string Gate = "transformer.h.0.mlp.mystery_gate";

    [Test]
    public void AWeightOfNoRoleIsRefusedNamingItsShapeAndReader()
    {
        using var folder = new TempFolder("unclassified");
        string source = WriteGatedModel(folder.File("source"));
        var e = Assert.Throws<OrtZoException>(() => ModelImport.Import(source, folder.File("imported")));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("unclassified weights: 1 float tensor of 64 or more elements fit").And.Contain($"'{Gate}' [1, 1, 256] read by Mul 'gate_mul' (input 1)")
            .And.Contain("--keep-initializer"));
        Assert.That(e.Message, Does.Not.Contain("c_fc.weight"), "classified weights are not listed");
        Assert.That(Directory.Exists(folder.File("imported")), Is.False, "nothing half-written");
    }

    [Test]
    public void KeptByNameItImportsFrozenAndScoresAsTheOriginal()
    {
        using var folder = new TempFolder("unclassified-kept");
        string source = WriteGatedModel(folder.File("source"));
        var report = ModelImport.Import(source, folder.File("imported"), new ImportOptions { KeepAsInitializer = ["mystery_gate"] });
        Assert.That(report.Manifest.WeightInputs.Select(w => w.Name), Does.Not.Contain(Gate));
        Assert.That(report.Manifest.WeightInputs.Select(w => w.Role), Has.None.EqualTo(WeightRole.Other));
        Assert.That(report.KeptInitializers.Select(k => k.Name), Does.Contain(Gate));
        var rows = PeftFixtures.RandomRows(2, 10, Config.VocabSize, seed: 8);
        using var model = ZoModel.Open(report.OutputFolder, threads: 2);
        var expected = GenAiImportTests.OriginalGraphScores(Path.Combine(source, "model.onnx"), rows);
        Assert.That(PeftFixtures.MaxAbsDiff(expected.Select(v => (float)v).ToArray(), PeftFixtures.Scores(model, rows)), Is.LessThan(1e-4));
    }

    [Test]
    public void SmallCoefficientsOfNoRoleAreNotWeights()
    {
        Assert.That(UnclassifiedWeights.MinimumElements, Is.LessThanOrEqualTo(Config.ModelDim), "a norm over d_model is weight-sized");
        using var folder = new TempFolder("unclassified-small");
        string source = WriteGatedModel(folder.File("source"), gateWidth: 1, gateElements: 16);
        var report = ModelImport.Import(source, folder.File("imported"));
        Assert.That(report.Manifest.WeightInputs.Single(w => w.Name == Gate).Role, Is.EqualTo(WeightRole.Other));
    }

    /// <summary>TinyGpt with Mul(gelu, gate) feeding layer 0's down projection; the gate is [1, 1, 256] (or a small stand-in).</summary>
    private static string WriteGatedModel(string folder, int gateWidth = 256, int gateElements = 256)
    {
        Directory.CreateDirectory(folder);
        var model = TinyGptBuilder.Build(Config);
        var graph = model.Graph;
        var down = graph.Node.Single(n => n.Input.Contains("transformer.h.0.mlp.c_proj.weight"));
        var values = Enumerable.Range(0, gateElements).Select(i => 0.5f + i % 7 * 0.1f).ToArray();
        if (gateWidth != 256)
        {
            // Small case: a [16] vector summed to a scalar gate, so it stays a coefficient of the same Mul.
            graph.Initializer.Add(TensorData.FromFloats(Gate, [gateElements], values));
            var sum = new NodeProto { OpType = "ReduceSum", Name = "gate_sum" };
            sum.Input.Add(Gate);
            sum.Output.Add("gate_scalar");
            sum.Attribute.Add(GraphBuilder.Int("keepdims", 0));
            var mulSmall = new NodeProto { OpType = "Mul", Name = "gate_mul" };
            mulSmall.Input.AddRange([down.Input[0], "gate_scalar"]);
            mulSmall.Output.Add("gated");
            int atSmall = graph.Node.IndexOf(down);
            graph.Node.Insert(atSmall, mulSmall);
            graph.Node.Insert(atSmall, sum);
            down.Input[0] = "gated";
        }
        else
        {
            graph.Initializer.Add(TensorData.FromFloats(Gate, [1, 1, gateWidth], values));
            var mul = new NodeProto { OpType = "Mul", Name = "gate_mul" };
            mul.Input.AddRange([down.Input[0], Gate]);
            mul.Output.Add("gated");
            graph.Node.Insert(graph.Node.IndexOf(down), mul);
            down.Input[0] = "gated";
        }
        OnnxModelWriter.WriteInline(model, Path.Combine(folder, "model.onnx"));
        return folder;
    }
}
