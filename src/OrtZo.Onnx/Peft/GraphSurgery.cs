using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx.Peft;

/// <summary>
/// Small edits the PEFT rewrites share: pointing readers of a value at another value, renaming a node's
/// output, and restoring the topological order ONNX requires after nodes were appended at the end.
/// </summary>
internal static class GraphSurgery
{
    /// <summary>
    /// Makes every reader of <paramref name="from"/> (subgraphs included) read <paramref name="to"/> instead,
    /// except the top-level nodes <paramref name="keep"/> accepts. Graph outputs named <paramref name="from"/> are not touched.
    /// </summary>
    public static int RedirectReads(GraphProto graph, string from, string to, Func<NodeProto, bool>? keep = null)
    {
        int changed = 0;
        foreach (var node in graph.Node)
        {
            if (keep?.Invoke(node) == true) continue;
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] != from) continue;
                node.Input[i] = to;
                changed++;
            }
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null) changed += RedirectReads(attribute.G, from, to);
                foreach (var g in attribute.Graphs) changed += RedirectReads(g, from, to);
            }
        }
        return changed;
    }

    /// <summary>Renames the output <paramref name="value"/> of its producer to a fresh name and returns that name.</summary>
    public static string RenameProducedValue(GraphBuilder g, NodeProto producer, string value, string hint)
    {
        int slot = producer.Output.IndexOf(value);
        if (slot < 0) throw new InvalidOperationException($"node '{producer.Name}' does not produce '{value}'");
        string renamed = g.FreshName(hint);
        producer.Output[slot] = renamed;
        return renamed;
    }

    /// <summary>
    /// Reorders the nodes so each comes after the producers of what it reads, keeping the existing order wherever
    /// it is already valid (Kahn's algorithm, lowest original position first). Values read from subgraphs count
    /// as dependencies only when a top-level node produces them.
    /// </summary>
    public static void SortTopologically(GraphProto graph, string? path)
    {
        var nodes = graph.Node.ToList();
        var producerOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int n = 0; n < nodes.Count; n++)
            foreach (var output in nodes[n].Output)
                if (output.Length > 0) producerOf[output] = n;
        var waitingOn = new int[nodes.Count];
        var dependents = new List<int>[nodes.Count];
        for (int n = 0; n < nodes.Count; n++) dependents[n] = [];
        for (int n = 0; n < nodes.Count; n++)
        {
            var reads = nodes[n].Input.Where(i => i.Length > 0).Concat(GraphIndex.OuterReferences(nodes[n])).Distinct(StringComparer.Ordinal);
            foreach (var value in reads)
            {
                if (!producerOf.TryGetValue(value, out int p) || p == n) continue;
                waitingOn[n]++;
                dependents[p].Add(n);
            }
        }
        var ready = new PriorityQueue<int, int>();
        for (int n = 0; n < nodes.Count; n++)
            if (waitingOn[n] == 0) ready.Enqueue(n, n);
        var order = new List<NodeProto>(nodes.Count);
        while (ready.TryDequeue(out int n, out _))
        {
            order.Add(nodes[n]);
            foreach (int d in dependents[n])
                if (--waitingOn[d] == 0) ready.Enqueue(d, d);
        }
        if (order.Count != nodes.Count)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, null, "the rewritten graph has a cycle; this is a bug in the PEFT rewrite");
        graph.Node.Clear();
        graph.Node.AddRange(order);
    }

    /// <summary>A scalar constant of the given element type (float, float16 or bfloat16).</summary>
    public static string FloatScalar(GraphBuilder g, string hint, float value, int elementType)
    {
        if (elementType == OnnxElementType.Float) return g.FloatScalar(hint, value);
        if (!OnnxElementType.TryToDType(elementType, out var dtype))
            throw new ArgumentException($"element type {OnnxElementType.Name(elementType)} has no float scalar");
        var bytes = new byte[dtype.SizeInBytes()];
        FloatConversions.FromFloat32([value], dtype, bytes);
        return g.Initializer(TensorData.FromBytes(g.FreshName(hint), elementType, [], bytes));
    }

    /// <summary>A tensor of <paramref name="shape"/> (an int64 vector value) filled with one int64, float or other value.</summary>
    public static string Filled(GraphBuilder g, string shape, int elementType, double value)
    {
        if (!OnnxElementType.TryToDType(elementType, out var dtype) && elementType != OnnxElementType.Int64 && elementType != OnnxElementType.Int32)
            throw new ArgumentException($"cannot fill a tensor of element type {OnnxElementType.Name(elementType)}");
        TensorProto fill;
        if (elementType == OnnxElementType.Int64) fill = TensorData.FromInt64s("value", [1], [(long)value]);
        else if (elementType == OnnxElementType.Int32) fill = TensorData.FromBytes("value", elementType, [1], BitConverter.GetBytes((int)value));
        else
        {
            var bytes = new byte[dtype.SizeInBytes()];
            FloatConversions.FromFloat32([(float)value], dtype, bytes);
            fill = TensorData.FromBytes("value", elementType, [1], bytes);
        }
        return g.Node("ConstantOfShape", [shape], null, GraphBuilder.Tensor("value", fill));
    }

    /// <summary>The element type a graph input declares.</summary>
    public static int InputElementType(GraphProto graph, string name) =>
        graph.Input.FirstOrDefault(i => i.Name == name)?.Type?.TensorType?.ElemType
        ?? throw new ArgumentException($"graph input '{name}' not found");

    /// <summary>The int64 values of an initializer or Constant node output, or null when the value is computed.</summary>
    public static long[]? ConstantInt64s(GraphProto graph, GraphIndex index, string value)
    {
        var tensor = ConstantTensor(graph, index, value);
        if (tensor is null || tensor.DataType != OnnxElementType.Int64 || TensorData.IsExternal(tensor)) return null;
        return TensorData.ReadInt64s(tensor, null, null);
    }

    /// <summary>The tensor an initializer or a Constant node holds under this name, or null.</summary>
    public static TensorProto? ConstantTensor(GraphProto graph, GraphIndex index, string value)
    {
        var initializer = graph.Initializer.FirstOrDefault(t => t.Name == value);
        if (initializer is not null) return initializer;
        var producer = index.Producer(value);
        if (producer?.OpType != "Constant") return null;
        return producer.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
    }

    /// <summary>Element count of a constant tensor (1 for a scalar).</summary>
    public static long ElementCount(TensorProto tensor) => tensor.Dims.Aggregate(1L, (a, b) => a * b);
}
