namespace OrtZo.Distributed.Protocol;

/// <summary>What the progress view shows about one worker.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerStatus(
    [property: Id(0)] string Worker,
    [property: Id(1)] string Device,
    [property: Id(2)] long Step,
    [property: Id(3)] int Phase,
    [property: Id(4)] double SecondsSinceSeen,
    [property: Id(5)] double StepsPerSecond,
    [property: Id(6)] bool Quarantined,
    [property: Id(7)] long TasksEvaluated);

/// <summary>The run as the coordinator sees it.</summary>
[GenerateSerializer, Immutable]
public sealed record RunStatus(
    [property: Id(0)] bool Started,
    [property: Id(1)] long Head,
    [property: Id(2)] long TotalSteps,
    [property: Id(3)] int PhasesClosed,
    [property: Id(4)] double LastLoss,
    [property: Id(5)] double StepsPerSecond,
    [property: Id(6)] WorkerStatus[] Workers,
    [property: Id(7)] CheckpointMark? LatestCheckpoint,
    [property: Id(8)] string CoordinatorSilo,
    [property: Id(9)] long JournalEvents);
