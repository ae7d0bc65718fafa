using Google.Protobuf;
using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

/// <summary>
/// An ONNX model read from disk. The protobuf holds the graph and any inline tensors; external tensors stay in
/// their data files, which are memory-mapped on first use (see <see cref="ExternalDataFiles"/>), so a model with
/// external data never has all its weights in one managed message.
/// </summary>
internal sealed class OnnxModelFile : IDisposable
{
    /// <summary>
    /// Protobuf's default nesting limit (100) is too low for deeply nested control flow; real graphs stay far
    /// below this bound, which still stops a hostile file from exhausting the stack.
    /// </summary>
    private const int RecursionLimit = 1000;

    private OnnxModelFile(string path, ModelProto model)
    {
        FilePath = path;
        Model = model;
        ExternalData = new ExternalDataFiles(path);
    }

    public string FilePath { get; }

    public string DirectoryPath => Path.GetDirectoryName(FilePath)!;

    public ModelProto Model { get; }

    public GraphProto Graph => Model.Graph;

    public ExternalDataFiles ExternalData { get; }

    public static OnnxModelFile Load(string path)
    {
        string full = Path.GetFullPath(path);
        ModelProto model;
        try
        {
            using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            if (stream.Length >= int.MaxValue)
                throw OnnxErrors.Fail(OnnxError.Unreadable, full, null,
                    $"the file has {stream.Length} bytes; a protobuf message must stay under 2 GiB (larger models keep their weights in external data)");
            var coded = CodedInputStream.CreateWithLimits(stream, int.MaxValue, RecursionLimit);
            model = ModelProto.Parser.ParseFrom(coded);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw OnnxErrors.Fail(OnnxError.Unreadable, full, null, $"cannot read the file: {e.Message}", e);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw OnnxErrors.Fail(OnnxError.Unreadable, full, null, $"not a valid ONNX ModelProto: {e.Message}", e);
        }
        if (model.Graph is null)
            throw OnnxErrors.Fail(OnnxError.Unreadable, full, "field 'graph'", "the model has no graph; expected an ONNX ModelProto");
        return new OnnxModelFile(full, model);
    }

    /// <summary>Parses a model held in memory (no external data can be resolved).</summary>
    public static ModelProto Parse(byte[] bytes, string description)
    {
        try
        {
            var coded = CodedInputStream.CreateWithLimits(new MemoryStream(bytes, writable: false), int.MaxValue, RecursionLimit);
            return ModelProto.Parser.ParseFrom(coded);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw OnnxErrors.Fail(OnnxError.Unreadable, description, null, $"not a valid ONNX ModelProto: {e.Message}", e);
        }
    }

    public byte[] ReadBytes(TensorProto tensor) => TensorData.ReadBytes(tensor, ExternalData, FilePath);

    public float[] ReadFloats(TensorProto tensor) => TensorData.ReadFloats(tensor, ExternalData, FilePath);

    public long[] ReadInt64s(TensorProto tensor) => TensorData.ReadInt64s(tensor, ExternalData, FilePath);

    /// <summary>
    /// The tensor's little-endian bytes without copying where possible: a view of raw_data or of the mapped
    /// external file (valid while this object lives), or a fresh buffer for typed fields. Tensors over 2 GiB are refused.
    /// </summary>
    public unsafe ReadOnlySpan<byte> Span(TensorProto tensor)
    {
        long length = TensorData.ExpectedByteLength(tensor, FilePath);
        if (length > int.MaxValue)
            throw OnnxErrors.Fail(OnnxError.Unsupported, FilePath, $"tensor '{tensor.Name}'",
                $"{length} bytes exceed what one span can view; stream it instead");
        if (TensorData.IsExternal(tensor)) return new ReadOnlySpan<byte>(ExternalData.Pointer(tensor), (int)length);
        if (tensor.HasRawData)
        {
            if (tensor.RawData.Length != length)
                throw OnnxErrors.Fail(OnnxError.InvalidTensor, FilePath, $"tensor '{tensor.Name}'",
                    $"raw_data has {tensor.RawData.Length} bytes but {OnnxElementType.Name(tensor.DataType)} {TensorData.ShapeText(tensor)} needs {length}");
            return tensor.RawData.Span;
        }
        return ReadBytes(tensor);
    }

    public void CopyTo(TensorProto tensor, Stream destination) => TensorData.CopyTo(tensor, ExternalData, FilePath, destination);

    public void Dispose() => ExternalData.Dispose();
}
