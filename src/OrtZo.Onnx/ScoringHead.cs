using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

/// <summary>
/// Appends the scoring head that turns a causal LM's logits into one number per example, so a training forward
/// returns [B] floats instead of [B,T,V] logits.
/// <code>
/// B = batch, T = sequence, V = vocabulary
/// lse[b,t]      = log Σ_v exp(logits[b,t,v])                        ReduceLogSumExp over V   → [B,T]
/// next[b,t]     = input_ids[b,t+1]  (t &lt; T−1),  0 at t = T−1           Slice + Concat           → [B,T]
/// lp[b,t]       = logits[b,t,next[b,t]] − lse[b,t]                   GatherElements, Sub      → [B,T]
/// w[b,t]        = label_mask[b,t+1] (t &lt; T−1),  0 at t = T−1           Slice + Concat           → [B,T]
/// sum_logprob   = Σ_t w·lp  (positions with w = 0 contribute exactly 0)  Where, Mul, ReduceSum → [B]
/// mean_logprob  = sum_logprob / max(Σ_t w, 1)                                                 → [B]
/// </code>
/// Why ReduceLogSumExp rather than LogSoftmax: it reads the logits once and writes only [B,T], while LogSoftmax
/// materialises a second [B,T,V] tensor. ORT's CPU kernel subtracts the maximum first: with logits uniform in
/// ±1000 the sums agree with a double-precision oracle to ~4e-8 relative (ScoringHeadTests; the CUDA kernel is
/// not yet checked on a device). The shift by one position is done on the small [B,T] tensors, never by slicing the
/// logits, which would copy them. <c>Where</c> makes masked positions exactly 0 even where a padded row's
/// log-probability is −inf or NaN (−inf·0 would be NaN).
/// </summary>
internal static class ScoringHead
{
    public const string LabelMask = "label_mask";
    public const string SumLogprob = "sum_logprob";
    public const string MeanLogprob = "mean_logprob";

    /// <summary>Adds <c>label_mask</c> [B,T] and the outputs <c>sum_logprob</c>, <c>mean_logprob</c> [B]; keeps the logits output.</summary>
    public static void Append(ModelProto model, string logitsName, string inputIdsName, string? path)
    {
        var graph = model.Graph;
        int opset = ModelOpset.Default(model);
        if (opset < 11)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, "opset_import",
                $"the model uses opset {opset}; the scoring head needs opset 11 or later (GatherElements)");
        foreach (string taken in new[] { LabelMask, SumLogprob, MeanLogprob })
        {
            if (graph.Input.Any(v => v.Name == taken) || graph.Output.Any(v => v.Name == taken)
                || graph.Node.Any(n => n.Output.Contains(taken)) || graph.Initializer.Any(t => t.Name == taken))
                throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"value '{taken}'",
                    "the graph already uses this name, which the scoring head needs");
        }
        var logitsInfo = graph.Output.FirstOrDefault(v => v.Name == logitsName)
            ?? throw OnnxErrors.Fail(OnnxError.NotACausalLm, path, $"output '{logitsName}'", "not an output of the graph");
        var idsInfo = graph.Input.FirstOrDefault(v => v.Name == inputIdsName)
            ?? throw OnnxErrors.Fail(OnnxError.NotACausalLm, path, $"input '{inputIdsName}'", "not an input of the graph");

        var g = new GraphBuilder(graph, opset, "ortzo_head/");
        g.ExactName(LabelMask);
        g.ExactName(SumLogprob);
        g.ExactName(MeanLogprob);

        string logits = logitsInfo.Type.TensorType.ElemType == OnnxElementType.Float
            ? logitsName
            : g.Node("Cast", [logitsName], null, GraphBuilder.Int("to", OnnxElementType.Float));
        string ids = idsInfo.Type.TensorType.ElemType == OnnxElementType.Int64
            ? inputIdsName
            : g.Node("Cast", [inputIdsName], null, GraphBuilder.Int("to", OnnxElementType.Int64));

        string lse = g.Reduce("ReduceLogSumExp", logits, [2], keepDims: false);

        // One column [B,1] of zeros closes the shifted tensors so they keep the logits' [B,T] extent.
        string columnShape = g.Node("Concat", [g.DimAsVector(ids, 0), g.Int64s("one", 1)], null, GraphBuilder.Int("axis", 0));
        string zeroIds = g.Node("ConstantOfShape", [columnShape], null,
            GraphBuilder.Tensor("value", TensorData.FromInt64s("zero", [1], [0L])));
        string zeroWeights = g.Node("ConstantOfShape", [columnShape], null,
            GraphBuilder.Tensor("value", TensorData.FromFloats("zero", [1], [0f])));

        string nextIds = g.Node("Concat", [g.Slice(ids, [1], [long.MaxValue], [1]), zeroIds], null, GraphBuilder.Int("axis", 1));
        string picked = g.Squeeze(g.Node("GatherElements", [logits, g.Unsqueeze(nextIds, 2)], null, GraphBuilder.Int("axis", 2)), 2);
        string tokenLogprob = g.Node("Sub", [picked, lse]);

        string weights = g.Node("Concat", [g.Slice(LabelMask, [1], [long.MaxValue], [1]), zeroWeights], null, GraphBuilder.Int("axis", 1));
        string zero = g.FloatScalar("zero", 0f);
        string scored = g.Node("Greater", [weights, zero]);
        string kept = g.Node("Where", [scored, tokenLogprob, zero]);
        string weighted = g.Node("Mul", [kept, weights]);

        string sum = g.Reduce("ReduceSum", weighted, [1], keepDims: false, SumLogprob);
        string count = g.Reduce("ReduceSum", weights, [1], keepDims: false);
        g.Node("Div", [sum, g.Node("Max", [count, g.FloatScalar("one", 1f)])], MeanLogprob);

        var idsDims = idsInfo.Type.TensorType.Shape?.Dim;
        object batch = DimOrName(idsDims, 0, "batch_size");
        object sequence = DimOrName(idsDims, 1, "sequence_length");
        graph.Input.Add(GraphBuilder.ValueInfo(LabelMask, OnnxElementType.Float, [batch, sequence]));
        graph.Output.Add(GraphBuilder.ValueInfo(SumLogprob, OnnxElementType.Float, [batch]));
        graph.Output.Add(GraphBuilder.ValueInfo(MeanLogprob, OnnxElementType.Float, [batch]));
    }

    private static object DimOrName(IList<TensorShapeProto.Types.Dimension>? dims, int axis, string fallback)
    {
        if (dims is null || dims.Count <= axis) return fallback;
        var d = dims[axis];
        return d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue,
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => d.DimParam,
            _ => fallback,
        };
    }
}
