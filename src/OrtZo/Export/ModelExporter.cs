using System.Text.Json;
using Google.Protobuf;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.Peft;
using OrtZo.Onnx.Peft;
using OrtZo.WeightStore;

namespace OrtZo.Export;

/// <summary>
/// <c>ortzo export</c>: turns a tuned model back into a standard ONNX causal LM that plain ONNX Runtime loads:
/// <code>
/// model.onnx          the graph with the scoring head removed (no label_mask input, no sum/mean outputs),
///                     inputs as the import kept them (input_ids [+ attention_mask] [+ position_ids]), output logits
///                     [B, T, V], every weight an initializer holding its tuned value
/// model.onnx.data     the initializers' bytes when the model would not fit a 2 GiB protobuf (4096-aligned external data)
/// tokenizer files     copied from the model (or base model) folder
/// export.json         provenance and the tokenizer settings ortzo.json held (kind, BOS/EOS/pad ids, add_bos)
/// </code>
/// PEFT models: LoRA is merged into the base weights by default (W' = W + (α/r)·B·A, see <see cref="LoraMerge"/>),
/// leaving the original graph; unmerged LoRA, prefix and prompt models keep their rewritten graph with the learned
/// tensors as initializers (prompt tuning's logits are sliced back to the T real positions). The folder is
/// written beside the destination and renamed into place. The GenAI form (<see cref="GenAiFolderExport"/>) starts
/// from the same graph (<see cref="BuildGraph"/>) and adds a KV cache to it.
/// </summary>
internal static class ModelExporter
{
    public const string GraphFile = "model.onnx";
    public const string DataFile = "model.onnx.data";
    public const string DescriptionFile = "export.json";

    /// <summary>Above this, initializers go to <see cref="DataFile"/>: protobuf messages stop at 2 GiB.</summary>
    internal const long InlineLimit = 1L << 30;

    public static ExportReport Export(ZoModel model, string destination, ExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string target = Path.GetFullPath(destination).TrimEnd(Path.DirectorySeparatorChar);
        var sourceFolders = new[] { model.Folder.Path, model.FolderPath, model.PeftState?.BaseFolder.Path };
        if (sourceFolders.Any(f => f is not null && string.Equals(Path.GetFullPath(f).TrimEnd(Path.DirectorySeparatorChar), target, StringComparison.Ordinal)))
            throw new OrtZoException(OrtZoErrorKind.OutputExists, OnnxError.OutputExists, $"{target}: the export must not replace the folder it reads from", target);
        if (File.Exists(target)) throw new OrtZoException(OrtZoErrorKind.OutputExists, OnnxError.OutputExists, $"{target} is a file; the export goes into a folder", target);
        if (options.Format == ExportFormat.GenAi) GenAiFolderExport.CheckScheme(model);
        if (options.LoraAdapter) return LoraAdapterExport.Export(model, target, options);

        var graph = BuildGraph(model, options.MergeLora);
        if (options.Format == ExportFormat.GenAi) return GenAiFolderExport.Write(model, graph, target);
        // the record of an emptied cache is for the KV-cached forms; a plain export has no cache to restore
        KvCacheRestore.Forget(graph.Model);

        var files = new List<string>();
        ModelFolder.WriteDirectory(target, temp =>
        {
            WriteGraph(graph.Model, graph.WeightBytes, temp, files);
            foreach (string file in graph.Manifest.Tokenizer.Files)
            {
                string to = Path.Combine(temp, file);
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(Path.Combine(graph.SourceFolder, file), to);
                files.Add(file);
            }
            WriteDescription(temp, model, graph, "onnx");
            files.Add(DescriptionFile);
        });
        return new ExportReport(target, files, graph.Parameters, graph.Scheme, graph.LoraMerged);
    }

    /// <summary>
    /// The graph both export forms start from: the model's own graph (full tuning), the base graph with LoRA merged,
    /// or the PEFT-rewritten graph with its learned tensors; scoring head removed, every weight an initializer
    /// holding its tuned value.
    /// </summary>
    internal static ExportGraph BuildGraph(ZoModel model, bool mergeLora)
    {
        var peft = model.PeftState;
        var tuned = model.ReadWeights();
        var manifest = peft?.BaseFolder.Manifest ?? model.Folder.Manifest;
        string graphPath = peft?.BaseFolder.GraphPath ?? model.Folder.GraphPath;
        var scheme = peft?.Options.Scheme ?? PeftScheme.Full;
        bool merged = scheme == PeftScheme.Lora && mergeLora;
        string logits = manifest.Outputs.Logits
            ?? throw ModelErrors.Fail(ModelFolderError.OutputMissing, Path.Combine(peft?.BaseFolder.Path ?? model.Folder.Path, ModelManifest.FileName), "outputs.logits",
                "the graph's logits output was dropped at import; there is nothing to export");

        ModelProto proto;
        var weights = new List<(string Name, DType DType, long[] Shape, byte[] Bytes)>();
        int virtualTokens = 0;
        using var baseWeights = peft is null ? null : SafetensorsFile.Open(peft.BaseFolder.WeightsPath);
        if (peft is null)
        {
            proto = OnnxModelFile.Parse(File.ReadAllBytes(graphPath), graphPath);
            foreach (var slot in tuned.Layout.Slots)
                weights.Add((slot.Spec.Name, slot.DType, slot.Spec.Shape.ToArray(), tuned.Bytes(slot.Index).ToArray()));
        }
        else if (merged)
        {
            proto = OnnxModelFile.Parse(File.ReadAllBytes(graphPath), graphPath);
            var sites = LoraSites.Find(proto.Graph, manifest, peft.Options.LoraTargets, graphPath).ToDictionary(s => s.Weight, StringComparer.Ordinal);
            var quantized = sites.Values.Where(s => s.Quantized).Select(s => s.Weight).ToList();
            if (quantized.Count > 0)
                throw OnnxErrors.Fail(OnnxError.Unsupported, graphPath, "LoRA merge",
                    $"LoRA adapts {quantized.Count} quantized projection(s) ({string.Join(", ", quantized.Take(4))}{(quantized.Count > 4 ? ", …" : "")}), " +
                    "whose frozen integer weights cannot absorb the adapters; export without --merge-lora to keep the LoRA branch");
            foreach (var w in manifest.WeightInputs)
            {
                var entry = baseWeights!.Get(w.Name);
                byte[] bytes = baseWeights.GetBytes(entry).ToArray();
                if (sites.TryGetValue(w.Name, out var site))
                {
                    var values = baseWeights.ReadAsFloat32(w.Name);
                    LoraMerge.Apply(values, site.Layout, site.InFeatures, site.OutFeatures,
                        tuned.ReadFloat32(tuned.Layout.IndexOf(site.AName)), tuned.ReadFloat32(tuned.Layout.IndexOf(site.BName)),
                        peft.Options.LoraRank, peft.Options.LoraAlpha / peft.Options.LoraRank);
                    FloatConversions.FromFloat32(values, entry.Spec.DType, bytes);
                }
                weights.Add((w.Name, entry.Spec.DType, entry.Spec.Shape.ToArray(), bytes));
            }
        }
        else
        {
            var rewritten = PeftRewriter.Apply(peft.BaseFolder, peft.Options, model.Threads);
            proto = rewritten.Model;
            virtualTokens = rewritten.VirtualTokens;
            foreach (var w in manifest.WeightInputs)
            {
                var entry = baseWeights!.Get(w.Name);
                weights.Add((w.Name, entry.Spec.DType, entry.Spec.Shape.ToArray(), baseWeights.GetBytes(entry).ToArray()));
            }
            foreach (var slot in tuned.Layout.Slots)
                weights.Add((slot.Spec.Name, slot.DType, slot.Spec.Shape.ToArray(), tuned.Bytes(slot.Index).ToArray()));
        }

        RemoveScoringHead(proto, manifest, logits, virtualTokens, graphPath);
        foreach (var (name, dtype, shape, bytes) in weights)
        {
            var input = proto.Graph.Input.FirstOrDefault(i => i.Name == name)
                ?? throw new InvalidOperationException($"weight '{name}' is not a graph input of {graphPath}");
            proto.Graph.Input.Remove(input);
            proto.Graph.Initializer.Add(TensorData.FromBytes(name, OnnxElementType.FromDType(dtype), shape, bytes));
        }
        proto.ProducerName = "ortzo-export";
        proto.ProducerVersion = "1";
        return new ExportGraph(proto, manifest, graphPath, peft?.BaseFolder.Path ?? model.Folder.Path, scheme, merged, virtualTokens,
            weights.Sum(w => (long)w.Bytes.Length), weights.Sum(w => w.Shape.Aggregate(1L, (a, b) => a * b)));
    }

    /// <summary>Writes <see cref="GraphFile"/> into <paramref name="folder"/>, with <see cref="DataFile"/> beside it when the weights pass <see cref="InlineLimit"/>.</summary>
    internal static void WriteGraph(ModelProto proto, long weightBytes, string folder, List<string> files)
    {
        if (weightBytes < InlineLimit) AtomicFile.Write(Path.Combine(folder, GraphFile), stream => proto.WriteTo(stream));
        else OnnxModelWriter.WriteWithExternalData(proto, Path.Combine(folder, GraphFile), DataFile);
        files.Add(GraphFile);
        if (weightBytes >= InlineLimit) files.Add(DataFile);
    }

    /// <summary><see cref="DescriptionFile"/>: provenance, the graph's inputs and outputs, and the tokenizer settings ortzo.json held.</summary>
    internal static void WriteDescription(string folder, ZoModel model, ExportGraph graph, string exportFormat)
    {
        var peft = model.PeftState;
        AtomicFile.WriteAllText(Path.Combine(folder, DescriptionFile), JsonSerializer.Serialize(new
        {
            format = "ortzo-export",
            version = 1,
            export_format = exportFormat,
            source = model.FolderPath,
            peft = peft is null ? null : System.Text.Json.Nodes.JsonNode.Parse(peft.Options.AdapterIdentity()),
            lora_merged = graph.LoraMerged,
            inputs = graph.Model.Graph.Input.Select(i => i.Name).ToList(),
            outputs = graph.Model.Graph.Output.Select(o => o.Name).ToList(),
            architecture = graph.Manifest.Architecture,
            max_length = graph.Manifest.MaxLength - graph.VirtualTokens,
            vocab_size = graph.Manifest.VocabSize,
            tokenizer = graph.Manifest.Tokenizer,
        }, ModelManifest.Json) + "\n");
    }

    /// <summary>
    /// Drops label_mask and the sum/mean outputs with every node only they needed. With virtual tokens in front
    /// (prompt tuning), the logits output becomes a Slice that keeps the T real positions.
    /// </summary>
    internal static void RemoveScoringHead(ModelProto model, ModelManifest manifest, string logits, int virtualTokens, string path)
    {
        var graph = model.Graph;
        foreach (string name in new[] { manifest.Outputs.SumLogprob, manifest.Outputs.MeanLogprob })
        {
            var output = graph.Output.FirstOrDefault(o => o.Name == name);
            if (output is not null) graph.Output.Remove(output);
        }
        if (graph.Output.All(o => o.Name != logits))
            throw OnnxErrors.Fail(OnnxError.NotACausalLm, path, $"output '{logits}'", "ortzo.json names it as the logits, but the graph has no such output");
        if (virtualTokens > 0)
        {
            var g = new GraphBuilder(graph, ModelOpset.Default(model), "ortzo_export/");
            var producer = graph.Node.First(n => n.Output.Contains(logits));
            string withVirtual = GraphSurgery.RenameProducedValue(g, producer, logits, "logits_with_virtual_tokens");
            GraphSurgery.RedirectReads(graph, logits, withVirtual);
            g.Node("Slice", [withVirtual, g.Int64s("starts", virtualTokens), g.Int64s("ends", long.MaxValue), g.Int64s("axes", 1)], logits);
        }
        DeadNodeElimination.Apply(graph);
        string labels = manifest.Inputs.LabelMask;
        if (graph.Node.Any(n => n.Input.Contains(labels)))
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"input '{labels}'", "still read after the scoring head was removed; the graph is not one `ortzo import` wrote");
        var labelInput = graph.Input.FirstOrDefault(i => i.Name == labels);
        if (labelInput is not null) graph.Input.Remove(labelInput);
    }
}
