namespace OrtZo.Distributed.Protocol;

/// <summary>
/// Everything that fixes a distributed run. Workers load the model and data from these paths themselves and
/// recompute <see cref="SpecHash"/>; a worker whose hash differs is refused (another model, data or settings).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RunSpec
{
    [Id(0)] public required string RunId { get; init; }
    [Id(1)] public required string ModelPath { get; init; }
    [Id(2)] public required string DataPath { get; init; }
    [Id(3)] public required string Task { get; init; }
    /// <summary>Use only the first this many training examples (0 = all).</summary>
    [Id(4)] public int TrainExamples { get; init; }
    /// <summary>The ZoOptions, as run.json writes them.</summary>
    [Id(5)] public required string OptionsJson { get; init; }
    [Id(6)] public DistributionMode Mode { get; init; }
    /// <summary>Checkpoints, the final model and replica reports go here; every worker must reach it.</summary>
    [Id(7)] public required string RunDirectory { get; init; }
    /// <summary>How long a worker holds a task before it is handed to another.</summary>
    [Id(8)] public int LeaseMilliseconds { get; init; } = 2000;
    /// <summary>Workers report a weights digest every this many steps (0 = never).</summary>
    [Id(9)] public int DigestEvery { get; init; } = 10;
    /// <summary>One worker writes a checkpoint every this many steps, and at the end (0 = only at the end).</summary>
    [Id(10)] public int CheckpointEvery { get; init; } = 100;
    [Id(11)] public required string SpecHash { get; init; }
}
