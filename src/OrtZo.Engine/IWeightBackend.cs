using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>The kind of memory a backend keeps the weights in, which decides how a session binds them.</summary>
internal enum WeightMemory
{
    Host,
    CudaDevice,
}

/// <summary>
/// A model's weights on the device that holds them, and the kernels that run weight passes over them: the seam
/// between the engine and a device. The CPU backend's host slab is its device memory; a device backend keeps the
/// weights in device memory and a host mirror that holds them only after <see cref="Download"/>.
/// </summary>
internal interface IWeightBackend : IDisposable
{
    WeightMemory Memory { get; }

    /// <summary>Device ordinal (0 for the CPU).</summary>
    int DeviceIndex { get; }

    SlabLayout Layout { get; }

    /// <summary>
    /// The device stream the passes run on, for sessions to run their forwards on too (so the two are ordered with no
    /// synchronisation between them); zero on the CPU.
    /// </summary>
    IntPtr ComputeStream { get; }

    /// <summary>Where ONNX Runtime reads tensor <paramref name="slot"/> from (host or device address).</summary>
    IntPtr Address(int slot);

    /// <summary>The weights in host memory: current after <see cref="Download"/>, read by <see cref="Upload"/>.</summary>
    CpuSlab Host { get; }

    /// <summary>Makes <see cref="Host"/> hold what the device holds (waits for passes still running).</summary>
    void Download();

    /// <summary>Makes the device hold what <see cref="Host"/> holds.</summary>
    void Upload();

    /// <summary>
    /// Mask bits and optimizer state for a training plan on this device, and the runner of its passes; the runner
    /// owns them.
    /// </summary>
    IPassRunner CreateRunner(IReadOnlyList<TrainableTensor> tensors, int stateBuffers);
}
