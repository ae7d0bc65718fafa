namespace OrtZo.Distributed.Protocol;

/// <summary>The loss of one micro-batch at one probe point. The first report of a task wins; repeats are ignored.</summary>
[GenerateSerializer, Immutable]
public sealed record LossReport(
    [property: Id(0)] string Worker,
    [property: Id(1)] long Step,
    [property: Id(2)] int Phase,
    [property: Id(3)] int MicroBatch,
    [property: Id(4)] double Loss);
