using OrtZo.Onnx;

namespace OrtZo.Tools;

/// <summary>Shape and options of a <see cref="TinyGptBuilder"/> model. The defaults make a ~110k-parameter model.</summary>
internal sealed record TinyGptConfig
{
    public int VocabSize { get; init; } = 96;

    /// <summary>Width of the residual stream (d_model); must divide by <see cref="Heads"/>.</summary>
    public int ModelDim { get; init; } = 64;

    public int Layers { get; init; } = 2;

    public int Heads { get; init; } = 4;

    /// <summary>Rows of the learned position table and side of the causal mask.</summary>
    public int MaxLength { get; init; } = 64;

    public ulong Seed { get; init; } = 1;

    /// <summary>Default-domain opset, 11 or later; LayerNormalization is used from 17, a decomposition before.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>Adds Optimum-style <c>past_key_values.{i}.key/value</c> inputs and <c>present.{i}.*</c> outputs.</summary>
    public bool WithPast { get; init; }

    /// <summary>Takes positions from a <c>position_ids</c> int64 [B,T] input, as Optimum's exports do, instead of deriving them.</summary>
    public bool PositionIdsInput { get; init; }

    /// <summary>
    /// Gives the output head its own initializer <c>lm_head.weight</c> holding the embedding's exact bytes, as some
    /// exports do with tied weights; the importer must fold it back into one input.
    /// </summary>
    public bool DuplicateTiedHead { get; init; }

    /// <summary>
    /// GPT-2's step-0 initialisation (zero biases, unit norm scales). Off by default: small random biases and
    /// norm parameters make every tensor change the output, so a wrongly bound weight shows up in tests.
    /// </summary>
    public bool FreshInit { get; init; }

    /// <summary>Standard deviation of matrices and the token table (GPT-2 uses 0.02).</summary>
    public float InitStd { get; init; } = 0.02f;

    public int HeadDim => ModelDim / Heads;

    internal void Validate()
    {
        if (VocabSize < 2) throw OptionErrors.Fail(OptionError.OutOfRange, "VocabSize", $"{VocabSize}; must be at least 2");
        if (ModelDim < 1 || Heads < 1 || ModelDim % Heads != 0)
            throw OptionErrors.Fail(OptionError.OutOfRange, "ModelDim", $"{ModelDim}; must be a positive multiple of Heads {Heads}");
        if (Layers < 1) throw OptionErrors.Fail(OptionError.OutOfRange, "Layers", $"{Layers}; must be at least 1");
        if (MaxLength < 1) throw OptionErrors.Fail(OptionError.OutOfRange, "MaxLength", $"{MaxLength}; must be at least 1");
        if (Opset < 11) throw OptionErrors.Fail(OptionError.OutOfRange, "Opset", $"{Opset}; must be 11 or later");
    }
}
