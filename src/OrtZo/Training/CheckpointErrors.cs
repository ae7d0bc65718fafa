namespace OrtZo.Training;

/// <summary>One reason per way a checkpoint (or a request to resume from it) can be wrong; each has its own test.</summary>
internal enum CheckpointError
{
    /// <summary>The folder holds no run.json.</summary>
    NoCheckpoint,
    /// <summary>run.json is not JSON, or a field has the wrong JSON type.</summary>
    InvalidJson,
    /// <summary>run.json is the JSON literal null.</summary>
    Empty,
    /// <summary>The version field is one this OrtZo does not read.</summary>
    UnsupportedVersion,
    /// <summary>The options to resume with differ from the run's in more than the step count.</summary>
    OptionsDiffer,
    /// <summary>The model (or its PEFT base and adapters) is not the one the run trained.</summary>
    ModelDiffers,
    /// <summary>The training data is not the run's.</summary>
    DataDiffers,
    /// <summary>The per-tensor thresholds do not match the model's tensors.</summary>
    ThresholdsMismatch,
    /// <summary>The folder already holds a run and resuming was not asked for.</summary>
    RunExists,
    /// <summary>The checkpoint's files do not hash to what the distributed run's log recorded.</summary>
    DigestMismatch,
}

/// <summary>Builds the <see cref="OrtZoException"/> for a checkpoint problem: "file: field: message".</summary>
internal static class CheckpointErrors
{
    public static OrtZoException Fail(CheckpointError reason, string file, string? field, string message, Exception? inner = null, string? hint = null)
    {
        var kind = reason switch
        {
            CheckpointError.NoCheckpoint => OrtZoErrorKind.NotFound,
            CheckpointError.RunExists => OrtZoErrorKind.OutputExists,
            _ => OrtZoErrorKind.InvalidCheckpoint,
        };
        return new OrtZoException(kind, reason, $"{file}: {(field is null ? "" : field + ": ")}{message}", file, field, hint: hint, inner: inner);
    }
}
