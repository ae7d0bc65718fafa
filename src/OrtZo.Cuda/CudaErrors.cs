namespace OrtZo.Cuda;

/// <summary>
/// Names and descriptions of CUresult codes. The driver's own <c>cuGetErrorName/String</c> is authoritative; this
/// table covers the common codes for when no driver can be asked (a failed load, unit tests) so an error never
/// degrades to a bare number. Values are those of cuda.h's <c>cudaError_enum</c>.
/// </summary>
internal static class CudaErrors
{
    public const int NotInitialized = 3;
    public const int StubLibrary = 34;
    public const int NoDevice = 100;

    private static readonly Dictionary<int, (string Name, string Description)> Known = new()
    {
        [0] = ("CUDA_SUCCESS", "no error"),
        [1] = ("CUDA_ERROR_INVALID_VALUE", "invalid argument"),
        [2] = ("CUDA_ERROR_OUT_OF_MEMORY", "out of memory"),
        [3] = ("CUDA_ERROR_NOT_INITIALIZED", "initialization error"),
        [4] = ("CUDA_ERROR_DEINITIALIZED", "driver shutting down"),
        [34] = ("CUDA_ERROR_STUB_LIBRARY", "CUDA driver is a stub library"),
        [100] = ("CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"),
        [101] = ("CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"),
        [200] = ("CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"),
        [201] = ("CUDA_ERROR_INVALID_CONTEXT", "invalid device context"),
        [209] = ("CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"),
        [218] = ("CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"),
        [222] = ("CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain"),
        [400] = ("CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"),
        [500] = ("CUDA_ERROR_NOT_FOUND", "named symbol not found"),
        [600] = ("CUDA_ERROR_NOT_READY", "device not ready"),
        [700] = ("CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"),
        [701] = ("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"),
        [702] = ("CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"),
        [719] = ("CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"),
        [999] = ("CUDA_ERROR_UNKNOWN", "unknown error"),
    };

    /// <summary>Asks the driver when one is given (it knows codes newer than this table), else the table.</summary>
    public static (string Name, string Description) Describe(int result, Func<int, (string? Name, string? Description)>? driverLookup)
    {
        if (driverLookup is not null)
        {
            var (name, description) = driverLookup(result);
            if (name is not null) return (name, description ?? "(no description from the driver)");
        }
        return Known.TryGetValue(result, out var known) ? known : ($"CUresult {result}", "not a code this build knows; see cuda.h");
    }
}
