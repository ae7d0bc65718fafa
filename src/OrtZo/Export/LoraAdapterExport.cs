using System.Text.Json;
using Google.Protobuf;
using OrtZo.Onnx;
using OrtZo.Onnx.Adapters;
using OrtZo.Onnx.Model;
using OrtZo.Onnx.Proto;
using OrtZo.Peft;
using OrtZo.Tokenization;
using OrtZo.WeightStore;

namespace OrtZo.Export;

/// <summary>
/// <c>ortzo export --lora-adapter</c>: one adapter-ready base folder shared by many LoRA runs, and one ONNX Runtime
/// adapter file per run.
/// <code>
/// model.onnx (+ .data)   the LoRA-rewritten base graph, scoring head removed, base weights as initializers; every
///                        A/B stays a graph input and also gets an all-zero initializer of the same name, so ORT
///                        treats it as optional: fed nothing, the branch adds x·0·0 and the graph is the base model
/// &lt;name&gt;.onnx_adapter    this run's A and (α/r)·B under the input names (see <see cref="OrtAdapterFile"/>)
/// export.json            as for a plain export, plus "lora_adapter": the <see cref="LoraAdapterLayout"/>
/// tokenizer files
/// </code>
/// In the GenAI form the base graph also gets <see cref="KvCachedGraph"/>'s cache and the folder is a GenAI model
/// folder (genai_config.json, tokenizer.json + tokenizer_config.json, see <see cref="GenAiFolderExport"/>); GenAI's
/// <c>Adapters.LoadAdapter</c> reads the same adapter files, and feeds them as ONNX Runtime active adapters.
/// A folder that already holds a base of the same layout and form only gains the adapter file; any other non-empty
/// folder is refused rather than replaced, since replacing it would drop the adapters other runs wrote there.
/// </summary>
internal static class LoraAdapterExport
{
    public static ExportReport Export(ZoModel model, string target, ExportOptions options)
    {
        var peft = model.PeftState;
        if (peft is null || peft.Options.Scheme != PeftScheme.Lora)
            throw OptionErrors.Fail(OptionError.Conflict, nameof(ExportOptions.LoraAdapter),
                $"writes a LoRA run's adapters; {model.FolderPath} is a {(peft?.Options.Scheme ?? PeftScheme.Full).ToString().ToLowerInvariant()} model");
        string name = AdapterName(options.AdapterName, model.FolderPath);
        string adapterFile = name + OrtAdapterFile.Extension;
        var tuned = model.ReadWeights();
        var layout = new LoraAdapterLayout
        {
            BaseGraphSha256 = peft.Identity.GraphSha256,
            BaseWeightsSha256 = peft.Identity.WeightsSha256,
            LoraRank = peft.Options.LoraRank,
            LoraTargets = peft.Options.LoraTargets,
            Tensors = tuned.Layout.Slots.Select(s => new LoraAdapterTensor(s.Spec.Name, s.Spec.Shape.ToArray(), s.DType.ToShortName()))
                .OrderBy(t => t.Name, StringComparer.Ordinal).ToList(),
        };
        var adapter = AdapterBytes(tuned, peft.Options, layout, Path.Combine(target, adapterFile));
        bool genAi = options.Format == ExportFormat.GenAi;

        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            CheckExistingBase(target, layout, adapterFile, genAi ? "genai" : "onnx");
            AddAdapter(target, adapterFile, adapter);
            return new ExportReport(target, [adapterFile], BaseParameters(peft.BaseFolder.Manifest, tuned), PeftScheme.Lora, false)
            {
                AdapterFile = Path.Combine(target, adapterFile),
            };
        }

        var (proto, weightBytes) = BaseGraph(model, peft, tuned);
        var manifest = peft.BaseFolder.Manifest;
        var cache = genAi ? KvCachedGraph.Apply(proto, model, peft.BaseFolder.GraphPath) : null;
        if (cache is null) KvCacheRestore.Forget(proto);
        string modelType = cache is null ? GenAiConfig.ModelType(manifest.Architecture) : GenAiConfig.ModelType(manifest.Architecture, cache);
        var files = new List<string>();
        ModelFolder.WriteDirectory(target, temp =>
        {
            ModelExporter.WriteGraph(proto, weightBytes, temp, files);
            if (cache is not null)
            {
                GenAiConfig.Write(Path.Combine(temp, GenAiConfig.FileName), ModelExporter.GraphFile, manifest, cache, modelType);
                files.Add(GenAiConfig.FileName);
                if (manifest.Tokenizer.Kind != TextTokenizer.NoneKind)
                    files.AddRange(HfTokenizerFiles.Write(peft.BaseFolder.Path, manifest.Tokenizer, temp));
            }
            else
                foreach (string file in manifest.Tokenizer.Files)
                {
                    string to = Path.Combine(temp, file);
                    Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                    File.Copy(Path.Combine(peft.BaseFolder.Path, file), to);
                    files.Add(file);
                }
            var lora = layout.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            AtomicFile.WriteAllText(Path.Combine(temp, ModelExporter.DescriptionFile), JsonSerializer.Serialize(new
            {
                format = "ortzo-export",
                version = 1,
                export_format = genAi ? "genai" : "onnx",
                source = model.FolderPath,
                peft = System.Text.Json.Nodes.JsonNode.Parse(peft.Options.AdapterIdentity()),
                lora_merged = false,
                inputs = proto.Graph.Input.Select(i => i.Name).Where(n => !lora.Contains(n)).ToList(),
                outputs = proto.Graph.Output.Select(o => o.Name).ToList(),
                architecture = manifest.Architecture,
                max_length = manifest.MaxLength,
                vocab_size = manifest.VocabSize,
                tokenizer = manifest.Tokenizer,
                lora_adapter = layout,
                lora_adapter_model_version = layout.ModelVersion,
            }, ModelManifest.Json) + "\n");
            files.Add(ModelExporter.DescriptionFile);
            File.WriteAllBytes(Path.Combine(temp, adapterFile), adapter);
            files.Add(adapterFile);
        });
        return new ExportReport(target, files, BaseParameters(manifest, tuned), PeftScheme.Lora, false) { AdapterFile = Path.Combine(target, adapterFile) };
    }

    /// <summary>
    /// The adapter-ready base: <see cref="PeftRewriter"/>'s LoRA graph at α = r (branch scale 1, α/r lives in each
    /// adapter's B), its A/B inputs backed by zero initializers, the base weights as initializers, no scoring head.
    /// </summary>
    internal static (ModelProto Model, long WeightBytes) BaseGraph(ZoModel model, PeftState peft, CpuSlab tuned)
    {
        var manifest = peft.BaseFolder.Manifest;
        string graphPath = peft.BaseFolder.GraphPath;
        string logits = manifest.Outputs.Logits
            ?? throw ModelErrors.Fail(ModelFolderError.OutputMissing, Path.Combine(peft.BaseFolder.Path, ModelManifest.FileName), "outputs.logits",
                "the graph's logits output was dropped at import; there is nothing to export");
        var rewritten = PeftRewriter.Apply(peft.BaseFolder, peft.Options with { LoraAlpha = peft.Options.LoraRank }, model.Threads);
        var proto = rewritten.Model;
        ModelExporter.RemoveScoringHead(proto, manifest, logits, 0, graphPath);

        long weightBytes = 0;
        using (var baseWeights = SafetensorsFile.Open(peft.BaseFolder.WeightsPath))
            foreach (var w in manifest.WeightInputs)
            {
                var entry = baseWeights.Get(w.Name);
                var input = proto.Graph.Input.FirstOrDefault(i => i.Name == w.Name)
                    ?? throw new InvalidOperationException($"weight '{w.Name}' is not a graph input of {graphPath}");
                proto.Graph.Input.Remove(input);
                proto.Graph.Initializer.Add(TensorData.FromBytes(w.Name, OnnxElementType.FromDType(entry.Spec.DType), entry.Spec.Shape.ToArray(), baseWeights.GetBytes(entry)));
                weightBytes += entry.Spec.ByteLength;
            }
        foreach (var slot in tuned.Layout.Slots)
        {
            // The input stays: an initializer named like a graph input is the default ORT uses when the input is not fed.
            var input = proto.Graph.Input.FirstOrDefault(i => i.Name == slot.Spec.Name)
                ?? throw new InvalidOperationException($"LoRA tensor '{slot.Spec.Name}' is not a graph input of the rewritten {graphPath}");
            if (input.Type.TensorType.ElemType != OnnxElementType.FromDType(slot.DType))
                throw new InvalidOperationException($"LoRA input '{slot.Spec.Name}' is {OnnxElementType.Name(input.Type.TensorType.ElemType)} in the graph but {slot.DType} in the run");
            proto.Graph.Initializer.Add(TensorData.FromBytes(slot.Spec.Name, input.Type.TensorType.ElemType, slot.Spec.Shape.ToArray(), new byte[slot.Spec.ByteLength]));
            weightBytes += slot.Spec.ByteLength;
        }
        proto.ProducerName = "ortzo-export";
        proto.ProducerVersion = "1";
        return (proto, weightBytes);
    }

    /// <summary>The run's A and (α/r)·B in the run's dtype. B is scaled in float32 and rounded once to the dtype.</summary>
    private static byte[] AdapterBytes(CpuSlab tuned, PeftOptions options, LoraAdapterLayout layout, string path)
    {
        double scale = options.LoraAlpha / options.LoraRank;
        var parameters = new List<OrtAdapterParameter>();
        foreach (var t in layout.Tensors)
        {
            int index = tuned.Layout.IndexOf(t.Name);
            var slot = tuned.Layout.Slots[index];
            byte[] bytes;
            if (t.Name.EndsWith(".lora_B", StringComparison.Ordinal))
            {
                var values = tuned.ReadFloat32(index);
                for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] * scale);
                bytes = new byte[slot.Spec.ByteLength];
                FloatConversions.FromFloat32(values, slot.DType, bytes);
            }
            else bytes = tuned.Bytes(index).ToArray();
            parameters.Add(new OrtAdapterParameter(t.Name, OnnxElementType.FromDType(slot.DType), slot.Spec.Shape.ToArray(), bytes));
        }
        return OrtAdapterFile.Build(parameters, adapterVersion: 1, modelVersion: layout.ModelVersion, path);
    }

    private static void CheckExistingBase(string target, LoraAdapterLayout layout, string adapterFile, string exportFormat)
    {
        string description = Path.Combine(target, ModelExporter.DescriptionFile);
        if (!File.Exists(description))
            throw OnnxErrors.Fail(OnnxError.OutputExists, target, null,
                $"is not empty and holds no {ModelExporter.DescriptionFile}; an adapter is only added to a base folder `ortzo export --lora-adapter` wrote, and other folders are not replaced");
        var recorded = LoraAdapterLayout.Read(description)
            ?? throw OnnxErrors.Fail(OnnxError.OutputExists, description, LoraAdapterLayout.Key,
                $"missing: {target} holds an export made without --lora-adapter; choose another folder for the adapter-ready base");
        // Bases written before the GenAI form existed carry no export_format: they are plain ONNX.
        string recordedFormat = ReadExportFormat(description) ?? "onnx";
        if (recordedFormat != exportFormat)
            throw OnnxErrors.Fail(OnnxError.OutputExists, description, "export_format",
                $"the base in {target} is the {recordedFormat} form; this export asks for {exportFormat}. An adapter only joins a base of the same form: export it into another folder");
        if (layout.FirstMismatch(recorded) is { } m)
            throw OnnxErrors.Fail(OnnxError.OutputExists, description, m.Field,
                $"the base in {target} has {m.Recorded}; this run has {m.Ours}. An adapter only joins a base of the same model and LoRA layout: export it into another folder");
        if (File.Exists(Path.Combine(target, adapterFile)))
            throw OnnxErrors.Fail(OnnxError.OutputExists, Path.Combine(target, adapterFile), null,
                $"already exists in {target}; name this run's adapter with --adapter-name (AdapterName)");
    }

    private static string? ReadExportFormat(string description)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(description));
        return document.RootElement.TryGetProperty("export_format", out var format) && format.ValueKind == JsonValueKind.String ? format.GetString() : null;
    }

    /// <summary>Temporary file, fsync, then a rename that fails rather than replace an adapter another export wrote meanwhile.</summary>
    private static void AddAdapter(string target, string adapterFile, byte[] bytes)
    {
        string final = Path.Combine(target, adapterFile);
        string temp = Path.Combine(target, $".{adapterFile}.tmp-{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            if (File.Exists(final))
                throw OnnxErrors.Fail(OnnxError.OutputExists, final, null, $"already exists in {target}; name this run's adapter with --adapter-name (AdapterName)");
            File.Move(temp, final, overwrite: false);
            AtomicFile.SyncDirectory(target);
        }
        catch (IOException e) when (File.Exists(final))
        {
            throw OnnxErrors.Fail(OnnxError.OutputExists, final, null, $"appeared while writing ({e.Message}); name this run's adapter with --adapter-name (AdapterName)");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>The file name: the given one, or the run folder's (the folder above best/ or final/, which every run has).</summary>
    private static string AdapterName(string? given, string folderPath)
    {
        string name = given ?? DefaultName(folderPath);
        if (name.Length == 0 || name is "." or ".." || name.StartsWith('.') || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
            || name.Contains('/') || name.Contains('\\'))
            throw OptionErrors.Fail(OptionError.OutOfRange, nameof(ExportOptions.AdapterName),
                $"'{name}' is not a file name; expected a name without path separators or a leading dot (the file is <name>{OrtAdapterFile.Extension})");
        return name;
    }

    private static string DefaultName(string folderPath)
    {
        string full = Path.GetFullPath(folderPath).TrimEnd(Path.DirectorySeparatorChar);
        string name = Path.GetFileName(full);
        return name is "best" or "final" ? Path.GetFileName(Path.GetDirectoryName(full)) ?? name : name;
    }

    private static long BaseParameters(ModelManifest manifest, CpuSlab tuned) =>
        manifest.WeightInputs.Sum(w => w.Shape.Aggregate(1L, (a, b) => a * b)) + tuned.Layout.ElementCount;
}
