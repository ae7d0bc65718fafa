namespace OrtZo.WeightStore;

/// <summary>
/// Where each trainable tensor lives in one contiguous weight slab, and which noise counters it owns.
/// Byte offsets are 256-byte aligned (CUDA allocation alignment; ORT's vectorised kernels assume aligned
/// pointers), so the CPU slab and the CUDA slab share one layout. Counter bases are 64-element aligned and
/// independent of the dtype: element j of tensor k draws its noise from counter <c>CounterBase[k] + j</c>, so
/// the same model in f32, f16 or bf16 sees the same z.
/// </summary>
internal sealed class SlabLayout
{
    public const int SlabAlignment = 64;
    public const int TensorAlignment = 256;
    public const int CounterAlignment = 64;

    private readonly Dictionary<string, int> _byName;

    private SlabLayout(IReadOnlyList<SlabSlot> slots, long byteLength, long counterLength)
    {
        Slots = slots;
        ByteLength = byteLength;
        CounterLength = counterLength;
        _byName = slots.ToDictionary(s => s.Spec.Name, s => s.Index, StringComparer.Ordinal);
    }

    public IReadOnlyList<SlabSlot> Slots { get; }

    /// <summary>Bytes of the whole slab including alignment padding.</summary>
    public long ByteLength { get; }

    /// <summary>One past the last counter index used (the size of per-element state indexed by counter).</summary>
    public long CounterLength { get; }

    /// <summary>Sum of the tensors' element counts (no padding).</summary>
    public long ElementCount => Slots.Sum(s => s.Spec.ElementCount);

    public static SlabLayout Create(IReadOnlyList<TensorSpec> tensors)
    {
        var slots = new List<SlabSlot>(tensors.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0, counter = 0;
        foreach (var spec in tensors)
        {
            if (!spec.DType.IsTrainableFloat())
                throw WeightStoreErrors.Fail(WeightStoreError.UnsupportedDType, null, spec.Name, $"{spec.DType} cannot live in a weight slab (f32, f16 and bf16 can)");
            if (!names.Add(spec.Name))
                throw WeightStoreErrors.Fail(WeightStoreError.DuplicateTensor, null, spec.Name, "appears twice in the slab");
            offset = AlignUp(offset, TensorAlignment);
            counter = AlignUp(counter, CounterAlignment);
            slots.Add(new SlabSlot(slots.Count, spec, offset, counter));
            offset = checked(offset + spec.ByteLength);
            counter = checked(counter + spec.ElementCount);
        }
        return new SlabLayout(slots, AlignUp(offset, TensorAlignment), AlignUp(counter, CounterAlignment));
    }

    public int IndexOf(string name) =>
        _byName.TryGetValue(name, out int i)
            ? i
            : throw WeightStoreErrors.Fail(WeightStoreError.MissingTensor, null, name, "not in the slab");

    public bool TryGetIndex(string name, out int index) => _byName.TryGetValue(name, out index);

    internal static long AlignUp(long value, long alignment) => checked((value + alignment - 1) / alignment * alignment);
}

/// <summary>One tensor's place in the slab.</summary>
internal sealed record SlabSlot(int Index, TensorSpec Spec, long ByteOffset, long CounterBase)
{
    public long ElementCount => Spec.ElementCount;
    public DType DType => Spec.DType;
}
