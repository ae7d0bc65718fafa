using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx.Peft;

/// <summary>Head counts of one attention core, read from a probe run: H query heads, Hkv key/value heads, Dh per head.</summary>
internal readonly record struct AttentionShape(int Heads, int KvHeads, int HeadDim)
{
    public int Repeats => Heads / KvHeads;
    public int KvWidth => KvHeads * HeadDim;
}

/// <summary>
/// Prefix tuning as a graph rewrite: every attention layer i gets P learned key and value rows, the inputs
/// prefix.layers.&lt;i&gt;.keys and .values [P, Hkv·Dh] (k_proj/v_proj output space, ZO-Bench's layout), which every
/// real query sees. Instead of concatenating them to K and V (which would have to widen masks whose shapes the
/// graph derives in its own way), the rewrite gives the prefix its own score columns:
/// <code>
/// Kpᵀ  = Reshape(keys, [P, Hkv, Dh]) → Transpose(1,2,0) → repeat kv heads →  [H, Dh, P]
/// Vp   = Reshape(values, [P, Hkv, Dh]) → Transpose(1,0,2) → repeat kv heads → [H, P, Dh]
/// Sp   = MatMul(Q, key scale(Kpᵀ)) → the same scale (and cast) steps the real scores take, but no mask   [B, H, T, P]
/// prob = Softmax(Concat(Sp, masked real scores; last axis))                                  [B, H, T, P+S]
/// ctx  = MatMul(prob[..., P:], V) + MatMul(prob[..., :P], Vp)                                 [B, H, T, Dh]
/// </code>
/// which is attention over [prefix; keys] with the prefix always visible: ZO-Bench's past_key_value injection with
/// P zero columns prepended to the additive mask. Keys enter after RoPE (treated as already rotated, as ZO-Bench
/// does for Llama) and real tokens keep their positions. MatMul broadcasts the [H, …] prefix over the batch, so
/// nothing is expanded per row. The kv-head repeat maps kv head j to query heads j·rep … j·rep+rep−1 (Hugging
/// Face's repeat_kv), the same as the graph's own repeat.
/// </summary>
internal static class PrefixRewrite
{
    public static string KeysName(int layer) => $"prefix.layers.{layer}.keys";

    public static string ValuesName(int layer) => $"prefix.layers.{layer}.values";

    /// <summary>Adds the prefix inputs and nodes; returns the adapters with <paramref name="initial"/> values per layer (keys, values).</summary>
    public static List<AdapterTensor> Apply(ModelProto model, IReadOnlyList<AttentionCore> cores, IReadOnlyList<AttentionShape> shapes,
        int prefixTokens, DType dtype, Func<int, (float[] Keys, float[] Values)> initial)
    {
        var graph = model.Graph;
        var g = new GraphBuilder(graph, ModelOpset.Default(model), "ortzo_prefix/");
        int elementType = OnnxElementType.FromDType(dtype);
        long p = prefixTokens;
        var adapters = new List<AdapterTensor>();
        for (int i = 0; i < cores.Count; i++)
        {
            var core = cores[i];
            var shape = shapes[i];
            string keys = g.ExactName(KeysName(i)), values = g.ExactName(ValuesName(i));
            long width = shape.KvWidth;
            graph.Input.Add(GraphBuilder.ValueInfo(keys, elementType, [p, width]));
            graph.Input.Add(GraphBuilder.ValueInfo(values, elementType, [p, width]));
            var (k0, v0) = initial(i);
            adapters.Add(new AdapterTensor(keys, dtype, [p, width], core.Group, k0));
            adapters.Add(new AdapterTensor(values, dtype, [p, width], core.Group, v0));

            g.Scope = $"/ortzo_prefix/layers.{i}";
            string split = g.Int64s("kv_split", p, shape.KvHeads, shape.HeadDim);
            string keysT = g.Node("Transpose", [g.Node("Reshape", [keys, split])], null, GraphBuilder.Ints("perm", 1, 2, 0));
            string prefixValues = g.Node("Transpose", [g.Node("Reshape", [values, split])], null, GraphBuilder.Ints("perm", 1, 0, 2));
            if (shape.Repeats > 1)
            {
                keysT = RepeatKvHeads(g, keysT, shape, [shape.Heads, shape.HeadDim, p]);
                prefixValues = RepeatKvHeads(g, prefixValues, shape, [shape.Heads, p, shape.HeadDim]);
            }

            string prefixScores = g.Node("MatMul", [core.Query, Through(g, keysT, core.KeyScale)]);
            prefixScores = Through(g, prefixScores, core.Steps.Where(s => s.AppliesToPrefix));
            string allScores = g.Node("Concat", [prefixScores, core.Softmax.Input[0]], null, GraphBuilder.Int("axis", -1));
            core.Softmax.Input[0] = allScores;

            string probabilities = core.Context.Input[0];
            string realPart = g.Slice(probabilities, [p], [long.MaxValue], [-1]);
            string prefixPart = g.Slice(probabilities, [0], [p], [-1]);
            string context = core.Context.Output[0];
            string realContext = GraphSurgery.RenameProducedValue(g, core.Context, context, "real_context");
            core.Context.Input[0] = realPart;
            g.Node("Add", [realContext, g.Node("MatMul", [prefixPart, prefixValues])], context);
        }
        return adapters;
    }

    /// <summary>
    /// Copies of <paramref name="steps"/> (scale and cast nodes) applied to <paramref name="value"/> in turn; their other
    /// inputs are read through <paramref name="live"/> where the graph renamed values since the steps were found.
    /// The KV cache rewrite gives the past its columns the same way.
    /// </summary>
    internal static string Through(GraphBuilder g, string value, IEnumerable<ScoreStep> steps, Func<string, string>? live = null)
    {
        foreach (var step in steps)
        {
            var inputs = step.Node.Input.Select(live ?? (v => v)).ToList();
            inputs[step.ChainSlot] = value;
            value = g.Node(step.Node.OpType, inputs, null, step.Node.Attribute.Select(a => a.Clone()).ToArray());
        }
        return value;
    }

    /// <summary>
    /// [… Hkv, a, b] → [… Hkv, rep, a, b] → <paramref name="result"/> ([… H, a, b]; Reshape's 0 keeps a dim, −1 infers
    /// one): head h reads kv head h / rep, as Hugging Face's repeat_kv. The head axis is the third from last.
    /// </summary>
    internal static string RepeatKvHeads(GraphBuilder g, string x, AttentionShape shape, long[] result)
    {
        int rank = result.Length;
        var repeat = Enumerable.Repeat(1L, rank + 1).ToArray();
        repeat[rank - 2] = shape.Repeats;
        string expanded = g.Node("Expand", [g.Unsqueeze(x, rank - 2), g.Int64s("repeat", repeat)]);
        return g.Node("Reshape", [expanded, g.Int64s("heads_shape", result)]);
    }
}
