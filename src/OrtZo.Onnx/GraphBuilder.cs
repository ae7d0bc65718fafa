using Google.Protobuf;
using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

/// <summary>
/// Appends nodes, constants, inputs and outputs to a graph with names that cannot collide with the graph's own,
/// and hides the opset differences OrtZo meets (Squeeze/Unsqueeze/ReduceSum take axes as an input from opset 13,
/// the other Reduce* ops from opset 18; before that, as an attribute).
/// </summary>
internal sealed class GraphBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly string _prefix;
    private int _counter;

    public GraphBuilder(GraphProto graph, int opset, string prefix = "")
    {
        if (opset < 11)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, "opset 11 or later is required (GatherElements, Range)");
        Graph = graph;
        Opset = opset;
        _prefix = prefix;
        CollectNames(graph);
    }

    public GraphProto Graph { get; }

    public int Opset { get; }

    /// <summary>
    /// Prefix for the names of nodes added from now on, in torch's style ("/transformer/h.0/attn/c_attn"), so
    /// built graphs carry the same scope hints that real exports do.
    /// </summary>
    public string Scope { get; set; } = "";

    /// <summary>A name not yet used for any value, node or initializer of the graph (subgraphs included).</summary>
    public string FreshName(string hint)
    {
        string candidate = _prefix + hint;
        while (!_names.Add(candidate)) candidate = $"{_prefix}{hint}_{++_counter}";
        return candidate;
    }

    /// <summary>Claims <paramref name="name"/> exactly; fails if the graph already uses it.</summary>
    public string ExactName(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"name '{name}' is already used in the graph");
        return name;
    }

    public string Node(string opType, IReadOnlyList<string> inputs, string? output = null, params AttributeProto[] attributes) =>
        Nodes(opType, inputs, [output ?? FreshName(opType.ToLowerInvariant())], attributes)[0];

    public IReadOnlyList<string> Nodes(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = FreshName(Scope + "/" + opType) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputs;
    }

    public string Initializer(TensorProto tensor)
    {
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public string Int64s(string hint, params long[] values) =>
        Initializer(TensorData.FromInt64s(FreshName(hint), [values.Length], values));

    public string Int64Scalar(string hint, long value) =>
        Initializer(TensorData.FromInt64s(FreshName(hint), [], [value]));

    public string FloatScalar(string hint, float value) =>
        Initializer(TensorData.FromFloats(FreshName(hint), [], [value]));

    public string Unsqueeze(string x, params long[] axes) =>
        Opset >= 13 ? Node("Unsqueeze", [x, Int64s("axes", axes)]) : Node("Unsqueeze", [x], null, Ints("axes", axes));

    public string Squeeze(string x, params long[] axes) =>
        Opset >= 13 ? Node("Squeeze", [x, Int64s("axes", axes)]) : Node("Squeeze", [x], null, Ints("axes", axes));

    /// <summary>Any Reduce* op over <paramref name="axes"/>, in the form the opset calls for.</summary>
    public string Reduce(string opType, string x, long[] axes, bool keepDims, string? output = null)
    {
        int axesAsInputFrom = opType == "ReduceSum" ? 13 : 18;
        var keep = Int("keepdims", keepDims ? 1 : 0);
        return Opset >= axesAsInputFrom
            ? Node(opType, [x, Int64s("axes", axes)], output, keep)
            : Node(opType, [x], output, Ints("axes", axes), keep);
    }

    public string Slice(string x, long[] starts, long[] ends, long[] axes) =>
        Node("Slice", [x, Int64s("starts", starts), Int64s("ends", ends), Int64s("axes", axes)]);

    /// <summary>Dimension <paramref name="axis"/> of <paramref name="x"/> as an int64 [1] tensor.</summary>
    public string DimAsVector(string x, long axis) =>
        Slice(Node("Shape", [x]), [axis], [axis + 1], [0]);

    /// <summary>Dimension <paramref name="axis"/> of <paramref name="x"/> as an int64 scalar.</summary>
    public string DimAsScalar(string x, long axis) =>
        Node("Gather", [Node("Shape", [x]), Int64Scalar("axis", axis)], null, Int("axis", 0));

    public void Input(string name, int elementType, params object[] dims) => Graph.Input.Add(ValueInfo(name, elementType, dims));

    public void Output(string name, int elementType, params object[] dims) => Graph.Output.Add(ValueInfo(name, elementType, dims));

    /// <summary>A tensor value description; each dim is a <c>long</c> (fixed) or a <c>string</c> (symbolic).</summary>
    public static ValueInfoProto ValueInfo(string name, int elementType, IReadOnlyList<object> dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                long v => new TensorShapeProto.Types.Dimension { DimValue = v },
                int v => new TensorShapeProto.Types.Dimension { DimValue = v },
                string p => new TensorShapeProto.Types.Dimension { DimParam = p },
                _ => throw new ArgumentException($"dimension {d} of '{name}' must be a long or a string"),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Tensor(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    private void CollectNames(GraphProto graph)
    {
        foreach (var v in graph.Input) _names.Add(v.Name);
        foreach (var v in graph.Output) _names.Add(v.Name);
        foreach (var t in graph.Initializer) _names.Add(t.Name);
        foreach (var node in graph.Node)
        {
            if (node.HasName) _names.Add(node.Name);
            foreach (var o in node.Output) _names.Add(o);
            foreach (var a in node.Attribute)
            {
                if (a.G is not null) CollectNames(a.G);
                foreach (var g in a.Graphs) CollectNames(g);
            }
        }
    }
}
