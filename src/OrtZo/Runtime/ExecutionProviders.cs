using Microsoft.ML.OnnxRuntime;

namespace OrtZo.Runtime;

/// <summary>
/// The one place where a session's execution provider and its threading are chosen. CPU runs ORT's
/// intra-op pool without spinning, because the engine's own perturbation threads run between forwards
/// on the same cores and spinning workers would steal them.
/// </summary>
internal static class ExecutionProviders
{
    public static SessionOptions CreateSessionOptions(ZoDevice device, int intraOpThreads)
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
            switch (device.Kind)
            {
                case DeviceKind.Cpu:
                    break;
                case DeviceKind.Cuda:
                    // A missing driver is the common case and gets its own sentence. With a driver, training and
                    // evaluation still refuse: their weights live in a CPU slab, and binding CPU weights to a CUDA
                    // session makes ORT copy them once and silently freeze them. CudaProvider.Append is the
                    // building block for the CUDA path (docs/gpu.md).
                    throw Unavailable(device);
                default:
                    throw new ArgumentOutOfRangeException(nameof(device), device, null);
            }
            return so;
        }
        catch
        {
            so.Dispose();
            throw;
        }
    }

    /// <summary>Why a device cannot hold a model's weights in this build (the CUDA backend has not landed).</summary>
    public static OrtZoException Unavailable(ZoDevice device)
    {
        if (Cuda.CudaDriver.UnavailableReason is { } reason)
            return OptionErrors.Device(DeviceError.NoDriver, $"device {device}: {reason}");
        return OptionErrors.Device(DeviceError.NotInThisBuild,
            $"device {device}: the CUDA driver is present, but this build does not keep weights in CUDA memory yet (see docs/gpu.md; `ortzo gpu-check` runs the CUDA kernels)");
    }
}
