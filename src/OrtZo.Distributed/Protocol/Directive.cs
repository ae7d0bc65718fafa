namespace OrtZo.Distributed.Protocol;

public enum DirectiveKind
{
    /// <summary>Score micro-batch <see cref="Directive.MicroBatch"/> at the current weights and report it.</summary>
    Evaluate,
    /// <summary>The phase is complete: <see cref="Directive.Loss"/> is its loss.</summary>
    PhaseClosed,
    /// <summary>Others hold every open task of the phase: ask again shortly.</summary>
    Wait,
    /// <summary>Query-parallel: nothing left to take here; move on and resolve the loss at the end of the step.</summary>
    Pass,
    /// <summary>The step is in the log: read it (catch-up).</summary>
    Committed,
    /// <summary>The replica is out of line (diverged digest or an impossible position): reload and rejoin.</summary>
    Reload,
    /// <summary>The run has all its steps.</summary>
    Done,
}

/// <summary>The coordinator's answer to a poll.</summary>
[GenerateSerializer, Immutable]
public sealed record Directive(
    [property: Id(0)] DirectiveKind Kind,
    [property: Id(1)] int MicroBatch = -1,
    [property: Id(2)] double Loss = double.NaN)
{
    public static Directive Of(DirectiveKind kind) => new(kind);
}
