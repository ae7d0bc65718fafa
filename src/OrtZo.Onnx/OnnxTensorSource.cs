using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx;

/// <summary>
/// A weight to be written to a safetensors file straight from where the source model keeps it (raw_data,
/// typed fields or the mapped external file), one tensor at a time, so converting a model never holds more
/// than one tensor's bytes in managed memory.
/// </summary>
internal sealed class OnnxTensorSource : TensorSource
{
    private readonly TensorProto _tensor;
    private readonly OnnxModelFile _source;

    public OnnxTensorSource(TensorSpec spec, TensorProto tensor, OnnxModelFile source) : base(spec)
    {
        long bytes = TensorData.ExpectedByteLength(tensor, source.FilePath);
        if (bytes != spec.ByteLength)
            throw new ArgumentException($"tensor '{tensor.Name}' has {bytes} bytes but the spec of '{spec.Name}' needs {spec.ByteLength}");
        _tensor = tensor;
        _source = source;
    }

    public override void WriteTo(Stream destination) => _source.CopyTo(_tensor, destination);
}
