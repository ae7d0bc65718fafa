namespace OrtZo;

/// <summary>What an <see cref="OrtZoException"/> is about: which input the user has to fix.</summary>
public enum OrtZoErrorKind
{
    /// <summary>An option or argument is out of range, contradicts another, or is not known.</summary>
    InvalidOption,
    /// <summary>A file or folder that was named does not exist.</summary>
    NotFound,
    /// <summary>The output exists and replacing it was not asked for, or it would replace an input.</summary>
    OutputExists,
    /// <summary>A model folder (ortzo.json, its graph, its tokenizer) is not what OrtZo writes.</summary>
    InvalidModel,
    /// <summary>An adapter folder is malformed or belongs to another base model.</summary>
    InvalidAdapter,
    /// <summary>A safetensors file is malformed or does not hold what it should.</summary>
    InvalidWeights,
    /// <summary>An ONNX model cannot be read or converted.</summary>
    InvalidOnnx,
    /// <summary>Task data: a malformed line, or an example that cannot be scored.</summary>
    InvalidTaskData,
    /// <summary>A checkpoint is malformed or belongs to another run.</summary>
    InvalidCheckpoint,
    /// <summary>A well-formed input this build cannot handle (a graph pattern, a dtype, a format version).</summary>
    Unsupported,
    /// <summary>The device asked for cannot be used here (no driver, no device, a library missing).</summary>
    DeviceUnavailable,
    /// <summary>Reading or writing a file failed in the operating system.</summary>
    Io,
}

/// <summary>
/// The one exception OrtZo raises for input a user can fix: a bad option, a malformed file, data that cannot be
/// scored, a device that is not there. The message names the file (and line, field, tensor or node) and says what
/// was expected; <see cref="Hint"/> says what to do about it. Anything else OrtZo throws is a bug.
/// </summary>
public sealed class OrtZoException : Exception
{
    internal OrtZoException(OrtZoErrorKind kind, Enum reason, string message, string? file = null, string? subject = null, int? line = null,
        string? hint = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Reason = reason;
        File = file;
        Subject = subject;
        Line = line;
        Hint = hint ?? DefaultHint(kind);
    }

    public OrtZoErrorKind Kind { get; }

    /// <summary>The file or folder at fault, when there is one.</summary>
    public string? File { get; }

    /// <summary>The line of <see cref="File"/> at fault (1-based), for line-oriented files.</summary>
    public int? Line { get; }

    /// <summary>The field, tensor, node or option at fault, when there is one.</summary>
    public string? Subject { get; }

    /// <summary>What to do about it, in one sentence.</summary>
    public string Hint { get; }

    /// <summary>The specific way the input is wrong (one per check; tests hold each to its own case).</summary>
    internal Enum Reason { get; }

    private static string DefaultHint(OrtZoErrorKind kind) => kind switch
    {
        OrtZoErrorKind.InvalidOption => "see `ortzo <command> --help` for the options and their ranges",
        OrtZoErrorKind.NotFound => "check the path",
        OrtZoErrorKind.OutputExists => "choose another output folder, or pass the option that allows replacing it",
        OrtZoErrorKind.InvalidModel => "the model folder must be made by `ortzo import` (see README, \"Model folder format\")",
        OrtZoErrorKind.InvalidAdapter => "an adapter folder is what a PEFT run saves (best/ or final/); its base model folder must be unchanged",
        OrtZoErrorKind.InvalidWeights => "the weights file is not valid safetensors or does not match ortzo.json",
        OrtZoErrorKind.InvalidOnnx => "`ortzo import` expects an ONNX causal LM: input_ids in, logits [batch, seq, vocab] out",
        OrtZoErrorKind.InvalidTaskData => "see README, \"Task data\", for the layouts each --task reads",
        OrtZoErrorKind.InvalidCheckpoint => "a checkpoint is the checkpoint/ folder of a run; resume with the options and data it was started with",
        OrtZoErrorKind.Unsupported => "see README for what this version supports",
        OrtZoErrorKind.DeviceUnavailable => "see `ortzo doctor` for what this machine offers, or use --device cpu",
        OrtZoErrorKind.Io => "check free disk space and permissions",
        _ => "see README",
    };
}
