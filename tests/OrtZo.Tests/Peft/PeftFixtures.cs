using OrtZo.Import;
using OrtZo.Tools;
using Microsoft.ML.OnnxRuntime;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Tests.Onnx;

namespace OrtZo.Tests.Peft;

/// <summary>Models, batches and scoring helpers the PEFT and export tests share.</summary>
internal static class PeftFixtures
{
    public static string Split(string name) => Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", name + ".jsonl");

    /// <summary>Rows of random token ids in [3, vocab) with every token after the first scored.</summary>
    public static long[][] RandomRows(int rows, int seq, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, seq).Select(_ => (long)random.Next(3, vocab)).ToArray()).ToArray();
    }

    /// <summary>sum_logprob per row through the model's own scoring session; <paramref name="scoredFrom"/> is the first target position.</summary>
    public static float[] Scores(ZoModel model, long[][] rows, int scoredFrom = 1)
    {
        int n = rows.Length, seq = rows[0].Length;
        var session = model.Session(n, seq);
        var ids = session.InputIds(n, seq);
        var mask = session.AttentionMask(n, seq);
        var labels = session.LabelMask(n, seq);
        for (int r = 0; r < n; r++)
            for (int t = 0; t < seq; t++)
            {
                ids[r * seq + t] = rows[r][t];
                if (session.HasAttentionMask) mask[r * seq + t] = 1;
                labels[r * seq + t] = t >= scoredFrom ? 1 : 0;
            }
        session.Run(n, seq);
        return session.SumLogprob(n).ToArray();
    }

    /// <summary>
    /// The logits output of the graph the model runs (its PEFT rewrite included), with the slab bound as in training:
    /// [rows, positions, vocab] flattened; prompt tuning's graph has the virtual positions in front.
    /// </summary>
    public static unsafe (float[] Values, long[] Shape) GraphLogits(ZoModel model, long[][] rows, IReadOnlyDictionary<string, long[]>? positions = null)
    {
        using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, IntraOpNumThreads = 2 };
        using var session = new InferenceSession(model.Folder.GraphPath, so);
        var manifest = model.Folder.Manifest;
        var inputs = new Dictionary<string, OrtValue>();
        try
        {
            foreach (var slot in model.ReadWeights().Layout.Slots)
                inputs[slot.Spec.Name] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float,
                    slot.Spec.Shape.ToArray(), (IntPtr)model.ReadWeights().Pointer(slot.Index), slot.Spec.ByteLength);
            foreach (var (name, value) in DataInputs(manifest.Inputs.InputIds, manifest.Inputs.AttentionMask, manifest.Inputs.PositionIds, rows, positions))
                inputs[name] = value;
            inputs[manifest.Inputs.LabelMask] = OrtValue.CreateTensorValueFromMemory(new float[rows.Length * rows[0].Length], [rows.Length, rows[0].Length]);
            using var run = new RunOptions();
            using var results = session.Run(run, inputs.Keys.ToList(), inputs.Values.ToList(), ["logits"]);
            return (results[0].GetTensorDataAsSpan<float>().ToArray(), results[0].GetTensorTypeAndShape().Shape);
        }
        finally
        {
            foreach (var v in inputs.Values) v.Dispose();
        }
    }

    /// <summary>Logits of a standard causal LM file (an export) run by plain ORT, with <paramref name="adapter"/> active when given.</summary>
    public static (float[] Values, long[] Shape) ExportedLogits(string modelPath, long[][] rows, IReadOnlyDictionary<string, long[]>? positions = null,
        OrtLoraAdapter? adapter = null)
    {
        using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, IntraOpNumThreads = 2 };
        using var session = new InferenceSession(modelPath, so);
        var names = session.InputMetadata.Keys.ToHashSet();
        var inputs = DataInputs("input_ids", names.Contains("attention_mask") ? "attention_mask" : null,
            names.Contains("position_ids") ? "position_ids" : null, rows, positions).ToDictionary(p => p.Name, p => p.Value);
        try
        {
            using var run = new RunOptions();
            if (adapter is not null) run.AddActiveLoraAdapter(adapter);
            using var results = session.Run(run, inputs.Keys.ToList(), inputs.Values.ToList(), ["logits"]);
            return (results[0].GetTensorDataAsSpan<float>().ToArray(), results[0].GetTensorTypeAndShape().Shape);
        }
        finally
        {
            foreach (var v in inputs.Values) v.Dispose();
        }
    }

    private static IEnumerable<(string Name, OrtValue Value)> DataInputs(string ids, string? mask, string? positionIds, long[][] rows,
        IReadOnlyDictionary<string, long[]>? positions)
    {
        int n = rows.Length, seq = rows[0].Length;
        long[] shape = [n, seq];
        yield return (ids, OrtValue.CreateTensorValueFromMemory(rows.SelectMany(r => r).ToArray(), shape));
        if (mask is not null) yield return (mask, OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, n * seq).ToArray(), shape));
        if (positionIds is not null)
        {
            var given = positions?.GetValueOrDefault(positionIds);
            var values = given ?? Enumerable.Range(0, n).SelectMany(_ => Enumerable.Range(0, seq).Select(t => (long)t)).ToArray();
            yield return (positionIds, OrtValue.CreateTensorValueFromMemory(values, shape));
        }
    }

    /// <summary>Imports a TinyGptBuilder model (GPT-2 layout, fused c_attn) into a model folder under <paramref name="root"/>.</summary>
    public static string TinyGpt(string root, TinyGptConfig config)
    {
        string source = Path.Combine(root, "tiny-gpt-source");
        Directory.CreateDirectory(source);
        TinyGptBuilder.Write(config, Path.Combine(source, "model.onnx"), externalData: false);
        CopyTokenizer(source);
        string folder = Path.Combine(root, "tiny-gpt");
        ModelImport.Import(source, folder);
        return folder;
    }

    /// <summary>Imports the torch.onnx.export fixture (anonymous onnx::MatMul_* weights) into a model folder under <paramref name="root"/>.</summary>
    public static string TorchTinyGpt(string root)
    {
        string source = Path.Combine(root, "torch-source");
        Directory.CreateDirectory(source);
        File.Copy(Path.Combine(TestPaths.Fixtures, "onnx", "torch_tiny_gpt.onnx"), Path.Combine(source, "model.onnx"));
        CopyTokenizer(source);
        string folder = Path.Combine(root, "torch-gpt");
        ModelImport.Import(source, folder);
        return folder;
    }

    private static void CopyTokenizer(string folder)
    {
        string tokenizer = Path.Combine(TestPaths.Fixtures, "tokenizers", "gpt2-subset");
        foreach (var file in new[] { "vocab.json", "merges.txt" }) File.Copy(Path.Combine(tokenizer, file), Path.Combine(folder, file));
    }

    /// <summary>SHA-256 of every file in a folder, by relative path: equal before and after means untouched.</summary>
    public static Dictionary<string, string> FolderHashes(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(folder, f),
            f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    /// <summary>
    /// Stands in for training in tests that need weights away from their starting values: every trainable value moves
    /// by a seeded uniform amount in ±<paramref name="size"/>/2 (LoRA's B is no longer zero).
    /// </summary>
    public static void Perturb(ZoModel model, int seed, float size)
    {
        var random = new Random(seed);
        var weights = model.ReadWeights();
        foreach (var slot in weights.Layout.Slots)
        {
            var values = weights.ReadFloat32(slot.Index);
            for (int i = 0; i < values.Length; i++) values[i] += (float)(random.NextDouble() - 0.5) * size;
            weights.WriteFloat32(slot.Index, values);
        }
    }

    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths {a.Length} and {b.Length} differ");
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    public static TempFolder Temp(string purpose) => new(purpose);
}
