using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

/// <summary>
/// Who produces and who reads each value of a graph. Reads from inside subgraphs (If/Loop/Scan bodies that use
/// an outer value by name) count as reads by the node that owns the subgraph, so nothing a body needs looks unused.
/// </summary>
internal sealed class GraphIndex
{
    private readonly Dictionary<string, List<(NodeProto Node, int Slot)>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<NodeProto, int> _position = new(ReferenceEqualityComparer.Instance);

    public GraphIndex(GraphProto graph)
    {
        Graph = graph;
        for (int n = 0; n < graph.Node.Count; n++)
        {
            var node = graph.Node[n];
            _position[node] = n;
            for (int slot = 0; slot < node.Input.Count; slot++)
            {
                if (node.Input[slot].Length > 0) AddConsumer(node.Input[slot], node, slot);
            }
            foreach (string outer in OuterReferences(node)) AddConsumer(outer, node, -1);
            foreach (string output in node.Output)
                if (output.Length > 0) _producers[output] = node;
        }
    }

    public GraphProto Graph { get; }

    /// <summary>Readers of a value; slot −1 marks a read from inside one of the node's subgraphs.</summary>
    public IReadOnlyList<(NodeProto Node, int Slot)> Consumers(string value) =>
        _consumers.TryGetValue(value, out var list) ? list : [];

    public NodeProto? Producer(string value) => _producers.GetValueOrDefault(value);

    /// <summary>The node's index in the graph's (topologically sorted) node list.</summary>
    public int Position(NodeProto node) => _position[node];

    /// <summary>Names a node's subgraphs read from enclosing scopes (every input name used inside, a harmless superset).</summary>
    public static IEnumerable<string> OuterReferences(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            if (attribute.G is not null)
                foreach (var name in NamesReadIn(attribute.G)) yield return name;
            foreach (var g in attribute.Graphs)
                foreach (var name in NamesReadIn(g)) yield return name;
        }
    }

    private static IEnumerable<string> NamesReadIn(GraphProto graph)
    {
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input)
                if (input.Length > 0) yield return input;
            foreach (var name in OuterReferences(node)) yield return name;
        }
        foreach (var output in graph.Output) yield return output.Name;
    }

    private void AddConsumer(string value, NodeProto node, int slot)
    {
        if (!_consumers.TryGetValue(value, out var list)) _consumers[value] = list = [];
        list.Add((node, slot));
    }
}
