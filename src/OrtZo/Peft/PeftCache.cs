using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

using OrtZo.Onnx.Peft;

namespace OrtZo.Peft;

/// <summary>
/// Rewritten graphs are derived state: they live in a cache, never in the base model folder. One entry per
/// (base graph, base weights, adapter options, frozen-base mode), named by a hash of those, is an ordinary OrtZo
/// model folder whose weights are only the adapters:
/// <code>
/// &lt;cache&gt;/peft/&lt;key&gt;/
///   model.onnx            the rewritten graph; adapters are graph inputs; base weights are initializers whose data
///                         is external, at their offsets inside base.safetensors
///   base.safetensors      a hard link to the base folder's weights file (a copy where linking is impossible)
///   weights.safetensors   the adapters' initial values
///   ortzo.json            manifest: the adapters (role adapter), groups, max_length, tokenizer
///   peft.json             what the entry was built from (for people; the key already encodes it)
///   tokenizer files       copied from the base folder
/// </code>
/// With <see cref="FrozenBase.Inputs"/> the base weights are also declared as graph inputs, which makes ORT treat
/// them as overridable (variable) initializers: same values, no prepacking or constant folding — the code path
/// full fine-tuning takes. Entries are built in a temporary folder and renamed into place, so a crash or a
/// concurrent build never leaves a half-written entry. Delete the cache folder at any time to reclaim space.
/// </summary>
internal static partial class PeftCache
{
    public const int FormatVersion = 1;
    public const string BaseWeightsFile = "base.safetensors";
    public const string DescriptionFile = "peft.json";

    /// <summary>$ORTZO_CACHE, else $XDG_CACHE_HOME/ortzo, else ~/.cache/ortzo.</summary>
    public static string DefaultRoot()
    {
        if (Environment.GetEnvironmentVariable("ORTZO_CACHE") is { Length: > 0 } explicitRoot) return explicitRoot;
        if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg) return Path.Combine(xdg, "ortzo");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ortzo");
    }

    public static string Key(BaseModelIdentity identity, PeftOptions options)
    {
        string text = $"ortzo-peft-cache/{FormatVersion}\n{identity.GraphSha256}\n{identity.WeightsSha256}\n{options.AdapterIdentity()}\nfrozen_base={options.FrozenBase}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }

    /// <summary>The entry for these options, built first if missing (or unreadable).</summary>
    public static ModelFolder Prepare(ModelFolder baseFolder, BaseModelIdentity identity, PeftOptions options, int threads)
    {
        string root = Path.GetFullPath(Path.Combine(options.CacheFolder ?? DefaultRoot(), "peft"));
        string entry = Path.Combine(root, Key(identity, options));
        if (TryOpen(entry) is { } cached) return cached;
        Directory.CreateDirectory(root);
        string temp = Path.Combine(root, $".{Path.GetFileName(entry)}.building-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            Build(baseFolder, identity, options, threads, temp);
            try
            {
                Directory.Move(temp, entry);
            }
            catch (IOException) when (Directory.Exists(entry))
            {
                ModelFolder.TryDeleteDirectory(temp);   // another process finished the same entry first
            }
            return ModelFolder.Open(entry);
        }
        catch
        {
            ModelFolder.TryDeleteDirectory(temp);
            throw;
        }
    }

    private static ModelFolder? TryOpen(string entry)
    {
        if (!File.Exists(Path.Combine(entry, ModelManifest.FileName))) return null;
        if (!File.Exists(Path.Combine(entry, BaseWeightsFile)))
        {
            ModelFolder.TryDeleteDirectory(entry);   // the graph's external data is gone; build the entry again
            return null;
        }
        try
        {
            return ModelFolder.Open(entry);
        }
        catch (OrtZoException e) when (e.Kind == OrtZoErrorKind.InvalidModel)
        {
            ModelFolder.TryDeleteDirectory(entry);
            return null;
        }
    }

    private static void Build(ModelFolder baseFolder, BaseModelIdentity identity, PeftOptions options, int threads, string folder)
    {
        var rewritten = PeftRewriter.Apply(baseFolder, options, threads);
        var model = rewritten.Model;
        LinkOrCopy(baseFolder.WeightsPath, Path.Combine(folder, BaseWeightsFile));
        using (var baseWeights = SafetensorsFile.Open(baseFolder.WeightsPath))
            MoveBaseWeightsIntoGraph(model.Graph, baseFolder.Manifest, baseWeights, BaseWeightsFile, keepAsInputs: options.FrozenBase == FrozenBase.Inputs);
        AtomicFile.Write(Path.Combine(folder, baseFolder.Manifest.Graph), stream => model.WriteTo(stream));
        WriteAdapters(Path.Combine(folder, baseFolder.Manifest.Weights), rewritten.Adapters.Select(a => (a.Spec, a.Initial)).ToList(), null);
        foreach (var file in baseFolder.Manifest.Tokenizer.Files)
        {
            string destination = Path.Combine(folder, file);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(Path.Combine(baseFolder.Path, file), destination);
        }
        ModelFolder.WriteManifest(Path.Combine(folder, ModelManifest.FileName), DerivedManifest(baseFolder, identity, options, rewritten));
        AtomicFile.WriteAllText(Path.Combine(folder, DescriptionFile), JsonSerializer.Serialize(new
        {
            base_folder = baseFolder.Path,
            base_graph_sha256 = identity.GraphSha256,
            base_weights_sha256 = identity.WeightsSha256,
            adapters = System.Text.Json.Nodes.JsonNode.Parse(options.AdapterIdentity()),
            frozen_base = options.FrozenBase.ToString().ToLowerInvariant(),
            adapter_parameters = rewritten.Adapters.Sum(a => a.ElementCount),
        }, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Turns every base weight input into an initializer whose bytes stay in the weights file (external data at the
    /// tensor's offset in <paramref name="location"/>); with <paramref name="keepAsInputs"/> the graph input stays too.
    /// </summary>
    internal static void MoveBaseWeightsIntoGraph(GraphProto graph, ModelManifest manifest, SafetensorsFile weights, string location, bool keepAsInputs)
    {
        long dataStart = new FileInfo(weights.FilePath).Length - weights.DataLength;
        foreach (var w in manifest.WeightInputs)
        {
            var entry = weights.Get(w.Name);
            var tensor = new TensorProto { Name = w.Name, DataType = OnnxElementType.FromDType(entry.Spec.DType), DataLocation = TensorProto.Types.DataLocation.External };
            tensor.Dims.AddRange(entry.Spec.Shape);
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = (dataStart + entry.DataOffset).ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = entry.Spec.ByteLength.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            graph.Initializer.Add(tensor);
            if (!keepAsInputs) graph.Input.Remove(graph.Input.Single(i => i.Name == w.Name));
        }
    }

    /// <summary>Writes adapter values (float32 in memory) as safetensors in each adapter's dtype.</summary>
    internal static void WriteAdapters(string path, IReadOnlyList<(TensorSpec Spec, float[] Values)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var sources = tensors.Select(t =>
        {
            if (t.Spec.DType == DType.F32) return TensorSource.FromFloats(t.Spec, t.Values);
            var bytes = new byte[t.Spec.ByteLength];
            FloatConversions.FromFloat32(t.Values, t.Spec.DType, bytes);
            return TensorSource.FromBytes(t.Spec, bytes);
        }).ToList();
        SafetensorsWriter.Write(path, sources, metadata);
    }

    private static ModelManifest DerivedManifest(ModelFolder baseFolder, BaseModelIdentity identity, PeftOptions options, RewrittenGraph rewritten)
    {
        var manifest = baseFolder.Manifest;
        var used = rewritten.Adapters.Select(a => a.Group).Distinct().ToList();
        var source = new Dictionary<string, string>(manifest.Source ?? new Dictionary<string, string>())
        {
            ["peft"] = options.AdapterIdentity(),
            ["peft_frozen_base"] = options.FrozenBase.ToString().ToLowerInvariant(),
            ["peft_base_folder"] = baseFolder.Path,
            ["peft_base"] = identity.ToString(),
        };
        return manifest with
        {
            WeightInputs = rewritten.Adapters.Select(a => new WeightInput
            {
                Name = a.Name,
                Dtype = a.DType.ToShortName(),
                Shape = a.Shape,
                Role = WeightRole.Adapter,
                Group = a.Group,
            }).ToList(),
            Groups = manifest.Groups.Where(used.Contains).Concat(used.Where(g => !manifest.Groups.Contains(g))).ToList(),
            MaxLength = manifest.MaxLength - rewritten.VirtualTokens,
            // Prompt tuning's logits carry the virtual positions too; nothing may take them for [B, T, V].
            Outputs = rewritten.VirtualTokens > 0 ? manifest.Outputs with { Logits = null } : manifest.Outputs,
            Source = source,
        };
    }

    /// <summary>A hard link shares the bytes without copying; across file systems (or where links fail) the file is copied.</summary>
    private static void LinkOrCopy(string existing, string destination)
    {
        if ((OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && Link(existing, destination) == 0) return;
        File.Copy(existing, destination);
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string newPath);
}
