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
                    throw new NotSupportedException(
                        "device cuda: this build has no CUDA path yet (weights in CUDA memory arrive with the GPU work); use --device cpu");
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

    /// <summary>The memory-info that OrtValues over engine-owned weight buffers must carry for this device.</summary>
    public static OrtMemoryInfo WeightMemoryInfo(ZoDevice device) => device.Kind switch
    {
        DeviceKind.Cpu => OrtMemoryInfo.DefaultInstance,
        _ => throw new NotSupportedException($"device {device}: no weight memory info in this build"),
    };
}
