using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>
/// Everything the weight passes read and write: the slab, how each tensor trains, the Sparse-MeZO mask bits
/// (one bit per counter of magnitude-masked tensors, 64 per word) and the optimizer-state buffers
/// (float32 per trainable element: momentum, or Adam's two moments).
/// </summary>
internal sealed unsafe class WeightBuffers : IDisposable
{
    public WeightBuffers(CpuSlab slab, IReadOnlyList<TrainableTensor> tensors, int stateBuffers)
    {
        if (tensors.Count != slab.Layout.Slots.Count)
            throw new ArgumentException("one TrainableTensor per slab slot is required");
        for (int i = 0; i < tensors.Count; i++)
            if (tensors[i].Slot.Index != i) throw new ArgumentException("tensors must be listed in slot order");
        // Passes update tensors in parallel: two tensors sharing optimizer state would race on it.
        var ranges = tensors.Where(t => t.IsTrainable).OrderBy(t => t.StateBase).ToList();
        for (int i = 1; i < ranges.Count; i++)
            if (ranges[i].StateBase < ranges[i - 1].StateBase + ranges[i - 1].Slot.ElementCount)
                throw new ArgumentException($"optimizer-state ranges of '{ranges[i - 1].Slot.Spec.Name}' and '{ranges[i].Slot.Spec.Name}' overlap");
        Slab = slab;
        Tensors = tensors;
        StateLength = tensors.Where(t => t.IsTrainable).Select(t => t.StateBase + t.Slot.ElementCount).DefaultIfEmpty(0).Max();
        if (tensors.Any(t => t.Mask == MaskKind.Magnitude))
            MaskBits = new NativeBuffer((slab.Layout.CounterLength - slab.Layout.CounterOrigin) / 64 * sizeof(ulong));
        State1 = stateBuffers >= 1 ? new NativeBuffer(StateLength * sizeof(float)) : null;
        State2 = stateBuffers >= 2 ? new NativeBuffer(StateLength * sizeof(float)) : null;
    }

    public CpuSlab Slab { get; }
    public IReadOnlyList<TrainableTensor> Tensors { get; }

    /// <summary>Elements the state buffers hold (trainable tensors, in state order).</summary>
    public long StateLength { get; }

    public NativeBuffer? MaskBits { get; }
    public NativeBuffer? State1 { get; }
    public NativeBuffer? State2 { get; }

    public IEnumerable<TrainableTensor> Trainable => Tensors.Where(t => t.IsTrainable);

    public long TrainableElementCount => Trainable.Sum(t => t.Slot.ElementCount);

    /// <summary>Bytes of engine memory beyond the weights: mask bits and optimizer state.</summary>
    public long ExtraBytes => (MaskBits?.ByteLength ?? 0) + (State1?.ByteLength ?? 0) + (State2?.ByteLength ?? 0);

    /// <summary>
    /// The mask words indexed by absolute counter: word c >> 6 holds counter c's bit. The allocation covers the
    /// slab's counters only, so the pointer is biased by the layout's counter origin (64-aligned, so exact).
    /// </summary>
    public ulong* MaskWords => MaskBits is null ? null : (ulong*)MaskBits.Pointer - (Slab.Layout.CounterOrigin >> 6);
    public float* State1Pointer => State1 is null ? null : (float*)State1.Pointer;
    public float* State2Pointer => State2 is null ? null : (float*)State2.Pointer;

    public void Dispose()
    {
        MaskBits?.Dispose();
        State1?.Dispose();
        State2?.Dispose();
    }
}
