using OrtZo.Onnx.Model;
using OrtZo.Tokenization;

namespace OrtZo.Export;

/// <summary>
/// <c>ortzo export --format genai</c>: an onnxruntime-genai model folder.
/// <code>
/// model.onnx (+ .data)     the export graph (<see cref="ModelExporter.BuildGraph"/>) with a KV cache (<see cref="KvCachedGraph"/>):
///                          the source's own cache restored, or past_key_values.%d.key/value in and present.%d.key/value
///                          out beside the logits added by rewrite
/// genai_config.json        see <see cref="GenAiConfig"/>
/// tokenizer.json           the tokenizer in Hugging Face's form (<see cref="HfTokenizerFiles"/>), which GenAI reads
/// tokenizer_config.json
/// export.json              as for a plain export, with export_format "genai"
/// </code>
/// Prompt tuning is refused: its virtual tokens are spliced in front of the input of every forward pass, and with a
/// cache every generated token is a forward pass of its own.
/// </summary>
internal static class GenAiFolderExport
{
    /// <summary>Refuses what cannot become a cached decoder, before any graph is built.</summary>
    public static void CheckScheme(ZoModel model)
    {
        if (model.PeftState?.Options.Scheme == PeftScheme.Prompt)
            throw OptionErrors.Fail(OptionError.Conflict, nameof(ExportOptions.Format),
                $"GenAI cannot take a prompt-tuned model ({model.FolderPath}, PEFT scheme \"prompt\"): its virtual tokens go in front of " +
                "every forward pass, and with a KV cache each generated token is a forward pass that would insert them again. " +
                "Export it in the plain ONNX form, or tune with the prefix scheme, whose learned keys and values a cache keeps");
    }

    public static ExportReport Write(ZoModel model, ExportGraph graph, string target)
    {
        var layout = KvCachedGraph.Apply(graph.Model, model, graph.GraphPath);
        string modelType = GenAiConfig.ModelType(graph.Manifest.Architecture, layout);
        var files = new List<string>();
        ModelFolder.WriteDirectory(target, temp =>
        {
            ModelExporter.WriteGraph(graph.Model, graph.WeightBytes, temp, files);
            GenAiConfig.Write(Path.Combine(temp, GenAiConfig.FileName), ModelExporter.GraphFile, graph.Manifest, layout, modelType);
            files.Add(GenAiConfig.FileName);
            // A model without a tokenizer still generates from token ids; GenAI only reads these files for its Tokenizer.
            if (graph.Manifest.Tokenizer.Kind != TextTokenizer.NoneKind)
                files.AddRange(HfTokenizerFiles.Write(graph.SourceFolder, graph.Manifest.Tokenizer, temp));
            ModelExporter.WriteDescription(temp, model, graph, "genai");
            files.Add(ModelExporter.DescriptionFile);
        });
        return new ExportReport(target, files, graph.Parameters, graph.Scheme, graph.LoraMerged);
    }
}
