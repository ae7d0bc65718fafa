using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

/// <summary>
/// Removes nodes whose outputs reach no graph output, then initializers and value_info entries nothing reads.
/// Run after dropping outputs (present.*), so the KV-cache concatenations that fed them do not run at all.
/// Graph inputs are left alone: they are the model's interface.
/// </summary>
internal static class DeadNodeElimination
{
    public static int Apply(GraphProto graph)
    {
        var needed = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        var live = new bool[graph.Node.Count];
        for (int n = graph.Node.Count - 1; n >= 0; n--)
        {
            var node = graph.Node[n];
            if (!node.Output.Any(needed.Contains)) continue;
            live[n] = true;
            foreach (var input in node.Input)
                if (input.Length > 0) needed.Add(input);
            foreach (var outer in GraphIndex.OuterReferences(node)) needed.Add(outer);
        }
        var kept = graph.Node.Where((_, n) => live[n]).ToList();
        int removed = graph.Node.Count - kept.Count;
        graph.Node.Clear();
        graph.Node.AddRange(kept);

        var unusedInitializers = graph.Initializer.Where(t => !needed.Contains(t.Name)).ToList();
        foreach (var t in unusedInitializers) graph.Initializer.Remove(t);

        var produced = new HashSet<string>(graph.Node.SelectMany(n => n.Output), StringComparer.Ordinal);
        var staleInfo = graph.ValueInfo.Where(v => !produced.Contains(v.Name)).ToList();
        foreach (var v in staleInfo) graph.ValueInfo.Remove(v);
        return removed;
    }
}
