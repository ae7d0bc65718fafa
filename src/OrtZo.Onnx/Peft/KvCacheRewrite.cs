using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx.Peft;

/// <summary>
/// Gives a cache-less causal LM graph a KV cache, in the layout onnxruntime-genai and Optimum use:
/// inputs past_key_values.{i}.key/value [B, Hkv, P, Dh], outputs present.{i}.key/value [B, Hkv, P+T, Dh], and an
/// attention_mask of [B, P+T]. The past is attended the way <see cref="PrefixRewrite"/> attends a prefix, with its
/// own score columns, so the graph's own mask machinery keeps working on the T new tokens only:
/// <code>
/// Kpᵀ = repeat kv heads(Transpose(past_key))                 [B, H, Dh, P]
/// Sp  = MatMul(Q, key scale(Kpᵀ)) → scale/cast steps → + (1 − mask[:, :P])·lowest      [B, H, T, P]
/// prob = Softmax(Concat(Sp, the graph's masked scores))       [B, H, T, P+T]
/// ctx  = (the graph's context from prob[..., P:]) + MatMul(prob[..., :P], repeat kv heads(past_value))
/// present_key = Concat(past_key, every rep-th head of Kᵀ, transposed back)     [B, Hkv, P+T, Dh]
/// </code>
/// The graph reads attention_mask[:, P:] wherever it read the mask before, and positions it derives from a Range
/// are offset by P where they reach queries or keys (<see cref="PositionOffsets"/>). Keys are cached as they enter
/// the scores (after RoPE, before the key half of an SDPA scale), which is what the graph recomputes for them.
/// The cores may come from another parse of the same base graph (a PEFT rewrite changes the Softmax's input and
/// renames the context, but not these values): only value names and the step nodes' templates are used, and the
/// Softmax is found by its output. A prefix-tuned core therefore gets the past in front of its prefix columns.
/// </summary>
internal static class KvCacheRewrite
{
    public static string PastKey(int layer) => $"past_key_values.{layer}.key";

    public static string PastValue(int layer) => $"past_key_values.{layer}.value";

    public static string PresentKey(int layer) => $"present.{layer}.key";

    public static string PresentValue(int layer) => $"present.{layer}.value";

    public static void Apply(ModelProto model, IReadOnlyList<AttentionCore> cores, IReadOnlyList<AttentionShape> shapes, int elementType,
        string? attentionMask, string? positionIds, string path)
    {
        var graph = model.Graph;
        var positionReads = PositionOffsets.Find(graph, cores, attentionMask, positionIds, path);
        var renamed = FreeCacheNames(model, cores.Count, path);
        string Live(string value) => renamed.GetValueOrDefault(value, value);
        var g = new GraphBuilder(graph, ModelOpset.Default(model), "ortzo_kv/");
        var softmaxOf = graph.Node.Where(n => n.OpType == "Softmax").ToDictionary(n => n.Output[0], StringComparer.Ordinal);
        for (int i = 0; i < cores.Count; i++)
        {
            foreach (string name in new[] { PastKey(i), PastValue(i), PresentKey(i), PresentValue(i) }) g.ExactName(name);
            graph.Input.Add(GraphBuilder.ValueInfo(PastKey(i), elementType, ["batch_size", (long)shapes[i].KvHeads, "past_sequence_length", (long)shapes[i].HeadDim]));
            graph.Input.Add(GraphBuilder.ValueInfo(PastValue(i), elementType, ["batch_size", (long)shapes[i].KvHeads, "past_sequence_length", (long)shapes[i].HeadDim]));
        }

        g.Scope = "/ortzo_kv";
        string pastLength = g.DimAsVector(PastKey(0), 2);
        string pastMask = PastMask(g, graph, attentionMask, pastLength, ScoreType(cores[0], elementType));
        foreach (var read in positionReads)
        {
            string offset = g.DimAsScalar(PastKey(0), 2);
            if (read.ElementType != OnnxElementType.Int64) offset = g.Node("Cast", [offset], null, GraphBuilder.Int("to", read.ElementType));
            read.Consumer.Input[read.Slot] = g.Node("Add", [read.Consumer.Input[read.Slot], offset]);
        }

        // One index serves every layer: what one layer adds never reads another layer's probabilities or context.
        var index = new GraphIndex(graph);
        for (int i = 0; i < cores.Count; i++)
        {
            var core = cores[i];
            var shape = shapes[i];
            g.Scope = $"/ortzo_kv/layers.{i}";
            var softmax = softmaxOf.GetValueOrDefault(Live(core.Softmax.Output[0]))
                ?? throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"node '{core.Softmax.Name}'", "the attention Softmax is no longer in the graph");

            string pastKeysT = g.Node("Transpose", [PastKey(i)], null, GraphBuilder.Ints("perm", 0, 1, 3, 2));
            string pastValues = PastValue(i);
            if (shape.Repeats > 1)
            {
                pastKeysT = PrefixRewrite.RepeatKvHeads(g, pastKeysT, shape, [0, shape.Heads, shape.HeadDim, -1]);
                pastValues = PrefixRewrite.RepeatKvHeads(g, pastValues, shape, [0, shape.Heads, -1, shape.HeadDim]);
            }
            string pastScores = g.Node("MatMul", [Live(core.Query), PrefixRewrite.Through(g, pastKeysT, core.KeyScale, Live)]);
            pastScores = PrefixRewrite.Through(g, pastScores, core.Steps.Where(s => s.AppliesToPrefix), Live);
            if (pastMask.Length > 0) pastScores = g.Node("Add", [pastScores, pastMask]);
            softmax.Input[0] = g.Node("Concat", [pastScores, softmax.Input[0]], null, GraphBuilder.Int("axis", -1));

            // Whatever read the probabilities (the context MatMul, or a prefix rewrite's slices) now reads the
            // columns after the past.
            string probabilities = Live(core.Context.Input[0]);
            var readers = index.Consumers(probabilities).Select(r => r.Node).ToHashSet();
            string current = g.Node("Slice", [probabilities, pastLength, g.Int64s("end", long.MaxValue), g.Int64s("axis", -1)]);
            string past = g.Node("Slice", [probabilities, g.Int64s("start", 0), pastLength, g.Int64s("axis", -1)]);
            foreach (var reader in readers)
                for (int s = 0; s < reader.Input.Count; s++)
                    if (reader.Input[s] == probabilities) reader.Input[s] = current;

            string context = Live(core.Context.Output[0]);
            var producer = index.Producer(context)
                ?? throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"value '{context}'", "the attention context is no longer computed in the graph");
            string withoutPast = GraphSurgery.RenameProducedValue(g, producer, context, "context_without_past");
            g.Node("Add", [withoutPast, g.Node("MatMul", [past, pastValues])], context);

            string newKeys = g.Node("Transpose", [EveryRepthHead(g, Live(core.KeysTransposed), shape)], null, GraphBuilder.Ints("perm", 0, 1, 3, 2));
            g.Node("Concat", [PastKey(i), newKeys], PresentKey(i), GraphBuilder.Int("axis", 2));
            g.Node("Concat", [PastValue(i), EveryRepthHead(g, Live(core.Values), shape)], PresentValue(i), GraphBuilder.Int("axis", 2));
            graph.Output.Add(GraphBuilder.ValueInfo(PresentKey(i), elementType, ["batch_size", (long)shape.KvHeads, "total_sequence_length", (long)shape.HeadDim]));
            graph.Output.Add(GraphBuilder.ValueInfo(PresentValue(i), elementType, ["batch_size", (long)shape.KvHeads, "total_sequence_length", (long)shape.HeadDim]));
        }
        GraphSurgery.SortTopologically(graph, path);
    }

    /// <summary>
    /// Makes the cache tensors' names free. A graph imported with a cache keeps its own past and present values
    /// inside (the importer turned the past inputs into empty tensors and dropped the present outputs, see
    /// <see cref="PastKeyValueRemoval"/>); they are renamed, and the map from old to new names returned. A cache
    /// name that is still a graph input or output means the graph is not one the importer wrote, and is refused.
    /// </summary>
    private static Dictionary<string, string> FreeCacheNames(ModelProto model, int layers, string path)
    {
        var graph = model.Graph;
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var g = new GraphBuilder(graph, ModelOpset.Default(model), "ortzo_kv/");
        var index = new GraphIndex(graph);
        for (int i = 0; i < layers; i++)
        {
            foreach (string name in new[] { PastKey(i), PastValue(i), PresentKey(i), PresentValue(i) })
            {
                if (graph.Input.Any(v => v.Name == name) || graph.Output.Any(v => v.Name == name))
                    throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"value '{name}'", "the graph already has a live KV cache tensor of this name");
                if (index.Producer(name) is not { } producer) continue;
                string fresh = GraphSurgery.RenameProducedValue(g, producer, name, name.Replace('.', '_') + "_inner");
                GraphSurgery.RedirectReads(graph, name, fresh);
                renamed[name] = fresh;
            }
        }
        foreach (var info in graph.ValueInfo.Where(v => renamed.ContainsKey(v.Name))) info.Name = renamed[info.Name];
        return renamed;
    }

    /// <summary>
    /// (1 − attention_mask[:, :P])·lowest as [B, 1, 1, P] in the scores' type, after pointing the graph's own reads of
    /// the mask at attention_mask[:, P:]; empty when the graph has no mask input (then every past position is visible).
    /// </summary>
    private static string PastMask(GraphBuilder g, GraphProto graph, string? attentionMask, string pastLength, int scoreType)
    {
        if (attentionMask is null) return "";
        var input = graph.Input.First(i => i.Name == attentionMask);
        var dims = input.Type.TensorType.Shape?.Dim;
        if (dims is { Count: 2 }) dims[1] = new TensorShapeProto.Types.Dimension { DimParam = "total_sequence_length" };
        string current = g.FreshName("attention_mask_current");
        GraphSurgery.RedirectReads(graph, attentionMask, current);
        g.Node("Slice", [attentionMask, pastLength, g.Int64s("end", long.MaxValue), g.Int64s("axis", 1)], current);
        string pastPart = g.Node("Slice", [attentionMask, g.Int64s("start", 0), pastLength, g.Int64s("axis", 1)]);
        string visible = g.Node("Cast", [pastPart], null, GraphBuilder.Int("to", scoreType));
        string hidden = g.Node("Sub", [GraphSurgery.FloatScalar(g, "one", 1f, scoreType), visible]);
        float lowest = scoreType == OnnxElementType.Float16 ? -65504f : scoreType == OnnxElementType.BFloat16 ? -3.38e38f : float.MinValue;
        string bias = g.Node("Mul", [hidden, GraphSurgery.FloatScalar(g, "lowest", lowest, scoreType)]);
        return g.Unsqueeze(bias, 1, 2);
    }

    /// <summary>The scores' element type where the past columns join them: the model's, or the last Cast's on the way.</summary>
    private static int ScoreType(AttentionCore core, int elementType)
    {
        int type = elementType;
        foreach (var step in core.Steps.Where(s => s.AppliesToPrefix && s.Node.OpType == "Cast"))
            type = (int)step.Node.Attribute.First(a => a.Name == "to").I;
        return type;
    }

    /// <summary>
    /// [B, H, a, b] → [B, Hkv, a, b]: query heads 0, rep, 2·rep, … which read kv heads 0, 1, 2, … under the
    /// graph's own repeat (the copies are equal, so any one of each group would do).
    /// </summary>
    private static string EveryRepthHead(GraphBuilder g, string x, AttentionShape shape) =>
        shape.Repeats == 1 ? x
            : g.Node("Slice", [x, g.Int64s("start", 0), g.Int64s("end", long.MaxValue), g.Int64s("axis", 1), g.Int64s("step", shape.Repeats)]);
}
