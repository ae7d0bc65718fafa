using System.Text.RegularExpressions;
using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

/// <summary>
/// Makes a "with past" export (Optimum's past_key_values.{i}.key/value, GPT-2's past.{i}, the GenAI builder's
/// past_key_values.*) score a whole sequence with no KV cache: each past input becomes an empty tensor built in
/// the graph — batch from input_ids, the sequence axis 0, the other axes from the input's declared static dims —
/// and the present.* outputs are dropped. The engine then never feeds or receives a cache when scoring.
/// The past sequence axis is the second-to-last one in every layout these exporters use
/// ([B, heads, S, head_dim] and GPT-2's legacy [2, B, heads, S, head_dim]). What was removed is recorded in the
/// model's metadata, so an export can give the graph its cache back (<see cref="KvCacheRestore"/>).
/// </summary>
internal static partial class PastKeyValueRemoval
{
    [GeneratedRegex(@"(^|[._/])past([._/]|_key|_value|$)|past_key|past_value|key_cache|value_cache|kv_cache", RegexOptions.IgnoreCase)]
    private static partial Regex PastName();

    [GeneratedRegex(@"^present([._/]|_key|_value|$)|[._/]present([._/]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex PresentName();

    public static bool IsPastInput(ValueInfoProto input) =>
        PastName().IsMatch(input.Name) && OnnxElementType.IsTrainableFloat(input.Type?.TensorType?.ElemType ?? 0);

    public static bool IsPresentOutput(string name) => PresentName().IsMatch(name);

    /// <summary>Rewrites the graph in place; returns the names of the removed inputs and outputs.</summary>
    public static IReadOnlyList<string> Apply(ModelProto model, string inputIdsName, string? path)
    {
        var graph = model.Graph;
        var removed = new List<string>();
        var pastInputs = graph.Input.Where(IsPastInput).ToList();
        if (pastInputs.Count > 0)
        {
            var idsInfo = graph.Input.First(i => i.Name == inputIdsName);
            string? batchParam = DimParam(idsInfo, 0);
            var g = new GraphBuilder(graph, ModelOpset.Default(model), "ortzo_no_past/");
            var emptied = new List<NodeProto>();
            string? batchVector = null;
            int before = graph.Node.Count;
            foreach (var input in pastInputs)
            {
                var dims = input.Type.TensorType.Shape?.Dim;
                string subject = $"input '{input.Name}'";
                if (dims is null || dims.Count < 2)
                    throw OnnxErrors.Fail(OnnxError.Unsupported, path, subject,
                        "a past key/value input needs a declared shape of rank 2 or more to be replaced by an empty tensor");
                var parts = new List<string>();
                for (int axis = 0; axis < dims.Count; axis++)
                {
                    var dim = dims[axis];
                    if (axis == dims.Count - 2)
                        parts.Add(g.Int64s("empty_axis", 0));
                    else if (dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
                        parts.Add(g.Int64s("dim", dim.DimValue));
                    else if (dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam
                             && (dim.DimParam == batchParam || dim.DimParam.Contains("batch", StringComparison.OrdinalIgnoreCase)))
                        parts.Add(batchVector ??= g.DimAsVector(inputIdsName, 0));
                    else
                        throw OnnxErrors.Fail(OnnxError.Unsupported, path, subject,
                            $"axis {axis} is '{DescribeDim(dim)}'; only the batch axis (as in input_ids) and the past-sequence axis (second to last) may be symbolic");
                }
                string shape = g.Node("Concat", parts, null, GraphBuilder.Int("axis", 0));
                var zero = new TensorProto { Name = "zero", DataType = input.Type.TensorType.ElemType };
                zero.Dims.Add(1);
                zero.RawData = Google.Protobuf.ByteString.CopyFrom(new byte[OnnxElementType.SizeInBytes(zero.DataType)]);
                g.Node("ConstantOfShape", [shape], input.Name, GraphBuilder.Tensor("value", zero));
                graph.Input.Remove(input);
                removed.Add(input.Name);
            }
            // The new nodes were appended; the graph's node list must stay topologically sorted, and these nodes
            // read only graph inputs and constants, so they go first.
            var added = graph.Node.Skip(before).ToList();
            for (int i = 0; i < added.Count; i++) graph.Node.RemoveAt(graph.Node.Count - 1);
            for (int i = added.Count - 1; i >= 0; i--) graph.Node.Insert(0, added[i]);
        }
        var presentOutputs = graph.Output.Where(o => IsPresentOutput(o.Name)).ToList();
        foreach (var output in presentOutputs)
        {
            graph.Output.Remove(output);
            removed.Add(output.Name);
        }
        foreach (var info in graph.ValueInfo.Where(v => removed.Contains(v.Name)).ToList()) graph.ValueInfo.Remove(info);
        KvCacheRestore.Record(model, pastInputs, presentOutputs);
        return removed;
    }

    private static string? DimParam(ValueInfoProto info, int axis)
    {
        var dims = info.Type?.TensorType?.Shape?.Dim;
        return dims is not null && dims.Count > axis && dims[axis].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam
            ? dims[axis].DimParam
            : null;
    }

    private static string DescribeDim(TensorShapeProto.Types.Dimension dim) => dim.ValueCase switch
    {
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => dim.DimParam,
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => dim.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "unknown",
    };
}
