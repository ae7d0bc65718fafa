namespace OrtZo;

/// <summary>The form an export takes.</summary>
internal enum ExportFormat
{
    /// <summary>A plain ONNX causal LM (input_ids [+ attention_mask, position_ids] → logits), no KV cache: what ONNX Runtime loads.</summary>
    Onnx,
    /// <summary>An onnxruntime-genai model folder: genai_config.json, a decoder with past/present KV inputs and outputs, tokenizer.json + tokenizer_config.json.</summary>
    GenAi,
}

/// <summary>
/// How <see cref="ZoModel.Export(string, ExportOptions)"/> writes a tuned model. Internal: the public surface is held to
/// twenty types, so the public <see cref="ZoModel.Export(string, bool, bool, bool, string?)"/> takes these as parameters.
/// </summary>
internal sealed record ExportOptions
{
    /// <summary>Plain ONNX or a GenAI model folder.</summary>
    public ExportFormat Format { get; init; } = ExportFormat.Onnx;

    /// <summary>LoRA: fold (α/r)·B·A into the base weights (true) or keep the low-rank branch in the graph.</summary>
    public bool MergeLora { get; init; } = true;

    /// <summary>
    /// LoRA: write the base model once with the LoRA A/B tensors as optional inputs (zero initializers) and this run's
    /// tensors as an ONNX Runtime adapter file (<c>.onnx_adapter</c>) beside it; a folder that already holds a base
    /// export of the same base model, LoRA layout and <see cref="Format"/> only gains the adapter file. With
    /// <see cref="ExportFormat.GenAi"/> the base is a GenAI folder and GenAI's Adapters.LoadAdapter reads the file.
    /// </summary>
    public bool LoraAdapter { get; init; }

    /// <summary>The adapter file's name (without <c>.onnx_adapter</c>); null: the run folder's name.</summary>
    public string? AdapterName { get; init; }
}
