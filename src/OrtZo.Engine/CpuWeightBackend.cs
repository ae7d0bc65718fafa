using OrtZo.Engine.Reference;
using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>Which CPU implementation runs the weight passes.</summary>
internal enum CpuKernels
{
    /// <summary>The SIMD kernels over L1-sized chunks on the kernel threads (what training uses).</summary>
    Simd,
    /// <summary>The scalar specification, one element at a time (the oracle, for tests).</summary>
    Reference,
}

/// <summary>Weights in a native host slab that the kernels edit in place and ONNX Runtime reads in place.</summary>
internal sealed unsafe class CpuWeightBackend(CpuSlab slab, int threads, CpuKernels kernels = CpuKernels.Simd) : IWeightBackend
{
    public WeightMemory Memory => WeightMemory.Host;
    public int DeviceIndex => 0;
    public IntPtr ComputeStream => IntPtr.Zero;
    public SlabLayout Layout => slab.Layout;
    public CpuSlab Host => slab;
    public IntPtr Address(int slot) => (IntPtr)slab.Pointer(slot);

    // The host slab is the device memory: nothing to copy either way.
    public void Download() { }
    public void Upload() { }

    public IPassRunner CreateRunner(IReadOnlyList<TrainableTensor> tensors, int stateBuffers)
    {
        var buffers = new WeightBuffers(slab, tensors, stateBuffers);
        try
        {
            return kernels == CpuKernels.Simd ? new CpuPassRunner(buffers, threads) : new ReferencePassRunner(buffers);
        }
        catch
        {
            buffers.Dispose();
            throw;
        }
    }

    public void Dispose() => slab.Dispose();
}
