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

    private SlabLayout(IReadOnlyList<SlabSlot> slots, long byteLength, long counterOrigin, long counterLength)
    {
        Slots = slots;
        CounterOrigin = counterOrigin;
        ByteLength = byteLength;
        CounterLength = counterLength;
        _byName = slots.ToDictionary(s => s.Spec.Name, s => s.Index, StringComparer.Ordinal);
    }

    public IReadOnlyList<SlabSlot> Slots { get; }

    /// <summary>Bytes of the whole slab including alignment padding.</summary>
    public long ByteLength { get; }

    /// <summary>The first tensor's first counter.</summary>
    public long CounterOrigin { get; }

    /// <summary>One past the last counter index used; per-counter state covers [<see cref="CounterOrigin"/>, CounterLength).</summary>
    public long CounterLength { get; }

    /// <summary>Sum of the tensors' element counts (no padding).</summary>
    public long ElementCount => Slots.Sum(s => s.Spec.ElementCount);

    /// <param name="counterOrigin">First counter of the first tensor (0 for models; kernel checks start high to
    /// cross the Philox counter's 32-bit carry). A multiple of <see cref="CounterAlignment"/>.</param>
    public static SlabLayout Create(IReadOnlyList<TensorSpec> tensors, long counterOrigin = 0)
    {
        if (counterOrigin < 0 || counterOrigin % CounterAlignment != 0)
            throw new ArgumentOutOfRangeException(nameof(counterOrigin), counterOrigin, $"a non-negative multiple of {CounterAlignment}");
        var slots = new List<SlabSlot>(tensors.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0, counter = counterOrigin;
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
        return new SlabLayout(slots, AlignUp(offset, TensorAlignment), counterOrigin, AlignUp(counter, CounterAlignment));
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
