namespace OrtZo;

/// <summary>Ways an option or argument can be wrong.</summary>
internal enum OptionError
{
    /// <summary>A value outside the option's range.</summary>
    OutOfRange,
    /// <summary>Options that cannot be combined.</summary>
    Conflict,
    /// <summary>A name the option does not know (an optimizer, a task, a device).</summary>
    UnknownValue,
    /// <summary>An argument the API call cannot use (empty data, a model already being trained).</summary>
    Unusable,
}

/// <summary>Ways a device can be unusable.</summary>
internal enum DeviceError
{
    /// <summary>No CUDA driver library, or no CUDA device.</summary>
    NoDriver,
    /// <summary>The device is there, but this build cannot use it (no CUDA execution provider, or no CUDA backend).</summary>
    NotInThisBuild,
    /// <summary>A CUDA library the execution provider needs is not found.</summary>
    LibraryMissing,
    /// <summary>ONNX Runtime refused to add the CUDA execution provider.</summary>
    ProviderFailed,
    /// <summary>A weight input would be read in host memory by a node that fell back to the CPU.</summary>
    CpuFallback,
}

/// <summary>Builds the <see cref="OrtZoException"/>s for options, arguments and devices.</summary>
internal static class OptionErrors
{
    /// <param name="option">The option's name as the user wrote it: a CLI flag ("--lr"), whose message reads on from
    /// it ("--lr must be finite"), or an API property ("LearningRate"), named as "option LearningRate: …".</param>
    public static OrtZoException Fail(OptionError reason, string option, string message) =>
        new(OrtZoErrorKind.InvalidOption, reason, option.StartsWith("--", StringComparison.Ordinal) ? $"{option} {message}" : $"option {option}: {message}", subject: option);

    public static OrtZoException Device(DeviceError reason, string message) =>
        new(OrtZoErrorKind.DeviceUnavailable, reason, message, subject: "device");
}
