namespace OrtZo.Peft;

/// <summary>One reason per way an adapter folder (or a request to open one) can be wrong; each has its own test.</summary>
internal enum AdapterFolderError
{
    /// <summary>ortzo.json names the adapter format but a field has the wrong JSON type (JSON that does not even parse,
    /// or is not an object, is not recognised as an adapter folder and is reported as a model folder's manifest).</summary>
    ManifestInvalidJson,
    /// <summary>The version field is one this OrtZo does not read.</summary>
    UnsupportedVersion,
    /// <summary>The manifest's PEFT scheme is full: there are no adapters to hold.</summary>
    NoAdapters,
    /// <summary>The adapters file named in ortzo.json is not in the folder.</summary>
    AdaptersFileMissing,
    /// <summary>The base model folder the adapters were trained on is gone.</summary>
    BaseMissing,
    /// <summary>The base model's graph or weights changed since the adapters were trained.</summary>
    BaseChanged,
    /// <summary>The options given to open the folder describe other adapters than it holds.</summary>
    OptionsDiffer,
    /// <summary>A folder that already holds adapters (a rewritten graph) was opened as a base model for PEFT.</summary>
    AlreadyRewritten,
}

/// <summary>Builds the <see cref="OrtZoException"/> for an adapter-folder problem: "file: field: message".</summary>
internal static class AdapterErrors
{
    public static OrtZoException Fail(AdapterFolderError reason, string file, string? field, string message, Exception? inner = null)
    {
        var kind = reason == AdapterFolderError.OptionsDiffer ? OrtZoErrorKind.InvalidOption : OrtZoErrorKind.InvalidAdapter;
        return new OrtZoException(kind, reason, $"{file}: {(field is null ? "" : field + ": ")}{message}", file, field, inner: inner);
    }
}
