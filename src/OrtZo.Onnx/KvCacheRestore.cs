using Google.Protobuf;
using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

/// <summary>One cache tensor of a graph: the past input, the present output that becomes the next step's past, and its declared type.</summary>
/// <param name="EmptyShape">The past's shape for a first step with batch 1: symbolic dims 1, the sequence axis (second to last) 0.</param>
internal sealed record CacheTensor(string Past, string Present, int ElementType, long[] EmptyShape);

/// <summary>
/// Gives a graph imported with a KV cache its cache back: the importer (<see cref="PastKeyValueRemoval"/>) turned
/// each past input into an empty tensor built in the graph and dropped the present outputs, and recorded both
/// declarations (type and shape, as serialized ValueInfoProtos) in the model's metadata_props. Restoring removes
/// the empty-tensor nodes, declares the past inputs again and lists the present outputs again, so the exporter's own
/// cache path (fused attention ops included, which no rewrite could reach) runs with the tuned weights.
/// </summary>
internal static class KvCacheRestore
{
    private const string PastKey = "ortzo.emptied_cache_inputs";
    private const string PresentKey = "ortzo.dropped_cache_outputs";

    public static void Record(ModelProto model, IReadOnlyList<ValueInfoProto> past, IReadOnlyList<ValueInfoProto> present)
    {
        Forget(model);
        if (past.Count == 0) return;
        model.MetadataProps.Add(new StringStringEntryProto { Key = PastKey, Value = Encode(past) });
        model.MetadataProps.Add(new StringStringEntryProto { Key = PresentKey, Value = Encode(present) });
    }

    /// <summary>Drops the record (a plain export without a cache has no use for it).</summary>
    public static void Forget(ModelProto model)
    {
        foreach (var entry in model.MetadataProps.Where(e => e.Key is PastKey or PresentKey).ToList()) model.MetadataProps.Remove(entry);
    }

    /// <summary>
    /// Restores the cache when the record is there and every recorded present value is still computed; returns the
    /// cache tensors in input order, or null when there is nothing to restore (the graph is left unchanged).
    /// </summary>
    public static List<CacheTensor>? TryApply(ModelProto model, string path)
    {
        var past = Decode(model, PastKey);
        var present = Decode(model, PresentKey);
        if (past is null || present is null || past.Count == 0) return null;
        var graph = model.Graph;
        var index = new GraphIndex(graph);
        if (present.Any(p => index.Producer(p.Name) is null) || past.Any(p => index.Producer(p.Name)?.OpType != "ConstantOfShape"))
            return null;
        var tensors = new List<CacheTensor>();
        foreach (var input in past)
        {
            var output = present.FirstOrDefault(o => o.Name == PresentName(input.Name))
                ?? throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"input '{input.Name}'",
                    $"no present output pairs with this past input (expected '{PresentName(input.Name)}'); the cache cannot be fed back");
            tensors.Add(new CacheTensor(input.Name, output.Name, input.Type.TensorType.ElemType, EmptyShape(input, path)));
        }
        foreach (var input in past)
        {
            graph.Node.Remove(index.Producer(input.Name)!);
            graph.Input.Add(input);
        }
        foreach (var output in present) graph.Output.Add(output);
        Forget(model);
        DeadNodeElimination.Apply(graph);
        return tensors;
    }

    /// <summary>present.N.key for past_key_values.N.key (Optimum, the GenAI builder), present_N for past_N (GPT-2's legacy layout).</summary>
    private static string PresentName(string past) =>
        past.StartsWith("past_key_values", StringComparison.Ordinal) ? "present" + past["past_key_values".Length..]
        : past.StartsWith("past", StringComparison.Ordinal) ? "present" + past["past".Length..]
        : past.Replace("past", "present", StringComparison.Ordinal);

    private static long[] EmptyShape(ValueInfoProto input, string path)
    {
        var dims = input.Type.TensorType.Shape.Dim;
        var shape = new long[dims.Count];
        for (int axis = 0; axis < dims.Count; axis++)
            shape[axis] = axis == dims.Count - 2 ? 0
                : dims[axis].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? dims[axis].DimValue
                : dims[axis].DimParam.Contains("batch", StringComparison.OrdinalIgnoreCase) ? 1
                : throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"input '{input.Name}'", $"axis {axis} is symbolic ('{dims[axis].DimParam}') but neither the batch nor the sequence axis");
        return shape;
    }

    private static string Encode(IEnumerable<ValueInfoProto> values) =>
        string.Join(',', values.Select(v => Convert.ToBase64String(v.ToByteArray())));

    private static List<ValueInfoProto>? Decode(ModelProto model, string key)
    {
        var entry = model.MetadataProps.FirstOrDefault(e => e.Key == key);
        if (entry is null) return null;
        return entry.Value.Length == 0 ? [] : entry.Value.Split(',').Select(v => ValueInfoProto.Parser.ParseFrom(Convert.FromBase64String(v))).ToList();
    }
}
