using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx.Model;

/// <summary>
/// The operands of quantized ops (ONNX's QuantizeLinear/DequantizeLinear and the QLinear*/*Integer family; ONNX
/// Runtime's MatMulNBits, GatherBlockQuantized, MatMulBnb4 and friends). Their float operands (scales, a MatMulNBits
/// bias, the float input of a QuantizeLinear in a QDQ graph) belong to a quantization recipe, not to the model's
/// learned values in a form the engine can perturb: moving a scale rescales a whole block of integers. They stay
/// frozen initializers; LoRA adapts the quantized projections from outside (<see cref="Peft.LoraSites"/>).
/// </summary>
internal static class QuantizedOperands
{
    public static readonly IReadOnlySet<string> Ops = new HashSet<string>(StringComparer.Ordinal)
    {
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearMatMul", "QLinearConv", "MatMulInteger",
        "ConvInteger", "MatMulNBits", "MatMulBnb4", "MatMulFpQ4", "GatherBlockQuantized", "DequantizeBlockwise",
        "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention", "QOrderedMatMul", "QGemm", "QLinearAdd", "QLinearMul",
    };

    private static readonly HashSet<string> LookThroughOps = new(StringComparer.Ordinal)
        { "Identity", "Cast", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Transpose" };

    /// <summary>The quantized op that reads <paramref name="value"/> (seen through view and cast ops), or null.</summary>
    public static NodeProto? Reader(GraphIndex index, string value)
    {
        var pending = new Queue<string>([value]);
        var seen = new HashSet<string>(StringComparer.Ordinal) { value };
        while (pending.Count > 0)
        {
            foreach (var (node, slot) in index.Consumers(pending.Dequeue()))
            {
                if (Ops.Contains(node.OpType)) return node;
                if (LookThroughOps.Contains(node.OpType) && slot == 0)
                    foreach (var output in node.Output)
                        if (seen.Add(output)) pending.Enqueue(output);
            }
        }
        return null;
    }
}
