using OrtZo.Tools;
using NUnit.Framework;
using OrtZo.Onnx;
using OrtZo.Peft;
using OrtZo.Onnx.Peft;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>
/// Prefix tuning's rewrite against two oracles: a scalar Llama forward with prefix rows in its KV cache (the
/// shipped model, GQA and RoPE), and, on a GPT-2-style model that takes position_ids, the base model run on the
/// prefix tokens followed by the text (real-activation init makes the two the same computation).
/// </summary>
public class PrefixTests
{
    private TempFolder _temp = null!;

    [OneTimeSetUp]
    public void CreateTemp() => _temp = new TempFolder("peft-prefix");

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private PeftOptions Prefix(bool randomInit = false, int tokens = 5) =>
        new() { Scheme = PeftScheme.Prefix, PrefixTokens = tokens, RandomInit = randomInit, CacheFolder = Path.Combine(_temp.Path, "cache") };

    [Test]
    public void OnTheShippedLlamaScoresEqualAScalarForwardWithPrefixRowsInItsCache()
    {
        // Random prefix values exercise more than real activations would; the oracle takes them from the slab.
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: Prefix(randomInit: true, tokens: 3) with { RandomInitStd = 0.5 });
        var checkpoint = PrefixLlamaReference.FromFolder(TestPaths.Stories260k, heads: 8, kvHeads: 4);
        Assert.That(model.ParameterCount, Is.EqualTo(checkpoint.Layers * 2 * 3 * checkpoint.KvDim), "keys and values [3, Hkv·Dh] per layer");
        var keys = Enumerable.Range(0, checkpoint.Layers).Select(l => model.ReadWeights().ReadFloat32(model.ReadWeights().Layout.IndexOf(PrefixRewrite.KeysName(l)))).ToArray();
        var values = Enumerable.Range(0, checkpoint.Layers).Select(l => model.ReadWeights().ReadFloat32(model.ReadWeights().Layout.IndexOf(PrefixRewrite.ValuesName(l)))).ToArray();
        var rows = PeftFixtures.RandomRows(3, 12, 512, seed: 9);
        var scores = PeftFixtures.Scores(model, rows);
        double worst = 0, prefixEffect = double.PositiveInfinity;
        for (int r = 0; r < rows.Length; r++)
        {
            var logits = PrefixLlamaReference.Forward(checkpoint, rows[r], keys, values, 3);
            double expected = PrefixLlamaReference.SumLogprob(logits, rows[r], checkpoint.VocabSize);
            worst = Math.Max(worst, Math.Abs(expected - scores[r]));
            var withoutPrefix = PrefixLlamaReference.Forward(checkpoint, rows[r], keys, values, 0);
            prefixEffect = Math.Min(prefixEffect, Math.Abs(PrefixLlamaReference.SumLogprob(withoutPrefix, rows[r], checkpoint.VocabSize) - expected));
        }
        TestContext.Out.WriteLine($"max |ORT − scalar reference| over sum_logprob of 11 tokens: {worst:E2}; the prefix moves each sum by ≥ {prefixEffect:F3}");
        Assert.That(worst, Is.LessThan(1e-4));
        Assert.That(prefixEffect, Is.GreaterThan(1e-2), "the oracle must tell a model with a prefix from one without");
    }

    [Test]
    public void RealActivationInitCopiesTheFirstLayersKeysAndValuesOfRandomTokens()
    {
        var options = Prefix();
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: options);
        var c = PrefixLlamaReference.FromFolder(TestPaths.Stories260k, heads: 8, kvHeads: 4);
        long[] ids = AdapterInit.TokenIds(options.InitSeed, "prefix.token_ids", 5, 512);
        var keys = model.ReadWeights().ReadFloat32(model.ReadWeights().Layout.IndexOf(PrefixRewrite.KeysName(0)));
        var values = model.ReadWeights().ReadFloat32(model.ReadWeights().Layout.IndexOf(PrefixRewrite.ValuesName(0)));
        // Layer 0 before attention: k = rope(Wk · rms(embed[id]), p), v = Wv · rms(embed[id]).
        double worst = 0;
        for (int p = 0; p < 5; p++)
        {
            var x = c.TokenEmbedding.AsSpan((int)ids[p] * c.Dim, c.Dim).ToArray();
            float scale = 1f / MathF.Sqrt(x.Sum(v => v * v) / c.Dim + 1e-5f);
            var normed = x.Select((v, i) => c.AttentionNorm[0][i] * (scale * v)).ToArray();
            for (int o = 0; o < c.KvDim; o += 2)
            {
                float k0 = Dot(c.Wk[0], o, normed), k1 = Dot(c.Wk[0], o + 1, normed);
                float angle = p / MathF.Pow(10000f, o % c.HeadSize / (float)c.HeadSize);
                worst = Math.Max(worst, Math.Abs(k0 * MathF.Cos(angle) - k1 * MathF.Sin(angle) - keys[p * c.KvDim + o]));
                worst = Math.Max(worst, Math.Abs(k0 * MathF.Sin(angle) + k1 * MathF.Cos(angle) - keys[p * c.KvDim + o + 1]));
                worst = Math.Max(worst, Math.Abs(Dot(c.Wv[0], o, normed) - values[p * c.KvDim + o]));
            }
        }
        TestContext.Out.WriteLine($"layer 0 prefix vs hand-computed keys/values: max |Δ| {worst:E2}");
        Assert.That(worst, Is.LessThan(1e-5));
    }

    [TestCase(false, TestName = "On a GPT-2-style graph, real activations make the prefix equal to prepending its tokens")]
    [TestCase(true, TestName = "On a GPT-2-style graph exported with past key/values, real activations make the prefix equal to prepending its tokens")]
    public void OnAGpt2StyleGraphRealActivationsMakeThePrefixEqualToPrependingItsTokens(bool withPast)
    {
        // With position_ids, the text can be placed after the prefix: then attending to the captured keys/values of
        // the P tokens is exactly the base model's forward over [prefix tokens; text]. An export with past inputs
        // (emptied at import) has a Concat on the key/value path; the rewrite does not care.
        string folder = PeftFixtures.TinyGpt(Path.Combine(_temp.Path, withPast ? "past" : "no-past"),
            new TinyGptConfig { VocabSize = 96, ModelDim = 64, Layers = 2, Heads = 4, MaxLength = 32, Seed = 3, PositionIdsInput = true, WithPast = withPast });
        var options = Prefix(tokens: 4);
        using var full = ZoModel.Open(folder, threads: 2);
        using var prefix = ZoModel.Open(folder, threads: 2, peft: options);
        long[] prefixIds = AdapterInit.TokenIds(options.InitSeed, "prefix.token_ids", 4, 96);
        var text = PeftFixtures.RandomRows(2, 10, 96, seed: 4);
        var joined = text.Select(r => prefixIds.Concat(r).ToArray()).ToArray();
        var shifted = new Dictionary<string, long[]> { ["position_ids"] = Enumerable.Range(0, 2).SelectMany(_ => Enumerable.Range(4, 10).Select(t => (long)t)).ToArray() };
        var (expected, expectedShape) = PeftFixtures.GraphLogits(full, joined);
        var (actual, shape) = PeftFixtures.GraphLogits(prefix, text, shifted);
        Assert.That(shape, Is.EqualTo(new long[] { 2, 10, 96 }));
        var textPart = Enumerable.Range(0, 2).SelectMany(r => expected.AsSpan((r * 14 + 4) * 96, 10 * 96).ToArray()).ToArray();
        double diff = PeftFixtures.MaxAbsDiff(textPart, actual);
        TestContext.Out.WriteLine($"GPT-2 style, P = 4: max |Δ logits| {diff:E2}; {expectedShape[1]} positions vs 10");
        Assert.That(diff, Is.LessThan(1e-5));
    }

    [Test]
    public void OnTheTorchExportTheScaleStepIsSharedAndTheMaskStepsAreNot()
    {
        string folder = PeftFixtures.TorchTinyGpt(_temp.Path);
        var opened = OrtZo.Onnx.Model.ModelFolder.Open(folder);
        var graph = OnnxModelFile.Parse(File.ReadAllBytes(opened.GraphPath), opened.GraphPath).Graph;
        var cores = AttentionCores.Find(graph, opened.Manifest, opened.GraphPath);
        Assert.That(cores, Has.Count.EqualTo(2));
        var steps = cores[0].Steps.Select(s => $"{s.Node.OpType}:{(s.AppliesToPrefix ? "prefix" : "mask")}").ToList();
        TestContext.Out.WriteLine(string.Join(" → ", steps));
        // torch: scores / √d, · causal (0/1 slice of a buffer), + (1 − causal)·−1e4, + padding mask.
        Assert.That(steps, Is.EqualTo(new[] { "Div:prefix", "Mul:mask", "Add:mask", "Add:mask" }));
        using var model = ZoModel.Open(folder, threads: 2, peft: Prefix());
        var scores = PeftFixtures.Scores(model, PeftFixtures.RandomRows(2, 8, 64, seed: 1));
        Assert.That(scores.All(float.IsFinite));
    }

    private static float Dot(float[] w, int row, float[] x)
    {
        float sum = 0f;
        for (int i = 0; i < x.Length; i++) sum += w[row * x.Length + i] * x[i];
        return sum;
    }
}
