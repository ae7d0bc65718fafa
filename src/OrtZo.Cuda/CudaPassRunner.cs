using OrtZo.Engine;

namespace OrtZo.Cuda;

/// <summary>
/// Runs weight passes with ortzo_weight_pass over device copies of a <see cref="WeightBuffers"/>' slab, mask bits
/// and optimizer state: one launch per pass, grid-stride over the whole slab, on one stream. The host
/// <see cref="WeightBuffers"/> is the layout and the transfer endpoint; it is not kept in sync per pass.
/// Either the runner owns a device slab of its own (the GPU check) or it works on a backend's slab and stream (the
/// CUDA backend, where ORT reads that slab on that stream, so passes and forwards are ordered with no
/// synchronisation between them).
/// </summary>
internal sealed unsafe class CudaPassRunner : IPassRunner
{
    private const int MultiprocessorCountAttribute = 16;   // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT

    /// <summary>Descriptors in flight: a slot is rewritten only after the pass that read it has finished (its event).</summary>
    private const int DescriptorSlots = 4;

    private readonly CudaModule _module;
    private readonly IntPtr _passKernel;
    private readonly int _multiprocessors;
    private readonly bool _ownsSlabAndStream;
    private readonly CudaDeviceMemory? _maskWords;
    private readonly CudaDeviceMemory? _state1;
    private readonly CudaDeviceMemory? _state2;
    private readonly DescriptorSlot[] _slots = new DescriptorSlot[DescriptorSlots];
    private int _nextSlot;

    /// <summary>A runner with its own device slab and stream.</summary>
    public CudaPassRunner(CudaContext context, WeightBuffers host, ReadOnlySpan<byte> ptx)
        : this(context, host, ptx, null, null) { }

    /// <summary>A runner over a backend's device slab, enqueuing on the backend's stream (both stay the backend's).</summary>
    public CudaPassRunner(CudaContext context, WeightBuffers host, ReadOnlySpan<byte> ptx, CudaSlab? slab, CudaStream? stream)
    {
        Host = host;
        _ownsSlabAndStream = slab is null;
        _module = CudaModule.LoadPtx(ptx);
        try
        {
            _passKernel = _module.GetFunction(KernelModule.WeightPass);
            CudaDriver.Check(CudaNative.cuDeviceGetAttribute(out _multiprocessors, MultiprocessorCountAttribute, context.Device), nameof(CudaNative.cuDeviceGetAttribute));
            Slab = slab ?? CudaSlab.Allocate(host.Slab.Layout);
            Stream = stream ?? CudaStream.Create();
            if (host.MaskBits is { } bits) _maskWords = CudaDeviceMemory.Allocate(Math.Max(bits.ByteLength, 8));
            if (host.State1 is { } s1) _state1 = CudaDeviceMemory.Allocate(Math.Max(s1.ByteLength, 4));
            if (host.State2 is { } s2) _state2 = CudaDeviceMemory.Allocate(Math.Max(s2.ByteLength, 4));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public WeightBuffers Host { get; }

    WeightBuffers IPassRunner.Buffers => Host;

    public CudaSlab Slab { get; } = null!;

    public CudaStream Stream { get; } = null!;

    public CudaModule Module => _module;

    public int Multiprocessors => _multiprocessors;

    /// <summary>Brings mask bits and optimizer state (and, for a runner with its own slab, the weights) back to <see cref="Host"/>.</summary>
    public void DownloadState()
    {
        Stream.Synchronize();
        if (_ownsSlabAndStream) Slab.Download(Host.Slab);
        Copy(_maskWords, Host.MaskBits?.Pointer, Host.MaskBits?.ByteLength ?? 0, toDevice: false);
        Copy(_state1, Host.State1?.Pointer, Host.State1?.ByteLength ?? 0, toDevice: false);
        Copy(_state2, Host.State2?.Pointer, Host.State2?.ByteLength ?? 0, toDevice: false);
    }

    /// <summary>Puts <see cref="Host"/>'s mask bits and optimizer state (and, for a runner with its own slab, the weights) on the device.</summary>
    public void UploadState()
    {
        Stream.Synchronize();
        if (_ownsSlabAndStream) Slab.Upload(Host.Slab);
        Copy(_maskWords, Host.MaskBits?.Pointer, Host.MaskBits?.ByteLength ?? 0, toDevice: true);
        Copy(_state1, Host.State1?.Pointer, Host.State1?.ByteLength ?? 0, toDevice: true);
        Copy(_state2, Host.State2?.Pointer, Host.State2?.ByteLength ?? 0, toDevice: true);
        // the copies from pageable memory are ordered on the stream; the first pass must not start before they land
        Stream.Synchronize();
    }

    public void Synchronize() => Stream.Synchronize();

    /// <summary>Enqueues one pass on <see cref="Stream"/>: the descriptor's copy, then the launch; returns without waiting.</summary>
    public void Run(IReadOnlyList<PassSegment> segments)
    {
        var pass = PassDescriptor.Encode(Host.Tensors, segments);
        if (pass.TotalQuads == 0) return;
        var slot = _slots[_nextSlot] ??= new DescriptorSlot();
        _nextSlot = (_nextSlot + 1) % DescriptorSlots;
        slot.Done.Wait();   // the pass that last read this slot has finished (at once, normally: the losses were read since)
        slot.Reserve(pass.Bytes.Length);
        pass.Bytes.CopyTo(slot.Staging.Span);
        CudaDriver.Check(CudaNative.cuMemcpyHtoDAsync_v2(slot.Device.Address, slot.Staging.Pointer, (nuint)pass.Bytes.Length, Stream.Handle),
            nameof(CudaNative.cuMemcpyHtoDAsync_v2));

        IntPtr descriptor = slot.Device.Address, slab = Slab.BaseAddress;
        // indexed by absolute counter >> 6, as on the host: bias the base by the layout's counter origin
        IntPtr mask = _maskWords is null ? IntPtr.Zero : _maskWords.Address - (nint)(Host.Slab.Layout.CounterOrigin >> 6) * sizeof(ulong);
        IntPtr state1 = _state1?.Address ?? IntPtr.Zero, state2 = _state2?.Address ?? IntPtr.Zero;
        void** args = stackalloc void*[5];
        args[0] = &descriptor;
        args[1] = &slab;
        args[2] = &mask;
        args[3] = &state1;
        args[4] = &state2;
        var launch = LaunchConfiguration.For(pass.TotalQuads, _multiprocessors);
        CudaDriver.Check(CudaNative.cuLaunchKernel(_passKernel, launch.GridX, 1, 1, launch.BlockX, 1, 1, 0, Stream.Handle, args, null),
            $"{nameof(CudaNative.cuLaunchKernel)}({KernelModule.WeightPass})");
        slot.Done.Record(Stream);
    }

    /// <summary>
    /// Copies on <see cref="Stream"/>, so the copy is ordered with the passes: a plain cuMemcpyHtoD from pageable memory
    /// runs on the legacy stream, which a non-blocking stream does not wait for, and may return before its DMA lands.
    /// A device-to-pageable copy returns only once it is complete.
    /// </summary>
    private void Copy(CudaDeviceMemory? device, byte* host, long bytes, bool toDevice)
    {
        if (device is null || host is null || bytes == 0) return;
        int result = toDevice
            ? CudaNative.cuMemcpyHtoDAsync_v2(device.Address, host, (nuint)bytes, Stream.Handle)
            : CudaNative.cuMemcpyDtoHAsync_v2(host, device.Address, (nuint)bytes, Stream.Handle);
        CudaDriver.Check(result, toDevice ? nameof(CudaNative.cuMemcpyHtoDAsync_v2) : nameof(CudaNative.cuMemcpyDtoHAsync_v2));
    }

    public void Dispose()
    {
        if (Stream is not null && !Stream.IsInvalid) Stream.Synchronize();
        foreach (var slot in _slots) slot?.Dispose();
        _maskWords?.Dispose();
        _state1?.Dispose();
        _state2?.Dispose();
        if (_ownsSlabAndStream)
        {
            Stream?.Dispose();
            Slab?.Dispose();
        }
        _module.Dispose();
        Host.Dispose();   // the host copies of mask bits and state, as the CPU runner disposes its buffers
    }

    /// <summary>A pass descriptor's pinned staging copy, its device copy, and the event after the launch that reads it.</summary>
    private sealed class DescriptorSlot : IDisposable
    {
        public CudaPinnedMemory Staging { get; private set; } = CudaPinnedMemory.Allocate(4096);
        public CudaDeviceMemory Device { get; private set; } = CudaDeviceMemory.Allocate(4096);
        public CudaEvent Done { get; } = CudaEvent.Create();

        public void Reserve(int bytes)
        {
            if (Device.ByteLength >= bytes) return;
            Staging.Dispose();
            Device.Dispose();
            long size = Math.Max(bytes, 2 * Device.ByteLength);
            Staging = CudaPinnedMemory.Allocate(size);
            Device = CudaDeviceMemory.Allocate(size);
        }

        public void Dispose()
        {
            Done.Dispose();
            Staging.Dispose();
            Device.Dispose();
        }
    }
}
