using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx;

/// <summary>ONNX element types (the <c>data_type</c>/<c>elem_type</c> integers) and what OrtZo does with them.</summary>
internal static class OnnxElementType
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int Float16 = (int)TensorProto.Types.DataType.Float16;
    public const int BFloat16 = (int)TensorProto.Types.DataType.Bfloat16;
    public const int Double = (int)TensorProto.Types.DataType.Double;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;
    public const int Int32 = (int)TensorProto.Types.DataType.Int32;
    public const int Bool = (int)TensorProto.Types.DataType.Bool;

    /// <summary>The element types the engine can train (they can live in a weight slab).</summary>
    public static bool IsTrainableFloat(int elementType) => elementType is Float or Float16 or BFloat16;

    /// <summary>Bytes per element, or 0 for types with no fixed size (strings) or packed sub-byte types.</summary>
    public static int SizeInBytes(int elementType) => (TensorProto.Types.DataType)elementType switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64
            or TensorProto.Types.DataType.Complex64 => 8,
        TensorProto.Types.DataType.Complex128 => 16,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16
            or TensorProto.Types.DataType.Uint16 => 2,
        TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool
            or TensorProto.Types.DataType.Float8E4M3Fn or TensorProto.Types.DataType.Float8E4M3Fnuz
            or TensorProto.Types.DataType.Float8E5M2 or TensorProto.Types.DataType.Float8E5M2Fnuz => 1,
        _ => 0,
    };

    public static string Name(int elementType) =>
        Enum.IsDefined(typeof(TensorProto.Types.DataType), elementType)
            ? ((TensorProto.Types.DataType)elementType).ToString().ToLowerInvariant()
            : $"type {elementType}";

    public static bool TryToDType(int elementType, out DType dtype)
    {
        switch ((TensorProto.Types.DataType)elementType)
        {
            case TensorProto.Types.DataType.Float: dtype = DType.F32; return true;
            case TensorProto.Types.DataType.Float16: dtype = DType.F16; return true;
            case TensorProto.Types.DataType.Bfloat16: dtype = DType.BF16; return true;
            case TensorProto.Types.DataType.Double: dtype = DType.F64; return true;
            case TensorProto.Types.DataType.Int64: dtype = DType.I64; return true;
            case TensorProto.Types.DataType.Int32: dtype = DType.I32; return true;
            case TensorProto.Types.DataType.Int16: dtype = DType.I16; return true;
            case TensorProto.Types.DataType.Int8: dtype = DType.I8; return true;
            case TensorProto.Types.DataType.Uint64: dtype = DType.U64; return true;
            case TensorProto.Types.DataType.Uint32: dtype = DType.U32; return true;
            case TensorProto.Types.DataType.Uint16: dtype = DType.U16; return true;
            case TensorProto.Types.DataType.Uint8: dtype = DType.U8; return true;
            case TensorProto.Types.DataType.Bool: dtype = DType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    public static int FromDType(DType dtype) => dtype switch
    {
        DType.F32 => Float,
        DType.F16 => Float16,
        DType.BF16 => BFloat16,
        DType.F64 => Double,
        DType.I64 => Int64,
        DType.I32 => Int32,
        DType.I16 => (int)TensorProto.Types.DataType.Int16,
        DType.I8 => (int)TensorProto.Types.DataType.Int8,
        DType.U64 => (int)TensorProto.Types.DataType.Uint64,
        DType.U32 => (int)TensorProto.Types.DataType.Uint32,
        DType.U16 => (int)TensorProto.Types.DataType.Uint16,
        DType.U8 => (int)TensorProto.Types.DataType.Uint8,
        DType.Bool => Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };
}
