using OrtZo.Import;
using OrtZo.Tools;
using System.Text.Json;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.WeightStore;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// Imports models from <see cref="TinyGptBuilder"/> (a standard causal LM with initializers, like a torch export)
/// and checks the folder against the original model run through ORT.
/// Tolerance 1e-4 (absolute, on log-probabilities of about −4 per token, sums of up to ~10 tokens): the two
/// graphs compute the same float32 logits up to ORT's kernel choices, and the oracle sums in double.
/// </summary>
public class TinyGptImportTests
{
    private const double Tolerance = 1e-4;
    private static readonly TinyGptConfig Base = new() { VocabSize = 96, ModelDim = 64, Layers = 2, Heads = 4, MaxLength = 32, Seed = 7 };

    private static (TempFolder Folder, string Source, ImportReport Report) BuildAndImport(TinyGptConfig config, bool externalData = false,
        ImportOptions? options = null)
    {
        var folder = new TempFolder("tinygpt");
        string source = Path.Combine(folder.Path, "source");
        Directory.CreateDirectory(source);
        TinyGptBuilder.Write(config, Path.Combine(source, "model.onnx"), externalData);
        var report = ModelImport.Import(source, folder.File("imported"), options);
        return (folder, source, report);
    }

    [TestCase(false, 17, false, TestName = "Scores match the original: inline, opset 17")]
    [TestCase(true, 17, false, TestName = "Scores match the original: external data, opset 17")]
    [TestCase(false, 17, true, TestName = "Scores match the original: with past key/values, opset 17")]
    [TestCase(true, 12, false, TestName = "Scores match the original: external data, opset 12 (reduce axes as attributes)")]
    [TestCase(false, 18, true, TestName = "Scores match the original: with past, opset 18 (all reduce axes as inputs)")]
    [TestCase(true, 17, true, true, TestName = "Scores match the original: Optimum-style, with past and position_ids, external data")]
    public void ScoresMatchTheOriginalModel(bool externalData, int opset, bool withPast, bool positionIds = false)
    {
        var config = Base with { Opset = opset, WithPast = withPast, PositionIdsInput = positionIds };
        var (folder, source, report) = BuildAndImport(config, externalData, new ImportOptions { Verify = ImportVerification.Forward });
        using var _ = folder;
        Assert.That(report.Manifest.Inputs.PositionIds, Is.EqualTo(positionIds ? "position_ids" : null));
        using var runner = ImportedModelRunner.Open(report.OutputFolder);
        double worst = 0;
        foreach (int seed in new[] { 1, 2 })
        {
            var batch = ScoringBatch.Random(seed, batch: 3, seq: 12, config.VocabSize);
            var logits = ReferenceScoring.Logits(Path.Combine(source, "model.onnx"), batch.Ids, batch.Batch, batch.Seq, batch.AttentionMask);
            var (sum, mean) = ReferenceScoring.Scores(logits, batch.Ids, batch.LabelMask, batch.Batch, batch.Seq, config.VocabSize);
            var scores = runner.Score(batch.Ids, batch.Batch, batch.Seq, batch.AttentionMask, batch.LabelMask, withLogits: true);
            worst = Math.Max(worst, ScoringBatch.AssertClose(scores.SumLogprob, scores.MeanLogprob, sum, mean, Tolerance));
            Assert.That(scores.Logits, Is.EqualTo(logits).Within(1e-5), "the logits output is kept and unchanged");
        }
        TestContext.Out.WriteLine($"largest |OrtZo - oracle| = {worst:E2}");
    }

    [Test]
    public void EveryFloatWeightBecomesAnInput_AndOnlyConstantsStay()
    {
        var (folder, _, report) = BuildAndImport(Base);
        using var _f = folder;
        var manifest = report.Manifest;
        int perLayer = 12, expected = 2 + perLayer * Base.Layers + 2; // wte, wpe, blocks, ln_f
        Assert.That(manifest.WeightInputs, Has.Count.EqualTo(expected));

        using var model = OnnxModelFile.Load(Path.Combine(report.OutputFolder, "model.onnx"));
        var inputs = model.Graph.Input.Select(i => i.Name).ToHashSet();
        Assert.That(manifest.WeightInputs.Select(w => w.Name), Is.SubsetOf(inputs));
        Assert.That(model.Graph.Initializer.Select(t => t.Name), Has.None.AnyOf(inputs.ToArray()), "no initializer shares an input's name");
        var floatInitializers = model.Graph.Initializer.Where(t => OnnxElementType.IsTrainableFloat(t.DataType) && t.Dims.Aggregate(1L, (a, b) => a * b) > 1);
        Assert.That(floatInitializers.Select(t => t.Name), Is.EqualTo(new[] { "transformer.causal_mask" }), "only the causal mask stays");
        Assert.That(report.KeptInitializers.Single(k => k.Name == "transformer.causal_mask").Reason, Does.StartWith("mask"));
        foreach (var w in manifest.WeightInputs)
        {
            var input = model.Graph.Input.Single(i => i.Name == w.Name);
            Assert.That(input.Type.TensorType.Shape.Dim.Select(d => d.DimValue), Is.EqualTo(w.Shape), $"{w.Name} has a full static shape");
        }
    }

    [Test]
    public void TiedEmbedding_IsOneInputReadByGatherAndHead()
    {
        var (folder, _, report) = BuildAndImport(Base);
        using var _f = folder;
        var wte = report.Manifest.WeightInputs.Single(w => w.Name == "transformer.wte.weight");
        Assert.That(wte.Role, Is.EqualTo(WeightRole.Embedding));
        Assert.That(report.Manifest.WeightInputs.Count(w => w.Shape.SequenceEqual(wte.Shape)), Is.EqualTo(1));
        using var model = OnnxModelFile.Load(Path.Combine(report.OutputFolder, "model.onnx"));
        Assert.That(model.Graph.Node.Where(n => n.Input.Contains(wte.Name)).Select(n => n.OpType), Is.EquivalentTo(new[] { "Gather", "Gemm" }));
    }

    [Test]
    public void DuplicatedHeadBytes_CollapseIntoOneInputWithAnAlias()
    {
        var config = Base with { DuplicateTiedHead = true };
        var (folder, source, report) = BuildAndImport(config);
        using var _f = folder;
        var names = report.Manifest.WeightInputs.Select(w => w.Name).ToList();
        Assert.That(names, Does.Not.Contain("lm_head.weight"));
        Assert.That(report.Manifest.WeightInputs.Single(w => w.Name == "transformer.wte.weight").Aliases, Is.EqualTo(new[] { "lm_head.weight" }));

        var batch = ScoringBatch.Random(3, 2, 8, config.VocabSize);
        var logits = ReferenceScoring.Logits(Path.Combine(source, "model.onnx"), batch.Ids, batch.Batch, batch.Seq, batch.AttentionMask);
        var (sum, mean) = ReferenceScoring.Scores(logits, batch.Ids, batch.LabelMask, batch.Batch, batch.Seq, config.VocabSize);
        using var runner = ImportedModelRunner.Open(report.OutputFolder);
        var scores = runner.Score(batch.Ids, batch.Batch, batch.Seq, batch.AttentionMask, batch.LabelMask);
        ScoringBatch.AssertClose(scores.SumLogprob, scores.MeanLogprob, sum, mean, Tolerance);
    }

    [Test]
    public void UniformWeights_AreNeverTied()
    {
        // GPT-2's step-0 init: every bias is zeros and every norm scale ones; equal bytes are not a tie there.
        var (folder, _, report) = BuildAndImport(Base with { FreshInit = true });
        using var _f = folder;
        Assert.That(report.Manifest.WeightInputs, Has.Count.EqualTo(2 + 12 * Base.Layers + 2));
        Assert.That(report.Manifest.WeightInputs.Where(w => w.Aliases is not null), Is.Empty);
    }

    [Test]
    public void RolesAndGroups_FollowTheStructure()
    {
        var (folder, _, report) = BuildAndImport(Base);
        using var _f = folder;
        var manifest = report.Manifest;
        Assert.That(manifest.Groups, Is.EqualTo(new[] { "embeddings", "layers.0", "layers.1", "head" }));
        var expected = new Dictionary<string, (WeightRole, string)>
        {
            ["transformer.wte.weight"] = (WeightRole.Embedding, "embeddings"),
            ["transformer.wpe.weight"] = (WeightRole.PositionEmbedding, "embeddings"),
            ["transformer.h.0.ln_1.weight"] = (WeightRole.Norm, "layers.0"),
            ["transformer.h.0.ln_1.bias"] = (WeightRole.Norm, "layers.0"),
            ["transformer.h.0.attn.c_attn.weight"] = (WeightRole.Matrix, "layers.0"),
            ["transformer.h.0.attn.c_attn.bias"] = (WeightRole.Bias, "layers.0"),
            ["transformer.h.1.mlp.c_proj.weight"] = (WeightRole.Matrix, "layers.1"),
            ["transformer.h.1.mlp.c_fc.bias"] = (WeightRole.Bias, "layers.1"),
            ["transformer.ln_f.weight"] = (WeightRole.Norm, "head"),
            ["transformer.ln_f.bias"] = (WeightRole.Norm, "head"),
        };
        foreach (var (name, (role, group)) in expected)
        {
            var w = manifest.WeightInputs.Single(x => x.Name == name);
            Assert.That((w.Role, w.Group), Is.EqualTo((role, group)), name);
        }
        var groupOrder = manifest.WeightInputs.Select(w => manifest.Groups.ToList().IndexOf(w.Group)).ToList();
        Assert.That(groupOrder, Is.Ordered, "weights are listed group by group");
    }

    [Test]
    public void UntiedHead_IsLmHeadInTheHeadGroup()
    {
        var (folder, _, report) = BuildAndImport(Base with { DuplicateTiedHead = true }, options: new ImportOptions { CollapseTiedWeights = false });
        using var _f = folder;
        var head = report.Manifest.WeightInputs.Single(w => w.Name == "lm_head.weight");
        Assert.That((head.Role, head.Group), Is.EqualTo((WeightRole.LmHead, "head")));
        Assert.That(report.Manifest.WeightInputs[^1].Name, Is.EqualTo("lm_head.weight"), "the head group comes last, in source order");
    }

    [Test]
    public void WithPast_CacheInputsAndPresentOutputsAreGone()
    {
        var (folder, _, report) = BuildAndImport(Base with { WithPast = true });
        using var _f = folder;
        Assert.That(report.RemovedCacheValues, Has.Count.EqualTo(4 * Base.Layers));
        using var model = OnnxModelFile.Load(Path.Combine(report.OutputFolder, "model.onnx"));
        Assert.That(model.Graph.Input.Select(i => i.Name), Has.None.Contains("past"));
        Assert.That(model.Graph.Output.Select(o => o.Name), Is.EqualTo(new[] { "logits", "sum_logprob", "mean_logprob" }));
        Assert.That(report.Manifest.Inputs.AttentionMask, Is.EqualTo("attention_mask"));
    }

    [Test]
    public void Manifest_RoundTripsThroughItsJson()
    {
        var (folder, _, report) = BuildAndImport(Base);
        using var _f = folder;
        string path = Path.Combine(report.OutputFolder, ModelManifest.FileName);
        string text = File.ReadAllText(path);
        var parsed = JsonSerializer.Deserialize<ModelManifest>(text, ModelManifest.Json)!;
        Assert.That(JsonSerializer.Serialize(parsed, ModelManifest.Json), Is.EqualTo(text));
        Assert.That(parsed.Architecture, Is.EqualTo("gpt2"));
        Assert.That(parsed.VocabSize, Is.EqualTo(Base.VocabSize));
        Assert.That(parsed.MaxLength, Is.EqualTo(Base.MaxLength), "from the position table");
        Assert.That(parsed.Outputs.Logits, Is.EqualTo("logits"));
        Assert.That(parsed.Source!["source_graph_sha256"], Has.Length.EqualTo(64));
        Assert.That(parsed.WeightInputs.Select(w => (w.Name, w.Role, w.Group)), Is.EqualTo(report.Manifest.WeightInputs.Select(w => (w.Name, w.Role, w.Group))));
    }

    [Test]
    public void WeightsFile_HoldsTheSourceBytes_InManifestOrder()
    {
        var (folder, source, report) = BuildAndImport(Base, externalData: true);
        using var _f = folder;
        using var weights = SafetensorsFile.Open(Path.Combine(report.OutputFolder, "weights.safetensors"));
        using var original = OnnxModelFile.Load(Path.Combine(source, "model.onnx"));
        Assert.That(weights.Tensors.Select(t => t.Spec.Name), Is.EqualTo(report.Manifest.WeightInputs.Select(w => w.Name)));
        foreach (var w in report.Manifest.WeightInputs)
            Assert.That(weights.GetBytes(w.Name).ToArray(), Is.EqualTo(original.ReadBytes(original.Graph.Initializer.Single(t => t.Name == w.Name))), w.Name);
    }

    [Test]
    public void ImportingTwice_GivesIdenticalFolders()
    {
        using var folder = new TempFolder("twice");
        string source = Path.Combine(folder.Path, "source");
        Directory.CreateDirectory(source);
        TinyGptBuilder.Write(Base, Path.Combine(source, "model.onnx"), externalData: false);
        ModelImport.Import(source, folder.File("a"));
        ModelImport.Import(source, folder.File("b"));
        foreach (var name in new[] { "model.onnx", "weights.safetensors", ModelManifest.FileName })
            Assert.That(File.ReadAllBytes(Path.Combine(folder.File("b"), name)), Is.EqualTo(File.ReadAllBytes(Path.Combine(folder.File("a"), name))), name);
    }

    [Test]
    public void ExistingOutput_IsKeptUnlessOverwriteIsAsked()
    {
        var (folder, source, report) = BuildAndImport(Base);
        using var _f = folder;
        var e = Assert.Throws<OrtZoException>(() => ModelImport.Import(source, report.OutputFolder))!;
        Assert.That(e.Reason, Is.EqualTo(OnnxError.OutputExists));
        File.WriteAllText(Path.Combine(report.OutputFolder, "stale.txt"), "old");
        ModelImport.Import(source, report.OutputFolder, new ImportOptions { Overwrite = true });
        Assert.That(File.Exists(Path.Combine(report.OutputFolder, "stale.txt")), Is.False, "the old folder was replaced");
        Assert.That(Directory.GetDirectories(folder.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "source", "imported" }), "no temporary folders left");
    }

    [Test]
    public void TokenizerFilesBesideTheSource_AreCopiedAndRead()
    {
        using var folder = new TempFolder("tok");
        string source = Path.Combine(folder.Path, "source");
        Directory.CreateDirectory(source);
        TinyGptBuilder.Write(Base, Path.Combine(source, "model.onnx"), externalData: false);
        File.WriteAllText(Path.Combine(source, "vocab.json"), """{"<|endoftext|>": 95, "a": 0, "<pad>": 94}""");
        File.WriteAllText(Path.Combine(source, "merges.txt"), "#version: 0.2\n");
        File.WriteAllText(Path.Combine(source, "config.json"), """{"model_type": "gpt2", "bos_token_id": 95, "eos_token_id": 95, "n_positions": 32}""");
        File.WriteAllText(Path.Combine(source, "tokenizer_config.json"), """{"pad_token": {"content": "<pad>"}, "add_prefix_space": true}""");
        var report = ModelImport.Import(source, folder.File("out"));
        var t = report.Manifest.Tokenizer;
        Assert.That(t.Kind, Is.EqualTo("byte-bpe"));
        Assert.That((t.BosId, t.EosId, t.PadId, t.AddPrefixSpace, t.AddBos), Is.EqualTo(((int?)95, (int?)95, (int?)94, true, false)));
        Assert.That(t.Files, Is.EquivalentTo(new[] { "vocab.json", "merges.txt", "tokenizer_config.json", "config.json" }));
        foreach (var f in t.Files) Assert.That(File.Exists(Path.Combine(report.OutputFolder, f)), f);

        var given = new TokenizerInfo { Kind = "sentencepiece", Files = [], BosId = 1, AddBos = true };
        string model = Path.Combine(folder.Path, "tokenizer.model");
        File.WriteAllText(model, "not really a model");
        report = ModelImport.Import(source, folder.File("out2"), new ImportOptions { Tokenizer = given, TokenizerFiles = [model], EosId = 2 });
        Assert.That(report.Manifest.Tokenizer, Is.EqualTo(given with { Files = report.Manifest.Tokenizer.Files, EosId = 2 }));
        Assert.That(report.Manifest.Tokenizer.Files, Is.EqualTo(new[] { "tokenizer.model" }));
        Assert.That(File.Exists(Path.Combine(report.OutputFolder, "tokenizer.model")));
    }
}
