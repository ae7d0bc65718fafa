using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx.Peft;

/// <summary>How a projection's weight is laid out: Hugging Face's nn.Linear [out, in], or GPT-2's Conv1D / a pre-transposed export [in, out].</summary>
internal enum WeightLayout
{
    OutIn,
    InOut,
}

/// <summary>A projection y = x·W (in one of its ONNX spellings) that LoRA adapts.</summary>
/// <remarks><paramref name="Quantized"/>: the projection's weight is a frozen quantized initializer (MatMulNBits, or
/// MatMul over a DequantizeLinear); the adapters train on top of it but cannot be merged into it.</remarks>
internal sealed record LoraSite(string Weight, NodeProto Product, WeightLayout Layout, long InFeatures, long OutFeatures, string Group, DType DType,
    bool Quantized = false)
{
    public string AName => Weight + ".lora_A";
    public string BName => Weight + ".lora_B";
}

/// <summary>
/// Finds the projections LoRA targets. A weight qualifies when it is a 2-D matrix (role Matrix) read by exactly one
/// product, as one of:
/// <code>
/// Gemm(x, W, transB = 1)         W [out, in]   (llama2.c conversion, nn.Linear exported as Gemm)
/// Gemm(x, W, transB = 0)         W [in, out]
/// MatMul(x, W)                   W [in, out]   (GPT-2 Conv1D, torch's pre-transposed onnx::MatMul_* weights)
/// MatMul(x, Transpose(W))        W [out, in]
/// </code>
/// and one of the targets equals a dot/slash/colon-separated part of its name, an alias, or the product's node
/// name. The layout is read from the graph, never guessed from the shape (square matrices would be ambiguous).
/// Quantized projections, whose weights the importer keeps as frozen initializers, qualify the same way by their
/// quantized initializer's name or the product's node name:
/// <code>
/// MatMulNBits(x, B_q, scales, …)                   K → N from the node's attributes   (ORT GenAI int4 models)
/// MatMul(x, DequantizeLinear(W_q, scale, …))       W_q [in, out]                     (QDQ graphs)
/// </code>
/// </summary>
internal static class LoraSites
{
    /// <summary>Projections adapted when none are named (peft's default for Llama-style models).</summary>
    public static readonly IReadOnlyList<string> DefaultTargets = ["q_proj", "v_proj"];

    /// <summary>Fused query/key/value projections tried when the default targets find nothing.</summary>
    public static readonly IReadOnlyList<string> FusedAttentionTargets = ["c_attn", "query_key_value", "qkv_proj", "Wqkv"];

    public static List<LoraSite> Find(GraphProto graph, ModelManifest manifest, IReadOnlyList<string>? targets, string path)
    {
        var index = new GraphIndex(graph);
        var matrices = manifest.WeightInputs.Where(w => w.Role == WeightRole.Matrix && w.Shape.Count == 2).ToList();
        var explicitTargets = targets;
        IReadOnlyList<string> tried = targets ?? DefaultTargets;
        var quantized = QuantizedSites(graph, index, manifest);
        var matched = matrices.Where(w => Matches(index, w, tried)).ToList();
        var matchedQuantized = quantized.Where(q => Matches(q.Names, tried)).ToList();
        if (matched.Count == 0 && matchedQuantized.Count == 0 && explicitTargets is null)
        {
            tried = FusedAttentionTargets;
            matched = matrices.Where(w => Matches(index, w, tried)).ToList();
            matchedQuantized = quantized.Where(q => Matches(q.Names, tried)).ToList();
        }
        if (matched.Count == 0 && matchedQuantized.Count == 0)
        {
            var available = matrices.Take(12).Select(w => Describe(index, w))
                .Concat(quantized.Take(12).Select(q => $"{q.Site.Weight} (quantized, read by {q.Site.Product.Name})"));
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, "LoRA targets",
                $"no 2-D projection matches {string.Join(", ", explicitTargets ?? DefaultTargets.Concat(FusedAttentionTargets))}; " +
                $"matrices include {string.Join("; ", available)}{(matrices.Count > 12 || quantized.Count > 12 ? "; …" : "")}. Name one of their parts with --lora-targets");
        }
        return matched.Select(w => Site(index, w, path)).Concat(matchedQuantized.Select(q => q.Site)).ToList();
    }

    /// <summary>MatMulNBits nodes and MatMul(x, DequantizeLinear(W_q)) products whose quantized weight is an initializer.</summary>
    private static List<(LoraSite Site, List<string> Names)> QuantizedSites(GraphProto graph, GraphIndex index, ModelManifest manifest)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var sites = new List<(LoraSite, List<string>)>();
        foreach (var node in graph.Node)
        {
            // A quantized weight shared by several products (a tied head) would need one adapter pair per reader: not offered.
            if (node.OpType == "MatMulNBits" && node.Input.Count >= 3 && initializers.ContainsKey(node.Input[1]) && index.Consumers(node.Input[1]).Count == 1
                && initializers.TryGetValue(node.Input[2], out var scales) && OnnxElementType.TryToDType(scales.DataType, out var dtype))
            {
                string weight = node.Input[1];
                sites.Add((new LoraSite(weight, node, WeightLayout.OutIn, IntAttribute(node, "K"), IntAttribute(node, "N"),
                    GroupOf(manifest, weight, node), dtype, Quantized: true), [weight, node.Name]));
            }
            else if (node.OpType == "MatMul" && index.Producer(node.Input[1]) is { OpType: "DequantizeLinear" } dq
                     && index.Consumers(node.Input[1]).Count == 1 && index.Consumers(dq.Input[0]).Count == 1
                     && initializers.TryGetValue(dq.Input[0], out var quantizedWeight) && quantizedWeight.Dims.Count == 2
                     && dq.Input.Count >= 2 && initializers.TryGetValue(dq.Input[1], out var scale)
                     && OnnxElementType.TryToDType(scale.DataType, out var scaleType))
            {
                string weight = quantizedWeight.Name;
                sites.Add((new LoraSite(weight, node, WeightLayout.InOut, quantizedWeight.Dims[0], quantizedWeight.Dims[1],
                    GroupOf(manifest, weight, node), scaleType, Quantized: true), [weight, node.Name, dq.Name]));
            }
        }
        return sites;
    }

    /// <summary>The layer group its names point at when the manifest has it; otherwise the group of the weights read after the layers.</summary>
    private static string GroupOf(ModelManifest manifest, string weight, NodeProto product)
    {
        foreach (string name in new[] { weight, product.Name })
        {
            var m = System.Text.RegularExpressions.Regex.Match(name, @"(?:^|[./_:])(?:h|layers?|blocks?)[./_](\d+)(?=[./_:]|$)");
            if (m.Success && manifest.Groups.Contains("layers." + m.Groups[1].Value)) return "layers." + m.Groups[1].Value;
        }
        return manifest.Groups.Contains("head") ? "head" : manifest.Groups[^1];
    }

    private static bool Matches(IEnumerable<string> names, IReadOnlyList<string> targets)
    {
        var parts = names.SelectMany(n => n.Split(['.', '/', ':'], StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);
        return targets.Any(parts.Contains);
    }

    private static LoraSite Site(GraphIndex index, WeightInput w, string path)
    {
        string subject = $"weight '{w.Name}'";
        var readers = index.Consumers(w.Name);
        if (readers.Count != 1)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, subject,
                $"read by {readers.Count} nodes ({string.Join(", ", readers.Select(r => r.Node.OpType))}); LoRA adapts a weight read by exactly one MatMul or Gemm");
        var (node, slot) = readers[0];
        DTypeExtensions.TryParseShortName(w.Dtype, out var dtype);
        long rows = w.Shape[0], cols = w.Shape[1];
        switch (node.OpType)
        {
            case "Gemm" when slot == 1:
                if (IntAttribute(node, "transA") != 0)
                    throw OnnxErrors.Fail(OnnxError.Unsupported, path, subject, $"its Gemm '{node.Name}' has transA = 1; expected the activations untransposed");
                return IntAttribute(node, "transB") == 1
                    ? new LoraSite(w.Name, node, WeightLayout.OutIn, cols, rows, w.Group, dtype)
                    : new LoraSite(w.Name, node, WeightLayout.InOut, rows, cols, w.Group, dtype);
            case "MatMul" when slot == 1:
                return new LoraSite(w.Name, node, WeightLayout.InOut, rows, cols, w.Group, dtype);
            case "Transpose" when IsMatrixTranspose(node):
                var after = index.Consumers(node.Output[0]);
                if (after.Count == 1 && after[0].Node.OpType == "MatMul" && after[0].Slot == 1)
                    return new LoraSite(w.Name, after[0].Node, WeightLayout.OutIn, cols, rows, w.Group, dtype);
                break;
        }
        throw OnnxErrors.Fail(OnnxError.Unsupported, path, subject,
            $"read by {node.OpType} '{node.Name}' (input {slot}); LoRA expects MatMul(x, W), MatMul(x, Transpose(W)) or Gemm(x, W)");
    }

    private static bool Matches(GraphIndex index, WeightInput w, IReadOnlyList<string> targets)
    {
        var parts = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in Names(index, w))
            foreach (string part in name.Split(['.', '/', ':'], StringSplitOptions.RemoveEmptyEntries)) parts.Add(part);
        return targets.Any(parts.Contains);
    }

    private static IEnumerable<string> Names(GraphIndex index, WeightInput w)
    {
        yield return w.Name;
        if (w.SourceName is { } source) yield return source;
        foreach (var alias in w.Aliases ?? []) yield return alias;
        foreach (var (node, _) in index.Consumers(w.Name))
        {
            yield return node.Name;
            if (node.OpType == "Transpose")
                foreach (var (next, _) in index.Consumers(node.Output[0])) yield return next.Name;
        }
    }

    private static string Describe(GraphIndex index, WeightInput w)
    {
        var reader = index.Consumers(w.Name).Select(r => r.Node.Name).FirstOrDefault();
        return reader is null || reader.Length == 0 ? w.Name : $"{w.Name} (read by {reader})";
    }

    private static bool IsMatrixTranspose(NodeProto node)
    {
        var perm = node.Attribute.FirstOrDefault(a => a.Name == "perm");
        return perm is null || perm.Ints.SequenceEqual([1L, 0L]);
    }

    internal static long IntAttribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? 0;
}
