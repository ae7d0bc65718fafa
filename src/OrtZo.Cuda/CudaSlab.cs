using OrtZo.WeightStore;

namespace OrtZo.Cuda;

/// <summary>
/// The weight slab in cuMemAlloc memory, laid out by the same <see cref="SlabLayout"/> as <see cref="CpuSlab"/>
/// (256-byte aligned tensors, so each tensor's address is valid for ORT's vectorised CUDA kernels). Host copies
/// are chunked through one pinned staging buffer. Lives in OrtZo rather than WeightStore because it needs the
/// driver binding; it needs nothing from ORT.
/// </summary>
internal sealed unsafe class CudaSlab : IDisposable
{
    /// <summary>Staging buffer size: large enough to run copies near PCIe speed, small next to any model.</summary>
    public const long DefaultChunkBytes = 64L << 20;

    private readonly CudaDeviceMemory _memory;
    private readonly long _chunkBytes;

    private CudaSlab(SlabLayout layout, CudaDeviceMemory memory, long chunkBytes)
    {
        Layout = layout;
        _memory = memory;
        _chunkBytes = chunkBytes;
    }

    public SlabLayout Layout { get; }

    /// <summary>Device address of the slab (256-byte aligned: cuMemAlloc aligns to at least that).</summary>
    public IntPtr BaseAddress => _memory.Address;

    public IntPtr Address(int slot) => _memory.Address + (nint)Layout.Slots[slot].ByteOffset;

    public static CudaSlab Allocate(SlabLayout layout, long chunkBytes = DefaultChunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);
        return new CudaSlab(layout, CudaDeviceMemory.Allocate(Math.Max(layout.ByteLength, SlabLayout.TensorAlignment)), chunkBytes);
    }

    /// <summary>Copies a whole host slab of the same layout to the device.</summary>
    public void Upload(CpuSlab source)
    {
        RequireSameLayout(source.Layout);
        CopyToDevice(source.BasePointer, source.ByteLength, 0);
    }

    /// <summary>Copies the whole device slab into a host slab of the same layout (checkpoints, export, checks).</summary>
    public void Download(CpuSlab destination)
    {
        RequireSameLayout(destination.Layout);
        CopyToHost(destination.BasePointer, 0, destination.ByteLength);
    }

    /// <summary>Fills the slab straight from a weights file whose dtypes match the layout (no host slab in between).</summary>
    public void Upload(SafetensorsFile file)
    {
        foreach (var slot in Layout.Slots)
        {
            var entry = file.Get(slot.Spec.Name);
            if (!entry.Spec.Shape.SequenceEqual(slot.Spec.Shape))
                throw WeightStoreErrors.Fail(WeightStoreError.ShapeMismatch, file.FilePath, slot.Spec.Name,
                    $"shape {entry.Spec.ShapeText} in the file, {slot.Spec.ShapeText} expected");
            if (entry.Spec.DType != slot.DType)
                throw WeightStoreErrors.Fail(WeightStoreError.DTypeMismatch, file.FilePath, slot.Spec.Name,
                    $"{entry.Spec.DType.ToSafetensorsName()} in the file, {slot.DType.ToSafetensorsName()} expected (convert on the host first)");
            CopyToDevice(file.GetPointer(entry), slot.Spec.ByteLength, slot.ByteOffset);
        }
    }

    /// <summary>Copies <paramref name="bytes"/> host bytes to the slab at <paramref name="deviceOffset"/>, chunk by chunk.</summary>
    public void CopyToDevice(byte* source, long bytes, long deviceOffset)
    {
        CheckRange(deviceOffset, bytes);
        if (bytes == 0) return;
        using var staging = CudaPinnedMemory.Allocate(Math.Min(bytes, _chunkBytes));
        foreach (var (offset, length) in Chunks.Of(bytes, _chunkBytes))
        {
            Buffer.MemoryCopy(source + offset, staging.Pointer, staging.ByteLength, length);
            CudaDriver.Check(CudaNative.cuMemcpyHtoD_v2(_memory.Address + (nint)(deviceOffset + offset), staging.Pointer, (nuint)length), nameof(CudaNative.cuMemcpyHtoD_v2));
        }
    }

    /// <summary>Copies <paramref name="bytes"/> slab bytes from <paramref name="deviceOffset"/> to host memory, chunk by chunk.</summary>
    public void CopyToHost(byte* destination, long deviceOffset, long bytes)
    {
        CheckRange(deviceOffset, bytes);
        if (bytes == 0) return;
        using var staging = CudaPinnedMemory.Allocate(Math.Min(bytes, _chunkBytes));
        foreach (var (offset, length) in Chunks.Of(bytes, _chunkBytes))
        {
            CudaDriver.Check(CudaNative.cuMemcpyDtoH_v2(staging.Pointer, _memory.Address + (nint)(deviceOffset + offset), (nuint)length), nameof(CudaNative.cuMemcpyDtoH_v2));
            Buffer.MemoryCopy(staging.Pointer, destination + offset, length, length);
        }
    }

    private void CheckRange(long offset, long bytes)
    {
        if (offset < 0 || bytes < 0 || offset + bytes > _memory.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{bytes}) is outside the {_memory.ByteLength}-byte device slab");
    }

    private void RequireSameLayout(SlabLayout other)
    {
        if (other.ByteLength != Layout.ByteLength || other.Slots.Count != Layout.Slots.Count
            || other.Slots.Zip(Layout.Slots).Any(p => p.First.ByteOffset != p.Second.ByteOffset || p.First.Spec.ByteLength != p.Second.Spec.ByteLength))
            throw new ArgumentException("the host and device slabs have different layouts");
    }

    public void Dispose() => _memory.Dispose();
}
