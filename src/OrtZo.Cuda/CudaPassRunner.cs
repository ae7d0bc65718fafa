using OrtZo.Engine;

namespace OrtZo.Cuda;

/// <summary>
/// Runs weight passes with ortzo_weight_pass over device copies of a <see cref="WeightBuffers"/>' slab, mask bits
/// and optimizer state: one launch per pass, grid-stride over the whole slab. Each pass's descriptor is uploaded
/// before the launch on the runner's stream. The host <see cref="WeightBuffers"/> is the layout and the
/// transfer endpoint (<see cref="UploadAll"/>, <see cref="DownloadAll"/>); it is not kept in sync per pass.
/// Not wired into a backend yet: the GPU check drives it over the engine's pass cases against the oracle.
/// </summary>
internal sealed unsafe class CudaPassRunner : IPassRunner
{
    private const int MultiprocessorCountAttribute = 16;   // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT

    private readonly CudaContext _context;
    private readonly CudaModule _module;
    private readonly IntPtr _passKernel;
    private readonly int _multiprocessors;
    private readonly CudaDeviceMemory? _maskWords;
    private readonly CudaDeviceMemory? _state1;
    private readonly CudaDeviceMemory? _state2;
    private CudaDeviceMemory? _descriptor;

    public CudaPassRunner(CudaContext context, WeightBuffers host, ReadOnlySpan<byte> ptx)
    {
        _context = context;
        Host = host;
        _module = CudaModule.LoadPtx(ptx);
        try
        {
            _passKernel = _module.GetFunction(KernelModule.WeightPass);
            CudaDriver.Check(CudaNative.cuDeviceGetAttribute(out _multiprocessors, MultiprocessorCountAttribute, context.Device), nameof(CudaNative.cuDeviceGetAttribute));
            Slab = CudaSlab.Allocate(host.Slab.Layout);
            if (host.MaskBits is { } bits) _maskWords = CudaDeviceMemory.Allocate(Math.Max(bits.ByteLength, 8));
            if (host.State1 is { } s1) _state1 = CudaDeviceMemory.Allocate(Math.Max(s1.ByteLength, 4));
            if (host.State2 is { } s2) _state2 = CudaDeviceMemory.Allocate(Math.Max(s2.ByteLength, 4));
            Stream = CudaStream.Create();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public WeightBuffers Host { get; }

    WeightBuffers IPassRunner.Buffers => Host;

    /// <summary>Brings the whole device copy (weights too) back to <see cref="Host"/>, after the passes enqueued so far.</summary>
    public void DownloadState() => DownloadAll();

    public void UploadState() => UploadAll();

    public CudaSlab Slab { get; } = null!;

    public CudaStream Stream { get; } = null!;

    public CudaModule Module => _module;

    public int Multiprocessors => _multiprocessors;

    public void UploadAll()
    {
        Slab.Upload(Host.Slab);
        Copy(_maskWords, Host.MaskBits?.Pointer, Host.MaskBits?.ByteLength ?? 0, toDevice: true);
        Copy(_state1, Host.State1?.Pointer, Host.State1?.ByteLength ?? 0, toDevice: true);
        Copy(_state2, Host.State2?.Pointer, Host.State2?.ByteLength ?? 0, toDevice: true);
    }

    public void DownloadAll()
    {
        Stream.Synchronize();
        Slab.Download(Host.Slab);
        Copy(_maskWords, Host.MaskBits?.Pointer, Host.MaskBits?.ByteLength ?? 0, toDevice: false);
        Copy(_state1, Host.State1?.Pointer, Host.State1?.ByteLength ?? 0, toDevice: false);
        Copy(_state2, Host.State2?.Pointer, Host.State2?.ByteLength ?? 0, toDevice: false);
    }

    /// <summary>Enqueues one pass on <see cref="Stream"/>; returns without waiting for it.</summary>
    public void Run(IReadOnlyList<PassSegment> segments)
    {
        var pass = PassDescriptor.Encode(Host.Tensors, segments);
        if (pass.TotalQuads == 0) return;
        // The previous launch may still read the old descriptor: wait before overwriting it. (A ring of
        // descriptors in pinned memory would avoid this sync; the GPU check does not need the speed.)
        Stream.Synchronize();
        if (_descriptor is null || _descriptor.ByteLength < pass.Bytes.Length)
        {
            _descriptor?.Dispose();
            _descriptor = CudaDeviceMemory.Allocate(Math.Max(pass.Bytes.Length, 4096));
        }
        fixed (byte* p = pass.Bytes)
            CudaDriver.Check(CudaNative.cuMemcpyHtoD_v2(_descriptor.Address, p, (nuint)pass.Bytes.Length), nameof(CudaNative.cuMemcpyHtoD_v2));

        IntPtr descriptor = _descriptor.Address, slab = Slab.BaseAddress;
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
    }

    private static void Copy(CudaDeviceMemory? device, byte* host, long bytes, bool toDevice)
    {
        if (device is null || host is null || bytes == 0) return;
        int result = toDevice
            ? CudaNative.cuMemcpyHtoD_v2(device.Address, host, (nuint)bytes)
            : CudaNative.cuMemcpyDtoH_v2(host, device.Address, (nuint)bytes);
        CudaDriver.Check(result, toDevice ? nameof(CudaNative.cuMemcpyHtoD_v2) : nameof(CudaNative.cuMemcpyDtoH_v2));
    }

    public void Dispose()
    {
        Stream?.Dispose();
        _descriptor?.Dispose();
        _maskWords?.Dispose();
        _state1?.Dispose();
        _state2?.Dispose();
        Slab?.Dispose();
        _module.Dispose();
    }
}
