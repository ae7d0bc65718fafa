using Google.Protobuf;
using NUnit.Framework;
using OrtZo.Import;
using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.Onnx.Proto;
using OrtZo.Tests.Peft;
using OrtZo.Tools;

namespace OrtZo.Tests.Onnx;

/// <summary>
/// A TinyGpt whose MLP input projections are ORT's int4 MatMulNBits (bits 4, block 32, asymmetric, packed as
/// ORT's contrib-op spec says: B [N, K/32, 16] low nibble first, scales [N·K/32], zero points two per byte) and
/// whose attention output projections are int8 per-column DequantizeLinear → MatMul. The quantized operands must
/// stay frozen initializers, the import must score as plain ORT scores the original graph, and LoRA must train on
/// top of the quantized projections.
/// </summary>
public class QuantizedWeightsTests
{
    private static readonly TinyGptConfig Config = new() { VocabSize = 512, ModelDim = 64, Layers = 2, Heads = 4, MaxLength = 32, Seed = 11 };

    [Test]
    public void QuantizedOperandsStayInitializersAndScoresEqualPlainOrtOnTheOriginal()
    {
        using var folder = new TempFolder("quantized-import");
        string source = WriteQuantizedModel(folder.File("source"));
        var report = ModelImport.Import(source, folder.File("imported"));
        var inputs = report.Manifest.WeightInputs.Select(w => w.Name).ToHashSet();
        var quantizedNames = QuantizedInitializerNames().ToList();
        Assert.That(inputs, Has.None.Matches<string>(n => n!.Contains("_Q4") || n.Contains("_quantized")), "no quantized operand became a weight input");
        var imported = OnnxModelFile.Parse(File.ReadAllBytes(Path.Combine(report.OutputFolder, "model.onnx")), "model.onnx").Graph;
        var initializers = imported.Initializer.Select(t => t.Name).ToHashSet();
        Assert.That(initializers, Is.SupersetOf(quantizedNames), "the imported graph still holds them as initializers");
        Assert.That(report.KeptInitializers.Where(k => k.Name.EndsWith("_scales") || k.Name.EndsWith("_scale")).Select(k => k.Reason).ToList(),
            Has.Count.EqualTo(4).And.All.Contains("quantized op"));
        Assert.That(inputs, Does.Contain("transformer.h.0.mlp.c_proj.weight"), "float projections are still trained");

        var rows = PeftFixtures.RandomRows(3, 12, Config.VocabSize, seed: 5);
        using var model = ZoModel.Open(report.OutputFolder, threads: 2);
        var actual = PeftFixtures.Scores(model, rows);
        var expected = GenAiImportTests.OriginalGraphScores(Path.Combine(source, "model.onnx"), rows);
        double diff = PeftFixtures.MaxAbsDiff(expected.Select(v => (float)v).ToArray(), actual);
        TestContext.Out.WriteLine($"sums {string.Join(", ", actual.Select(v => v.ToString("F4")))}; max |Δ| against plain ORT {diff:E2}");
        Assert.That(diff, Is.LessThan(1e-4));
    }

    [Test]
    public void LoraOnQuantizedProjectionsStartsAtTheBaseAndTrains()
    {
        using var folder = new TempFolder("quantized-lora");
        string source = WriteQuantizedModel(folder.File("source"));
        foreach (var file in Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "tokenizers", "hf-json", "llama2")))
            File.Copy(file, Path.Combine(source, Path.GetFileName(file)));
        var report = ModelImport.Import(source, folder.File("imported"));
        var rows = PeftFixtures.RandomRows(2, 10, Config.VocabSize, seed: 6);
        var peft = new PeftOptions { Scheme = PeftScheme.Lora, LoraRank = 4, LoraTargets = ["c_fc", "c_proj"], CacheFolder = folder.File("cache") };
        using var full = ZoModel.Open(report.OutputFolder, threads: 2);
        using var lora = ZoModel.Open(report.OutputFolder, threads: 2, peft: peft);
        // Per layer: c_fc (MatMulNBits, 64 → 256), attn.c_proj (DequantizeLinear, 64 → 64), mlp.c_proj (float, 256 → 64).
        Assert.That(lora.ParameterCount, Is.EqualTo(2 * 4 * ((64 + 256) + (64 + 64) + (256 + 64))));
        var names = lora.ReadWeights().Layout.Slots.Select(s => s.Spec.Name).ToList();
        Assert.That(names, Does.Contain("transformer.h.1.mlp.c_fc.weight_Q4.lora_A").And.Contain("transformer.h.0.attn.c_proj.weight_quantized.lora_B"));
        Assert.That(PeftFixtures.Scores(lora, rows), Is.EqualTo(PeftFixtures.Scores(full, rows)), "B = 0: bit for bit the base");

        var train = TaskData.Load(PeftFixtures.Split("train"), "jsonl").Take(32);
        int a = names.IndexOf("transformer.h.0.mlp.c_fc.weight_Q4.lora_A");
        var before = lora.ReadWeights().ReadFloat32(a);
        var losses = new List<double>();
        using (var trainer = new ZoTrainer(lora, train, new ZoOptions { Optimizer = ZoOptimizer.MeZO, LearningRate = 1e-2, Epsilon = 1e-2, BatchSize = 8, Seed = 3 }))
            for (int i = 0; i < 20; i++) losses.Add(trainer.Step().Loss);
        TestContext.Out.WriteLine($"20 MeZO steps of LoRA over MatMulNBits/DequantizeLinear: losses {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
        Assert.That(losses, Has.All.Matches<double>(double.IsFinite));
        Assert.That(lora.ReadWeights().ReadFloat32(a), Is.Not.EqualTo(before), "the adapter on the MatMulNBits projection moved");
    }

    [Test]
    public void MergingLoraIntoQuantizedWeightsIsRefused()
    {
        using var folder = new TempFolder("quantized-merge");
        string source = WriteQuantizedModel(folder.File("source"));
        var report = ModelImport.Import(source, folder.File("imported"));
        using var lora = ZoModel.Open(report.OutputFolder, threads: 2,
            peft: new PeftOptions { Scheme = PeftScheme.Lora, LoraRank = 2, LoraTargets = ["c_fc"], CacheFolder = folder.File("cache") });
        var e = Assert.Throws<OrtZoException>(() => lora.Export(folder.File("merged"), new ExportOptions { MergeLora = true }));
        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.Message, Does.Contain("transformer.h.0.mlp.c_fc.weight_Q4").And.Contain("--merge-lora"));
    }

    private static IEnumerable<string> QuantizedInitializerNames()
    {
        for (int i = 0; i < Config.Layers; i++)
        {
            string fc = $"transformer.h.{i}.mlp.c_fc.weight", proj = $"transformer.h.{i}.attn.c_proj.weight";
            foreach (string n in new[] { fc + "_Q4", fc + "_scales", fc + "_zero_points", proj + "_quantized", proj + "_scale", proj + "_zero_point" })
                yield return n;
        }
    }

    /// <summary>TinyGpt with every layer's c_fc as MatMulNBits and attn.c_proj as DequantizeLinear → MatMul; returns the folder.</summary>
    internal static string WriteQuantizedModel(string folder)
    {
        Directory.CreateDirectory(folder);
        var model = TinyGptBuilder.Build(Config);
        var graph = model.Graph;
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        for (int i = 0; i < Config.Layers; i++)
        {
            QuantizeToMatMulNBits(graph, $"transformer.h.{i}.mlp.c_fc.weight");
            QuantizeToDequantizeLinear(graph, $"transformer.h.{i}.attn.c_proj.weight");
        }
        OnnxModelWriter.WriteInline(model, Path.Combine(folder, "model.onnx"));
        return folder;
    }

    private static (float[] Values, int Rows, int Cols, NodeProto Reader) TakeWeight(GraphProto graph, string name)
    {
        var tensor = graph.Initializer.Single(t => t.Name == name);
        graph.Initializer.Remove(tensor);
        var values = new float[tensor.RawData.Length / 4];
        Buffer.BlockCopy(tensor.RawData.ToByteArray(), 0, values, 0, tensor.RawData.Length);
        var reader = graph.Node.Single(n => n.Input.Contains(name));
        Assert.That(reader.OpType, Is.EqualTo("MatMul"));
        return (values, (int)tensor.Dims[0], (int)tensor.Dims[1], reader);
    }

    private static TensorProto Bytes(string name, int dataType, long[] dims, byte[] data)
    {
        var t = new TensorProto { Name = name, DataType = dataType, RawData = ByteString.CopyFrom(data) };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>W [K, N] (x·W) → MatMulNBits computing x·dequant(B)ᵀ with B the transposed, 4-bit block-quantized W.</summary>
    private static void QuantizeToMatMulNBits(GraphProto graph, string name)
    {
        const int blockSize = 32;
        var (w, k, n, matmul) = TakeWeight(graph, name);
        int blocks = (k + blockSize - 1) / blockSize, blob = blockSize / 2, zpBytes = (blocks + 1) / 2;
        var packed = new byte[n * blocks * blob];
        var scales = new float[n * blocks];
        var zeroPoints = new byte[n * zpBytes];
        for (int col = 0; col < n; col++)
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize, end = Math.Min(k, start + blockSize);
                float min = 0, max = 0;
                for (int r = start; r < end; r++) { min = Math.Min(min, w[r * n + col]); max = Math.Max(max, w[r * n + col]); }
                float scale = (max - min) / 15f;
                if (scale == 0) scale = 1;
                int zp = Math.Clamp((int)MathF.Round(-min / scale), 0, 15);
                scales[col * blocks + b] = scale;
                zeroPoints[col * zpBytes + b / 2] |= (byte)(b % 2 == 0 ? zp : zp << 4);
                for (int r = start; r < end; r++)
                {
                    int q = Math.Clamp((int)MathF.Round(w[r * n + col] / scale) + zp, 0, 15);
                    int j = r - start;
                    packed[(col * blocks + b) * blob + j / 2] |= (byte)(j % 2 == 0 ? q : q << 4);
                }
            }
        graph.Initializer.Add(Bytes(name + "_Q4", (int)TensorProto.Types.DataType.Uint8, [n, blocks, blob], packed));
        graph.Initializer.Add(TensorData.FromFloats(name + "_scales", [n * blocks], scales));
        graph.Initializer.Add(Bytes(name + "_zero_points", (int)TensorProto.Types.DataType.Uint8, [n * zpBytes], zeroPoints));
        int at = graph.Node.IndexOf(matmul);
        var nbits = new NodeProto { OpType = "MatMulNBits", Domain = "com.microsoft", Name = matmul.Name + "NBits" };
        nbits.Input.AddRange([matmul.Input[0], name + "_Q4", name + "_scales", name + "_zero_points"]);
        nbits.Output.Add(matmul.Output[0]);
        nbits.Attribute.AddRange([GraphBuilder.Int("K", k), GraphBuilder.Int("N", n), GraphBuilder.Int("bits", 4), GraphBuilder.Int("block_size", blockSize)]);
        graph.Node[at] = nbits;
    }

    /// <summary>W [in, out] → int8 per-column (axis 1) symmetric DequantizeLinear feeding the same MatMul.</summary>
    private static void QuantizeToDequantizeLinear(GraphProto graph, string name)
    {
        var (w, rows, cols, matmul) = TakeWeight(graph, name);
        var scales = new float[cols];
        for (int c = 0; c < cols; c++)
        {
            float maxAbs = 0;
            for (int r = 0; r < rows; r++) maxAbs = Math.Max(maxAbs, Math.Abs(w[r * cols + c]));
            scales[c] = maxAbs > 0 ? maxAbs / 127f : 1f;
        }
        var q = new byte[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                q[r * cols + c] = unchecked((byte)(sbyte)Math.Clamp((int)MathF.Round(w[r * cols + c] / scales[c]), -127, 127));
        graph.Initializer.Add(Bytes(name + "_quantized", (int)TensorProto.Types.DataType.Int8, [rows, cols], q));
        graph.Initializer.Add(TensorData.FromFloats(name + "_scale", [cols], scales));
        graph.Initializer.Add(Bytes(name + "_zero_point", (int)TensorProto.Types.DataType.Int8, [cols], new byte[cols]));
        var dq = new NodeProto { OpType = "DequantizeLinear", Name = matmul.Name + "/DequantizeLinear" };
        dq.Input.AddRange([name + "_quantized", name + "_scale", name + "_zero_point"]);
        dq.Output.Add(name + "_dequantized");
        dq.Attribute.Add(GraphBuilder.Int("axis", 1));
        graph.Node.Insert(graph.Node.IndexOf(matmul), dq);
        matmul.Input[1] = name + "_dequantized";
    }
}
