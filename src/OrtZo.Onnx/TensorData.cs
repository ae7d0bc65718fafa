using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx;

/// <summary>
/// Reads and writes the data of a <see cref="TensorProto"/> in whichever of its storages it lives: raw_data
/// (little-endian bytes), an external file, or the typed fields (float_data; int32_data, which also carries
/// fp16/bf16/int8/int16/bool one element per entry; int64_data; double_data; uint64_data for uint32/uint64).
/// Every read checks that the storage holds exactly the elements the type and shape call for.
/// </summary>
internal static unsafe class TensorData
{
    public static bool IsExternal(TensorProto tensor) =>
        tensor.HasDataLocation && tensor.DataLocation == TensorProto.Types.DataLocation.External;

    public static string ShapeText(TensorProto tensor) => "[" + string.Join(", ", tensor.Dims) + "]";

    public static long ElementCount(TensorProto tensor, string? path)
    {
        long count = 1;
        foreach (long d in tensor.Dims)
        {
            if (d < 0)
                throw OnnxErrors.Fail(OnnxError.InvalidTensor, path, $"tensor '{tensor.Name}'", $"dimension {d} is negative");
            try { count = checked(count * d); }
            catch (OverflowException e)
            {
                throw OnnxErrors.Fail(OnnxError.InvalidTensor, path, $"tensor '{tensor.Name}'", $"shape {ShapeText(tensor)} overflows", e);
            }
        }
        return count;
    }

    public static long ExpectedByteLength(TensorProto tensor, string? path)
    {
        int size = OnnxElementType.SizeInBytes(tensor.DataType);
        if (size == 0)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"tensor '{tensor.Name}'",
                $"element type {OnnxElementType.Name(tensor.DataType)} has no fixed byte size; only numeric tensors are supported");
        return checked(ElementCount(tensor, path) * size);
    }

    /// <summary>The tensor's bytes as a little-endian buffer (allocates; tensors over 2 GiB must be streamed with <see cref="CopyTo"/>).</summary>
    public static byte[] ReadBytes(TensorProto tensor, ExternalDataFiles? external, string? path)
    {
        long length = ExpectedByteLength(tensor, path);
        if (length > Array.MaxLength)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"tensor '{tensor.Name}'", $"{length} bytes do not fit one array; stream it instead");
        var buffer = new byte[length];
        using var stream = new MemoryStream(buffer);
        CopyTo(tensor, external, path, stream);
        return buffer;
    }

    /// <summary>Writes exactly <see cref="ExpectedByteLength"/> little-endian bytes to <paramref name="destination"/>.</summary>
    public static void CopyTo(TensorProto tensor, ExternalDataFiles? external, string? path, Stream destination)
    {
        long length = ExpectedByteLength(tensor, path);
        if (IsExternal(tensor))
        {
            if (external is null)
                throw OnnxErrors.Fail(OnnxError.InvalidExternalData, path, $"tensor '{tensor.Name}'",
                    "data is external but the model was not loaded from a file");
            byte* source = external.Pointer(tensor);
            const int Chunk = 1 << 24;
            for (long done = 0; done < length; done += Chunk)
                destination.Write(new ReadOnlySpan<byte>(source + done, (int)Math.Min(Chunk, length - done)));
            return;
        }
        if (tensor.HasRawData)
        {
            if (tensor.RawData.Length != length)
                throw OnnxErrors.Fail(OnnxError.InvalidTensor, path, $"tensor '{tensor.Name}'",
                    $"raw_data has {tensor.RawData.Length} bytes but {OnnxElementType.Name(tensor.DataType)} {ShapeText(tensor)} needs {length}");
            destination.Write(tensor.RawData.Span);
            return;
        }
        destination.Write(TypedFieldsToBytes(tensor, length, path));
    }

    /// <summary>Reads any float or integer tensor as float32 (fp16/bf16 widened exactly, double and integers rounded).</summary>
    public static float[] ReadFloats(TensorProto tensor, ExternalDataFiles? external, string? path)
    {
        var bytes = ReadBytes(tensor, external, path);
        var result = new float[ElementCount(tensor, path)];
        switch (tensor.DataType)
        {
            case OnnxElementType.Float: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result); break;
            case OnnxElementType.Float16: FloatConversions.ToFloat32(DType.F16, bytes, result); break;
            case OnnxElementType.BFloat16: FloatConversions.ToFloat32(DType.BF16, bytes, result); break;
            case OnnxElementType.Double:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (int i = 0; i < result.Length; i++) result[i] = (float)doubles[i];
                break;
            default:
                var integers = ReadInt64s(tensor, external, path);
                for (int i = 0; i < result.Length; i++) result[i] = integers[i];
                break;
        }
        return result;
    }

    /// <summary>Reads any integer or bool tensor as int64.</summary>
    public static long[] ReadInt64s(TensorProto tensor, ExternalDataFiles? external, string? path)
    {
        var bytes = ReadBytes(tensor, external, path);
        var result = new long[ElementCount(tensor, path)];
        switch ((TensorProto.Types.DataType)tensor.DataType)
        {
            case TensorProto.Types.DataType.Int64:
            case TensorProto.Types.DataType.Uint64: MemoryMarshal.Cast<byte, long>(bytes).CopyTo(result); break;
            case TensorProto.Types.DataType.Int32: Widen(MemoryMarshal.Cast<byte, int>(bytes), result); break;
            case TensorProto.Types.DataType.Uint32: Widen(MemoryMarshal.Cast<byte, uint>(bytes), result); break;
            case TensorProto.Types.DataType.Int16: Widen(MemoryMarshal.Cast<byte, short>(bytes), result); break;
            case TensorProto.Types.DataType.Uint16: Widen(MemoryMarshal.Cast<byte, ushort>(bytes), result); break;
            case TensorProto.Types.DataType.Int8: Widen(MemoryMarshal.Cast<byte, sbyte>(bytes), result); break;
            case TensorProto.Types.DataType.Uint8:
            case TensorProto.Types.DataType.Bool: Widen<byte>(bytes, result); break;
            default:
                throw OnnxErrors.Fail(OnnxError.InvalidTensor, path, $"tensor '{tensor.Name}'",
                    $"expected an integer tensor, found {OnnxElementType.Name(tensor.DataType)}");
        }
        return result;
    }

    /// <summary>A tensor holding <paramref name="bytes"/> in raw_data.</summary>
    public static TensorProto FromBytes(string name, int elementType, IReadOnlyList<long> shape, ReadOnlySpan<byte> bytes)
    {
        var tensor = new TensorProto { Name = name, DataType = elementType, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(shape);
        long expected = ExpectedByteLength(tensor, null);
        if (expected != bytes.Length)
            throw new ArgumentException($"tensor '{name}': {bytes.Length} bytes given, {expected} expected");
        return tensor;
    }

    public static TensorProto FromFloats(string name, IReadOnlyList<long> shape, ReadOnlySpan<float> values) =>
        FromBytes(name, OnnxElementType.Float, shape, MemoryMarshal.AsBytes(values));

    public static TensorProto FromInt64s(string name, IReadOnlyList<long> shape, ReadOnlySpan<long> values) =>
        FromBytes(name, OnnxElementType.Int64, shape, MemoryMarshal.AsBytes(values));

    private static void Widen<T>(ReadOnlySpan<T> source, Span<long> destination) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        for (int i = 0; i < source.Length; i++) destination[i] = long.CreateTruncating(source[i]);
    }

    private static byte[] TypedFieldsToBytes(TensorProto tensor, long length, string? path)
    {
        long count = ElementCount(tensor, path);
        int size = OnnxElementType.SizeInBytes(tensor.DataType);
        var bytes = new byte[length];
        string subject = $"tensor '{tensor.Name}'";
        void CheckCount(int found, string field)
        {
            // Complex types store two numbers per element.
            long needed = tensor.DataType is (int)TensorProto.Types.DataType.Complex64 or (int)TensorProto.Types.DataType.Complex128 ? count * 2 : count;
            if (found != needed)
                throw OnnxErrors.Fail(OnnxError.InvalidTensor, path, subject,
                    $"{field} has {found} entries but {OnnxElementType.Name(tensor.DataType)} {ShapeText(tensor)} needs {needed} (and raw_data is absent)");
        }
        switch ((TensorProto.Types.DataType)tensor.DataType)
        {
            case TensorProto.Types.DataType.Float:
            case TensorProto.Types.DataType.Complex64:
                CheckCount(tensor.FloatData.Count, "float_data");
                for (int i = 0; i < tensor.FloatData.Count; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), tensor.FloatData[i]);
                break;
            case TensorProto.Types.DataType.Double:
            case TensorProto.Types.DataType.Complex128:
                CheckCount(tensor.DoubleData.Count, "double_data");
                for (int i = 0; i < tensor.DoubleData.Count; i++)
                    BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), tensor.DoubleData[i]);
                break;
            case TensorProto.Types.DataType.Int64:
                CheckCount(tensor.Int64Data.Count, "int64_data");
                for (int i = 0; i < tensor.Int64Data.Count; i++)
                    BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), tensor.Int64Data[i]);
                break;
            case TensorProto.Types.DataType.Uint32:
            case TensorProto.Types.DataType.Uint64:
                CheckCount(tensor.Uint64Data.Count, "uint64_data");
                for (int i = 0; i < tensor.Uint64Data.Count; i++)
                {
                    if (size == 4) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), (uint)tensor.Uint64Data[i]);
                    else BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), tensor.Uint64Data[i]);
                }
                break;
            case TensorProto.Types.DataType.String:
                throw OnnxErrors.Fail(OnnxError.Unsupported, path, subject, "string tensors are not supported");
            default:
                // int32, int16, int8, uint16, uint8, bool, fp16, bf16 and fp8: one int32_data entry per element,
                // holding the element's bits in its low bytes.
                CheckCount(tensor.Int32Data.Count, "int32_data");
                for (int i = 0; i < tensor.Int32Data.Count; i++)
                {
                    int v = tensor.Int32Data[i];
                    switch (size)
                    {
                        case 4: BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), v); break;
                        case 2: BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)v); break;
                        default: bytes[i] = (byte)v; break;
                    }
                }
                break;
        }
        return bytes;
    }
}
