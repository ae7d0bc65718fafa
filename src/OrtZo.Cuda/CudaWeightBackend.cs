using OrtZo.Engine;
using OrtZo.WeightStore;

namespace OrtZo.Cuda;

/// <summary>
/// A model's weights in cuMemAlloc memory on the device's primary context (the context ORT's CUDA execution
/// provider uses too), with a host mirror that is current only after <see cref="Download"/>. The passes run on
/// <see cref="ComputeStream"/>, which sessions are given as ORT's compute stream, so a pass and the forward that
/// reads its result are ordered on one stream. Mask bits and optimizer state live on the device, in the runner.
/// </summary>
internal sealed class CudaWeightBackend : IWeightBackend
{
    private readonly CudaContext _context;
    private readonly CudaSlab _slab;
    private readonly CudaStream _stream;
    private readonly byte[] _ptx;

    /// <param name="host">The weights as loaded; kept as the host mirror (the backend owns it from here).</param>
    public CudaWeightBackend(CpuSlab host, int deviceIndex, byte[]? ptx = null)
    {
        Host = host;
        _ptx = ptx ?? KernelModule.EmbeddedPtx();
        _context = CudaContext.Open(deviceIndex);
        try
        {
            _stream = CudaStream.Create();
            _slab = CudaSlab.Allocate(host.Layout);
            _slab.Upload(host);
        }
        catch
        {
            _slab?.Dispose();
            _stream?.Dispose();
            _context.Dispose();
            throw;
        }
    }

    public WeightMemory Memory => WeightMemory.CudaDevice;
    public int DeviceIndex => _context.Ordinal;
    public IntPtr ComputeStream => _stream.Handle;
    public SlabLayout Layout => Host.Layout;
    public CpuSlab Host { get; }

    public IntPtr Address(int slot) => _slab.Address(slot);

    public void Download()
    {
        _stream.Synchronize();
        _slab.Download(Host);
    }

    public void Upload()
    {
        _stream.Synchronize();
        _slab.Upload(Host);
    }

    public IPassRunner CreateRunner(IReadOnlyList<TrainableTensor> tensors, int stateBuffers)
    {
        var buffers = new WeightBuffers(Host, tensors, stateBuffers);
        try
        {
            var runner = new CudaPassRunner(_context, buffers, _ptx, _slab, _stream);
            runner.UploadState();
            return runner;
        }
        catch
        {
            buffers.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _stream.Synchronize();
        _slab.Dispose();
        _stream.Dispose();
        _context.Dispose();
        Host.Dispose();
    }
}
