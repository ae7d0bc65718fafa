using OrtZo.Onnx.Model;
using OrtZo.Onnx.Proto;

namespace OrtZo.Export;

/// <summary>
/// An export's graph before it is written: the base, merged-LoRA or PEFT-rewritten graph with its scoring head
/// removed and every weight an initializer. The plain and GenAI exports start from the same one.
/// </summary>
/// <param name="Model">The graph; the GenAI export rewrites it further in place.</param>
/// <param name="Manifest">The manifest the graph was imported with (the PEFT base's for a PEFT model).</param>
/// <param name="GraphPath">The graph file it was read from, for messages.</param>
/// <param name="SourceFolder">The model folder holding the tokenizer files (the PEFT base for a PEFT model).</param>
/// <param name="Scheme">The PEFT scheme (full when there is none).</param>
/// <param name="LoraMerged">LoRA only: (α/r)·B·A was folded into the base weights.</param>
/// <param name="VirtualTokens">Prompt tuning's virtual tokens in front of the input (0 otherwise).</param>
/// <param name="WeightBytes">Bytes of all weight initializers: above <see cref="ModelExporter.InlineLimit"/> they go to external data.</param>
/// <param name="Parameters">Elements of all weight initializers.</param>
internal sealed record ExportGraph(ModelProto Model, ModelManifest Manifest, string GraphPath, string SourceFolder, PeftScheme Scheme,
    bool LoraMerged, int VirtualTokens, long WeightBytes, long Parameters);
