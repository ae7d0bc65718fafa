namespace OrtZo.Onnx.Model;

/// <summary>How deeply <see cref="CausalLmImporter"/> checks the folder it wrote before publishing it.</summary>
internal enum ImportVerification
{
    /// <summary>Graph and weights file checked against the manifest (names, dtypes, shapes, no input/initializer clash).</summary>
    Structure,
    /// <summary>Structure, plus ORT loads the graph and reports every weight as an input with the manifest's type and shape.</summary>
    Session,
    /// <summary>Session, plus one scoring forward on CPU with the weights bound; the scores must be finite.</summary>
    Forward,
}

/// <summary>Options of <see cref="CausalLmImporter.Import"/>; the defaults suit a standard torch/Optimum export.</summary>
internal sealed record ImportOptions
{
    /// <summary>Replace an existing output folder (it is swapped out only after the new one is complete).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Regular expressions (matched anywhere in the name) of float tensors that must stay initializers.</summary>
    public IReadOnlyList<string> KeepAsInitializer { get; init; } = [];

    /// <summary>
    /// Fold float tensors with identical shape and bytes (or one the exact transpose of another) into one input.
    /// Tensors whose elements are all equal (zero biases, unit norm scales) are never folded: equal values
    /// there are a coincidence of initialisation, not a tie.
    /// </summary>
    public bool CollapseTiedWeights { get; init; } = true;

    /// <summary>
    /// The tokenizer to record, instead of discovering one beside the source. Its <c>Files</c> are replaced by
    /// the names of <see cref="TokenizerFiles"/> as copied into the folder.
    /// </summary>
    public TokenizerInfo? Tokenizer { get; init; }

    /// <summary>Files to copy into the folder with <see cref="Tokenizer"/> (paths; copied under their file names).</summary>
    public IReadOnlyList<string> TokenizerFiles { get; init; } = [];

    /// <summary>Override the special-token ids found in the source's config files.</summary>
    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public int? PadId { get; init; }

    /// <summary>Override the detected architecture name.</summary>
    public string? Architecture { get; init; }

    /// <summary>Override the detected maximum sequence length.</summary>
    public int? MaxLength { get; init; }

    public ImportVerification Verify { get; init; } = ImportVerification.Session;
}
