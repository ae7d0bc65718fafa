using Microsoft.ML.OnnxRuntime;
using OrtZo.Cuda;

namespace OrtZo.Runtime;

/// <summary>How the CUDA execution provider is set up for a session.</summary>
/// <param name="UserComputeStream">A CUstream (== cudaStream_t) for ORT to run on, so the weight kernels enqueued on it are ordered with the forwards.</param>
/// <param name="UseTf32">TF32 matmuls (ORT's default is on; its ~1e-3 relative error is the size of ε·z, so fp32 models turn it off).</param>
/// <param name="CudaGraph">Capture the forward as a CUDA graph (needs every input and output bound at a fixed address).</param>
internal sealed record CudaProviderSettings(int DeviceId = 0, IntPtr UserComputeStream = default, bool UseTf32 = false, bool CudaGraph = false);

/// <summary>
/// Adds ORT's CUDA execution provider (the official CUDA 13 build of ONNX Runtime 1.32, -p:OrtZoGpu=true) to session
/// options with AppendExecutionProvider_CUDA, after loading the CUDA libraries it needs by full path. That package's
/// provider needs no plugin-EP registration, so that route is gone.
/// </summary>
internal static class CudaProvider
{
    public const string EpName = "CUDAExecutionProvider";

    /// <summary>The provider options as strings, all in one dictionary: ORT copies the stream pointer only when has_user_compute_stream comes with it.</summary>
    public static Dictionary<string, string> OptionStrings(CudaProviderSettings settings)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = settings.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["use_tf32"] = settings.UseTf32 ? "1" : "0",
            ["arena_extend_strategy"] = "kSameAsRequested",
            ["enable_cuda_graph"] = settings.CudaGraph ? "1" : "0",
        };
        if (settings.UserComputeStream != IntPtr.Zero)
        {
            options["has_user_compute_stream"] = "1";
            options["user_compute_stream"] = ((ulong)settings.UserComputeStream).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return options;
    }

    /// <summary>Adds the CUDA EP; returns the provider options ORT reports back (GetOptions), for the record.</summary>
    public static string Append(SessionOptions so, CudaProviderSettings settings)
    {
        if (CudaDriver.UnavailableReason is { } reason) throw OptionErrors.Device(DeviceError.NoDriver, $"device cuda:{settings.DeviceId}: {reason}");
        if (!OrtEnv.Instance().GetAvailableProviders().Contains(EpName))
            throw OptionErrors.Device(DeviceError.NotInThisBuild,
                $"device cuda:{settings.DeviceId}: this build's ONNX Runtime has no {EpName}; build with -p:OrtZoGpu=true (the Microsoft.ML.OnnxRuntime.Gpu.Linux package)");
        CudaLibraries.Load();
        string effective;
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(OptionStrings(settings));
            effective = cuda.GetOptions();
            so.AppendExecutionProvider_CUDA(cuda);
        }
        catch (OnnxRuntimeException e)
        {
            throw OptionErrors.Device(DeviceError.ProviderFailed, $"device cuda:{settings.DeviceId}: ONNX Runtime could not add {EpName}: {e.Message}");
        }
        if (StreamMismatch(effective, settings.UserComputeStream) is { } mismatch)
            throw OptionErrors.Device(DeviceError.ProviderFailed, $"device cuda:{settings.DeviceId}: {mismatch}");
        return effective;
    }

    /// <summary>
    /// Why the options ORT reports back (GetOptions: "key=value;…") do not carry the compute stream that was asked for,
    /// or null when they do. ORT drops the pointer without a word unless has_user_compute_stream comes with it, and
    /// a session on another stream would race the weight kernels and hand back losses before its forward ended.
    /// </summary>
    internal static string? StreamMismatch(string effective, IntPtr stream)
    {
        var options = effective.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(kv => kv.Split('=', 2))
            .Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);
        options.TryGetValue("user_compute_stream", out string? reported);
        options.TryGetValue("has_user_compute_stream", out string? has);
        if (stream == IntPtr.Zero)
            return has == "1" ? $"{EpName} reports a user compute stream ({reported}) that was not asked for" : null;
        string expected = ((ulong)stream).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (has == "1" && reported == expected) return null;
        return $"{EpName} did not take the weights' compute stream {expected} (it reports has_user_compute_stream={has ?? "absent"}, " +
               $"user_compute_stream={reported ?? "absent"}); forwards and weight passes would not be ordered";
    }
}
