using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;
using OrtZo.Import;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.Onnx.Peft;
using OrtZo.Onnx.Proto;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>
/// Every PEFT scheme on graphs nobody here wrote: the transformers exports in ../shared/data/hf-exports (OPT,
/// Llama with external data, Qwen2 with tied embeddings; torch.onnx's SDPA decomposition with √scale on Q and K,
/// Where/Expand masks, a NaN guard after the Softmax, GQA's Expand/Reshape of K and V, OPT's reshaped input_ids).
/// Oracles: the base model itself (LoRA at B = 0, bit for bit; prompt tokens from vocabulary rows equal feeding
/// those tokens), attention recomputed in double precision from transformers' formula on the values the rewritten
/// graph captures (prefix), and the flipped-label task (labels set to the candidate transformers ranks last)
/// whose training loss each scheme must lower. Skipped where the shared data is absent.
/// </summary>
public class HfExportPeftTests
{
    private TempFolder _temp = null!;
    private ImportedHfExports _imported = null!;

    [OneTimeSetUp]
    public void CreateTemp()
    {
        _temp = new TempFolder("hf-peft");
        _imported = new ImportedHfExports(_temp.Path);
    }

    [OneTimeTearDown]
    public void DeleteTemp() => _temp.Dispose();

    private string Imported(string export) => _imported[export];

    private PeftOptions Options(PeftScheme scheme) => new() { Scheme = scheme, CacheFolder = Path.Combine(_temp.Path, "cache") };

    private static JsonElement Config(string export) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.HfExport(export), "config.json"))).RootElement;

    [TestCase("opt")]
    [TestCase("llama")]
    [TestCase("qwen2")]
    public void LoraAtInitialisationScoresEqualTheBaseModelBitForBit(string export)
    {
        string folder = Imported(export);
        var rows = PeftFixtures.RandomRows(3, 20, 1024, seed: 11);
        using var full = ZoModel.Open(folder, threads: 2);
        var expected = PeftFixtures.Scores(full, rows);
        foreach (var frozen in new[] { FrozenBase.Initializers, FrozenBase.Inputs })
        {
            using var lora = ZoModel.Open(folder, threads: 2, peft: Options(PeftScheme.Lora) with { FrozenBase = frozen });
            Assert.That(lora.ParameterCount, Is.GreaterThan(0));
            var actual = PeftFixtures.Scores(lora, rows);
            TestContext.Out.WriteLine($"{export} LoRA ({frozen}, {lora.ParameterCount:N0} adapter parameters): sums {string.Join(", ", actual.Select(v => v.ToString("F4")))}");
            Assert.That(actual, Is.EqualTo(expected), $"{frozen}: bit for bit");
        }
    }

    [TestCase("opt")]
    [TestCase("llama")]
    [TestCase("qwen2")]
    public void PromptTokensFromVocabularyRowsEqualFeedingThoseTokens(string export)
    {
        string folder = Imported(export);
        const int n = 5;
        var options = Options(PeftScheme.Prompt) with { PromptTokens = n };
        using var full = ZoModel.Open(folder, threads: 2);
        using var prompt = ZoModel.Open(folder, threads: 2, peft: options);
        long[] virtualIds = AdapterInit.TokenIds(options.InitSeed, "prompt.token_ids", n, 1024);
        var text = PeftFixtures.RandomRows(3, 14, 1024, seed: 12);
        var joined = text.Select(r => virtualIds.Concat(r).ToArray()).ToArray();
        var expected = PeftFixtures.Scores(full, joined, scoredFrom: n + 1);
        var actual = PeftFixtures.Scores(prompt, text);
        double diff = PeftFixtures.MaxAbsDiff(expected, actual);
        TestContext.Out.WriteLine($"{export} prompt, n = {n}: sums {string.Join(", ", actual.Select(v => v.ToString("F3")))}; max |Δ| against the base model on [tokens; text] {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-4));
        Assert.That(PeftFixtures.MaxAbsDiff(PeftFixtures.Scores(full, text), actual), Is.GreaterThan(1e-2), "the virtual tokens must change the scores");
    }

    /// <summary>
    /// Each layer's attention output in the prefix graph, recomputed from transformers' definition: query head h
    /// attends to [prefix keys of kv head h / (H / Hkv); the layer's own masked scores] with q·kᵀ scaled by
    /// 1/√head_dim (Llama, Qwen2; OPT scales q in q_proj and calls SDPA with scale 1), then mixes [prefix values; V].
    /// </summary>
    [TestCase("opt")]
    [TestCase("llama")]
    [TestCase("qwen2")]
    public void PrefixAttentionEqualsTransformersAttentionOverThePrefixRows(string export)
    {
        string folder = Imported(export);
        var config = Config(export);
        int heads = config.GetProperty("num_attention_heads").GetInt32();
        int kvHeads = config.TryGetProperty("num_key_value_heads", out var kv) ? kv.GetInt32() : heads;
        int headDim = config.GetProperty("hidden_size").GetInt32() / heads;
        double scale = export == "opt" ? 1.0 : 1.0 / Math.Sqrt(headDim);
        const int p = 4;

        var opened = ModelFolder.Open(folder);
        var baseGraph = OnnxModelFile.Parse(File.ReadAllBytes(opened.GraphPath), opened.GraphPath).Graph;
        var cores = AttentionCores.Find(baseGraph, opened.Manifest, opened.GraphPath);
        Assert.That(cores, Has.Count.EqualTo(config.GetProperty("num_hidden_layers").GetInt32()));
        Assert.That(cores.Select(c => c.Group), Is.EqualTo(Enumerable.Range(0, cores.Count).Select(i => $"layers.{i}")));
        Assert.That(cores.All(c => c.KeyScale.Count == 1), "torch's SDPA multiplies Kᵀ by √scale before the MatMul");
        var baseIndex = new GraphIndex(baseGraph);
        // The query as SDPA receives it: the input of the Q-side √scale Mul.
        var queries = cores.Select(c => baseIndex.Producer(c.Query) is { OpType: "Mul" } mul ? mul.Input[0] : c.Query).ToList();

        using var model = ZoModel.Open(folder, threads: 2, peft: Options(PeftScheme.Prefix) with { PrefixTokens = p });
        var rows = PeftFixtures.RandomRows(2, 9, 1024, seed: 13);
        var wanted = cores.SelectMany((c, i) => new[] { queries[i], c.Softmax.Input[0], c.Values, c.Context.Output[0] }).ToList();
        var captured = Capture(model, rows, wanted);
        var adapters = model.ReadWeights();
        double worst = 0, prefixMass = 0;
        for (int layer = 0; layer < cores.Count; layer++)
        {
            var core = cores[layer];
            var (q, qShape) = captured[queries[layer]];
            var (scores, sShape) = captured[core.Softmax.Input[0]];
            var (values, _) = captured[core.Values];
            var (context, cShape) = captured[core.Context.Output[0]];
            Assert.That(qShape, Is.EqualTo(new long[] { 2, heads, 9, headDim }));
            Assert.That(cShape, Is.EqualTo(qShape));
            int s = (int)sShape[3];
            var keys = Adapter(adapters, PrefixRewrite.KeysName(layer));
            var prefixValues = Adapter(adapters, PrefixRewrite.ValuesName(layer));
            Assert.That(keys, Has.Length.EqualTo(p * kvHeads * headDim));
            for (int b = 0; b < 2; b++)
                for (int h = 0; h < heads; h++)
                {
                    int j = h / (heads / kvHeads);
                    for (int t = 0; t < 9; t++)
                    {
                        long row = ((long)(b * heads + h) * 9 + t);
                        var logits = new double[p + s];
                        for (int i = 0; i < p; i++)
                        {
                            double dot = 0;
                            for (int d = 0; d < headDim; d++) dot += (double)q[row * headDim + d] * keys[i * kvHeads * headDim + j * headDim + d];
                            logits[i] = dot * scale;
                        }
                        for (int i = 0; i < s; i++) logits[p + i] = scores[row * s + i];
                        double max = logits.Max(), total = logits.Sum(l => Math.Exp(l - max));
                        var prob = logits.Select(l => Math.Exp(l - max) / total).ToArray();
                        prefixMass += prob.Take(p).Sum();
                        for (int d = 0; d < headDim; d++)
                        {
                            double expected = 0;
                            for (int i = 0; i < p; i++) expected += prob[i] * prefixValues[i * kvHeads * headDim + j * headDim + d];
                            for (int i = 0; i < s; i++) expected += prob[p + i] * values[((long)(b * heads + h) * s + i) * headDim + d];
                            worst = Math.Max(worst, Math.Abs(expected - context[row * headDim + d]) / Math.Max(1.0, Math.Abs(expected)));
                        }
                    }
                }
        }
        prefixMass /= cores.Count * 2 * heads * 9;
        TestContext.Out.WriteLine($"{export} prefix, P = {p}, {heads}/{kvHeads} heads: worst relative |Δ context| {worst:E2}; mean attention on the prefix {prefixMass:P1}");
        Assert.That(worst, Is.LessThan(1e-5));
        Assert.That(prefixMass, Is.GreaterThan(0.01), "the prefix must take part in attention");
        using var full = ZoModel.Open(folder, threads: 2);
        var prefixScores = PeftFixtures.Scores(model, rows);
        Assert.That(prefixScores.All(float.IsFinite));
        Assert.That(PeftFixtures.MaxAbsDiff(PeftFixtures.Scores(full, rows), prefixScores), Is.GreaterThan(1e-3), "the prefix must change the scores");
    }

    /// <summary>
    /// The flipped-label task: each item's label is the candidate transformers ranks last (lowest mean log-prob in
    /// reference.json). 100 MeZO steps of batch 8 on the 24 items must lower the loss over all of them by 0.1.
    /// Step sizes: LoRA's and prompt tuning's defaults; prefix tuning at 0.3 (its real-activation rows on these
    /// random models move the loss slowly at the default 0.03).
    /// </summary>
    [TestCase("opt", PeftScheme.Lora)]
    [TestCase("opt", PeftScheme.Prefix)]
    [TestCase("opt", PeftScheme.Prompt)]
    [TestCase("llama", PeftScheme.Lora)]
    [TestCase("llama", PeftScheme.Prefix)]
    [TestCase("llama", PeftScheme.Prompt)]
    [TestCase("qwen2", PeftScheme.Lora)]
    [TestCase("qwen2", PeftScheme.Prefix)]
    [TestCase("qwen2", PeftScheme.Prompt)]
    public void EachSchemeLowersTheLossOfTheFlippedLabelTask(string export, PeftScheme scheme)
    {
        string folder = Imported(export);
        var task = FlippedTask(export);
        var (lr, eps) = PeftOptions.DefaultHyperparameters(scheme);
        if (scheme == PeftScheme.Prefix) lr = 0.3;
        using var model = ZoModel.Open(folder, threads: 2, peft: Options(scheme));
        var before = model.Evaluate(task, 24);
        using (var trainer = new ZoTrainer(model, task, new ZoOptions { Optimizer = ZoOptimizer.MeZO, LearningRate = lr, Epsilon = eps, BatchSize = 8, Seed = 1 }))
            for (int i = 0; i < 100; i++) trainer.Step();
        var after = model.Evaluate(task, 24);
        TestContext.Out.WriteLine($"{export} {scheme} ({model.ParameterCount:N0} parameters, lr {lr}): loss {before.Loss:F4} → {after.Loss:F4}, accuracy {before.Accuracy:P0} → {after.Accuracy:P0} after 100 steps");
        Assert.That(before.Accuracy, Is.LessThan(0.25), "transformers' last choice starts mostly wrong");
        Assert.That(after.Loss, Is.LessThan(before.Loss - 0.1));
    }

    [Test]
    public void PromptTuningRefusesAReshapeOfTheIdsThatIsNoViewNamingIt()
    {
        // OPT reads the ids through Reshape(input_ids, [-1, T]); make it [1, -1] (every row in one) and the lookup
        // no longer sees [batch, sequence] ids: refused, naming the Gather and the Reshape.
        string folder = Altered("opt", "flattened-ids", graph =>
        {
            var reshape = graph.Node.Single(n => n.Name == "/m/decoder/Reshape");
            graph.Initializer.Add(TensorData.FromInt64s("one_row_shape", [2], [1, -1]));
            reshape.Input[1] = "one_row_shape";
        });
        var e = Assert.Throws<OrtZoException>(() => ZoModel.Open(folder, threads: 2, peft: Options(PeftScheme.Prompt)));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("0 Gather nodes").And.Contain("'/m/decoder/embed_tokens/Gather'").And.Contain("Reshape '/m/decoder/Reshape'"));
    }

    [Test]
    public void PrefixTuningRefusesProbabilitiesThatDoNotReachTheValuesNamingEverySoftmax()
    {
        // A Transpose between the NaN guard and the context MatMul: no Softmax qualifies, and each is named.
        string folder = Altered("opt", "transposed-probabilities", graph =>
        {
            foreach (var context in graph.Node.Where(n => n.Name.EndsWith("/self_attn/MatMul_1", StringComparison.Ordinal)).ToList())
            {
                var transpose = new NodeProto { OpType = "Transpose", Name = context.Name + "_transpose", Input = { context.Input[0] }, Output = { context.Name + "_transposed" } };
                transpose.Attribute.Add(GraphBuilder.Ints("perm", 0, 1, 2, 3));
                graph.Node.Insert(graph.Node.IndexOf(context), transpose);
                context.Input[0] = transpose.Output[0];
            }
        });
        var e = Assert.Throws<OrtZoException>(() => ZoModel.Open(folder, threads: 2, peft: Options(PeftScheme.Prefix)));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("no attention found").And.Contain("'/m/decoder/layers.0/self_attn/Softmax'").And.Contain("'/m/decoder/layers.1/self_attn/Softmax'")
            .And.Contain("do not reach the first input of a MatMul"));
    }

    /// <summary>A copy of an imported export whose graph <paramref name="edit"/> changed.</summary>
    private string Altered(string export, string name, Action<GraphProto> edit)
    {
        string folder = Path.Combine(_temp.Path, name);
        Export.ExportTests.CopyFolder(Imported(export), folder);
        string graphPath = Path.Combine(folder, "model.onnx");
        var model = OnnxModelFile.Parse(File.ReadAllBytes(graphPath), graphPath);
        edit(model.Graph);
        File.WriteAllBytes(graphPath, model.ToByteArray());
        return folder;
    }

    private static TaskData FlippedTask(string export)
    {
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.HfExport(export), "reference.json")));
        var items = new List<(string, IReadOnlyList<string>, int)>();
        foreach (var item in reference.RootElement.EnumerateArray())
        {
            var means = item.GetProperty("reference_scores").EnumerateArray().Select(c => c.GetProperty("mean").GetDouble()).ToList();
            items.Add((item.GetProperty("prompt").GetString()!,
                item.GetProperty("candidates").EnumerateArray().Select(c => c.GetString()!).ToList(),
                means.IndexOf(means.Min())));
        }
        Assert.That(items, Has.Count.EqualTo(24));
        return TaskData.FromExamples(items);
    }

    private static float[] Adapter(OrtZo.WeightStore.CpuSlab slab, string name)
    {
        var slot = slab.Layout.Slots.Single(s => s.Spec.Name == name);
        return slab.ReadFloat32(slot.Index);
    }

    /// <summary>
    /// Values inside the graph the model runs (its PEFT rewrite, base weights as initializers), as float32: each
    /// exposed through a Cast as an extra output of a copy of the graph written beside it, adapters bound from the slab.
    /// </summary>
    private static unsafe Dictionary<string, (float[] Values, long[] Shape)> Capture(ZoModel model, long[][] rows, IReadOnlyList<string> values)
    {
        string graphPath = model.Folder.GraphPath;
        var proto = OnnxModelFile.Parse(File.ReadAllBytes(graphPath), graphPath);
        var g = new GraphBuilder(proto.Graph, ModelOpset.Default(proto), "test_capture/");
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string value in values.Distinct())
        {
            string output = g.Node("Cast", [value], null, GraphBuilder.Int("to", OnnxElementType.Float));
            proto.Graph.Output.Add(new ValueInfoProto { Name = output, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxElementType.Float } } });
            outputs[value] = output;
        }
        string capturePath = Path.Combine(Path.GetDirectoryName(graphPath)!, $"capture-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(capturePath, proto.ToByteArray());
        var manifest = model.Folder.Manifest;
        var inputs = new Dictionary<string, OrtValue>();
        try
        {
            using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, IntraOpNumThreads = 2 };
            using var session = new InferenceSession(capturePath, so);
            var slab = model.ReadWeights();
            foreach (var slot in slab.Layout.Slots)
                inputs[slot.Spec.Name] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float,
                    slot.Spec.Shape.ToArray(), (IntPtr)slab.Pointer(slot.Index), slot.Spec.ByteLength);
            int n = rows.Length, seq = rows[0].Length;
            long[] shape = [n, seq];
            inputs[manifest.Inputs.InputIds] = OrtValue.CreateTensorValueFromMemory(rows.SelectMany(r => r).ToArray(), shape);
            if (manifest.Inputs.AttentionMask is { } mask)
                inputs[mask] = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, n * seq).ToArray(), shape);
            inputs[manifest.Inputs.LabelMask] = OrtValue.CreateTensorValueFromMemory(new float[n * seq], shape);
            using var run = new RunOptions();
            using var results = session.Run(run, inputs.Keys.ToList(), inputs.Values.ToList(), outputs.Values.ToList());
            var captured = new Dictionary<string, (float[], long[])>(StringComparer.Ordinal);
            int k = 0;
            foreach (var value in outputs.Keys)
            {
                var result = results[k++];
                captured[value] = (result.GetTensorDataAsSpan<float>().ToArray(), result.GetTensorTypeAndShape().Shape);
            }
            return captured;
        }
        finally
        {
            foreach (var v in inputs.Values) v.Dispose();
            File.Delete(capturePath);
        }
    }
}
