using System.Text.Json;
using OrtZo.Training;
using OrtZo.WeightStore;

namespace OrtZo.Cli.Sweep;

/// <summary>What one trial measured at the end of one rung.</summary>
internal sealed record RungResult
{
    public required int Rung { get; init; }
    public required long Steps { get; init; }
    public double? BestDevLoss { get; init; }
    /// <summary>Dev accuracy of the best-by-dev-loss model.</summary>
    public double? DevAccuracy { get; init; }
    public long? BestStep { get; init; }
    public required long Forwards { get; init; }
    public string? StoppedReason { get; init; }
    public required double Seconds { get; init; }
}

/// <summary>One trial: a configuration and the rungs it has finished.</summary>
internal sealed record TrialRecord
{
    public required string Name { get; init; }
    public required int Bracket { get; init; }
    public required double Lr { get; init; }
    public required double Eps { get; init; }
    public List<RungResult> Rungs { get; init; } = [];
    /// <summary>Why the trial went no further (set when its bracket is decided).</summary>
    public string? Outcome { get; set; }
}

/// <summary>
/// <c>sweep.json</c>: the sweep's spec, every trial's rung results and, once finished, the winner. Rewritten atomically
/// after each trial segment, so a killed sweep knows what it has done; the trials' own checkpoints hold the rest.
/// </summary>
internal sealed record SweepState
{
    public const string FileName = "sweep.json";

    /// <summary>The options that decide what the trials compute; a resumed sweep must have the same.</summary>
    public required JsonElement Spec { get; init; }
    public required List<TrialRecord> Trials { get; init; }
    public string? Winner { get; set; }
    public long TotalForwards { get; set; }
    public double? WinnerTestAccuracy { get; set; }
    public double? WinnerTestLoss { get; set; }
    public bool Finished { get; set; }

    public static SweepState? Read(string outDir)
    {
        string path = Path.Combine(outDir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<SweepState>(File.ReadAllText(path), RunState.Json)
                   ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw OptionErrors.Fail(OptionError.Unusable, "--resume", $"cannot read {path}: {e.Message}; start the sweep in a new --out");
        }
    }

    public void Write(string outDir) => AtomicFile.WriteAllText(Path.Combine(outDir, FileName), JsonSerializer.Serialize(this, RunState.Json) + "\n");
}
