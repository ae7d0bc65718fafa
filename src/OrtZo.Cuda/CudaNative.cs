using System.Runtime.InteropServices;

namespace OrtZo.Cuda;

/// <summary>
/// The raw CUDA driver entry points OrtZo uses, exactly as libcuda.so.1 exports them. The <c>_v2</c> names are
/// the 64-bit-size variants; the unsuffixed legacy names take 32-bit sizes and must never be bound. Every call
/// returns a CUresult (0 = success) that callers pass through <see cref="CudaDriver.Check"/>; nothing here
/// throws on its own except the loader (<see cref="DllNotFoundException"/>), which <see cref="CudaDriver"/>
/// pre-empts with a clear message.
/// </summary>
internal static unsafe class CudaNative
{
    public const string Library = "libcuda.so.1";

    /// <summary>cuStreamCreate flag: the stream does not synchronise with the legacy default stream.</summary>
    public const uint StreamNonBlocking = 1;

    /// <summary>cuMemHostAlloc flag: pinned memory usable by every context (ORT's and ours share one anyway).</summary>
    public const uint HostAllocPortable = 1;

    [DllImport(Library)] public static extern int cuInit(uint flags);
    [DllImport(Library)] public static extern int cuDriverGetVersion(out int version);
    [DllImport(Library)] public static extern int cuDeviceGet(out int device, int ordinal);
    [DllImport(Library)] public static extern int cuDeviceGetCount(out int count);
    [DllImport(Library)] public static extern int cuDeviceGetAttribute(out int value, int attribute, int device);
    [DllImport(Library)] public static extern int cuDeviceGetName(byte* name, int length, int device);
    [DllImport(Library)] public static extern int cuDeviceTotalMem_v2(out nuint bytes, int device);
    [DllImport(Library)] public static extern int cuDevicePrimaryCtxRetain(out IntPtr context, int device);
    [DllImport(Library)] public static extern int cuDevicePrimaryCtxRelease_v2(int device);
    [DllImport(Library)] public static extern int cuCtxSetCurrent(IntPtr context);
    [DllImport(Library)] public static extern int cuCtxSynchronize();
    [DllImport(Library)] public static extern int cuMemGetInfo_v2(out nuint free, out nuint total);
    [DllImport(Library)] public static extern int cuMemAlloc_v2(out IntPtr devicePointer, nuint bytes);
    [DllImport(Library)] public static extern int cuMemFree_v2(IntPtr devicePointer);
    [DllImport(Library)] public static extern int cuMemHostAlloc(out IntPtr hostPointer, nuint bytes, uint flags);
    [DllImport(Library)] public static extern int cuMemFreeHost(IntPtr hostPointer);
    [DllImport(Library)] public static extern int cuMemcpyHtoD_v2(IntPtr destination, void* source, nuint bytes);
    [DllImport(Library)] public static extern int cuMemcpyDtoH_v2(void* destination, IntPtr source, nuint bytes);
    [DllImport(Library)] public static extern int cuMemcpyHtoDAsync_v2(IntPtr destination, void* source, nuint bytes, IntPtr stream);
    [DllImport(Library)] public static extern int cuMemcpyDtoHAsync_v2(void* destination, IntPtr source, nuint bytes, IntPtr stream);
    [DllImport(Library)] public static extern int cuStreamCreate(out IntPtr stream, uint flags);
    [DllImport(Library)] public static extern int cuStreamSynchronize(IntPtr stream);
    [DllImport(Library)] public static extern int cuStreamDestroy_v2(IntPtr stream);
    [DllImport(Library)] public static extern int cuEventCreate(out IntPtr evt, uint flags);
    [DllImport(Library)] public static extern int cuEventRecord(IntPtr evt, IntPtr stream);
    [DllImport(Library)] public static extern int cuEventSynchronize(IntPtr evt);
    [DllImport(Library)] public static extern int cuEventDestroy_v2(IntPtr evt);
    [DllImport(Library)] public static extern int cuModuleLoadData(out IntPtr module, byte* image);
    [DllImport(Library)] public static extern int cuModuleLoadDataEx(out IntPtr module, byte* image, uint numOptions, int* options, void** optionValues);

    /// <summary>CUjit_option values: a buffer for the JIT's error log, and its size in bytes.</summary>
    public const int JitErrorLogBuffer = 5, JitErrorLogBufferSizeBytes = 6;
    [DllImport(Library)] public static extern int cuModuleUnload(IntPtr module);
    [DllImport(Library)] public static extern int cuModuleGetFunction(out IntPtr function, IntPtr module, byte* name);
    [DllImport(Library)]
    public static extern int cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemoryBytes, IntPtr stream, void** kernelParameters, void** extra);
    [DllImport(Library)] public static extern int cuGetErrorName(int result, out IntPtr name);
    [DllImport(Library)] public static extern int cuGetErrorString(int result, out IntPtr description);
}
