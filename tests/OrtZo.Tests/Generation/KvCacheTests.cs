using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;
using OrtZo.Generation;
using OrtZo.Import;
using OrtZo.Tests.Onnx;
using OrtZo.Tests.Peft;
using OrtZo.Tools;

namespace OrtZo.Tests.Generation;

/// <summary>
/// The KV-cached graph against the graph without a cache. The reference is the model's plain export (no rewrite
/// involved) run by plain ORT over the whole sequence at once: the cached decoder, fed the prompt and then one token
/// at a time, must give at every position the logits the reference gives at that position, within 1e-4. Weights are
/// moved away from their pretrained values first, so the cache carries tuned keys and values. Greedy decoding with
/// and without the cache must then agree token for token.
/// </summary>
public class KvCacheTests
{
    private TempFolder _temp = null!;

    [OneTimeSetUp]
    public void CreateTemp() => _temp = new TempFolder("kv-cache");

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private string Out(string name) => Path.Combine(_temp.Path, name);

    /// <summary>Steps the decoder through <paramref name="row"/> (first <paramref name="prompt"/> tokens at once) and compares every position.</summary>
    private static double CompareWithExport(ZoModel model, string export, long[] row, int prompt)
    {
        var (reference, vocab) = WholeSequenceLogits(Path.Combine(export, "model.onnx"), row);
        using var decoder = new KvCacheDecoder(model);
        double worst = 0;
        var cached = decoder.Step(row.Take(prompt).Select(v => (int)v).ToArray());
        worst = Math.Max(worst, PeftFixtures.MaxAbsDiff(reference.AsSpan((prompt - 1) * vocab, vocab), cached));
        for (int t = prompt; t < row.Length; t++)
        {
            cached = decoder.Step([(int)row[t]]);
            Assert.That(decoder.PastLength, Is.EqualTo(t + 1));
            worst = Math.Max(worst, PeftFixtures.MaxAbsDiff(reference.AsSpan(t * vocab, vocab), cached));
        }
        return worst;
    }

    /// <summary>Plain ORT over the whole row at once (positions 0 … T−1 where the graph takes them), logits as float32 whatever their type.</summary>
    private static (float[] Logits, int Vocab) WholeSequenceLogits(string modelPath, long[] row)
    {
        using var session = new InferenceSession(modelPath, new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, IntraOpNumThreads = 2 });
        var names = session.InputMetadata.Keys.ToHashSet();
        var inputs = new Dictionary<string, OrtValue> { ["input_ids"] = OrtValue.CreateTensorValueFromMemory(row.ToArray(), [1, row.Length]) };
        if (names.Contains("attention_mask")) inputs["attention_mask"] = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, row.Length).ToArray(), [1, row.Length]);
        if (names.Contains("position_ids")) inputs["position_ids"] = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, row.Length).Select(i => (long)i).ToArray(), [1, row.Length]);
        try
        {
            using var results = session.Run(new RunOptions(), inputs.Keys.ToList(), inputs.Values.ToList(), ["logits"]);
            var info = results[0].GetTensorTypeAndShape();
            float[] logits = info.ElementDataType == TensorElementType.Float16
                ? results[0].GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)h).ToArray()
                : results[0].GetTensorDataAsSpan<float>().ToArray();
            return (logits, (int)info.Shape[2]);
        }
        finally
        {
            foreach (var v in inputs.Values) v.Dispose();
        }
    }

    private static int[] Greedy(ZoModel model, bool kvCache, IReadOnlyList<int> prompt, int tokens)
    {
        using var generator = new TextGenerator(model, kvCache);
        Assert.That(generator.UsesKvCache, Is.EqualTo(kvCache));
        return generator.Continue(prompt, new SamplingOptions(MaxNewTokens: tokens, StopAtEos: false)).ToArray();
    }

    [Test]
    public void CachedStepsGiveTheExportsLogitsAndTheSameGreedyTokensOnStories260k()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        PeftFixtures.Perturb(model, 3, 0.02f);
        var export = model.Export(Out("s260-plain")).Folder;
        var row = PeftFixtures.RandomRows(1, 24, 512, seed: 4)[0];
        double diff = CompareWithExport(model, export, row, prompt: 7);
        TestContext.Out.WriteLine($"stories260k: 7-token prompt then 17 cached steps, max |Δ logits| against the plain export {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-4));

        int compared = 0;
        foreach (string text in new[] { "Once upon a time", "Tom had a red ball.", "The sun" })
        {
            var prompt = model.Tokenizer.Encode(text);
            var withCache = Greedy(model, true, prompt, 40);
            Assert.That(withCache, Is.EqualTo(Greedy(model, false, prompt, 40)), text);
            compared += withCache.Length;
        }
        TestContext.Out.WriteLine($"stories260k: {compared} greedy tokens equal with and without the cache");
    }

    [TestCase("llama")]
    [TestCase("qwen2")]
    public void CachedStepsGiveTheExportsLogitsOnTransformersExports(string name)
    {
        string source = TestPaths.HfExport(name);
        string folder = Out("hf-" + name);
        ModelImport.Import(source, folder);
        using var model = ZoModel.Open(folder, threads: 2);
        PeftFixtures.Perturb(model, 5, 0.01f);
        var export = model.Export(Out($"hf-{name}-plain")).Folder;
        var row = PeftFixtures.RandomRows(1, 20, 1024, seed: 6)[0];
        double diff = CompareWithExport(model, export, row, prompt: 5);
        TestContext.Out.WriteLine($"{name}: 5-token prompt then 15 cached steps, max |Δ logits| against the plain export {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-4));
        var prompt = row.Take(4).Select(v => (int)v).ToArray();
        Assert.That(Greedy(model, true, prompt, 24), Is.EqualTo(Greedy(model, false, prompt, 24)));
    }

    /// <summary>
    /// GPT-2 layout with learned positions (wpe[Range]), with a position_ids input instead (fed absolute positions),
    /// and exported with its own cache, which the importer emptied and the rewrite replaces (names reused).
    /// </summary>
    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    public void CachedStepsGiveTheExportsLogitsOnGpt2Layouts(bool positionIds, bool withPast)
    {
        string root = Out($"gpt-{positionIds}-{withPast}");
        string folder = PeftFixtures.TinyGpt(root, new TinyGptConfig
            { VocabSize = 96, ModelDim = 64, Layers = 2, Heads = 4, MaxLength = 32, Seed = 9, PositionIdsInput = positionIds, WithPast = withPast });
        using var model = ZoModel.Open(folder, threads: 2);
        PeftFixtures.Perturb(model, 10, 0.02f);
        var export = model.Export(Path.Combine(root, "plain")).Folder;
        var row = PeftFixtures.RandomRows(1, 18, 96, seed: 11)[0];
        double diff = CompareWithExport(model, export, row, prompt: 6);
        TestContext.Out.WriteLine($"gpt2 layout (position_ids input {positionIds}, imported with a cache {withPast}): max |Δ logits| {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-4));
    }

    /// <summary>
    /// onnxruntime-genai's test models, imported (caches emptied) and tuned: decoding restores their own cache
    /// path, fused ops included — GPT-2's Attention with combined past_%d caches and int32 inputs, and the GenAI
    /// builder's GroupQueryAttention with fp16 caches.
    /// </summary>
    [TestCase("tiny-random-gpt2-fp32", 1000)]
    [TestCase("tiny-qwen35-cuda", 1000)]
    public void ImportedCachePathsAreRestoredWithTheTunedWeights(string name, int vocab)
    {
        string folder = Out("genai-" + name);
        ModelImport.Import(Path.Combine(TestPaths.Fixtures, "genai", name), folder);
        using var model = ZoModel.Open(folder, threads: 2);
        PeftFixtures.Perturb(model, 12, 0.01f);
        using (var decoder = new KvCacheDecoder(model))
            Assert.That(decoder.Layout.Restored, Is.True, "the source's own cache path, not a rewrite");
        var export = model.Export(Out($"genai-{name}-plain")).Folder;
        var row = PeftFixtures.RandomRows(1, 14, vocab, seed: 13)[0];
        double diff = CompareWithExport(model, export, row, prompt: 5);
        TestContext.Out.WriteLine($"{name}: restored cache, max |Δ logits| against the plain export {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-4));
    }

    /// <summary>
    /// A left-padded batch through the rewritten graph, as GenAI feeds one: two sequences of different prompt lengths,
    /// the shorter padded on the left with attention_mask 0 and position_ids counting real tokens only. The padded
    /// columns are masked by the graph's own mask on the prompt step and by the past mask on every later step, so each
    /// row must give the logits its sequence gives alone (plain export, whole sequence, no padding).
    /// </summary>
    [Test]
    public void ALeftPaddedBatchGivesEachSequencesOwnLogits()
    {
        string root = Out("gpt-padded");
        string folder = PeftFixtures.TinyGpt(root, new TinyGptConfig
            { VocabSize = 96, ModelDim = 64, Layers = 2, Heads = 4, MaxLength = 32, Seed = 14, PositionIdsInput = true });
        using var model = ZoModel.Open(folder, threads: 2);
        PeftFixtures.Perturb(model, 15, 0.02f);
        string plain = Path.Combine(model.Export(Path.Combine(root, "plain")).Folder, "model.onnx");
        var rows = PeftFixtures.RandomRows(2, 12, 96, seed: 16);
        int[] promptLengths = [8, 5];
        const int follow = 4;
        var alone = rows.Select((r, i) => WholeSequenceLogits(plain, r.Take(promptLengths[i] + follow).ToArray()).Logits).ToArray();
        const int vocab = 96;

        var graph = OrtZo.Onnx.OnnxModelFile.Parse(File.ReadAllBytes(plain), plain);
        var layout = OrtZo.Export.KvCachedGraph.Apply(graph, model, plain);
        Assert.That(layout.Restored, Is.False);
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(graph),
            new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, IntraOpNumThreads = 2 });

        int width = promptLengths.Max();
        var ids = new long[2 * width];
        var mask = new long[2 * width];
        var positions = new long[2 * width];
        for (int b = 0; b < 2; b++)
        {
            int pad = width - promptLengths[b];
            for (int t = 0; t < width; t++)
            {
                bool real = t >= pad;
                ids[b * width + t] = real ? rows[b][t - pad] : 0;
                mask[b * width + t] = real ? 1 : 0;
                positions[b * width + t] = real ? t - pad : 0;
            }
        }
        var past = layout.Tensors.Select(tensor => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float,
            [2, tensor.EmptyShape[1], 0, tensor.EmptyShape[3]])).ToList();
        var fullMask = mask.ToList();
        double worst = 0;
        int steps = 0;
        for (int step = 0; step <= follow; step++)
        {
            int t = step == 0 ? width : 1;
            long[] stepIds = step == 0 ? ids : [rows[0][promptLengths[0] + step - 1], rows[1][promptLengths[1] + step - 1]];
            long[] stepPositions = step == 0 ? positions : [promptLengths[0] + step - 1, promptLengths[1] + step - 1];
            if (step > 0)
            {
                int total = fullMask.Count / 2 + 1;
                var grown = new List<long>();
                for (int b = 0; b < 2; b++) grown.AddRange(fullMask.Skip(b * (total - 1)).Take(total - 1).Append(1));
                fullMask = grown;
            }
            var inputs = new Dictionary<string, OrtValue>
            {
                ["input_ids"] = OrtValue.CreateTensorValueFromMemory(stepIds, [2, t]),
                ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(fullMask.ToArray(), [2, fullMask.Count / 2]),
                ["position_ids"] = OrtValue.CreateTensorValueFromMemory(stepPositions, [2, t]),
            };
            for (int i = 0; i < layout.Tensors.Count; i++) inputs[layout.Tensors[i].Past] = past[i];
            var outputNames = new[] { "logits" }.Concat(layout.Tensors.Select(x => x.Present)).ToList();
            var results = session.Run(new RunOptions(), inputs.Keys.ToList(), inputs.Values.ToList(), outputNames);
            var logits = results[0].GetTensorDataAsSpan<float>().ToArray();
            for (int b = 0; b < 2; b++)
            {
                int position = promptLengths[b] - 1 + step;
                var row = logits.AsSpan((b * t + t - 1) * vocab, vocab);
                worst = Math.Max(worst, PeftFixtures.MaxAbsDiff(alone[b].AsSpan(position * vocab, vocab), row));
                steps++;
            }
            foreach (var v in past) v.Dispose();
            past = results.Skip(1).ToList();
            results[0].Dispose();
            foreach (var (name, v) in inputs) if (!name.StartsWith("past", StringComparison.Ordinal)) v.Dispose();
        }
        foreach (var v in past) v.Dispose();
        TestContext.Out.WriteLine($"left-padded batch of 2 (prompts 8 and 5 tokens), {steps} row-steps: max |Δ logits| against each sequence alone {worst:E2}");
        Assert.That(worst, Is.LessThan(1e-4));
    }

    [Test]
    public void PrefixAndUnmergedLoraModelsCacheThroughTheirRewrittenGraphs()
    {
        foreach (var peft in new[]
                 {
                     new PeftOptions { Scheme = PeftScheme.Prefix, PrefixTokens = 5, CacheFolder = Out("cache") },
                     new PeftOptions { Scheme = PeftScheme.Lora, LoraRank = 4, LoraAlpha = 8, CacheFolder = Out("cache") },
                 })
        {
            using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2, peft: peft);
            PeftFixtures.Perturb(model, 7, 0.2f);
            var export = model.Export(Out($"s260-{peft.Scheme}"), mergeLora: false).Folder;
            var row = PeftFixtures.RandomRows(1, 16, 512, seed: 8)[0];
            double diff = CompareWithExport(model, export, row, prompt: 4);
            TestContext.Out.WriteLine($"stories260k {peft.Scheme}: max |Δ logits| against the plain export {diff:E2}");
            Assert.That(diff, Is.LessThan(1e-4), peft.Scheme.ToString());
        }
    }

    /// <summary>
    /// OPT derives its positions from the attention mask (cumsum(mask)·mask − 1), which the rewrite, feeding the
    /// graph's own mask machinery only the new tokens' columns, cannot offset: it refuses, and generation recomputes
    /// instead, saying why.
    /// </summary>
    [Test]
    public void AGraphWithoutARecognisableAttentionGeneratesWithoutTheCache()
    {
        string source = TestPaths.HfExport("opt");
        ModelImport.Import(source, Out("hf-opt"));
        using var model = ZoModel.Open(Out("hf-opt"), threads: 2);
        using var generator = new TextGenerator(model);
        Assert.That(generator.UsesKvCache, Is.False);
        TestContext.Out.WriteLine(generator.KvCacheUnavailable);
        Assert.That(generator.KvCacheUnavailable, Does.Contain("input 'attention_mask'").And.Contain("positions"));
        Assert.That(generator.Continue([5, 6, 7], new SamplingOptions(MaxNewTokens: 5, StopAtEos: false)), Has.Count.EqualTo(5));
    }

    [Test]
    public void PromptTuningIsRefusedNamingTheScheme()
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2,
            peft: new PeftOptions { Scheme = PeftScheme.Prompt, PromptTokens = 4, CacheFolder = Out("cache") });
        var e = Assert.Throws<OrtZoException>(() => new KvCacheDecoder(model).Dispose());
        Assert.That(e!.Message, Does.Contain("prompt-tuned"));
    }
}
