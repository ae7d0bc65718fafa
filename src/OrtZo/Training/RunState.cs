using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrtZo.Training;

/// <summary>
/// Everything besides the weights and optimizer buffers that a run needs to continue bit for bit
/// (<c>run.json</c> in a checkpoint). The data position and the seeds of any step follow from
/// <see cref="Step"/> and the master seed, so they are recorded for reading, not needed for resuming.
/// </summary>
internal sealed record RunState
{
    public const string FileName = "run.json";
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    /// <summary>Steps completed.</summary>
    public required long Step { get; init; }

    /// <summary>Updates applied (skipped steps excluded): Adam's step count.</summary>
    public required long UpdatesApplied { get; init; }

    public long SkippedSteps { get; init; }
    public long Forwards { get; init; }

    public required ZoOptions Options { get; init; }

    /// <summary>Per slab tensor: Sparse-MeZO threshold or gradient-pruning keep ratio, fixed at the start.</summary>
    public required IReadOnlyList<float> TensorRatios { get; init; }

    /// <summary>Fingerprint of the training data (count and a hash of the examples).</summary>
    public required string DataFingerprint { get; init; }

    /// <summary>The model folder the run trains (informational).</summary>
    public string? Model { get; init; }

    /// <summary>
    /// PEFT runs: the base model (graph and weights hashes) and adapter options the checkpoint's adapters belong to.
    /// The checkpoint holds only the adapters, so a resume against another base model is refused. Null for full runs.
    /// </summary>
    public string? BaseModel { get; init; }

    /// <summary>The caller's own numbers kept with the checkpoint (the CLI's best dev loss and its step).</summary>
    public IReadOnlyDictionary<string, double>? Notes { get; init; }

    /// <summary>Next example of the data order: Step × BatchSize.</summary>
    public long DataPosition => Step * Options.BatchSize;

    public double ElapsedSeconds { get; init; }

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
