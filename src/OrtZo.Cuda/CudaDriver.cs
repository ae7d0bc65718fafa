using System.Runtime.InteropServices;

namespace OrtZo.Cuda;

/// <summary>
/// Access to libcuda.so.1 and the single error funnel: every driver call goes through <see cref="Check"/>, so a
/// failure always names the call and the driver's error. The library is probed before the first P/Invoke so
/// a machine without a driver gets a sentence instead of a DllNotFoundException from deep inside a call.
/// </summary>
internal static unsafe class CudaDriver
{
    private static readonly Lazy<string?> LoadFailure = new(() => ProbeLibrary(CudaNative.Library));

    /// <summary>Why libcuda.so.1 cannot be loaded here, or null when it can.</summary>
    public static string? UnavailableReason => LoadFailure.Value;

    public static bool IsAvailable => UnavailableReason is null;

    /// <summary>Throws <see cref="CudaUnavailableException"/> with a clear sentence when the driver is absent.</summary>
    public static void EnsureAvailable()
    {
        if (UnavailableReason is { } reason) throw new CudaUnavailableException(reason);
    }

    internal static string? ProbeLibrary(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle))
            return $"the CUDA driver library {library} is not installed or not on the loader path (no NVIDIA driver on this machine); use --device cpu";
        NativeLibrary.Free(handle);
        return null;
    }

    /// <summary>The error funnel: throws a <see cref="CudaException"/> naming <paramref name="call"/> unless the result is CUDA_SUCCESS.</summary>
    public static void Check(int result, string call)
    {
        if (result != 0) throw Failure(result, call, IsAvailable ? DriverLookup : null);
    }

    /// <summary>The exception <see cref="Check"/> throws, with the name lookup injectable so it is testable without a driver.</summary>
    internal static CudaException Failure(int result, string call, Func<int, (string? Name, string? Description)>? driverLookup)
    {
        var (name, description) = CudaErrors.Describe(result, driverLookup);
        return new CudaException(call, result, name, description);
    }

    internal static (string? Name, string? Description) DriverLookup(int result)
    {
        // cuGetErrorName answers CUDA_ERROR_INVALID_VALUE (and a null pointer) for a code it does not know.
        string? name = CudaNative.cuGetErrorName(result, out var n) == 0 && n != IntPtr.Zero ? Marshal.PtrToStringAnsi(n) : null;
        string? text = CudaNative.cuGetErrorString(result, out var s) == 0 && s != IntPtr.Zero ? Marshal.PtrToStringAnsi(s) : null;
        return (name, text);
    }

    public static int DriverVersion()
    {
        EnsureAvailable();
        Check(CudaNative.cuDriverGetVersion(out int version), nameof(CudaNative.cuDriverGetVersion));
        return version;
    }

    /// <summary>"13.0" from the driver's 13000.</summary>
    public static string FormatVersion(int version) => $"{version / 1000}.{version % 1000 / 10}";
}
