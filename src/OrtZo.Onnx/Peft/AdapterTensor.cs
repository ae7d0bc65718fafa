using OrtZo.WeightStore;

namespace OrtZo.Onnx.Peft;

/// <summary>
/// One trainable tensor a PEFT rewrite added as a graph input: its name (stable, derived from what it adapts),
/// layout, parameter group (for block-wise ZO) and starting values.
/// </summary>
internal sealed record AdapterTensor(string Name, DType DType, long[] Shape, string Group, float[] Initial)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public TensorSpec Spec => new(Name, DType, Shape);
}
