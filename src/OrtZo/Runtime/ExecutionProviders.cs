using Microsoft.ML.OnnxRuntime;

namespace OrtZo.Runtime;

/// <summary>
/// The one place where a session's execution provider and its threading are chosen. CPU runs ORT's intra-op pool
/// without spinning, because the engine's own perturbation threads run between forwards on the same cores and
/// spinning workers would steal them. CUDA runs on the weights' compute stream (passes and forwards ordered without
/// synchronisation) with TF32 off: its ~1e-3 relative error is the size of ε·z.
/// </summary>
internal static class ExecutionProviders
{
    /// <summary>
    /// Environment switch for CUDA graphs in scoring sessions (kept off by default until a device run shows them faster).
    /// A captured graph replays fixed addresses and shapes, so scoring sessions give each (rows, seq) shape its own graph
    /// id; generation, which rebinds per token, never captures.
    /// </summary>
    public const string CudaGraphVariable = "ORTZO_CUDA_GRAPH";

    public static bool CudaGraphRequested => Environment.GetEnvironmentVariable(CudaGraphVariable) == "1";

    /// <param name="computeStream">The CUDA stream the weight kernels use (the backend's); zero on the CPU.</param>
    /// <param name="cudaGraph">Capture CUDA graphs (only for sessions that bind every input and output at fixed addresses per shape).</param>
    public static SessionOptions CreateSessionOptions(ZoDevice device, int intraOpThreads, IntPtr computeStream = default, bool cudaGraph = false)
    {
        OrtLibrary.Initialize();
        var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            so.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            if (device.Kind == DeviceKind.Cuda)
            {
                if (computeStream == IntPtr.Zero) throw Unavailable(device);
                CudaProvider.Append(so, new CudaProviderSettings(device.Index, computeStream, UseTf32: false, CudaGraph: cudaGraph));
            }
            return so;
        }
        catch
        {
            so.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Fails, before anything is allocated, when <paramref name="device"/> cannot run here: no driver, a CPU build,
    /// or no such CUDA device. Commands that start long-lived work (a worker) call it first.
    /// </summary>
    /// <param name="probeDevice">Also open the device's context to prove the ordinal exists (callers that open it
    /// themselves right after, like the weight backend, skip this).</param>
    public static void EnsureAvailable(ZoDevice device, bool probeDevice = true)
    {
        if (device.Kind == DeviceKind.Cpu) return;
        if (Cuda.CudaDriver.UnavailableReason is not null || !OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider.EpName))
            throw Unavailable(device);
        if (!probeDevice) return;
        try
        {
            using var context = Cuda.CudaContext.Open(device.Index);
        }
        catch (Cuda.CudaUnavailableException e)
        {
            throw OptionErrors.Device(DeviceError.NoDriver, $"device {device}: {e.Message}");
        }
    }

    /// <summary>Why a CUDA device cannot hold a model's weights here: no driver, no device, or a CPU build.</summary>
    public static OrtZoException Unavailable(ZoDevice device)
    {
        if (Cuda.CudaDriver.UnavailableReason is { } reason)
            return OptionErrors.Device(DeviceError.NoDriver, $"device {device}: {reason}");
        return OptionErrors.Device(DeviceError.NotInThisBuild,
            $"device {device}: this build's ONNX Runtime has no CUDA execution provider; build with -p:OrtZoGpu=true (README, \"GPU\")");
    }
}
