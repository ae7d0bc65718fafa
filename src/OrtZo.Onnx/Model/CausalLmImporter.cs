using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

namespace OrtZo.Onnx.Model;

/// <summary>
/// <c>ortzo import</c>: converts a standard ONNX causal LM (one model.onnx with its weights as initializers,
/// inline or in external data, as torch.onnx, Optimum or the ORT GenAI builder write it: inputs input_ids
/// [+ attention_mask] [+ position_ids] [+ past key/values], output logits [B,T,V]) into an OrtZo model folder:
/// <code>
/// model.onnx            the graph, weights as graph inputs with static shapes, scoring head appended (always inline: it is small)
/// weights.safetensors   every weight input, dtype preserved, in the manifest's order
/// ortzo.json            ModelManifest: inputs, outputs, weights with roles and groups, tokenizer, provenance
/// tokenizer files       copied from beside the source (vocab.json, merges.txt, tokenizer.model, ...)
/// </code>
/// Steps: find input_ids and the logits output; replace past key/values by empty tensors and drop present.*
/// (<see cref="PastKeyValueRemoval"/>); drop other outputs and the nodes only they needed; choose the weights
/// (<see cref="WeightPromotion"/>) and fold ties (<see cref="TiedWeights"/>); turn them into inputs; assign
/// roles and groups (<see cref="WeightRoles"/>); append the scoring head (<see cref="ScoringHead"/>). Everything
/// is written into a temporary sibling folder, verified (<see cref="ModelFolderStructure"/>, then the caller's runtime checks) and renamed into
/// place last, so a failed import leaves no output folder behind.
/// </summary>
internal static class CausalLmImporter
{
    public const string ImporterName = "ortzo-import";
    public const int ImporterVersion = 1;

    /// <summary>File names tried, in order, when the source is a folder.</summary>
    public static readonly IReadOnlyList<string> ModelFileNames = ["model.onnx", "decoder_model.onnx", "decoder_with_past_model.onnx"];

    /// <param name="verifyRuntime">Checks of the written folder by whatever runs graphs (ORT), before it is published.</param>
    public static ImportReport Import(string sourceModelOrFolder, string outputFolder, ImportOptions options, Action<string, ModelManifest> verifyRuntime)
    {
        string modelPath = ResolveSourceModel(sourceModelOrFolder);
        string output = Path.GetFullPath(outputFolder).TrimEnd(Path.DirectorySeparatorChar);
        if (string.Equals(output, Path.GetDirectoryName(modelPath), StringComparison.Ordinal))
            throw OnnxErrors.Fail(OnnxError.OutputExists, output, null, "the output folder must differ from the source model's folder");
        if (File.Exists(output))
            throw OnnxErrors.Fail(OnnxError.OutputExists, output, null, "is a file; the output must be a folder");
        if (Directory.Exists(output) && !options.Overwrite)
            throw OnnxErrors.Fail(OnnxError.OutputExists, output, null, "already exists; pass Overwrite to replace it");

        string parent = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{Path.GetFileName(output)}.importing-{Guid.NewGuid():N}");
        try
        {
            using var source = OnnxModelFile.Load(modelPath);
            var config = new SourceConfigFiles(source.DirectoryPath);
            var conversion = Convert(source, config, options);
            Directory.CreateDirectory(temp);
            var manifest = Write(source, config, conversion, temp, options);
            ModelFolderStructure.Verify(temp, manifest);
            verifyRuntime(temp, manifest);
            Publish(temp, output, options.Overwrite);
            return conversion.Report(output, manifest);
        }
        catch
        {
            ModelFolder.TryDeleteDirectory(temp);
            throw;
        }
    }

    /// <summary>The graph rewritten in memory, and what the manifest and report need from the rewrite.</summary>
    private sealed class Conversion
    {
        public required ModelProto Model { get; init; }
        public required string InputIds { get; init; }
        public string? AttentionMask { get; init; }
        public string? PositionIds { get; init; }
        public required string Logits { get; init; }
        public required List<(WeightPromotion.Decision Decision, WeightRoles.Assignment Assignment, List<string> Aliases)> Weights { get; init; }
        public required IReadOnlyList<string> Groups { get; init; }
        public required List<WeightPromotion.Decision> Kept { get; init; }
        public required IReadOnlyList<string> RemovedCacheValues { get; init; }
        public required IReadOnlyList<string> DroppedOutputs { get; init; }
        public required IReadOnlyList<string> FrozenWeights { get; init; }
        public required List<string> Notes { get; init; }
        public required int SourceOpset { get; init; }
        public int? LogitsVocab { get; init; }

        public ImportReport Report(string folder, ModelManifest manifest) => new()
        {
            OutputFolder = folder,
            Manifest = manifest,
            KeptInitializers = Kept.Select(k => (k.Name, k.Reason)).ToList(),
            RemovedCacheValues = RemovedCacheValues,
            DroppedOutputs = DroppedOutputs,
            FrozenWeights = FrozenWeights,
            Notes = Notes,
        };
    }

    private static Conversion Convert(OnnxModelFile source, SourceConfigFiles config, ImportOptions options)
    {
        string path = source.FilePath;
        var model = source.Model;
        var graph = model.Graph;
        int opset = ModelOpset.Default(model);
        if (opset < 11)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, "opset_import",
                $"the model imports opset {opset} of the default domain; 11 or later is required");

        // Before IR 4, initializers were also listed as inputs; those entries are not data the engine feeds.
        var initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var stale in graph.Input.Where(i => initializerNames.Contains(i.Name)).ToList()) graph.Input.Remove(stale);

        string inputIds = FindInputIds(graph, path);
        string? attentionMask = graph.Input.Any(i => i.Name == "attention_mask") ? "attention_mask" : null;
        string? positionIds = graph.Input.Any(i => i.Name == "position_ids") ? "position_ids" : null;
        if (graph.Input.Any(i => i.Name == "use_cache_branch"))
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, "input 'use_cache_branch'",
                "this is an Optimum merged decoder (two branches in an If node); import the plain decoder_model.onnx instead");
        string logits = FindLogits(graph, path);
        // A convolution state (LFM2's past_conv.%d) has a fixed width: emptying it, as a key/value cache is emptied
        // for a prompt without past, would not be the model's computation.
        if (graph.Input.FirstOrDefault(i => i.Name.Contains("past_conv", StringComparison.OrdinalIgnoreCase)) is { } convState)
            throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"input '{convState.Name}'",
                "is a convolution state cache (recurrent layers such as LFM2's), not a key/value cache; only attention caches can be emptied for a prompt without past");

        var removed = PastKeyValueRemoval.Apply(model, inputIds, path);
        var dropped = graph.Output.Where(o => o.Name != logits).Select(o => o.Name).ToList();
        foreach (var name in dropped) graph.Output.Remove(graph.Output.First(o => o.Name == name));
        foreach (var input in graph.Input)
        {
            if (input.Name != inputIds && input.Name != attentionMask && input.Name != positionIds)
                throw OnnxErrors.Fail(OnnxError.Unsupported, path, $"input '{input.Name}'",
                    "is neither input_ids, attention_mask, position_ids nor a past key/value; the engine would not know what to feed");
        }
        var notes = new List<string>();
        foreach (var name in new[] { inputIds, attentionMask, positionIds })
            if (name is not null && WidenInt32Input(graph, name))
                notes.Add($"input '{name}' is int32 in the source (ORT GenAI exports): the folder takes int64 and a Cast narrows it");
        int deadNodes = DeadNodeElimination.Apply(graph);
        if (deadNodes > 0) notes.Add($"removed {deadNodes} nodes that only fed dropped outputs");

        var decisions = WeightPromotion.Decide(source, new GraphIndex(graph), options);
        var promoted = decisions.Where(d => d.Promote).ToList();
        var ties = options.CollapseTiedWeights ? TiedWeights.Find(promoted, source) : [];
        var aliases = promoted.ToDictionary(d => d.Name, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var tie in ties)
        {
            aliases[tie.Kept].Add(tie.Duplicate);
            notes.Add(tie.Transposed
                ? $"'{tie.Duplicate}' is the transpose of '{tie.Kept}': one input, the copy rebuilt by a Transpose node"
                : $"'{tie.Duplicate}' holds the same values as '{tie.Kept}': one input serves both");
        }
        foreach (var d in promoted)
        {
            if (d.ConstantNode is not null)
            {
                graph.Node.Remove(d.ConstantNode);
                notes.Add($"Constant node '{d.ConstantNode.Name}' held a weight; its output '{d.Name}' is now an input");
            }
            else graph.Initializer.Remove(d.Tensor);
        }
        var duplicates = ties.Select(t => t.Duplicate).ToHashSet(StringComparer.Ordinal);
        foreach (var tie in ties)
        {
            if (tie.Transposed)
            {
                var transpose = new NodeProto { OpType = "Transpose", Name = $"ortzo_tied/Transpose({tie.Kept})" };
                transpose.Input.Add(tie.Kept);
                transpose.Output.Add(tie.Duplicate);
                transpose.Attribute.Add(GraphBuilder.Ints("perm", 1, 0));
                graph.Node.Insert(0, transpose);
            }
            else RenameReads(graph, tie.Duplicate, tie.Kept);
        }
        promoted.RemoveAll(d => duplicates.Contains(d.Name));

        var roleInputs = promoted.Select(d => new WeightRoles.Weight(d.Name, d.Tensor.Dims.ToArray(), aliases[d.Name])).ToList();
        var assignments = WeightRoles.Infer(new GraphIndex(graph), roleInputs, inputIds, positionIds, logits);
        UnclassifiedWeights.Refuse(new GraphIndex(graph), roleInputs.Select(w => (w.Name, w.Shape, assignments[w.Name].Role)), path);
        var groups = WeightRoles.OrderGroups(assignments.Values);
        var groupIndex = groups.Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i, StringComparer.Ordinal);
        var weights = promoted
            .OrderBy(d => groupIndex[assignments[d.Name].Group]).ThenBy(d => d.Order)
            .Select(d => (d, assignments[d.Name], aliases[d.Name]))
            .ToList();

        var logitsInfo = graph.Output.First(o => o.Name == logits);
        var logitsDims = logitsInfo.Type?.TensorType?.Shape?.Dim;
        int? logitsVocab = logitsDims is { Count: 3 } && logitsDims[2].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
            ? (int)logitsDims[2].DimValue : null;

        ScoringHead.Append(model, logits, inputIds, path);

        // Inputs in a fixed order: data, label mask, then weights in manifest (slab) order.
        var dataInputs = graph.Input.ToList();
        graph.Input.Clear();
        graph.Input.AddRange(dataInputs.Where(i => i.Name != ScoringHead.LabelMask));
        graph.Input.AddRange(dataInputs.Where(i => i.Name == ScoringHead.LabelMask));
        foreach (var (d, _, _) in weights)
            graph.Input.Add(GraphBuilder.ValueInfo(d.Name, d.Tensor.DataType, d.Tensor.Dims.Select(x => (object)x).ToList()));

        return new Conversion
        {
            Model = model,
            InputIds = inputIds,
            AttentionMask = attentionMask,
            PositionIds = positionIds,
            Logits = logits,
            Weights = weights,
            Groups = groups,
            // Scalars held by Constant nodes are everywhere in torch exports and not worth listing.
            Kept = decisions.Where(d => !d.Promote && OnnxElementType.IsTrainableFloat(d.Tensor.DataType)
                                        && !(d.ConstantNode is not null && TensorData.ElementCount(d.Tensor, path) <= 1)).ToList(),
            RemovedCacheValues = removed,
            DroppedOutputs = dropped,
            FrozenWeights = WeightPromotion.FrozenSubgraphWeights(graph).ToList(),
            Notes = notes,
            SourceOpset = opset,
            LogitsVocab = logitsVocab,
        };
    }

    private static ModelManifest Write(OnnxModelFile source, SourceConfigFiles config, Conversion conversion, string folder, ImportOptions options)
    {
        var (tokenizer, tokenizerFiles) = TokenizerDiscovery.Discover(config, options);
        var reserved = new HashSet<string>(StringComparer.Ordinal) { "model.onnx", "weights.safetensors", ModelManifest.FileName };
        foreach (var (_, name) in tokenizerFiles)
        {
            if (reserved.Contains(name))
                throw OnnxErrors.Fail(OnnxError.Unsupported, name, null, "a tokenizer file may not take the name of a model folder file");
        }

        var tensors = new List<TensorSource>();
        var weightInputs = new List<WeightInput>();
        foreach (var (decision, assignment, aliases) in conversion.Weights)
        {
            if (!OnnxElementType.TryToDType(decision.Tensor.DataType, out var dtype))
                throw new InvalidOperationException($"weight '{decision.Name}' has no safetensors type");
            var shape = decision.Tensor.Dims.ToArray();
            tensors.Add(new OnnxTensorSource(new TensorSpec(decision.Name, dtype, shape), decision.Tensor, source));
            weightInputs.Add(new WeightInput
            {
                Name = decision.Name,
                Dtype = dtype.ToShortName(),
                Shape = shape,
                Role = assignment.Role,
                Group = assignment.Group,
                Aliases = aliases.Count > 0 ? aliases : null,
            });
        }
        SafetensorsWriter.Write(Path.Combine(folder, "weights.safetensors"), tensors,
            new Dictionary<string, string> { ["format"] = "pt", ["producer"] = ImporterName });
        OnnxModelWriter.WriteInline(conversion.Model, Path.Combine(folder, "model.onnx"), source);
        foreach (var (from, name) in tokenizerFiles) File.Copy(from, Path.Combine(folder, name));

        var manifest = new ModelManifest
        {
            Architecture = options.Architecture ?? ArchitectureDetection.Detect(config,
                conversion.Weights.SelectMany(w => w.Aliases.Prepend(w.Decision.Name)).Concat(conversion.Kept.Select(k => k.Name)).ToList()),
            Inputs = new GraphInputs
            {
                InputIds = conversion.InputIds,
                AttentionMask = conversion.AttentionMask,
                PositionIds = conversion.PositionIds,
                LabelMask = ScoringHead.LabelMask,
            },
            Outputs = new GraphOutputs { SumLogprob = ScoringHead.SumLogprob, MeanLogprob = ScoringHead.MeanLogprob, Logits = conversion.Logits },
            WeightInputs = weightInputs,
            Groups = conversion.Groups,
            Tokenizer = tokenizer,
            MaxLength = options.MaxLength ?? MaxLength(config, conversion),
            VocabSize = conversion.LogitsVocab ?? config.Int("config.json", "vocab_size")
                ?? (int?)weightInputs.FirstOrDefault(w => w.Role == WeightRole.Embedding)?.Shape[0] ?? 0,
            Source = Provenance(source, conversion),
        };
        AtomicFile.WriteAllText(Path.Combine(folder, ModelManifest.FileName), JsonSerializer.Serialize(manifest, ModelManifest.Json));
        return manifest;
    }

    private static int MaxLength(SourceConfigFiles config, Conversion conversion)
    {
        foreach (var key in new[] { "max_position_embeddings", "n_positions", "n_ctx", "seq_length", "max_sequence_length" })
            if (config.Int("config.json", key) is int fromConfig) return fromConfig;
        var positions = conversion.Weights.FirstOrDefault(w => w.Assignment.Role == WeightRole.PositionEmbedding);
        if (positions.Decision is not null) return (int)positions.Decision.Tensor.Dims[0];
        var rotary = conversion.Kept.FirstOrDefault(k => k.Reason.StartsWith("rotary", StringComparison.Ordinal) && k.Tensor.Dims.Count >= 2);
        return rotary is null ? 0 : (int)rotary.Tensor.Dims[^2];
    }

    private static Dictionary<string, string> Provenance(OnnxModelFile source, Conversion conversion)
    {
        string sha;
        using (var stream = File.OpenRead(source.FilePath)) sha = System.Convert.ToHexStringLower(SHA256.HashData(stream));
        var model = source.Model;
        return new Dictionary<string, string>
        {
            ["importer"] = $"{ImporterName}/{ImporterVersion}",
            ["source_graph"] = source.FilePath,
            ["source_graph_sha256"] = sha,
            ["source_producer"] = $"{model.ProducerName} {model.ProducerVersion}".Trim(),
            ["source_ir_version"] = model.IrVersion.ToString(CultureInfo.InvariantCulture),
            ["source_opset"] = conversion.SourceOpset.ToString(CultureInfo.InvariantCulture),
            ["kept_initializers"] = conversion.Kept.Count.ToString(CultureInfo.InvariantCulture),
            ["removed_cache_values"] = conversion.RemovedCacheValues.Count.ToString(CultureInfo.InvariantCulture),
        };
    }

    private static string ResolveSourceModel(string sourceModelOrFolder)
    {
        string full = Path.GetFullPath(sourceModelOrFolder);
        if (File.Exists(full)) return full;
        if (!Directory.Exists(full))
            throw OnnxErrors.Fail(OnnxError.Unreadable, full, null, "no such file or folder; expected an .onnx file or a folder holding model.onnx");
        if (new SourceConfigFiles(full).GenAiDecoderFile is { } decoder)
        {
            string named = Path.Combine(full, decoder);
            if (!File.Exists(named))
                throw OnnxErrors.Fail(OnnxError.Unreadable, Path.Combine(full, SourceConfigFiles.GenAiConfig), "model.decoder.filename",
                    $"names '{decoder}', which is not in the folder");
            return named;
        }
        foreach (var name in ModelFileNames)
        {
            string candidate = Path.Combine(full, name);
            if (File.Exists(candidate)) return candidate;
        }
        var onnx = Directory.GetFiles(full, "*.onnx");
        if (onnx.Length == 1) return onnx[0];
        throw OnnxErrors.Fail(OnnxError.Unreadable, full, null, onnx.Length == 0
            ? "the folder holds no .onnx file"
            : $"the folder holds several .onnx files ({string.Join(", ", onnx.Select(Path.GetFileName).Order())}) and none is named {string.Join(" or ", ModelFileNames)}; name the file to import");
    }

    private static string FindInputIds(GraphProto graph, string path)
    {
        if (graph.Input.Any(i => i.Name == "input_ids")) return "input_ids";
        var candidates = graph.Input.Where(i => i.Type?.TensorType?.ElemType is OnnxElementType.Int64 or OnnxElementType.Int32
                                                && i.Type.TensorType.Shape?.Dim.Count == 2
                                                && i.Name is not ("attention_mask" or "position_ids")).ToList();
        return candidates.Count == 1
            ? candidates[0].Name
            : throw OnnxErrors.Fail(OnnxError.NotACausalLm, path, "graph inputs",
                $"no input named 'input_ids' and {candidates.Count} integer [batch, sequence] inputs; expected exactly one token-id input");
    }

    private static string FindLogits(GraphProto graph, string path)
    {
        var named = graph.Output.FirstOrDefault(o => o.Name == "logits");
        if (named is not null) return named.Name;
        var candidates = graph.Output.Where(o => !PastKeyValueRemoval.IsPresentOutput(o.Name)
                                                 && OnnxElementType.IsTrainableFloat(o.Type?.TensorType?.ElemType ?? 0)
                                                 && o.Type!.TensorType.Shape?.Dim.Count == 3).ToList();
        return candidates.Count == 1
            ? candidates[0].Name
            : throw OnnxErrors.Fail(OnnxError.NotACausalLm, path, "graph outputs",
                $"no output named 'logits' and {candidates.Count} float rank-3 outputs among [{string.Join(", ", graph.Output.Select(o => o.Name))}]; expected logits [batch, sequence, vocab]");
    }

    /// <summary>
    /// Makes an int32 data input int64, as the engine feeds every id, mask and position: the input keeps its name and
    /// its readers read a Cast back to int32 (ids and positions are far below 2³¹).
    /// </summary>
    private static bool WidenInt32Input(GraphProto graph, string name)
    {
        var input = graph.Input.First(i => i.Name == name);
        if (input.Type?.TensorType?.ElemType != OnnxElementType.Int32) return false;
        input.Type.TensorType.ElemType = OnnxElementType.Int64;
        string narrowed = name + "_int32";
        RenameReads(graph, name, narrowed);
        var cast = new NodeProto { OpType = "Cast", Name = $"ortzo_int32/Cast({name})" };
        cast.Input.Add(name);
        cast.Output.Add(narrowed);
        cast.Attribute.Add(GraphBuilder.Int("to", OnnxElementType.Int32));
        graph.Node.Insert(0, cast);
        return true;
    }

    /// <summary>Points every read of <paramref name="from"/> (subgraphs included) at <paramref name="to"/>.</summary>
    private static void RenameReads(GraphProto graph, string from, string to)
    {
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == from) node.Input[i] = to;
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null) RenameReads(attribute.G, from, to);
                foreach (var g in attribute.Graphs) RenameReads(g, from, to);
            }
        }
    }

    private static void Publish(string temp, string output, bool overwrite)
    {
        if (!Directory.Exists(output) && !File.Exists(output))
        {
            Directory.Move(temp, output);
            return;
        }
        if (!overwrite) throw OnnxErrors.Fail(OnnxError.OutputExists, output, null, "appeared during the import; pass Overwrite to replace it");
        string old = Path.Combine(Path.GetDirectoryName(output)!, $".{Path.GetFileName(output)}.replaced-{Guid.NewGuid():N}");
        Directory.Move(output, old);
        try
        {
            Directory.Move(temp, output);
        }
        catch
        {
            Directory.Move(old, output);
            throw;
        }
        ModelFolder.TryDeleteDirectory(old);
    }
}
