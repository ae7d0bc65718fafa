using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx.Peft;

/// <summary>
/// Prompt tuning as a graph rewrite: n learned virtual-token embeddings, the input prompt.embeddings [n, d], are
/// put in front of the token embeddings, and the rest of the graph sees a sequence n tokens longer. The engine
/// keeps feeding [B, T] tensors; inside the graph every reader except the embedding lookup gets padded versions:
/// <code>
/// embeddings' = Concat(Expand(prompt, [B, n, d]), Gather(table, input_ids))      [B, n+T, d]
/// input_ids'  = Concat(0 [B, n], input_ids)          shapes (positions, causal windows, logits reshape) grow by n
/// mask'       = Concat(1 [B, n], attention_mask)     virtual tokens are always visible
/// positions'  = Concat(0 … n−1, position_ids + n)    real tokens shift by n, as in ZO-Bench (OPT: from the mask's cumsum)
/// label_mask' = Concat(0 [B, n+1], label_mask[:, 1:])  the scoring head never scores a virtual position, and the
///                                                     first real token stays unscored, exactly as without a prompt
/// </code>
/// The graph's logits output therefore has n+T positions; the scoring head uses them whole and <c>ortzo export</c>
/// slices the first n off. Positions are shifted, so the usable sequence length drops by n.
/// </summary>
internal static class PromptRewrite
{
    public const string EmbeddingsName = "prompt.embeddings";

    public static List<AdapterTensor> Apply(ModelProto model, ModelManifest manifest, int tokens, Func<long, float[]> initial, string path)
    {
        var graph = model.Graph;
        var index = new GraphIndex(graph);
        string ids = manifest.Inputs.InputIds;
        var (lookup, table) = FindLookup(graph, index, manifest, path);
        var tableInfo = manifest.WeightInputs.First(w => w.Name == table);
        DTypeExtensions.TryParseShortName(tableInfo.Dtype, out var dtype);
        long d = tableInfo.Shape[1], n = tokens;
        int elementType = OnnxElementType.FromDType(dtype);

        var g = new GraphBuilder(graph, ModelOpset.Default(model), "ortzo_prompt/");
        g.Scope = "/ortzo_prompt";
        int firstNew = graph.Node.Count;
        string prompt = g.ExactName(EmbeddingsName);
        graph.Input.Add(GraphBuilder.ValueInfo(prompt, elementType, [n, d]));
        var adapter = new AdapterTensor(prompt, dtype, [n, d], manifest.Groups.Contains("embeddings") ? "embeddings" : manifest.Groups[0], initial(d));

        string batch = g.DimAsVector(ids, 0);
        string batchByN = g.Node("Concat", [batch, g.Int64s("n", n)], null, GraphBuilder.Int("axis", 0));

        // The lookup keeps reading the real ids; its output gains the virtual rows in front.
        string embedded = lookup.Output[0];
        string tokenRows = GraphSurgery.RenameProducedValue(g, lookup, embedded, "token_embeddings");
        string promptRows = g.Node("Expand", [g.Unsqueeze(prompt, 0),
            g.Node("Concat", [batch, g.Int64s("n", n), g.Int64s("d", d)], null, GraphBuilder.Int("axis", 0))]);
        g.Node("Concat", [promptRows, tokenRows], embedded, GraphBuilder.Int("axis", 1));

        var padded = new List<(string Input, string Padded)>
        {
            (ids, Concat(g, GraphSurgery.Filled(g, batchByN, GraphSurgery.InputElementType(graph, ids), 0), ids)),
        };
        if (manifest.Inputs.AttentionMask is { } mask)
            padded.Add((mask, Concat(g, GraphSurgery.Filled(g, batchByN, GraphSurgery.InputElementType(graph, mask), 1), mask)));
        if (manifest.Inputs.PositionIds is { } positions)
        {
            int type = GraphSurgery.InputElementType(graph, positions);
            string virtualPositions = g.Node("Expand", [g.Unsqueeze(g.Node("Range", [Scalar(g, type, 0), Scalar(g, type, n), Scalar(g, type, 1)]), 0), batchByN]);
            padded.Add((positions, Concat(g, virtualPositions, g.Node("Add", [positions, Scalar(g, type, n)]))));
        }
        string labels = manifest.Inputs.LabelMask;
        string zeros = GraphSurgery.Filled(g, g.Node("Concat", [batch, g.Int64s("n_plus_one", n + 1)], null, GraphBuilder.Int("axis", 0)),
            GraphSurgery.InputElementType(graph, labels), 0);
        padded.Add((labels, Concat(g, zeros, g.Slice(labels, [1], [long.MaxValue], [1]))));

        // Every reader outside this rewrite now sees the padded tensors; the lookup and the new nodes read the originals.
        var keep = new HashSet<NodeProto>(graph.Node.Skip(firstNew), ReferenceEqualityComparer.Instance) { lookup };
        foreach (var (input, withFront) in padded) GraphSurgery.RedirectReads(graph, input, withFront, keep.Contains);
        return [adapter];
    }

    private static string Concat(GraphBuilder g, string front, string rest) =>
        g.Node("Concat", [front, rest], null, GraphBuilder.Int("axis", 1));

    private static string Scalar(GraphBuilder g, int elementType, long value) =>
        elementType == OnnxElementType.Int64
            ? g.Int64Scalar("value", value)
            : g.Initializer(TensorData.FromBytes(g.FreshName("value"), OnnxElementType.Int32, [], BitConverter.GetBytes((int)value)));

    /// <summary>
    /// The Gather that looks the input ids up in the token-embedding table, reading them directly or through a view
    /// (<see cref="IdsViews"/>); a lookup through a view is pointed at the ids themselves, so the padded ids the rest
    /// of the graph sees never reach it.
    /// </summary>
    private static (NodeProto Lookup, string Table) FindLookup(GraphProto graph, GraphIndex index, ModelManifest manifest, string path)
    {
        string ids = manifest.Inputs.InputIds;
        var tables = manifest.WeightInputs.Where(w => w.Role == WeightRole.Embedding && w.Shape.Count == 2).Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        var candidates = graph.Node.Where(n => n.OpType == "Gather" && n.Input.Count == 2 && tables.Contains(n.Input[0])
            && (n.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 0) == 0).ToList();
        var lookups = new List<NodeProto>();
        var refused = new List<string>();
        foreach (var gather in candidates)
        {
            if (IdsViews.IsViewOf(graph, index, gather.Input[1], ids, out var breaking)) lookups.Add(gather);
            else refused.Add($"'{gather.Name}' reads '{gather.Input[1]}'" + (breaking is null ? "" : $" ({breaking.OpType} '{breaking.Name}' is not a [B, T] view of the ids)"));
        }
        if (lookups.Count != 1)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"input '{ids}'",
                $"{lookups.Count} Gather nodes look '{ids}' up in a token-embedding weight ({string.Join(", ", tables)})"
                + (lookups.Count > 1 ? $": {string.Join(", ", lookups.Select(l => $"'{l.Name}'"))}" : "")
                + (refused.Count > 0 ? $"; passed over: {string.Join("; ", refused)}" : "")
                + "; prompt tuning needs exactly one, reading the ids directly or through Reshape/Flatten/Cast to [batch, sequence]");
        var lookup = lookups[0];
        lookup.Input[1] = ids;
        return (lookup, lookup.Input[0]);
    }
}
