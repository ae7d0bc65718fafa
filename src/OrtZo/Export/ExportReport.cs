namespace OrtZo;

/// <summary>What <see cref="ZoModel.Export"/> wrote.</summary>
/// <param name="Folder">The export folder.</param>
/// <param name="Files">Files written, relative to the folder (model.onnx, model.onnx.data when large, tokenizer files, export.json).</param>
/// <param name="Parameters">Elements of all weight initializers in the exported graph.</param>
/// <param name="Scheme">The PEFT scheme of the model exported (full when there was none).</param>
/// <param name="LoraMerged">LoRA only: whether (α/r)·B·A was folded into the base weights.</param>
public sealed record ExportReport(string Folder, IReadOnlyList<string> Files, long Parameters, PeftScheme Scheme, bool LoraMerged)
{
    /// <summary>
    /// With <see cref="ExportOptions.LoraAdapter"/>: the ONNX Runtime adapter file written for this run (full path);
    /// null otherwise. When the folder already held the base, <see cref="Files"/> lists only this file.
    /// </summary>
    public string? AdapterFile { get; init; }
}
