namespace OrtZo.WeightStore;

/// <summary>
/// All trainable weights in one aligned native allocation laid out by a <see cref="SlabLayout"/>.
/// The engine perturbs and updates it in place; ORT reads it through OrtValues bound once.
/// </summary>
internal sealed unsafe class CpuSlab : IDisposable
{
    private readonly NativeBuffer _buffer;

    private CpuSlab(SlabLayout layout)
    {
        Layout = layout;
        // 256-byte base so tensor addresses, not just offsets, are 256-byte aligned (as cuMemAlloc memory is)
        _buffer = new NativeBuffer(layout.ByteLength, SlabLayout.TensorAlignment);
    }

    public SlabLayout Layout { get; }

    public byte* BasePointer => _buffer.Pointer;

    public long ByteLength => Layout.ByteLength;

    public static CpuSlab Allocate(SlabLayout layout) => new(layout);

    /// <summary>Allocates a slab for <paramref name="layout"/> and fills it from a weights file.</summary>
    /// <param name="convert">Allow f32/f16/bf16 conversion when the file's dtype differs from the layout's.</param>
    public static CpuSlab Load(SlabLayout layout, SafetensorsFile file, bool convert = false)
    {
        var slab = new CpuSlab(layout);
        try
        {
            slab.CopyFrom(file, convert);
            return slab;
        }
        catch
        {
            slab.Dispose();
            throw;
        }
    }

    public byte* Pointer(int slot) => BasePointer + Layout.Slots[slot].ByteOffset;

    public Span<byte> Bytes(int slot)
    {
        var s = Layout.Slots[slot];
        return _buffer.AsSpan<byte>(s.ByteOffset, s.Spec.ByteLength);
    }

    public Span<T> Elements<T>(int slot) where T : unmanaged
    {
        var s = Layout.Slots[slot];
        if (sizeof(T) != s.DType.SizeInBytes())
            throw new ArgumentException($"tensor '{s.Spec.Name}' is {s.DType}; {typeof(T).Name} has another size");
        return _buffer.AsSpan<T>(s.ByteOffset, s.ElementCount);
    }

    /// <summary>Reads a tensor as float32 (converting from f16/bf16).</summary>
    public float[] ReadFloat32(int slot)
    {
        var s = Layout.Slots[slot];
        var result = new float[s.ElementCount];
        FloatConversions.ToFloat32(s.DType, Bytes(slot), result);
        return result;
    }

    /// <summary>Writes float32 values into a tensor (rounding to nearest even for f16/bf16).</summary>
    public void WriteFloat32(int slot, ReadOnlySpan<float> values) =>
        FloatConversions.FromFloat32(values, Layout.Slots[slot].DType, Bytes(slot));

    public void CopyFrom(SafetensorsFile file, bool convert = false)
    {
        foreach (var slot in Layout.Slots)
        {
            var entry = file.Get(slot.Spec.Name);
            if (!entry.Spec.Shape.SequenceEqual(slot.Spec.Shape))
                throw WeightStoreErrors.Fail(WeightStoreError.ShapeMismatch, file.FilePath, slot.Spec.Name,
                    $"shape {entry.Spec.ShapeText} in the file, {slot.Spec.ShapeText} expected");
            if (entry.Spec.DType == slot.DType)
            {
                Buffer.MemoryCopy(file.GetPointer(entry), Pointer(slot.Index), slot.Spec.ByteLength, slot.Spec.ByteLength);
            }
            else if (convert && entry.Spec.DType.IsTrainableFloat())
            {
                var values = new float[slot.ElementCount];
                FloatConversions.ToFloat32(entry.Spec.DType, file.GetBytes(entry), values, file.FilePath, slot.Spec.Name);
                WriteFloat32(slot.Index, values);
            }
            else
            {
                throw WeightStoreErrors.Fail(WeightStoreError.DTypeMismatch, file.FilePath, slot.Spec.Name,
                    $"{entry.Spec.DType.ToSafetensorsName()} in the file, {slot.DType.ToSafetensorsName()} expected");
            }
        }
    }

    public void CopyFrom(CpuSlab other)
    {
        if (other.Layout.ByteLength != Layout.ByteLength || other.Layout.Slots.Count != Layout.Slots.Count)
            throw new ArgumentException("slabs have different layouts");
        Buffer.MemoryCopy(other.BasePointer, BasePointer, ByteLength, ByteLength);
    }

    /// <summary>Writes every tensor to a safetensors file (atomically).</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var sources = Layout.Slots.Select(s => TensorSource.FromPointer(s.Spec, Pointer(s.Index))).ToList();
        SafetensorsWriter.Write(path, sources, metadata);
    }

    /// <summary>True when every tensor's bytes equal the other slab's (padding ignored).</summary>
    public bool ContentEquals(CpuSlab other)
    {
        if (other.Layout.Slots.Count != Layout.Slots.Count) return false;
        foreach (var s in Layout.Slots)
            if (!Bytes(s.Index).SequenceEqual(other.Bytes(s.Index))) return false;
        return true;
    }

    public void Dispose() => _buffer.Dispose();
}
