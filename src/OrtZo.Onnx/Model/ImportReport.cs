namespace OrtZo.Onnx.Model;

/// <summary>What an import produced and every decision worth showing the user.</summary>
internal sealed record ImportReport
{
    public required string OutputFolder { get; init; }

    public required ModelManifest Manifest { get; init; }

    /// <summary>Float tensors left as initializers, with the rule that kept each.</summary>
    public required IReadOnlyList<(string Name, string Reason)> KeptInitializers { get; init; }

    /// <summary>Past key/value inputs replaced by empty tensors and present outputs dropped.</summary>
    public required IReadOnlyList<string> RemovedCacheValues { get; init; }

    /// <summary>Other outputs of the source the folder's graph no longer has.</summary>
    public required IReadOnlyList<string> DroppedOutputs { get; init; }

    /// <summary>Weights the importer could not make trainable (inside subgraphs, sparse).</summary>
    public required IReadOnlyList<string> FrozenWeights { get; init; }

    /// <summary>Free-form notes: weights found in Constant nodes, ties folded, verification skipped, ...</summary>
    public required IReadOnlyList<string> Notes { get; init; }
}
