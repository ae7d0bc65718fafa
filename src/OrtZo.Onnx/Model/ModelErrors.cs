namespace OrtZo.Onnx.Model;

/// <summary>One reason per way a model folder can be wrong; each has its own test.</summary>
internal enum ModelFolderError
{
    /// <summary>The folder does not exist.</summary>
    FolderMissing,
    /// <summary>The folder has no ortzo.json.</summary>
    ManifestMissing,
    /// <summary>ortzo.json is not JSON, or a field has the wrong JSON type.</summary>
    ManifestInvalidJson,
    /// <summary>ortzo.json is the JSON literal null.</summary>
    ManifestEmpty,
    /// <summary>The format field names another format.</summary>
    WrongFormat,
    /// <summary>The version field is one this OrtZo does not read.</summary>
    UnsupportedVersion,
    /// <summary>The graph or weights file named in ortzo.json is not in the folder.</summary>
    FileMissing,
    /// <summary>weight_inputs is empty.</summary>
    NoWeights,
    /// <summary>Two weight inputs share a name.</summary>
    DuplicateWeight,
    /// <summary>A weight's dtype is not f32, f16 or bf16.</summary>
    InvalidDType,
    /// <summary>A weight's shape has a dimension that is not positive.</summary>
    InvalidShape,
    /// <summary>A weight names a group the groups list lacks.</summary>
    UnknownGroup,
    /// <summary>A tokenizer file named in ortzo.json is not in the folder.</summary>
    TokenizerFileMissing,
    /// <summary>The tokenizer kind is one OrtZo cannot read, or its files are malformed.</summary>
    InvalidTokenizer,
    /// <summary>max_length is below 2.</summary>
    MaxLengthTooSmall,
    /// <summary>ONNX Runtime cannot load the graph.</summary>
    GraphUnloadable,
    /// <summary>A weight in ortzo.json is not a graph input, or has another type or shape there.</summary>
    WeightMismatch,
    /// <summary>The graph has inputs ortzo.json does not describe, or lacks a data input it names.</summary>
    InputMismatch,
    /// <summary>The graph lacks the scoring outputs `ortzo import` appends, or the logits a command needs.</summary>
    OutputMissing,
}

/// <summary>Builds the <see cref="OrtZoException"/> for a model-folder problem: "file: field: message".</summary>
internal static class ModelErrors
{
    public static OrtZoException Fail(ModelFolderError reason, string file, string? field, string message, Exception? inner = null)
    {
        var kind = reason == ModelFolderError.FolderMissing ? OrtZoErrorKind.NotFound : OrtZoErrorKind.InvalidModel;
        return new OrtZoException(kind, reason, $"{file}: {(field is null ? "" : field + ": ")}{message}", file, field, inner: inner);
    }
}
