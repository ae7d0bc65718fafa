namespace OrtZo.WeightStore;

/// <summary>Element types a weights file can hold. Names follow the safetensors header ("F32", "BF16", ...).</summary>
internal enum DType
{
    F64, F32, F16, BF16,
    I64, I32, I16, I8,
    U64, U32, U16, U8,
    Bool,
}

internal static class DTypeExtensions
{
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F64 or DType.I64 or DType.U64 => 8,
        DType.F32 or DType.I32 or DType.U32 => 4,
        DType.F16 or DType.BF16 or DType.I16 or DType.U16 => 2,
        DType.I8 or DType.U8 or DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The three types OrtZo trains: only these can live in a weight slab.</summary>
    public static bool IsTrainableFloat(this DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16;

    public static string ToSafetensorsName(this DType dtype) => dtype switch
    {
        DType.Bool => "BOOL",
        _ => dtype.ToString().ToUpperInvariant(),
    };

    /// <summary>Short lower-case name used in ortzo.json and on the command line ("f32", "f16", "bf16").</summary>
    public static string ToShortName(this DType dtype) => dtype.ToString().ToLowerInvariant();

    public static bool TryParseSafetensorsName(string name, out DType dtype)
    {
        switch (name)
        {
            case "F64": dtype = DType.F64; return true;
            case "F32": dtype = DType.F32; return true;
            case "F16": dtype = DType.F16; return true;
            case "BF16": dtype = DType.BF16; return true;
            case "I64": dtype = DType.I64; return true;
            case "I32": dtype = DType.I32; return true;
            case "I16": dtype = DType.I16; return true;
            case "I8": dtype = DType.I8; return true;
            case "U64": dtype = DType.U64; return true;
            case "U32": dtype = DType.U32; return true;
            case "U16": dtype = DType.U16; return true;
            case "U8": dtype = DType.U8; return true;
            case "BOOL": dtype = DType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    public static bool TryParseShortName(string name, out DType dtype)
    {
        switch (name.ToLowerInvariant())
        {
            case "f32" or "fp32" or "float32" or "float": dtype = DType.F32; return true;
            case "f16" or "fp16" or "float16" or "half": dtype = DType.F16; return true;
            case "bf16" or "bfloat16": dtype = DType.BF16; return true;
            default: return TryParseSafetensorsName(name.ToUpperInvariant(), out dtype);
        }
    }
}
