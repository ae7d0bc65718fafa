namespace OrtZo.WeightStore;

/// <summary>One kind per way a weights file or a slab request can be wrong; each has its own test.</summary>
internal enum WeightStoreError
{
    /// <summary>The file is shorter than the 8-byte header length prefix.</summary>
    HeaderTooSmall,
    /// <summary>The declared header length exceeds the limit or the file.</summary>
    HeaderTooLarge,
    /// <summary>The header is not valid UTF-8 JSON of the expected shape.</summary>
    InvalidHeader,
    /// <summary>A tensor entry lacks a field or has one of the wrong type.</summary>
    InvalidTensorEntry,
    /// <summary>A dtype string that safetensors does not define.</summary>
    UnknownDType,
    /// <summary>Data offsets are out of order, overlapping, leave a hole, or fall outside the file.</summary>
    InvalidOffset,
    /// <summary>A tensor's byte range does not match its dtype and shape.</summary>
    ShapeMismatch,
    /// <summary>The data buffer is longer or shorter than the tensors it declares.</summary>
    IncompleteBuffer,
    /// <summary>Sizes overflow 64-bit arithmetic.</summary>
    ValidationOverflow,
    /// <summary>The same tensor name twice.</summary>
    DuplicateTensor,
    /// <summary>A requested tensor is not in the file.</summary>
    MissingTensor,
    /// <summary>A tensor has another dtype than the one required.</summary>
    DTypeMismatch,
    /// <summary>A type that cannot live in a weight slab (only f32, f16, bf16 can).</summary>
    UnsupportedDType,
    /// <summary>Reading or writing the file failed.</summary>
    Io,
}

/// <summary>Builds the <see cref="OrtZoException"/> for a weights-file or slab problem: "path: tensor 'x': message".</summary>
internal static class WeightStoreErrors
{
    public static OrtZoException Fail(WeightStoreError reason, string? path, string? tensor, string message, Exception? inner = null)
    {
        string where = path is null ? "" : path + ": ";
        string what = tensor is null ? "" : $"tensor '{tensor}': ";
        var kind = reason == WeightStoreError.Io ? OrtZoErrorKind.Io : OrtZoErrorKind.InvalidWeights;
        return new OrtZoException(kind, reason, where + what + message, path, tensor is null ? null : $"tensor '{tensor}'", inner: inner);
    }
}
