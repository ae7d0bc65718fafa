using OrtZo.Import;
using OrtZo.Tools;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;

namespace OrtZo.Tests.Onnx;

public class WeightPromotionTests
{
    private static readonly TinyGptConfig Small = new() { VocabSize = 40, ModelDim = 64, Layers = 1, Heads = 2, MaxLength = 16 };

    private static string Write(TempFolder folder, ModelProto model)
    {
        string source = Path.Combine(folder.Path, "source");
        Directory.CreateDirectory(source);
        OnnxModelWriter.WriteInline(model, Path.Combine(source, "model.onnx"));
        return source;
    }

    [Test]
    public void WeightHiddenInAConstantNode_BecomesAnInput()
    {
        using var folder = new TempFolder("constnode");
        var model = TinyGptBuilder.Build(Small);
        var weight = model.Graph.Initializer.Single(t => t.Name == "transformer.h.0.mlp.c_fc.weight");
        model.Graph.Initializer.Remove(weight);
        var constant = new NodeProto { OpType = "Constant", Name = "/h.0/mlp/Constant_weight" };
        constant.Output.Add(weight.Name);
        constant.Attribute.Add(GraphBuilder.Tensor("value", weight));
        model.Graph.Node.Insert(0, constant);
        string source = Write(folder, model);

        var report = ModelImport.Import(source, folder.File("imported"));
        var input = report.Manifest.WeightInputs.Single(w => w.Name == weight.Name);
        Assert.That((input.Role, input.Group), Is.EqualTo((WeightRole.Matrix, "layers.0")));
        Assert.That(report.Notes, Has.Some.Contains("Constant node"));

        var batch = ScoringBatch.Random(1, 2, 6, Small.VocabSize);
        var logits = ReferenceScoring.Logits(Path.Combine(source, "model.onnx"), batch.Ids, 2, 6, batch.AttentionMask);
        var (sum, mean) = ReferenceScoring.Scores(logits, batch.Ids, batch.LabelMask, 2, 6, Small.VocabSize);
        using var runner = ImportedModelRunner.Open(report.OutputFolder);
        var scores = runner.Score(batch.Ids, 2, 6, batch.AttentionMask, batch.LabelMask);
        ScoringBatch.AssertClose(scores.SumLogprob, scores.MeanLogprob, sum, mean, 1e-4);
    }

    [Test]
    public void KeepPattern_LeavesMatchingWeightsAsInitializers()
    {
        using var folder = new TempFolder("keep");
        string source = Write(folder, TinyGptBuilder.Build(Small));
        var report = ModelImport.Import(source, folder.File("imported"), new ImportOptions { KeepAsInitializer = [@"\.wpe\."] });
        Assert.That(report.Manifest.WeightInputs.Select(w => w.Name), Does.Not.Contain("transformer.wpe.weight"));
        Assert.That(report.KeptInitializers, Does.Contain(("transformer.wpe.weight", "matches a keep-as-initializer pattern")));
        using var model = OnnxModelFile.Load(Path.Combine(report.OutputFolder, "model.onnx"));
        Assert.That(model.Graph.Initializer.Select(t => t.Name), Does.Contain("transformer.wpe.weight"));
    }

    [Test]
    public void InitializersListedAsInputs_OldStyle_AreNotLeftWithTheInputsName()
    {
        using var folder = new TempFolder("oldir");
        var model = TinyGptBuilder.Build(Small);
        foreach (var t in model.Graph.Initializer)
            model.Graph.Input.Add(GraphBuilder.ValueInfo(t.Name, t.DataType, t.Dims.Select(d => (object)d).ToList()));
        string source = Write(folder, model);
        var report = ModelImport.Import(source, folder.File("imported"), new ImportOptions { Verify = ImportVerification.Forward });
        using var imported = OnnxModelFile.Load(Path.Combine(report.OutputFolder, "model.onnx"));
        var inputs = imported.Graph.Input.Select(i => i.Name).ToHashSet();
        Assert.That(imported.Graph.Initializer.Where(t => inputs.Contains(t.Name)), Is.Empty);
        Assert.That(inputs, Does.Not.Contain("transformer.causal_mask"), "a kept constant is no longer an input");
        Assert.That(report.Manifest.WeightInputs, Has.Count.EqualTo(2 + 12 + 2));
    }

    [Test]
    public void Decisions_FollowTheDocumentedRules()
    {
        using var folder = new TempFolder("rules");
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto() };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 17 });
        var g = new GraphBuilder(model.Graph, 17);
        var random = new SeededNormal(5);
        g.Initializer(TensorData.FromFloats("w", [4, 4], random.Normal(16, 1f)));
        g.Initializer(TensorData.FromFloats("template", [4, 4], random.Normal(16, 1f)));
        g.Initializer(TensorData.FromFloats("eps", [1, 1], [1e-5f]));
        g.Initializer(TensorData.FromFloats("layers.0.rotary_emb.inv_freq", [2], [1f, 0.01f]));
        g.Initializer(TensorData.FromInt64s("shape", [2], [4, 4]));
        g.Input("x", OnnxElementType.Float, 4L, 4L);
        string y = g.Node("MatMul", ["x", "w"]);
        g.Node("Add", [g.Node("Reshape", [y, g.Node("Shape", ["template"])]), "eps"], "out");
        g.Node("Mul", ["out", "layers.0.rotary_emb.inv_freq"]);
        g.Node("Reshape", ["out", "shape"]);
        string path = folder.File("rules.onnx");
        OnnxModelWriter.WriteInline(model, path);

        using var file = OnnxModelFile.Load(path);
        var decisions = WeightPromotion.Decide(file, new GraphIndex(file.Graph), new ImportOptions())
            .ToDictionary(d => d.Name, d => (d.Promote, d.Reason));
        Assert.That(decisions["w"], Is.EqualTo((true, "trainable")));
        Assert.That(decisions["template"], Is.EqualTo((false, "read only by shape ops")));
        Assert.That(decisions["eps"], Is.EqualTo((false, "scalar or all-ones shape")));
        Assert.That(decisions["layers.0.rotary_emb.inv_freq"], Is.EqualTo((false, "rotary cache (by name)")));
        Assert.That(decisions["shape"], Is.EqualTo((false, "int64 constant")));
    }

    [Test]
    public void FloatTensorsInsideSubgraphs_AreReportedFrozen()
    {
        var body = new GraphProto { Name = "then" };
        body.Initializer.Add(TensorData.FromFloats("hidden_weight", [4, 4], new float[16]));
        var node = new NodeProto { OpType = "If", Name = "/branch/If" };
        node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = body });
        var graph = new GraphProto();
        graph.Node.Add(node);
        Assert.That(WeightPromotion.FrozenSubgraphWeights(graph).Single(), Does.Contain("hidden_weight").And.Contain("/branch/If"));
    }
}
