namespace OrtZo.Onnx.Adapters;

/// <summary>
/// One tensor of an ONNX Runtime adapter file. ORT feeds it as the graph input called <paramref name="Name"/>, so
/// name, dims and <paramref name="OnnxDataType"/> (the TensorProto enum) must be exactly that input's;
/// <paramref name="RawData"/> is the tensor's little-endian bytes in row-major order.
/// </summary>
internal sealed record OrtAdapterParameter(string Name, int OnnxDataType, long[] Dims, byte[] RawData);
