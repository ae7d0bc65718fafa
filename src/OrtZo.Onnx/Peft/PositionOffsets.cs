using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx.Peft;

/// <summary>A read of token positions that must see them offset by the cache length: node <paramref name="Consumer"/>'s input <paramref name="Slot"/>.</summary>
internal sealed record PositionRead(NodeProto Consumer, int Slot, int ElementType);

/// <summary>
/// Where a graph without a position_ids input derives the positions its queries and keys use, so a KV-cached graph
/// can offset them by the past length. Exporters build one position vector Range(0, T) and read it twice: for rotary
/// angles or a position-embedding lookup (which need the absolute positions past … past+T−1) and for the causal
/// mask (which compares query and key indices of the T new tokens and must stay 0 … T−1, because the past gets its
/// own score columns). So the offset goes on exactly the reads that lead to the attention's queries, keys or values
/// without leading to a mask: values are traced forward from each Range through shape-only ops (Unsqueeze, Reshape,
/// Cast, …) while they still feed both, and the first read that feeds the attention only is the one offset.
/// Dependencies through Shape/Size carry no values, and a Softmax ends one layer's influence on the next layer's
/// inputs, so neither is followed. A position derived any other way (from attention_mask, by CumSum) is refused,
/// since offsetting it would need the whole mask.
/// </summary>
internal static class PositionOffsets
{
    private static readonly HashSet<string> ShapeOnly = new(StringComparer.Ordinal) { "Unsqueeze", "Squeeze", "Reshape", "Cast", "Expand", "Identity", "Flatten" };

    public static List<PositionRead> Find(GraphProto graph, IReadOnlyList<AttentionCore> cores, string? attentionMask, string? positionIds, string path)
    {
        var index = new GraphIndex(graph);
        var entries = cores.SelectMany(c => new[] { c.Query, c.KeysTransposed, c.Values }).ToList();
        var maskOperands = cores.SelectMany(c => c.Steps.Where(s => !s.AppliesToPrefix)
            .SelectMany(s => s.Node.Input.Where((v, slot) => slot != s.ChainSlot && v.Length > 0))).ToList();
        var feedsAttention = Upstream(index, entries);
        var feedsMask = Upstream(index, maskOperands);

        if (attentionMask is not null && feedsAttention.Contains(attentionMask))
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"input '{attentionMask}'",
                "the graph derives token positions (or other values entering attention) from the attention mask; a KV cache would need the whole mask to offset them");
        if (graph.Node.FirstOrDefault(n => n.OpType == "CumSum" && n.Output.Any(feedsAttention.Contains)) is { } cumsum)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"node '{cumsum.Name}'",
                "positions computed by CumSum reach the attention; only positions from a Range or a position_ids input can be offset by the cache length");
        if (positionIds is not null)
        {
            if (feedsMask.Contains(positionIds))
                throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"input '{positionIds}'",
                    "position_ids also builds the attention mask; with a KV cache the caller feeds absolute positions, which that mask would misread");
            return [];
        }

        var reads = new List<PositionRead>();
        foreach (var range in graph.Node.Where(n => n.OpType == "Range" && feedsAttention.Contains(n.Output[0])))
        {
            var pending = new Queue<string>([range.Output[0]]);
            while (pending.Count > 0)
            {
                string value = pending.Dequeue();
                foreach (var (node, slot) in index.Consumers(value))
                {
                    if (node.OpType is "Shape" or "Size") continue;
                    bool attention = node.Output.Any(feedsAttention.Contains), mask = node.Output.Any(feedsMask.Contains);
                    if (!attention) continue;
                    if (!mask)
                    {
                        reads.Add(new PositionRead(node, slot, ElementType(graph, index, value, path)));
                        continue;
                    }
                    if (!ShapeOnly.Contains(node.OpType))
                        throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"node '{node.Name}'",
                            $"{node.OpType} turns the positions from Range '{range.Name}' into a value that feeds both the attention mask and the queries/keys; the cache length cannot be added to one use only");
                    pending.Enqueue(node.Output[0]);
                }
            }
        }
        return reads;
    }

    /// <summary>Every value some <paramref name="targets"/> depend on, not through Shape/Size or a Softmax.</summary>
    private static HashSet<string> Upstream(GraphIndex index, IEnumerable<string> targets)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(targets);
        while (stack.Count > 0)
        {
            string value = stack.Pop();
            if (!seen.Add(value)) continue;
            var producer = index.Producer(value);
            if (producer is null || producer.OpType is "Shape" or "Size" or "Softmax") continue;
            foreach (string input in producer.Input)
                if (input.Length > 0) stack.Push(input);
        }
        return seen;
    }

    /// <summary>
    /// The element type of a position value: traced back through the shape-only ops to the Range, whose inputs
    /// (constants, or sizes read with Shape, which are int64) give it.
    /// </summary>
    private static int ElementType(GraphProto graph, GraphIndex index, string value, string path) =>
        TryElementType(graph, index, value, 64)
        ?? throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"value '{value}'", "cannot tell the element type of the token positions");

    private static int? TryElementType(GraphProto graph, GraphIndex index, string value, int depth)
    {
        if (depth == 0) return null;
        if (GraphSurgery.ConstantTensor(graph, index, value) is { } constant) return constant.DataType;
        if (graph.Input.FirstOrDefault(i => i.Name == value) is { } input) return input.Type.TensorType.ElemType;
        var producer = index.Producer(value);
        switch (producer?.OpType)
        {
            case null:
                return null;
            case "Cast":
                return (int)producer.Attribute.First(a => a.Name == "to").I;
            case "Shape" or "Size":
                return OnnxElementType.Int64;
            case "Range" or "Add" or "Sub" or "Mul" or "Gather":
                // a Gather's result has its data's type; arithmetic and Range have their operands'
                foreach (string operand in producer.OpType == "Gather" ? [producer.Input[0]] : producer.Input)
                    if (TryElementType(graph, index, operand, depth - 1) is { } type) return type;
                return null;
            default:
                return ShapeOnly.Contains(producer.OpType) ? TryElementType(graph, index, producer.Input[0], depth - 1) : null;
        }
    }
}
