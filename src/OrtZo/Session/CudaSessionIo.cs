using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrtZo.Cuda;
using OrtZo.WeightStore;

namespace OrtZo.Session;

/// <summary>
/// A CUDA scoring session's token inputs and score outputs in device memory. Binding host buffers instead would
/// make ORT copy them once, at bind time, and miss every later batch; so the host buffers the caller fills are
/// uploaded before each run, and the two small score vectors downloaded after it, on the weights' compute stream,
/// which is then the only synchronisation of a forward.
/// </summary>
internal sealed unsafe class CudaSessionIo : IDisposable
{
    private readonly IntPtr _stream;
    private readonly OrtMemoryInfo _memory;

    public CudaSessionIo(int deviceIndex, IntPtr stream, long cells, int rows)
    {
        _stream = stream;
        _memory = new OrtMemoryInfo("Cuda", OrtAllocatorType.DeviceAllocator, deviceIndex, OrtMemType.Default);
        try
        {
            InputIds = CudaDeviceMemory.Allocate(cells * sizeof(long));
            AttentionMask = CudaDeviceMemory.Allocate(cells * sizeof(long));
            PositionIds = CudaDeviceMemory.Allocate(cells * sizeof(long));
            LabelMask = CudaDeviceMemory.Allocate(cells * sizeof(float));
            Sum = CudaDeviceMemory.Allocate(rows * sizeof(float));
            Mean = CudaDeviceMemory.Allocate(rows * sizeof(float));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public CudaDeviceMemory InputIds { get; } = null!;
    public CudaDeviceMemory AttentionMask { get; } = null!;
    public CudaDeviceMemory PositionIds { get; } = null!;
    public CudaDeviceMemory LabelMask { get; } = null!;
    public CudaDeviceMemory Sum { get; } = null!;
    public CudaDeviceMemory Mean { get; } = null!;

    /// <summary>An OrtValue over the first <paramref name="shape"/> elements of a device buffer.</summary>
    public OrtValue Value(CudaDeviceMemory buffer, TensorElementType type, long[] shape, long bytes) =>
        OrtValue.CreateTensorValueWithData(_memory, type, shape, buffer.Address, bytes);

    /// <summary>Enqueues the copy of a host buffer's first bytes to the device (before the run that reads it).</summary>
    public void Upload(NativeBuffer host, CudaDeviceMemory device, long bytes) =>
        CudaDriver.Check(CudaNative.cuMemcpyHtoDAsync_v2(device.Address, host.Pointer, (nuint)bytes, _stream), nameof(CudaNative.cuMemcpyHtoDAsync_v2));

    /// <summary>Copies the scores of <paramref name="rows"/> rows back and waits for them: the end of a forward.</summary>
    public void DownloadScores(NativeBuffer sum, NativeBuffer mean, int rows)
    {
        CudaDriver.Check(CudaNative.cuMemcpyDtoHAsync_v2(sum.Pointer, Sum.Address, (nuint)(rows * sizeof(float)), _stream), nameof(CudaNative.cuMemcpyDtoHAsync_v2));
        CudaDriver.Check(CudaNative.cuMemcpyDtoHAsync_v2(mean.Pointer, Mean.Address, (nuint)(rows * sizeof(float)), _stream), nameof(CudaNative.cuMemcpyDtoHAsync_v2));
        CudaDriver.Check(CudaNative.cuStreamSynchronize(_stream), nameof(CudaNative.cuStreamSynchronize));
    }

    public void Dispose()
    {
        InputIds?.Dispose();
        AttentionMask?.Dispose();
        PositionIds?.Dispose();
        LabelMask?.Dispose();
        Sum?.Dispose();
        Mean?.Dispose();
        _memory.Dispose();
    }
}
