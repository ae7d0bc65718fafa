using System.Text.RegularExpressions;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx.Peft;

/// <summary>One node between the attention scores and the Softmax, and whether the prefix columns go through it too.</summary>
/// <param name="ChainSlot">Which input of <paramref name="Node"/> carries the scores.</param>
/// <param name="AppliesToPrefix">True for scaling (Mul/Div by a scalar) and Cast; false for masks (Add, Sub, Where, Mul by a tensor) and Identity.</param>
internal sealed record ScoreStep(NodeProto Node, int ChainSlot, bool AppliesToPrefix);

/// <summary>
/// One scaled-dot-product attention as an exported graph spells it:
/// <code>
/// scores = MatMul(Q [B,H,T,Dh], [key scale] Kᵀ [B,H,Dh,S])  →  scale / mask / cast steps  →  Softmax(last axis)
///          →  [Cast | NaN guard]  →  MatMul(·, V [B,H,S,Dh])
/// </code>
/// <see cref="KeyScale"/> are the Mul/Div-by-a-scalar nodes between the keys and the scores MatMul: torch's SDPA
/// decomposition multiplies Q and Kᵀ by √scale each, so the prefix keys must take the key half too.
/// <see cref="KeysTransposed"/> is the value before them. <see cref="KvHeads"/> is the value before a
/// grouped-query repeat on the V path (Hugging Face's repeat_kv: Unsqueeze(axis 2) → Expand → Reshape, giving
/// query head h the kv head h / (H / Hkv)), or null without one.
/// </summary>
internal sealed record AttentionCore(int Layer, string Group, NodeProto Scores, IReadOnlyList<ScoreStep> KeyScale, IReadOnlyList<ScoreStep> Steps,
    NodeProto Softmax, NodeProto Context, string? KvHeads)
{
    public string Query => Scores.Input[0];
    public string KeysTransposed => KeyScale.Count > 0 ? KeyScale[0].Node.Input[KeyScale[0].ChainSlot] : Scores.Input[1];
    public string Values => Context.Input[1];
}

/// <summary>
/// Finds every attention core of a graph. A Softmax counts as attention when the value it normalises comes from a
/// MatMul through scale, mask and cast ops only, and its probabilities reach a MatMul's first input through casts
/// only (or torch's NaN guard Where(IsNaN(p), 0, p), which SDPA exports for fully masked rows). Anything else
/// between them (a Reshape folding heads into the batch as OPT's bmm does, a tanh soft-cap, a fused Attention op)
/// is refused with the node named, because the prefix columns could not be placed safely. When no Softmax
/// qualifies, the error names each Softmax and why it was passed over.
/// </summary>
internal static partial class AttentionCores
{
    private static readonly HashSet<string> StepOps = new(StringComparer.Ordinal) { "Add", "Sub", "Mul", "Div", "Where", "Cast", "Identity" };

    private static readonly HashSet<string> FusedAttentionOps = new(StringComparer.Ordinal)
        { "Attention", "MultiHeadAttention", "GroupQueryAttention", "PackedAttention", "SparseAttention" };

    [GeneratedRegex(@"(?:^|[./_:])(?:h|layers?|blocks?)[./_](\d+)(?=[./_:]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex LayerPattern();

    public static List<AttentionCore> Find(GraphProto graph, ModelManifest manifest, string path)
    {
        var index = new GraphIndex(graph);
        if (graph.Node.FirstOrDefault(n => FusedAttentionOps.Contains(n.OpType)) is { } fused)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"node '{fused.Name}'",
                $"fused {fused.OpType} op; prefix tuning rewrites attention spelled as MatMul → Softmax → MatMul (export the model without attention fusion)");
        var layerGroups = manifest.Groups.Where(g => g.StartsWith("layers.", StringComparison.Ordinal)).ToList();
        var cores = new List<AttentionCore>();
        var passedOver = new List<string>();
        foreach (var softmax in graph.Node.Where(n => n.OpType == "Softmax").ToList())
        {
            var core = TryMatch(graph, index, softmax, cores.Count, path, out string? why);
            if (core is null)
            {
                passedOver.Add($"'{softmax.Name}': {why}");
                continue;
            }
            cores.Add(core);
        }
        if (cores.Count == 0)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, "attention",
                "no attention found (MatMul(Q, Kᵀ) → scale/mask → Softmax → MatMul(·, V)); prefix tuning needs it in every layer"
                + (passedOver.Count == 0 ? "; the graph has no Softmax" : "; Softmax nodes passed over: " + string.Join("; ", passedOver.Take(4))
                    + (passedOver.Count > 4 ? $"; and {passedOver.Count - 4} more" : "")));
        if (layerGroups.Count > 0 && layerGroups.Count != cores.Count)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, "attention",
                $"found {cores.Count} attention cores but {layerGroups.Count} layer groups; every layer must have exactly one recognisable attention");
        for (int i = 0; i < cores.Count; i++)
        {
            string group = GroupOf(cores[i].Scores, manifest) ?? (layerGroups.Count == cores.Count ? layerGroups[i] : "prefix");
            cores[i] = cores[i] with { Group = group };
        }
        return cores;
    }

    private static AttentionCore? TryMatch(GraphProto graph, GraphIndex index, NodeProto softmax, int layer, string path, out string? why)
    {
        // Walk back from the Softmax to the scores MatMul.
        var steps = new List<ScoreStep>();
        string value = softmax.Input[0];
        NodeProto? scores = null;
        why = null;
        for (int depth = 0; depth < 32; depth++)
        {
            var producer = index.Producer(value);
            if (producer is null)
            {
                why = $"its input '{value}' is not computed from a MatMul";
                return null;
            }
            if (producer.OpType == "MatMul")
            {
                scores = producer;
                break;
            }
            if (!StepOps.Contains(producer.OpType))
            {
                // Only an error if this Softmax otherwise looks like attention (its output feeds a MatMul).
                if (ContextOf(index, softmax) is null)
                {
                    why = $"reads {producer.OpType} '{producer.Name}' and its output reaches no MatMul";
                    return null;
                }
                throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"node '{producer.Name}'",
                    $"{producer.OpType} between the attention scores and Softmax '{softmax.Name}'; prefix tuning supports scale (Mul/Div by a scalar), mask (Add/Sub/Where/Mul) and Cast steps only");
            }
            int slot = ChainSlot(index, producer);
            if (slot < 0)
            {
                why = $"{producer.OpType} '{producer.Name}' on the way to it has no single input coming from a MatMul";
                return null;
            }
            steps.Add(new ScoreStep(producer, slot, AppliesToPrefix(graph, index, producer, slot, path)));
            value = producer.Input[slot];
        }
        if (scores is null)
        {
            why = "no MatMul within 32 steps of its input";
            return null;
        }
        var context = ContextOf(index, softmax);
        if (context is null)
        {
            why = "its probabilities do not reach the first input of a MatMul (through Cast, Identity, Dropout or a NaN guard only)";
            return null;
        }
        if (Axis(softmax) is not (-1 or 3))
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"node '{softmax.Name}'",
                $"attention Softmax over axis {Axis(softmax)}; expected the last axis of [B, H, T, S] scores");
        steps.Reverse();
        return new AttentionCore(layer, "", scores, KeyScaleSteps(graph, index, scores), steps, softmax, context,
            KvHeadsBeforeRepeat(graph, index, context.Input[1]));
    }

    /// <summary>
    /// The Mul/Div-by-a-scalar nodes (and casts) the keys pass through just before the scores MatMul, in the order
    /// they apply; empty when Kᵀ enters the MatMul unscaled.
    /// </summary>
    private static List<ScoreStep> KeyScaleSteps(GraphProto graph, GraphIndex index, NodeProto scores)
    {
        var steps = new List<ScoreStep>();
        string value = scores.Input[1];
        for (int depth = 0; depth < 8; depth++)
        {
            var producer = index.Producer(value);
            if (producer is null) break;
            int slot;
            if (producer.OpType == "Cast") slot = 0;
            else if (producer.OpType == "Mul" && IsScalar(graph, index, producer.Input[1], 12)) slot = 0;
            else if (producer.OpType == "Mul" && IsScalar(graph, index, producer.Input[0], 12)) slot = 1;
            else if (producer.OpType == "Div" && IsScalar(graph, index, producer.Input[1], 12)) slot = 0;
            else break;
            steps.Add(new ScoreStep(producer, slot, true));
            value = producer.Input[slot];
        }
        steps.Reverse();
        return steps;
    }

    /// <summary>
    /// The MatMul reading the probabilities as its first input, through Cast/Identity/Dropout and torch's NaN guard
    /// Where(IsNaN(p), 0, p), if that is their only use. The guard is elementwise, so it is as valid over the
    /// prefix columns as over the real ones.
    /// </summary>
    private static NodeProto? ContextOf(GraphIndex index, NodeProto softmax)
    {
        string value = softmax.Output[0];
        for (int depth = 0; depth < 6; depth++)
        {
            var readers = index.Consumers(value);
            if (readers.Count == 2 && NanGuard(index, value, readers) is { } guard)
            {
                value = guard.Output[0];
                continue;
            }
            if (readers.Count != 1) return null;
            var (node, slot) = readers[0];
            if (node.OpType == "MatMul") return slot == 0 ? node : null;
            if (node.OpType is not ("Cast" or "Identity" or "Dropout")) return null;
            value = node.Output[0];
        }
        return null;
    }

    /// <summary>The Where of Where(IsNaN(p), c, p) when <paramref name="readers"/> are exactly that IsNaN and that Where.</summary>
    private static NodeProto? NanGuard(GraphIndex index, string p, IReadOnlyList<(NodeProto Node, int Slot)> readers)
    {
        var isNan = readers.FirstOrDefault(r => r.Node.OpType == "IsNaN").Node;
        var where = readers.FirstOrDefault(r => r.Node.OpType == "Where" && r.Slot == 2).Node;
        if (isNan is null || where is null || where.Input[0] != isNan.Output[0]) return null;
        return index.Consumers(isNan.Output[0]).Count == 1 ? where : null;
    }

    /// <summary>Which input carries the scores: the one that reaches a MatMul through step ops.</summary>
    private static int ChainSlot(GraphIndex index, NodeProto node)
    {
        if (node.OpType is "Cast" or "Identity") return 0;
        var slots = Enumerable.Range(0, node.Input.Count).Where(s => ReachesMatMul(index, node.Input[s], 32)).ToList();
        return slots.Count == 1 ? slots[0] : -1;
    }

    private static bool ReachesMatMul(GraphIndex index, string value, int depth)
    {
        var producer = index.Producer(value);
        if (producer is null || depth == 0) return false;
        if (producer.OpType == "MatMul") return true;
        if (!StepOps.Contains(producer.OpType)) return false;
        return producer.Input.Any(i => i.Length > 0 && ReachesMatMul(index, i, depth - 1));
    }

    private static bool AppliesToPrefix(GraphProto graph, GraphIndex index, NodeProto node, int slot, string path)
    {
        switch (node.OpType)
        {
            case "Cast":
                return true;
            case "Identity" or "Add" or "Where":
                return false;
            case "Sub" when slot == 0:
                return false;
            case "Mul":
                return IsScalar(graph, index, node.Input[1 - slot], 12);
            case "Div" when slot == 0:
                if (!IsScalar(graph, index, node.Input[1], 12))
                    throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"node '{node.Name}'", "divides the attention scores by a tensor; expected a scalar scale");
                return true;
            default:
                throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"node '{node.Name}'",
                    $"{node.OpType} takes the attention scores as input {slot}; expected them as the first operand");
        }
    }

    /// <summary>
    /// Whether a value is a single number: a one-element constant, or arithmetic and casts over such constants and
    /// single dimensions read from Shape (torch's 1/√head_dim computed from value.size(-1)). A causal mask sliced
    /// from a buffer is not: it reads a constant of many elements.
    /// </summary>
    private static bool IsScalar(GraphProto graph, GraphIndex index, string value, int depth)
    {
        if (depth == 0) return false;
        if (GraphSurgery.ConstantTensor(graph, index, value) is { } constant) return GraphSurgery.ElementCount(constant) <= 1;
        var producer = index.Producer(value);
        if (producer is null) return false;
        return producer.OpType switch
        {
            "Cast" or "Identity" or "Sqrt" or "Reciprocal" or "Neg" => IsScalar(graph, index, producer.Input[0], depth - 1),
            "Mul" or "Div" or "Add" or "Sub" or "Pow" => producer.Input.All(i => IsScalar(graph, index, i, depth - 1)),
            "Gather" => index.Producer(producer.Input[0])?.OpType == "Shape"
                        && GraphSurgery.ConstantTensor(graph, index, producer.Input[1]) is { } at && GraphSurgery.ElementCount(at) == 1,
            _ => false,
        };
    }

    private static long Axis(NodeProto softmax) =>
        softmax.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? -1;

    /// <summary>Y in V = Reshape(Expand(Unsqueeze(Y, axis 2))), the grouped-query repeat; null when V is not built so.</summary>
    private static string? KvHeadsBeforeRepeat(GraphProto graph, GraphIndex index, string values)
    {
        var reshape = index.Producer(values);
        if (reshape?.OpType != "Reshape") return null;
        var expand = index.Producer(reshape.Input[0]);
        if (expand?.OpType != "Expand") return null;
        var unsqueeze = index.Producer(expand.Input[0]);
        if (unsqueeze?.OpType != "Unsqueeze") return null;
        long[]? axes = unsqueeze.Input.Count > 1
            ? GraphSurgery.ConstantInt64s(graph, index, unsqueeze.Input[1])
            : unsqueeze.Attribute.FirstOrDefault(a => a.Name == "axes")?.Ints.ToArray();
        return axes is [2] ? unsqueeze.Input[0] : null;
    }

    private static string? GroupOf(NodeProto scores, ModelManifest manifest)
    {
        var match = LayerPattern().Match(scores.Name);
        if (!match.Success) return null;
        string group = "layers." + match.Groups[1].Value;
        return manifest.Groups.Contains(group) ? group : null;
    }
}
