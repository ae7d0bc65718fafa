using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx.Model;

/// <summary>
/// Refuses a model whose weights cannot all be classified. A <em>weight</em> is a float, fp16 or bf16 tensor of at
/// least <see cref="MinimumElements"/> elements (an initializer or a Constant node's value) that some node reads for
/// its values. Every weight must end one of two ways:
/// <list type="bullet">
/// <item>promoted to a graph input with a role other than <see cref="WeightRole.Other"/> (<see cref="WeightRoles"/>):
///   an embedding, a matrix read by a product, a norm's scale or shift, a bias;</item>
/// <item>deliberately kept frozen by <see cref="WeightPromotion"/>: a keep-as-initializer pattern, a rotary cache or
///   mask (by name or by value), a tensor read only by Shape/Size, an operand of a quantized op.</item>
/// </list>
/// A promoted weight of role Other is neither: the engine would perturb a tensor whose part in the model it cannot
/// name, and sparse or grouped optimizers would treat it arbitrarily. Such weights are refused with their names,
/// shapes and readers, and the hint to keep them frozen by name. Smaller float tensors of no role (a few
/// coefficients of a decomposed activation) are still promoted, as before, and listed in the report as role Other.
/// </summary>
internal static class UnclassifiedWeights
{
    /// <summary>Below this many elements a float tensor is a coefficient, not a weight (the smallest real weights, a norm over d_model ≥ 64, are larger).</summary>
    public const long MinimumElements = 64;

    public static void Refuse(GraphIndex index, IEnumerable<(string Name, IReadOnlyList<long> Shape, WeightRole Role)> promoted, string path)
    {
        var unclassified = promoted
            .Where(w => w.Role == WeightRole.Other && w.Shape.Aggregate(1L, (a, b) => a * b) >= MinimumElements)
            .ToList();
        if (unclassified.Count == 0) return;
        var described = unclassified.Select(w =>
        {
            var readers = index.Consumers(w.Name).Select(c => $"{c.Node.OpType} '{c.Node.Name}' (input {c.Slot})").Distinct().ToList();
            return $"'{w.Name}' [{string.Join(", ", w.Shape)}] read by {string.Join(", ", readers)}";
        });
        throw OnnxErrors.Fail(OnnxError.Unsupported, path, "unclassified weights",
            $"{unclassified.Count} float tensor{(unclassified.Count == 1 ? "" : "s")} of {MinimumElements} or more elements fit no weight role (embedding, matrix of a MatMul/Gemm/Conv, norm, bias) and are not a recognised constant: " +
            $"{string.Join("; ", described)}. Training them blind is refused; to import the model with them frozen, " +
            $"keep them as initializers with --keep-initializer (a regex of their names)");
    }
}
