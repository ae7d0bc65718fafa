namespace OrtZo.WeightStore;

/// <summary>A named tensor's type and shape (row-major, little-endian).</summary>
internal sealed record TensorSpec
{
    public TensorSpec(string name, DType dtype, IReadOnlyList<long> shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        DType = dtype;
        Shape = shape.ToArray();
        long count = 1;
        foreach (long d in Shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}': negative dimension {d}", nameof(shape));
            count = checked(count * d);
        }
        ElementCount = count;
        ByteLength = checked(count * dtype.SizeInBytes());
    }

    public string Name { get; }
    public DType DType { get; }
    public IReadOnlyList<long> Shape { get; }
    public long ElementCount { get; }
    public long ByteLength { get; }

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public bool Equals(TensorSpec? other) =>
        other is not null && Name == other.Name && DType == other.DType && Shape.SequenceEqual(other.Shape);

    public override int GetHashCode() => HashCode.Combine(Name, DType, Shape.Count);
}
