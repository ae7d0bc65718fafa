namespace OrtZo.Onnx;

/// <summary>One kind per way an ONNX model can fail to load, convert or verify; each kind has a test.</summary>
internal enum OnnxError
{
    /// <summary>The file is missing, unreadable, or not a parseable ModelProto.</summary>
    Unreadable,
    /// <summary>A tensor's type, shape or data fields contradict each other.</summary>
    InvalidTensor,
    /// <summary>An external data reference names no file, a file outside the model folder, or bad offsets.</summary>
    InvalidExternalData,
    /// <summary>The graph lacks something a causal LM must have (input ids, a logits output, ...).</summary>
    NotACausalLm,
    /// <summary>A feature the importer cannot convert (an opset too old, a KV-cache layout it cannot empty, ...).</summary>
    Unsupported,
    /// <summary>The output folder exists and overwriting was not asked for.</summary>
    OutputExists,
    /// <summary>The converted folder failed its own checks (ORT load, names, shapes).</summary>
    VerificationFailed,
}

/// <summary>
/// Builds the <see cref="OrtZoException"/> for a bad ONNX model or checkpoint. The message always names the file
/// and, where there is one, the node, tensor or field at fault, then says what was expected.
/// </summary>
internal static class OnnxErrors
{
    public static OrtZoException Fail(OnnxError reason, string? path, string? subject, string message, Exception? inner = null)
    {
        var kind = reason switch
        {
            OnnxError.Unsupported => OrtZoErrorKind.Unsupported,
            OnnxError.OutputExists => OrtZoErrorKind.OutputExists,
            _ => OrtZoErrorKind.InvalidOnnx,
        };
        string text = (path is null ? "" : path + ": ") + (subject is null ? "" : subject + ": ") + message;
        return new OrtZoException(kind, reason, text, path, subject, inner: inner);
    }
}
