using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>How the engine treats one slab tensor during training.</summary>
internal sealed record TrainableTensor
{
    public required SlabSlot Slot { get; init; }

    public required MaskKind Mask { get; init; }

    /// <summary>Magnitude masks: elements with |θ| ≤ Threshold move. Fixed once, at the start of the run.</summary>
    public float Threshold { get; init; }

    /// <summary>Random masks: probability an element moves in a step.</summary>
    public float KeepRatio { get; init; } = 1f;

    /// <summary>Whether the weight-decay term applies (MeZO: not on biases and norms).</summary>
    public bool Decay { get; init; }

    /// <summary>Index of this tensor's first element in the optimizer-state buffers.</summary>
    public long StateBase { get; init; }

    /// <summary>Parameter block (e.g. "layers.3").</summary>
    public required string Group { get; init; }

    public bool IsTrainable => Mask != MaskKind.Frozen;
}
