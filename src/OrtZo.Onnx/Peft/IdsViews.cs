using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx.Peft;

/// <summary>
/// Recognises values that are the [B, T] input ids themselves under another spelling: Cast, Identity, Flatten
/// (axis 1) and Reshape to a shape the graph computes as [B, T], [−1, T] or [B, −1] from the ids' own Shape
/// (GPT-2's and OPT's <c>input_ids.view(-1, input_shape[-1])</c>). The shape is evaluated symbolically: each element
/// is a constant or "dimension k of the ids", so a reshape that truly changes the layout is never taken for a view.
/// </summary>
internal static class IdsViews
{
    private const long Unknown = long.MinValue;

    /// <summary>Dimension k of the ids, encoded below every real constant (−1 is a real constant in a Reshape).</summary>
    private static long Dim(int k) => Unknown + 1 + k;

    /// <summary>Whether <paramref name="value"/> is the ids under another spelling; if not, <paramref name="breaking"/> is the first node that is no view (null when the chain just ends).</summary>
    public static bool IsViewOf(GraphProto graph, GraphIndex index, string value, string ids, out NodeProto? breaking)
    {
        breaking = null;
        for (int depth = 0; depth < 8; depth++)
        {
            if (value == ids) return true;
            var producer = index.Producer(value);
            if (producer is null) return false;
            bool view = producer.OpType switch
            {
                "Cast" or "Identity" => true,
                "Flatten" => (producer.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 1) == 1,
                "Reshape" => ShapeElements(graph, index, producer.Input[1], ids, 8) is { } shape && KeepsBatchAndSequence(shape),
                _ => false,
            };
            if (!view)
            {
                breaking = producer;
                return false;
            }
            value = producer.Input[0];
        }
        return false;
    }

    private static bool KeepsBatchAndSequence(long[] shape) =>
        shape.Length == 2 && ((shape[0] == Dim(0) && (shape[1] == Dim(1) || shape[1] == -1)) || (shape[0] == -1 && shape[1] == Dim(1)));

    /// <summary>The elements of an int64 shape vector: constants, <see cref="Dim"/> of the ids, or <see cref="Unknown"/>; null when not evaluable.</summary>
    private static long[]? ShapeElements(GraphProto graph, GraphIndex index, string value, string ids, int depth)
    {
        if (depth == 0) return null;
        if (GraphSurgery.ConstantInt64s(graph, index, value) is { } constant) return constant;
        var producer = index.Producer(value);
        if (producer is null) return null;
        switch (producer.OpType)
        {
            case "Cast" or "Identity":
                return ShapeElements(graph, index, producer.Input[0], ids, depth - 1);
            case "Shape" when IsViewOf(graph, index, producer.Input[0], ids, out _) && producer.Attribute.Count == 0:
                return [Dim(0), Dim(1)];
            case "Unsqueeze" or "Squeeze":
                return ShapeElements(graph, index, producer.Input[0], ids, depth - 1) is [var single] ? [single] : null;
            case "Concat":
                var parts = new List<long>();
                foreach (var input in producer.Input)
                {
                    if (ShapeElements(graph, index, input, ids, depth - 1) is not { } part) return null;
                    parts.AddRange(part);
                }
                return parts.ToArray();
            case "Gather":
                if (ShapeElements(graph, index, producer.Input[0], ids, depth - 1) is not { } source) return null;
                if (GraphSurgery.ConstantInt64s(graph, index, producer.Input[1]) is not { } at) return null;
                var picked = new long[at.Length];
                for (int i = 0; i < at.Length; i++)
                {
                    long k = at[i] < 0 ? at[i] + source.Length : at[i];
                    if (k < 0 || k >= source.Length) return null;
                    picked[i] = source[k];
                }
                return picked;
            default:
                return null;
        }
    }
}
