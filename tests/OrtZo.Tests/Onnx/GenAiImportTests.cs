using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;
using OrtZo.Import;
using OrtZo.Onnx.Model;
using OrtZo.Tests.Peft;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// onnxruntime-genai's own test models (Fixtures/genai, MIT, copied from microsoft/onnxruntime-genai
/// test/models/hf-internal-testing): int32 ids, masks and positions, fused contrib ops (Attention,
/// EmbedLayerNormalization, SkipLayerNormalization, FastGelu; GroupQueryAttention with fp16 caches). The oracle is
/// the original graph run by plain ORT with its caches empty (past length 0): OrtZo's scores must equal the
/// log-probabilities computed from its logits.
/// </summary>
public class GenAiImportTests
{
    private static string Fixture(string name) => Path.Combine(TestPaths.Fixtures, "genai", name);

    [TestCase("tiny-random-gpt2-fp32", "past.onnx")]
    [TestCase("tiny-qwen35-cuda", "decoder.onnx")]
    public void ScoresEqualTheOriginalGraphRunWithEmptyCaches(string name, string graphFile)
    {
        using var folder = new TempFolder("genai-import");
        var report = ModelImport.Import(Fixture(name), folder.File("imported"));
        Assert.That(report.Manifest.Inputs.InputIds, Is.EqualTo("input_ids"));
        var rows = PeftFixtures.RandomRows(3, 11, 1000, seed: 21);
        using var model = ZoModel.Open(report.OutputFolder, threads: 2);
        var actual = PeftFixtures.Scores(model, rows);
        var expected = OriginalGraphScores(Path.Combine(Fixture(name), graphFile), rows);
        double diff = PeftFixtures.MaxAbsDiff(expected.Select(v => (float)v).ToArray(), actual);
        TestContext.Out.WriteLine($"{name}: sums {string.Join(", ", actual.Select(v => v.ToString("F4")))}; max |Δ| against plain ORT on the original graph {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-4));
    }

    [Test]
    public void GenAiConfigGivesContextLengthTokenIdsAndArchitectureAndFusedWeightsTheirRoles()
    {
        using var folder = new TempFolder("genai-roles");
        var gpt2 = ModelImport.Import(Fixture("tiny-random-gpt2-fp32"), folder.File("gpt2")).Manifest;
        Assert.That((gpt2.Architecture, gpt2.MaxLength, gpt2.Tokenizer.BosId, gpt2.Tokenizer.EosId), Is.EqualTo(("gpt2", 512, 98, 98)), "genai_config.json's model.type, context_length, bos/eos ids");
        var roles = gpt2.WeightInputs.ToDictionary(w => w.Name, w => w.Role);
        Assert.That(roles["transformer.wte.weight"], Is.EqualTo(WeightRole.Embedding), "EmbedLayerNormalization's word table");
        Assert.That(roles["transformer.wpe.weight"], Is.EqualTo(WeightRole.PositionEmbedding), "EmbedLayerNormalization's position table");
        Assert.That(roles["transformer.h.0.attn.c_attn.weight"], Is.EqualTo(WeightRole.Matrix), "Attention's packed QKV");
        Assert.That(roles["transformer.h.0.attn.c_attn.bias"], Is.EqualTo(WeightRole.Bias));
        Assert.That(gpt2.WeightInputs.Count(w => w.Role == WeightRole.Other), Is.Zero);
        var qwen = ModelImport.Import(Fixture("tiny-qwen35-cuda"), folder.File("qwen")).Manifest;
        Assert.That((qwen.Architecture, qwen.MaxLength), Is.EqualTo(("qwen2", 128)));
        Assert.That(qwen.WeightInputs.Where(w => w.Name.EndsWith(".b", StringComparison.Ordinal) || w.Name.Contains("ln", StringComparison.Ordinal)).Select(w => w.Role),
            Has.All.EqualTo(WeightRole.Norm), "SkipLayerNormalization's scale and shift");
        Assert.That(qwen.WeightInputs.Count(w => w.Role == WeightRole.Other), Is.Zero);
    }

    [Test]
    public void ConvolutionStateCachesAreRefusedNamingTheInput()
    {
        using var folder = new TempFolder("genai-lfm2");
        var e = Assert.Throws<OrtZoException>(() => ModelImport.Import(Fixture("tiny-random-lfm2-fp32"), folder.File("imported")));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("decoder.onnx").And.Contain("input 'past_conv.0'").And.Contain("convolution state"));
        Assert.That(Directory.Exists(folder.File("imported")), Is.False, "nothing half-written");
    }

    [Test]
    public void LoraOnTheGroupQueryAttentionModelStartsBitForBitAtTheBase()
    {
        using var folder = new TempFolder("genai-lora");
        var report = ModelImport.Import(Fixture("tiny-qwen35-cuda"), folder.File("imported"));
        var rows = PeftFixtures.RandomRows(2, 9, 1000, seed: 22);
        using var full = ZoModel.Open(report.OutputFolder, threads: 2);
        using var lora = ZoModel.Open(report.OutputFolder, threads: 2,
            peft: new PeftOptions { Scheme = PeftScheme.Lora, LoraTargets = ["q", "v"], CacheFolder = folder.File("cache") });
        TestContext.Out.WriteLine($"LoRA on q, v: {lora.ParameterCount:N0} adapter parameters over {lora.BaseParameterCount:N0} frozen fp16 weights");
        Assert.That(lora.ParameterCount, Is.EqualTo(2 * (8 * 64 + 64 * 8 + 8 * 64 + 32 * 8)));
        Assert.That(PeftFixtures.Scores(lora, rows), Is.EqualTo(PeftFixtures.Scores(full, rows)));
    }

    /// <summary>
    /// 30 MeZO steps of LoRA on each model, with text: the fixtures ship no tokenizer of their 1000-token vocabulary, so
    /// stories260K's 512-piece SentencePiece-style tokenizer.json (ids below 1000) stands in. GPT-2's packed QKV is
    /// read by the fused Attention op, which LoRA cannot wrap; its MLP and output projections (MatMul) take the adapters.
    /// </summary>
    [TestCase("tiny-random-gpt2-fp32", "c_fc,c_proj")]
    [TestCase("tiny-qwen35-cuda", "q,v")]
    public void ThirtyLoraStepsRun(string name, string targets)
    {
        using var folder = new TempFolder("genai-train");
        string source = folder.File("source");
        Directory.CreateDirectory(source);
        foreach (var file in Directory.GetFiles(Fixture(name)).Concat(Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "tokenizers", "hf-json", "llama2"))))
            File.Copy(file, Path.Combine(source, Path.GetFileName(file)));
        var report = ModelImport.Import(source, folder.File("imported"));
        Assert.That(report.Manifest.Tokenizer.Kind, Is.EqualTo("tokenizer-json"));
        var train = TaskData.Load(PeftFixtures.Split("train"), "jsonl").Take(32);
        using var model = ZoModel.Open(report.OutputFolder, threads: 2,
            peft: new PeftOptions { Scheme = PeftScheme.Lora, LoraTargets = targets.Split(','), CacheFolder = folder.File("cache") });
        var before = model.ReadWeights().ReadFloat32(1);
        var losses = new List<double>();
        using (var trainer = new ZoTrainer(model, train, new ZoOptions { Optimizer = ZoOptimizer.MeZO, LearningRate = 1e-3, Epsilon = 1e-2, BatchSize = 8, Seed = 3 }))
            for (int i = 0; i < 30; i++) losses.Add(trainer.Step().Loss);
        TestContext.Out.WriteLine($"{name}: LoRA on {targets}, {model.ParameterCount:N0} adapter parameters; losses {losses[0]:F4} … {losses[^1]:F4}");
        Assert.That(losses, Has.All.Matches<double>(double.IsFinite));
        Assert.That(model.ReadWeights().ReadFloat32(1), Is.Not.EqualTo(before), "the adapters moved");
    }

    /// <summary>
    /// Plain ORT on the unconverted graph: int32 (or whatever it declares) ids, mask of ones, positions 0…T−1, every
    /// cache input an empty tensor (its symbolic batch dimension B, every other symbolic dimension 0); then the sum
    /// over t ≥ 1 of log softmax(logits[t−1])[id t] in double.
    /// </summary>
    internal static double[] OriginalGraphScores(string graphPath, long[][] rows)
    {
        int n = rows.Length, seq = rows[0].Length;
        using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, IntraOpNumThreads = 2 };
        using var session = new InferenceSession(graphPath, so);
        var inputs = new Dictionary<string, OrtValue>();
        try
        {
            foreach (var (inputName, meta) in session.InputMetadata)
            {
                if (inputName is "input_ids" or "attention_mask" or "position_ids")
                {
                    long[] values = inputName switch
                    {
                        "input_ids" => rows.SelectMany(r => r).ToArray(),
                        "attention_mask" => Enumerable.Repeat(1L, n * seq).ToArray(),
                        _ => Enumerable.Range(0, n).SelectMany(_ => Enumerable.Range(0, seq).Select(t => (long)t)).ToArray(),
                    };
                    inputs[inputName] = meta.ElementDataType == TensorElementType.Int32
                        ? OrtValue.CreateTensorValueFromMemory(values.Select(v => (int)v).ToArray(), [n, seq])
                        : OrtValue.CreateTensorValueFromMemory(values, [n, seq]);
                    continue;
                }
                var shape = meta.Dimensions.Select((d, i) => d >= 0 ? (long)d : meta.SymbolicDimensions[i].Contains("batch", StringComparison.OrdinalIgnoreCase) ? n : 0L).ToArray();
                Assert.That(shape, Has.Some.EqualTo(0L), $"input '{inputName}' is a cache with a length to empty");
                inputs[inputName] = meta.ElementDataType switch
                {
                    TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(Array.Empty<Float16>(), shape),
                    TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), shape),
                    var other => throw new AssertionException($"cache input '{inputName}' of type {other}"),
                };
            }
            using var run = new RunOptions();
            using var results = session.Run(run, inputs.Keys.ToList(), inputs.Values.ToList(), ["logits"]);
            var info = results[0].GetTensorTypeAndShape();
            long vocab = info.Shape[2];
            double[] logits = info.ElementDataType == TensorElementType.Float16
                ? results[0].GetTensorDataAsSpan<Float16>().ToArray().Select(h => (double)(float)h).ToArray()
                : results[0].GetTensorDataAsSpan<float>().ToArray().Select(f => (double)f).ToArray();
            var sums = new double[n];
            for (int r = 0; r < n; r++)
                for (int t = 1; t < seq; t++)
                {
                    long at = ((long)r * seq + t - 1) * vocab;
                    double max = double.NegativeInfinity, total = 0;
                    for (long v = 0; v < vocab; v++) max = Math.Max(max, logits[at + v]);
                    for (long v = 0; v < vocab; v++) total += Math.Exp(logits[at + v] - max);
                    sums[r] += logits[at + rows[r][t]] - max - Math.Log(total);
                }
            return sums;
        }
        finally
        {
            foreach (var v in inputs.Values) v.Dispose();
        }
    }
}
