using Google.FlatBuffers;

namespace OrtZo.Onnx.Adapters;

/// <summary>
/// Writes ONNX Runtime's LoRA adapter format (<c>.onnx_adapter</c>, onnxruntime/lora/adapter_format/adapter_schema.fbs),
/// the file <c>OrtLoraAdapter.Create</c> and onnxruntime-genai's <c>Adapters.LoadAdapter</c> read:
/// <code>
/// table Parameter { name: string; dims: [int64]; data_type: TensorDataType (int32, ONNX's numbering); raw_data: [uint8] (force_align: 8); }
/// table Adapter   { format_version: int; adapter_version: int; model_version: int; parameters: [Parameter]; }
/// root_type Adapter; file_identifier "TORT";
/// </code>
/// Built by hand with <see cref="FlatBufferBuilder"/> because the schema is four fields per table and flatc is no
/// build dependency here. Field ids are the declaration order above; ORT rejects a buffer without the identifier,
/// one that fails flatbuffer verification, or a format_version other than 1.
/// </summary>
internal static class OrtAdapterFile
{
    public const string Extension = ".onnx_adapter";
    public const string FileIdentifier = "TORT";

    /// <summary>The only version ORT 1.2x–1.3x loads (adapter_format_version.h).</summary>
    public const int FormatVersion = 1;

    /// <summary>FlatBufferBuilder's byte buffer is an array indexed by int; leave room for the tables around the data.</summary>
    private const long MaxDataBytes = int.MaxValue - (64L << 20);

    public static byte[] Build(IReadOnlyList<OrtAdapterParameter> parameters, int adapterVersion, int modelVersion, string path)
    {
        long dataBytes = parameters.Sum(p => (long)p.RawData.Length);
        if (dataBytes > MaxDataBytes)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, "parameters",
                $"{dataBytes:N0} bytes of adapter tensors; a flatbuffer (and so an ONNX Runtime adapter file) holds under 2 GiB");
        var builder = new FlatBufferBuilder((int)Math.Min(MaxDataBytes, dataBytes + 1024L * (parameters.Count + 1)));

        var offsets = new int[parameters.Count];
        for (int i = 0; i < parameters.Count; i++) offsets[i] = Parameter(builder, parameters[i]);

        builder.StartVector(sizeof(int), offsets.Length, sizeof(int));
        for (int i = offsets.Length - 1; i >= 0; i--) builder.AddOffset(offsets[i]);
        var parameterVector = builder.EndVector();

        builder.StartTable(4);
        builder.AddInt(0, FormatVersion, 0);
        builder.AddInt(1, adapterVersion, 0);
        builder.AddInt(2, modelVersion, 0);
        builder.AddOffset(3, parameterVector.Value, 0);
        int adapter = builder.EndTable();
        builder.Finish(adapter, FileIdentifier);
        return builder.SizedByteArray();
    }

    private static int Parameter(FlatBufferBuilder builder, OrtAdapterParameter parameter)
    {
        long elements = parameter.Dims.Aggregate(1L, (a, d) => a * d);
        if (parameter.Dims.Any(d => d < 0) || OnnxElementType.SizeInBytes(parameter.OnnxDataType) is not (1 or 2 or 4 or 8)
            || elements * OnnxElementType.SizeInBytes(parameter.OnnxDataType) != parameter.RawData.Length)
            throw new ArgumentException($"adapter parameter '{parameter.Name}': {parameter.RawData.Length} bytes do not hold [{string.Join(", ", parameter.Dims)}] of ONNX type {parameter.OnnxDataType}");
        var name = builder.CreateString(parameter.Name);

        builder.StartVector(sizeof(long), parameter.Dims.Length, sizeof(long));
        for (int i = parameter.Dims.Length - 1; i >= 0; i--) builder.AddLong(parameter.Dims[i]);
        var dims = builder.EndVector();

        // force_align: 8 in the schema: ORT wraps raw_data in a tensor without copying, so the data must sit on an 8-byte boundary.
        builder.StartVector(1, parameter.RawData.Length, 8);
        builder.Add<byte>(parameter.RawData);
        var data = builder.EndVector();

        builder.StartTable(4);
        builder.AddOffset(0, name.Value, 0);
        builder.AddOffset(1, dims.Value, 0);
        builder.AddInt(2, parameter.OnnxDataType, 0);
        builder.AddOffset(3, data.Value, 0);
        return builder.EndTable();
    }
}
