using Microsoft.ML.OnnxRuntime;
using OrtZo.Cuda;

namespace OrtZo.Runtime;

/// <summary>How the CUDA execution provider is set up for a session.</summary>
/// <param name="PluginLibrary">libonnxruntime_providers_cuda.so to register as a plugin EP; null: env ORT_GPU_CUDA_EP.</param>
/// <param name="UserComputeStream">A CUstream (== cudaStream_t) for ORT to run on, so kernels enqueued on it are ordered with the forwards.</param>
/// <param name="UseTf32">TF32 matmuls (ORT's default is on; its ~1e-3 relative error is the size of ε·z, so fp32 models turn it off).</param>
internal sealed record CudaProviderSettings(int DeviceId = 0, string? PluginLibrary = null, IntPtr UserComputeStream = default, bool UseTf32 = false)
{
    public const string PluginLibraryVariable = "ORT_GPU_CUDA_EP";

    public string? ResolvedPluginLibrary =>
        PluginLibrary ?? (Environment.GetEnvironmentVariable(PluginLibraryVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null);
}

/// <summary>
/// Adds ORT's CUDA execution provider to session options by one of two routes: the plugin EP (ORT 1.29 CPU core
/// + libonnxruntime_providers_cuda.so, registered with RegisterExecutionProviderLibrary and chosen through
/// GetEpDevices) or the built-in provider of official GPU builds (AppendExecutionProvider_CUDA). The code uses
/// only APIs present in both the 1.31.1 package and the 1.29 sources. Errors say which route failed and why.
/// </summary>
internal static class CudaProvider
{
    public const string EpName = "CUDAExecutionProvider";
    public const string PluginRegistrationName = "ortzo_cuda";

    private static readonly Lock RegistrationLock = new();
    private static string? _registeredLibrary;

    /// <summary>The provider options as strings. Both stream keys go in one update: ORT copies the stream pointer only when has_user_compute_stream is present too.</summary>
    public static Dictionary<string, string> OptionStrings(CudaProviderSettings settings)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = settings.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["use_tf32"] = settings.UseTf32 ? "1" : "0",
            ["arena_extend_strategy"] = "kSameAsRequested",
        };
        if (settings.UserComputeStream != IntPtr.Zero)
        {
            options["has_user_compute_stream"] = "1";
            options["user_compute_stream"] = ((ulong)settings.UserComputeStream).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return options;
    }

    /// <summary>Adds the CUDA EP; returns which route worked ("plugin EP ..." or "AppendExecutionProvider_CUDA").</summary>
    public static string Append(SessionOptions so, CudaProviderSettings settings)
    {
        CudaDriver.EnsureAvailable();
        var options = OptionStrings(settings);
        var failures = new List<string>();
        if (settings.ResolvedPluginLibrary is { } library)
        {
            try
            {
                var env = OrtEnv.Instance();
                Register(env, library);
                var devices = env.GetEpDevices().Where(d => d.EpName == EpName).ToList();
                if (devices.Count <= settings.DeviceId)
                    throw new InvalidOperationException($"the plugin offers {devices.Count} CUDA device(s); device {settings.DeviceId} requested");
                so.AppendExecutionProvider(env, [devices[settings.DeviceId]], options);
                return $"plugin EP ({library})";
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or EntryPointNotFoundException or DllNotFoundException)
            {
                failures.Add($"plugin EP route (RegisterExecutionProviderLibrary {library}): {e.Message}");
            }
        }
        else
        {
            failures.Add($"plugin EP route: not tried ({CudaProviderSettings.PluginLibraryVariable} is unset and no library was given)");
        }
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(options);
            so.AppendExecutionProvider_CUDA(cuda);
            return "AppendExecutionProvider_CUDA";
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            failures.Add($"AppendExecutionProvider_CUDA (official GPU builds only): {e.Message}");
        }
        throw OptionErrors.Device(DeviceError.NoDriver, "device cuda: no CUDA execution provider could be added. " + string.Join(" | ", failures));
    }

    private static void Register(OrtEnv env, string library)
    {
        lock (RegistrationLock)
        {
            if (_registeredLibrary == library) return;
            if (_registeredLibrary is not null)
                throw new InvalidOperationException($"another CUDA EP library ({_registeredLibrary}) is already registered in this process");
            env.RegisterExecutionProviderLibrary(PluginRegistrationName, library);
            _registeredLibrary = library;
        }
    }
}
