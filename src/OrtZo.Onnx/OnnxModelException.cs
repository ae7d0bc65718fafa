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
/// Raised for a bad ONNX model or checkpoint. The message always names the file and, where there is one, the
/// node, tensor or field at fault, then says what was expected.
/// </summary>
internal sealed class OnnxModelException : Exception
{
    public OnnxModelException(OnnxError kind, string? path, string? subject, string message, Exception? inner = null)
        : base(Compose(path, subject, message), inner)
    {
        Kind = kind;
        FilePath = path;
        Subject = subject;
    }

    public OnnxError Kind { get; }

    /// <summary>The file the problem was found in.</summary>
    public string? FilePath { get; }

    /// <summary>The node, tensor, input or field at fault, as "tensor 'x'" or "node 'y' (MatMul)".</summary>
    public string? Subject { get; }

    private static string Compose(string? path, string? subject, string message) =>
        (path is null ? "" : path + ": ") + (subject is null ? "" : subject + ": ") + message;
}
