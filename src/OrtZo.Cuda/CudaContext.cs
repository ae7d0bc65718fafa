using System.Text;

namespace OrtZo.Cuda;

/// <summary>
/// The device's primary context, retained for OrtZo. ORT's CUDA EP uses the runtime API, which runs in the same
/// primary context, so memory allocated here is valid inside ORT sessions with no copy. Driver calls need the
/// context current on the calling thread: <see cref="Open"/> makes it current on the opening thread, and other
/// threads call <see cref="MakeCurrent"/> first.
/// </summary>
internal sealed unsafe class CudaContext : IDisposable
{
    private IntPtr _context;

    private CudaContext(int ordinal, int device, IntPtr context)
    {
        Ordinal = ordinal;
        Device = device;
        _context = context;
    }

    /// <summary>The device's ordinal (the N of cuda:N).</summary>
    public int Ordinal { get; }

    /// <summary>The driver's CUdevice handle.</summary>
    public int Device { get; }

    public IntPtr Handle => _context;

    public static CudaContext Open(int ordinal)
    {
        CudaDriver.EnsureAvailable();
        int init = CudaNative.cuInit(0);
        // a driver with no usable device (none installed, or all hidden) is "no CUDA device", not an internal failure
        if (init is CudaErrors.NoDevice or CudaErrors.NotInitialized or CudaErrors.StubLibrary)
            throw new CudaUnavailableException($"the CUDA driver is installed but reports no usable CUDA device ({CudaDriver.Failure(init, nameof(CudaNative.cuInit), null).Message}); use --device cpu");
        CudaDriver.Check(init, nameof(CudaNative.cuInit));
        CudaDriver.Check(CudaNative.cuDeviceGetCount(out int count), nameof(CudaNative.cuDeviceGetCount));
        if (ordinal < 0 || ordinal >= count)
            throw new CudaUnavailableException($"device cuda:{ordinal} requested, but the driver reports {count} CUDA device(s)");
        CudaDriver.Check(CudaNative.cuDeviceGet(out int device, ordinal), nameof(CudaNative.cuDeviceGet));
        CudaDriver.Check(CudaNative.cuDevicePrimaryCtxRetain(out var context, device), nameof(CudaNative.cuDevicePrimaryCtxRetain));
        var opened = new CudaContext(ordinal, device, context);
        try
        {
            opened.MakeCurrent();
            return opened;
        }
        catch
        {
            opened.Dispose();
            throw;
        }
    }

    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_context == IntPtr.Zero, this);
        CudaDriver.Check(CudaNative.cuCtxSetCurrent(_context), nameof(CudaNative.cuCtxSetCurrent));
    }

    public void Synchronize() => CudaDriver.Check(CudaNative.cuCtxSynchronize(), nameof(CudaNative.cuCtxSynchronize));

    public string DeviceName()
    {
        var buffer = new byte[256];
        fixed (byte* p = buffer)
            CudaDriver.Check(CudaNative.cuDeviceGetName(p, buffer.Length, Device), nameof(CudaNative.cuDeviceGetName));
        int end = Array.IndexOf(buffer, (byte)0);
        return Encoding.ASCII.GetString(buffer, 0, end < 0 ? buffer.Length : end);
    }

    public long TotalMemory()
    {
        CudaDriver.Check(CudaNative.cuDeviceTotalMem_v2(out nuint bytes, Device), nameof(CudaNative.cuDeviceTotalMem_v2));
        return (long)bytes;
    }

    public (long Free, long Total) MemoryInfo()
    {
        CudaDriver.Check(CudaNative.cuMemGetInfo_v2(out nuint free, out nuint total), nameof(CudaNative.cuMemGetInfo_v2));
        return ((long)free, (long)total);
    }

    public void Dispose()
    {
        if (_context == IntPtr.Zero) return;
        // Release balances the retain; the primary context itself lives on while ORT still holds it.
        CudaNative.cuDevicePrimaryCtxRelease_v2(Device);
        _context = IntPtr.Zero;
    }
}
