using OrtZo.Import;
using OrtZo.Tools;
using NUnit.Framework;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// The stories260K llama2.c checkpoint converted to ONNX, checked against a scalar transcription of run.c and
/// by what it writes. The data sits beside the project (/work/shared/data); without it these tests are ignored.
/// </summary>
public class Llama2cConverterTests
{
    private static readonly string DataFolder = Path.Combine(TestPaths.SharedData, "stories260k");
    private static string Checkpoint => Path.Combine(DataFolder, "checkpoint_legacy.bin");
    private static string Tokenizer => Path.Combine(DataFolder, "tokenizer.bin");

    private static TempFolder _folder = null!;
    private static Llama2cCheckpoint _checkpoint = null!;
    private static string _converted = null!;

    [OneTimeSetUp]
    public void ConvertOnce()
    {
        if (!File.Exists(Checkpoint) || !File.Exists(Tokenizer))
            Assert.Ignore($"the stories260K checkpoint is not at {DataFolder}; it is shared data beside the project, not part of it");
        _folder = new TempFolder("llama2c");
        _converted = Path.Combine(_folder.Path, "converted");
        Llama2cConverter.Convert(Checkpoint, _converted);
        _checkpoint = Llama2cCheckpoint.Read(Checkpoint);
    }

    [OneTimeTearDown]
    public void CleanUp() => _folder?.Dispose();

    private static string ConvertedModel => Path.Combine(_converted, "model.onnx");

    /// <summary>
    /// Tolerance 1e-4 on logits of magnitude up to ~20: both sides are float32, summing in different orders
    /// (observed ~1e-5).
    /// </summary>
    [Test]
    public void Logits_MatchTheScalarReference()
    {
        int[] tokens = [1, 403, 407, 261, 378, 66, 83, 10, 300, 45, 500, 2];
        var expected = new Llama2cReference(_checkpoint).Forward(tokens);
        var actual = ReferenceScoring.Logits(ConvertedModel, tokens.Select(t => (long)t).ToArray(), 1, tokens.Length, null);
        double worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        TestContext.Out.WriteLine($"max |ORT - reference| = {worst:E2} over {expected.Length} logits (max |logit| {expected.Max(Math.Abs):F1})");
        Assert.That(worst, Is.LessThan(1e-4));
    }

    [Test]
    public void GreedyDecodingFromBos_TellsAStory()
    {
        var ids = new List<int> { 1 };
        for (int step = 0; step < 30; step++)
        {
            var logits = ReferenceScoring.Logits(ConvertedModel, ids.Select(t => (long)t).ToArray(), 1, ids.Count, null);
            int row = (ids.Count - 1) * _checkpoint.VocabSize;
            int best = 0;
            for (int v = 1; v < _checkpoint.VocabSize; v++)
                if (logits[row + v] > logits[row + best]) best = v;
            ids.Add(best);
        }
        string text = Llama2cPieces.Read(Tokenizer, _checkpoint.VocabSize).Decode(ids);
        TestContext.Out.WriteLine(text);
        Assert.That(text, Does.StartWith("Once upon a time"));
    }

    [Test]
    public void Import_KeepsRotaryCachesMaskAndIntegerConstants_AndScoresLikeTheReference()
    {
        using var folder = new TempFolder("llama-import");
        var report = ModelImport.Import(_converted, folder.File("imported"));
        var manifest = report.Manifest;
        Assert.That(manifest.Architecture, Is.EqualTo("llama"));
        Assert.That((manifest.VocabSize, manifest.MaxLength, manifest.Tokenizer.BosId, manifest.Tokenizer.EosId),
            Is.EqualTo((512, 512, (int?)1, (int?)2)), "from the config.json the converter wrote");
        Assert.That(manifest.WeightInputs, Has.Count.EqualTo(1 + 9 * 5 + 1));
        Assert.That(manifest.Groups, Is.EqualTo(new[] { "embeddings", "layers.0", "layers.1", "layers.2", "layers.3", "layers.4", "head" }));
        var byName = manifest.WeightInputs.ToDictionary(w => w.Name);
        Assert.That(byName["model.embed_tokens.weight"].Role, Is.EqualTo(WeightRole.Embedding), "tied: embedding and head in one");
        Assert.That(byName["model.layers.2.self_attn.k_proj.weight"].Role, Is.EqualTo(WeightRole.Matrix));
        Assert.That(byName["model.layers.2.self_attn.k_proj.weight"].Shape, Is.EqualTo(new long[] { 32, 64 }));
        Assert.That(byName["model.layers.4.post_attention_layernorm.weight"].Role, Is.EqualTo(WeightRole.Norm));
        Assert.That((byName["model.norm.weight"].Role, byName["model.norm.weight"].Group), Is.EqualTo((WeightRole.Norm, "head")));

        using var model = OnnxModelFile.Load(Path.Combine(report.OutputFolder, "model.onnx"));
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.That(initializers.Keys, Does.Contain("model.rotary_emb.cos_cached").And.Contain("model.rotary_emb.sin_cached").And.Contain("model.causal_mask"));
        Assert.That(initializers.Values.Where(t => t.DataType == OnnxElementType.Int64), Is.Not.Empty, "shape constants stay");
        Assert.That(initializers.Keys, Has.None.AnyOf(model.Graph.Input.Select(i => i.Name).ToArray()));

        int[] tokens = [1, 403, 407, 261, 378, 66, 83, 10];
        var ids = tokens.Select(t => (long)t).ToArray();
        float[] labels = [0, 1, 1, 1, 1, 1, 1, 1];
        var reference = new Llama2cReference(_checkpoint).Forward(tokens);
        var (sum, mean) = ReferenceScoring.Scores(reference, ids, labels, 1, tokens.Length, _checkpoint.VocabSize);
        using var runner = ImportedModelRunner.Open(report.OutputFolder);
        var scores = runner.Score(ids, 1, tokens.Length, null, labels);
        double worst = ScoringBatch.AssertClose(scores.SumLogprob, scores.MeanLogprob, sum, mean, 1e-3);
        TestContext.Out.WriteLine($"sum_logprob {scores.SumLogprob[0]:F5} vs reference {sum[0]:F5} (|diff| {worst:E2})");
    }

    [Test]
    public void AnonymousRotaryTablesAndMask_AreRecognisedByTheirValues()
    {
        using var folder = new TempFolder("llama-anon");
        var model = Llama2cConverter.Build(_checkpoint);
        var renames = new Dictionary<string, string>
        {
            ["model.rotary_emb.cos_cached"] = "onnx::Gather_101",
            ["model.rotary_emb.sin_cached"] = "onnx::Gather_102",
            ["model.causal_mask"] = "onnx::Slice_103",
        };
        foreach (var t in model.Graph.Initializer.Where(t => renames.ContainsKey(t.Name))) t.Name = renames[t.Name];
        foreach (var n in model.Graph.Node)
            for (int i = 0; i < n.Input.Count; i++)
                if (renames.TryGetValue(n.Input[i], out var renamed)) n.Input[i] = renamed;
        string source = Path.Combine(folder.Path, "source");
        Directory.CreateDirectory(source);
        OnnxModelWriter.WriteWithExternalData(model, Path.Combine(source, "model.onnx"), "model.onnx.data");

        var report = ModelImport.Import(source, folder.File("imported"));
        var kept = report.KeptInitializers.ToDictionary(k => k.Name, k => k.Reason);
        Assert.That(kept["onnx::Gather_101"], Is.EqualTo("rotary cos/sin table (by value)"));
        Assert.That(kept["onnx::Gather_102"], Is.EqualTo("rotary cos/sin table (by value)"));
        Assert.That(kept["onnx::Slice_103"], Is.EqualTo("causal mask (by value)"));
        Assert.That(report.Manifest.WeightInputs, Has.Count.EqualTo(47));
    }

    [Test]
    public void TruncatedCheckpoint_IsRefusedWithItsSizes()
    {
        using var folder = new TempFolder("llama-bad");
        string path = folder.File("bad.bin");
        File.WriteAllBytes(path, File.ReadAllBytes(Checkpoint)[..1000]);
        var e = Assert.Throws<OrtZoException>(() => Llama2cCheckpoint.Read(path))!;
        Assert.That(e.Message, Does.Contain(path).And.Contain("1000 bytes").And.Contain("1056540"));
    }
}
