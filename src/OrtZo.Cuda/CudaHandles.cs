using System.Runtime.InteropServices;

namespace OrtZo.Cuda;

// SafeHandles for driver resources: release runs even on a finalizer thread after an exception, so it can
// only report failure (false), never throw. Release of device memory and streams needs the owning context
// current; every OrtZo resource lives in the device's primary context, which CudaContext makes current on the
// thread that created it, and OrtZo keeps driver work on that one thread.

/// <summary>A cuMemAlloc_v2 allocation: the device address and its length.</summary>
internal sealed class CudaDeviceMemory : SafeHandle
{
    public CudaDeviceMemory() : base(IntPtr.Zero, ownsHandle: true) { }

    public long ByteLength { get; private set; }

    public IntPtr Address => handle;

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static CudaDeviceMemory Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var memory = new CudaDeviceMemory();
        CudaDriver.Check(CudaNative.cuMemAlloc_v2(out var address, (nuint)bytes), nameof(CudaNative.cuMemAlloc_v2));
        memory.SetHandle(address);
        memory.ByteLength = bytes;
        return memory;
    }

    protected override bool ReleaseHandle() => CudaNative.cuMemFree_v2(handle) == 0;
}

/// <summary>Page-locked host memory from cuMemHostAlloc: the staging area for chunked uploads and downloads.</summary>
internal sealed unsafe class CudaPinnedMemory : SafeHandle
{
    public CudaPinnedMemory() : base(IntPtr.Zero, ownsHandle: true) { }

    public long ByteLength { get; private set; }

    public byte* Pointer => (byte*)handle;

    public override bool IsInvalid => handle == IntPtr.Zero;

    public Span<byte> Span => new(Pointer, checked((int)ByteLength));

    public static CudaPinnedMemory Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var memory = new CudaPinnedMemory();
        CudaDriver.Check(CudaNative.cuMemHostAlloc(out var pointer, (nuint)bytes, CudaNative.HostAllocPortable), nameof(CudaNative.cuMemHostAlloc));
        memory.SetHandle(pointer);
        memory.ByteLength = bytes;
        return memory;
    }

    protected override bool ReleaseHandle() => CudaNative.cuMemFreeHost(handle) == 0;
}

/// <summary>A non-blocking CUDA stream (the handle is a cudaStream_t too, so ORT can be told to use it).</summary>
internal sealed class CudaStream : SafeHandle
{
    public CudaStream() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public IntPtr Handle => handle;

    public static CudaStream Create()
    {
        var stream = new CudaStream();
        CudaDriver.Check(CudaNative.cuStreamCreate(out var h, CudaNative.StreamNonBlocking), nameof(CudaNative.cuStreamCreate));
        stream.SetHandle(h);
        return stream;
    }

    public void Synchronize() => CudaDriver.Check(CudaNative.cuStreamSynchronize(handle), nameof(CudaNative.cuStreamSynchronize));

    protected override bool ReleaseHandle() => CudaNative.cuStreamDestroy_v2(handle) == 0;
}

/// <summary>A CUDA event without timing: marks a point in a stream's work, so the host can wait for that point only.</summary>
internal sealed class CudaEvent : SafeHandle
{
    /// <summary>cuEventCreate flag: no timing data (cheaper to record and query).</summary>
    private const uint DisableTiming = 2;

    public CudaEvent() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static CudaEvent Create()
    {
        var e = new CudaEvent();
        CudaDriver.Check(CudaNative.cuEventCreate(out var h, DisableTiming), nameof(CudaNative.cuEventCreate));
        e.SetHandle(h);
        return e;
    }

    public void Record(CudaStream stream) => CudaDriver.Check(CudaNative.cuEventRecord(handle, stream.Handle), nameof(CudaNative.cuEventRecord));

    /// <summary>Waits until the stream has passed the recorded point (at once when it has, or when nothing was recorded).</summary>
    public void Wait() => CudaDriver.Check(CudaNative.cuEventSynchronize(handle), nameof(CudaNative.cuEventSynchronize));

    protected override bool ReleaseHandle() => CudaNative.cuEventDestroy_v2(handle) == 0;
}

/// <summary>A module loaded from PTX text (JIT-compiled by the driver for the GPU at hand).</summary>
internal sealed unsafe class CudaModule : SafeHandle
{
    public CudaModule() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <param name="ptx">PTX text; a terminating NUL is added here because the driver reads a C string.</param>
    public static CudaModule LoadPtx(ReadOnlySpan<byte> ptx)
    {
        var image = new byte[ptx.Length + 1];
        ptx.CopyTo(image);
        var module = new CudaModule();
        IntPtr h;
        // a JIT failure alone says only CUDA_ERROR_INVALID_PTX; its log says which line and why
        const int logBytes = 16 << 10;
        var log = new byte[logBytes];
        int result;
        fixed (byte* p = image)
        fixed (byte* l = log)
        {
            int* options = stackalloc int[2] { CudaNative.JitErrorLogBuffer, CudaNative.JitErrorLogBufferSizeBytes };
            void** values = stackalloc void*[2] { l, (void*)(nuint)logBytes };
            result = CudaNative.cuModuleLoadDataEx(out h, p, 2, options, values);
        }
        if (result != 0)
        {
            string jitLog = System.Text.Encoding.ASCII.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
            var (name, description) = CudaErrors.Describe(result, CudaDriver.IsAvailable ? CudaDriver.DriverLookup : null);
            throw new CudaException(nameof(CudaNative.cuModuleLoadDataEx), result, name, jitLog.Length == 0 ? description : $"{description}; JIT log: {jitLog}");
        }
        module.SetHandle(h);
        return module;
    }

    public IntPtr GetFunction(string name)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        IntPtr function;
        fixed (byte* p = bytes)
            CudaDriver.Check(CudaNative.cuModuleGetFunction(out function, handle, p), $"{nameof(CudaNative.cuModuleGetFunction)}({name})");
        return function;
    }

    protected override bool ReleaseHandle() => CudaNative.cuModuleUnload(handle) == 0;
}
