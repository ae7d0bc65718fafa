using System.Globalization;
using System.Text.RegularExpressions;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx.Model;

/// <summary>
/// Declares what each weight is (<see cref="WeightRole"/>) and which block it belongs to, from the graph's
/// structure first and names second, so that torch's anonymous names ("onnx::MatMul_123") are classified as
/// well as Hugging Face names. A weight's readers are found through view and cast ops (Identity, Cast,
/// Transpose, Reshape, Squeeze, Unsqueeze, Flatten). Rules, first match wins:
/// <list type="number">
/// <item>read as the table of a Gather: <c>PositionEmbedding</c> if its names say position (wpe, position,
///   pos_emb, embed_positions) or the indices come from position_ids or a Range; otherwise <c>Embedding</c>
///   (a tied head stays Embedding);</item>
/// <item>a scale or shift input of a normalisation op (LayerNormalization, SimplifiedLayerNormalization,
///   Skip*LayerNormalization, RMSNormalization, ...): <c>Norm</c>;</item>
/// <item>rank ≥ 2 and read by MatMul/Gemm/Conv/Einsum: <c>LmHead</c> if that product reaches the logits output
///   without another matrix product, or it is named lm_head/embed_out; otherwise <c>Matrix</c>;</item>
/// <item>rank 1: <c>Norm</c> if its own or its readers' names say norm (norm, ln_, ln_f, layernorm, rms) or it
///   scales or shifts a value normalised just before (Sqrt/Reciprocal/ReduceMean a few nodes upstream, as in
///   torch's decomposed LayerNorm before opset 17); <c>Bias</c> if it
///   is Gemm's C, Conv's B, added by Add, or named *bias;</item>
/// <item>otherwise <c>Other</c>.</item>
/// </list>
/// Groups: <c>layers.&lt;i&gt;</c> when the weight's name, an alias, or (failing those) a reader's node name
/// contains h.&lt;i&gt;, layer(s).&lt;i&gt; or block(s).&lt;i&gt; (which covers decoder.layers.&lt;i&gt; and torch's
/// "/transformer/h.0/attn/..." node names); otherwise <c>embeddings</c> for embedding tables and for weights
/// read before the first layer, and <c>head</c> for weights read after it (final norm, untied head).
/// </summary>
internal static partial class WeightRoles
{
    internal sealed record Weight(string Name, IReadOnlyList<long> Shape, IReadOnlyList<string> Aliases);

    internal sealed record Assignment(WeightRole Role, string Group, int? Layer);

    [GeneratedRegex(@"(?:^|[./_:])(?:h|layers?|blocks?)[./_](\d+)(?=[./_:]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex LayerPattern();

    [GeneratedRegex(@"wpe|position|pos_emb|embed_positions", RegexOptions.IgnoreCase)]
    private static partial Regex PositionHint();

    [GeneratedRegex(@"lm_head|embed_out", RegexOptions.IgnoreCase)]
    private static partial Regex HeadHint();

    [GeneratedRegex(@"norm|(^|[./_:])ln(_?\w*)?([./_:]|$)|rms", RegexOptions.IgnoreCase)]
    private static partial Regex NormHint();

    private static readonly HashSet<string> NormOps = new(StringComparer.Ordinal)
    {
        "LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
        "RMSNormalization", "GroupNormalization", "InstanceNormalization", "BatchNormalization",
    };

    private static readonly HashSet<string> MatrixOps = new(StringComparer.Ordinal) { "MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum", "FusedMatMul" };

    private static readonly HashSet<string> LookThroughOps = new(StringComparer.Ordinal)
        { "Identity", "Cast", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten" };

    public static IReadOnlyDictionary<string, Assignment> Infer(GraphIndex index, IReadOnlyList<Weight> weights,
        string inputIds, string? positionIds, string logits)
    {
        var roles = new Dictionary<string, WeightRole>(StringComparer.Ordinal);
        var layers = new Dictionary<string, int?>(StringComparer.Ordinal);
        var firstRead = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var w in weights)
        {
            var readers = EffectiveReaders(index, w.Name);
            roles[w.Name] = Role(index, w, readers, inputIds, positionIds, logits);
            layers[w.Name] = LayerOf(w, readers);
            firstRead[w.Name] = readers.Count == 0 ? int.MaxValue : readers.Min(r => index.Position(r.Node));
        }
        int firstLayerRead = weights.Where(w => layers[w.Name] is not null).Select(w => firstRead[w.Name]).DefaultIfEmpty(int.MaxValue).Min();
        var result = new Dictionary<string, Assignment>(StringComparer.Ordinal);
        foreach (var w in weights)
        {
            var role = roles[w.Name];
            int? layer = layers[w.Name];
            string group = layer is int i ? LayerGroup(i)
                : role is WeightRole.Embedding or WeightRole.PositionEmbedding || firstRead[w.Name] < firstLayerRead ? "embeddings"
                : "head";
            result[w.Name] = new Assignment(role, group, layer);
        }
        return result;
    }

    public static string LayerGroup(int layer) => "layers." + layer.ToString(CultureInfo.InvariantCulture);

    /// <summary>embeddings, layers.0 … layers.N in numeric order, head — restricted to the groups in use.</summary>
    public static IReadOnlyList<string> OrderGroups(IEnumerable<Assignment> assignments)
    {
        var list = assignments.ToList();
        var groups = new List<string>();
        if (list.Any(a => a.Group == "embeddings")) groups.Add("embeddings");
        groups.AddRange(list.Where(a => a.Layer is not null).Select(a => a.Layer!.Value).Distinct().Order().Select(LayerGroup));
        if (list.Any(a => a.Group == "head")) groups.Add("head");
        return groups;
    }

    private static WeightRole Role(GraphIndex index, Weight w, List<(NodeProto Node, int Slot)> readers,
        string inputIds, string? positionIds, string logits)
    {
        var ownNames = w.Aliases.Prepend(w.Name).ToList();
        foreach (var (node, slot) in readers)
            if (FusedRole(node.OpType, slot) is { } fused) return fused;
        var gather = readers.FirstOrDefault(r => r.Node.OpType == "Gather" && r.Slot == 0);
        if (gather.Node is not null)
        {
            if (ownNames.Append(gather.Node.Name).Any(n => PositionHint().IsMatch(n))) return WeightRole.PositionEmbedding;
            string indices = gather.Node.Input[1];
            if (Reaches(index, indices, v => v == inputIds)) return WeightRole.Embedding;
            if (Reaches(index, indices, v => v == positionIds || index.Producer(v)?.OpType == "Range")) return WeightRole.PositionEmbedding;
            return WeightRole.Embedding;
        }
        if (readers.Any(r => NormOps.Contains(r.Node.OpType) && r.Slot >= 1)) return WeightRole.Norm;
        if (w.Shape.Count >= 2)
        {
            var products = readers.Where(r => MatrixOps.Contains(r.Node.OpType)).ToList();
            if (ownNames.Any(n => HeadHint().IsMatch(n)) || products.Any(r => FeedsLogits(index, r.Node, logits))) return WeightRole.LmHead;
            if (products.Count > 0) return WeightRole.Matrix;
            return WeightRole.Other;
        }
        if (w.Shape.Count == 1)
        {
            var readerNames = readers.Select(r => r.Node.Name ?? "");
            if (ownNames.Concat(readerNames).Any(n => NormHint().IsMatch(n))) return WeightRole.Norm;
            if (readers.Any(r => ScalesNormalisedValue(index, r.Node, r.Slot) || ShiftsNormalisedValue(index, r.Node, r.Slot)))
                return WeightRole.Norm;
            if (readers.Any(r => (r.Node.OpType is "Gemm" or "Conv") && r.Slot == 2 || r.Node.OpType == "Add")
                || ownNames.Any(n => n.EndsWith("bias", StringComparison.OrdinalIgnoreCase)))
                return WeightRole.Bias;
        }
        return WeightRole.Other;
    }

    /// <summary>
    /// Roles of the weights ONNX Runtime's fused contrib ops (ORT GenAI and ORT-optimized graphs) take, by input slot:
    /// Attention's packed QKV matrix and bias; EmbedLayerNormalization's word, position and segment tables and its
    /// norm; the skip norms' scale, shift and bias.
    /// </summary>
    private static WeightRole? FusedRole(string op, int slot) => (op, slot) switch
    {
        ("Attention", 1) => WeightRole.Matrix,
        ("Attention", 2) => WeightRole.Bias,
        ("EmbedLayerNormalization", 2 or 4) => WeightRole.Embedding,
        ("EmbedLayerNormalization", 3) => WeightRole.PositionEmbedding,
        ("EmbedLayerNormalization", 5 or 6) => WeightRole.Norm,
        ("SkipLayerNormalization", 2 or 3) => WeightRole.Norm,
        ("SkipLayerNormalization", 4) => WeightRole.Bias,
        ("SkipSimplifiedLayerNormalization", 2) => WeightRole.Norm,
        ("SkipSimplifiedLayerNormalization", 3) => WeightRole.Bias,
        ("SimplifiedLayerNormalization", 1) => WeightRole.Norm,
        ("BiasGelu" or "FastGelu", 1) => WeightRole.Bias,
        _ => null,
    };

    private static int? LayerOf(Weight w, List<(NodeProto Node, int Slot)> readers)
    {
        foreach (var name in w.Aliases.Prepend(w.Name).Concat(readers.Select(r => r.Node.Name ?? "")))
        {
            var m = LayerPattern().Match(name);
            if (m.Success) return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>The nodes that use the weight's values, seen through view and cast ops.</summary>
    private static List<(NodeProto Node, int Slot)> EffectiveReaders(GraphIndex index, string value)
    {
        var result = new List<(NodeProto, int)>();
        var pending = new Queue<string>([value]);
        var seen = new HashSet<string>(StringComparer.Ordinal) { value };
        while (pending.Count > 0)
        {
            foreach (var (node, slot) in index.Consumers(pending.Dequeue()))
            {
                if (LookThroughOps.Contains(node.OpType) && slot == 0)
                {
                    foreach (var output in node.Output)
                        if (seen.Add(output)) pending.Enqueue(output);
                }
                else result.Add((node, slot));
            }
        }
        return result;
    }

    /// <summary>Walks producers backwards (at most 12 nodes deep) looking for a value that satisfies <paramref name="match"/>.</summary>
    private static bool Reaches(GraphIndex index, string start, Func<string, bool> match)
    {
        var frontier = new List<string> { start };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int depth = 0; depth < 12 && frontier.Count > 0; depth++)
        {
            var next = new List<string>();
            foreach (var v in frontier)
            {
                if (!seen.Add(v)) continue;
                if (match(v)) return true;
                var producer = index.Producer(v);
                if (producer is not null) next.AddRange(producer.Input.Where(i => i.Length > 0));
            }
            frontier = next;
        }
        return false;
    }

    /// <summary>Whether the node's output reaches <paramref name="logits"/> within 8 nodes without another matrix product.</summary>
    private static bool FeedsLogits(GraphIndex index, NodeProto start, string logits)
    {
        var frontier = start.Output.ToList();
        for (int depth = 0; depth < 8 && frontier.Count > 0; depth++)
        {
            if (frontier.Contains(logits)) return true;
            frontier = frontier.SelectMany(v => index.Consumers(v))
                .Where(c => !MatrixOps.Contains(c.Node.OpType) && c.Slot >= 0)
                .SelectMany(c => c.Node.Output).Distinct().ToList();
        }
        return false;
    }

    /// <summary>A Mul whose other operand was normalised just before (Sqrt, Reciprocal or ReduceMean within four nodes upstream).</summary>
    private static bool ScalesNormalisedValue(GraphIndex index, NodeProto mul, int weightSlot) =>
        mul.OpType == "Mul" && mul.Input.Count == 2 && weightSlot is 0 or 1 && ReachesWithin(index, mul.Input[1 - weightSlot], 4);

    /// <summary>An Add that shifts such a scaled value: the shift of a decomposed LayerNorm.</summary>
    private static bool ShiftsNormalisedValue(GraphIndex index, NodeProto add, int weightSlot)
    {
        if (add.OpType != "Add" || add.Input.Count != 2 || weightSlot is not (0 or 1)) return false;
        var scale = index.Producer(add.Input[1 - weightSlot]);
        return scale is { OpType: "Mul", Input.Count: 2 }
               && (ReachesWithin(index, scale.Input[0], 4) || ReachesWithin(index, scale.Input[1], 4));
    }

    private static bool ReachesWithin(GraphIndex index, string start, int depthLimit)
    {
        var frontier = new List<string> { start };
        for (int depth = 0; depth < depthLimit && frontier.Count > 0; depth++)
        {
            if (frontier.Any(v => index.Producer(v)?.OpType is "Sqrt" or "Reciprocal" or "ReduceMean")) return true;
            frontier = frontier.Select(index.Producer).Where(p => p is not null).SelectMany(p => p!.Input).Where(i => i.Length > 0).ToList();
        }
        return false;
    }
}
