using System.Text.Json;
using System.Text.Json.Serialization;
using OrtZo.Onnx.Model;
using OrtZo.WeightStore;

using OrtZo.Onnx.Peft;

namespace OrtZo.Peft;

/// <summary>
/// <c>ortzo.json</c> of a tuned PEFT model: which base model the adapters belong to and how they were made. Like a
/// Hugging Face peft adapter, the folder holds only the adapters; the base model is opened from its own folder and
/// checked by hash.
/// </summary>
internal sealed record AdapterManifest
{
    public const string FormatName = "ortzo-adapter";
    // 2: the PEFT options hold one random_init flag instead of prefix_init and prompt_init
    public const int CurrentVersion = 2;
    public const string DefaultAdaptersFile = "adapters.safetensors";

    public string Format { get; init; } = FormatName;
    public int Version { get; init; } = CurrentVersion;

    /// <summary>The base model folder, absolute when written.</summary>
    public required string BaseFolder { get; init; }

    /// <summary>The base folder relative to this folder, tried when the absolute path no longer exists (both moved together).</summary>
    public string? BaseFolderRelative { get; init; }

    public required string BaseGraphSha256 { get; init; }
    public required string BaseWeightsSha256 { get; init; }

    /// <summary>The scheme and its hyperparameters (the cache folder is never recorded).</summary>
    public required PeftOptions Peft { get; init; }

    /// <summary>The adapters' values, a safetensors file relative to the folder.</summary>
    public string Adapters { get; init; } = DefaultAdaptersFile;

    public long AdapterParameters { get; init; }

    internal static readonly JsonSerializerOptions Json = new(PeftOptions.Json)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>Reads and writes adapter folders (<c>ortzo.json</c> with format "ortzo-adapter" + <c>adapters.safetensors</c>).</summary>
internal static class AdapterFolder
{
    /// <summary>True when <paramref name="folder"/> holds an ortzo.json whose format is "ortzo-adapter".</summary>
    public static bool IsAdapterFolder(string folder)
    {
        string path = Path.Combine(folder, ModelManifest.FileName);
        if (!File.Exists(path)) return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object
                   && doc.RootElement.TryGetProperty("format", out var format)
                   && format.ValueKind == JsonValueKind.String
                   && format.GetString() == AdapterManifest.FormatName;
        }
        catch (JsonException)
        {
            return false;   // ModelFolder.Open reports the broken JSON with its location
        }
    }

    public static AdapterManifest Read(string folder)
    {
        string path = Path.Combine(Path.GetFullPath(folder), ModelManifest.FileName);
        AdapterManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<AdapterManifest>(File.ReadAllBytes(path), AdapterManifest.Json);
        }
        catch (JsonException e)
        {
            throw AdapterErrors.Fail(AdapterFolderError.ManifestInvalidJson, path, e.Path is { Length: > 0 } p ? p : "(root)", $"invalid adapter manifest: {e.Message}", e);
        }
        if (manifest is null) throw AdapterErrors.Fail(AdapterFolderError.ManifestInvalidJson, path, null, "the manifest is JSON null");
        if (manifest.Version != AdapterManifest.CurrentVersion)
            throw AdapterErrors.Fail(AdapterFolderError.UnsupportedVersion, path, "version", $"{manifest.Version}; this OrtZo reads adapter folders of version {AdapterManifest.CurrentVersion}");
        if (manifest.Peft.Scheme == PeftScheme.Full)
            throw AdapterErrors.Fail(AdapterFolderError.NoAdapters, path, "peft.scheme", "'full'; an adapter folder holds lora, prefix or prompt adapters");
        if (!File.Exists(Path.Combine(Path.GetDirectoryName(path)!, manifest.Adapters)))
            throw AdapterErrors.Fail(AdapterFolderError.AdaptersFileMissing, path, "adapters", $"names '{manifest.Adapters}', which is not in the folder");
        return manifest;
    }

    /// <summary>The base model folder the adapters were trained on, checked against the recorded hashes.</summary>
    public static (ModelFolder Folder, BaseModelIdentity Identity) OpenBase(string folder, AdapterManifest manifest)
    {
        string path = Path.Combine(Path.GetFullPath(folder), ModelManifest.FileName);
        string baseFolder = manifest.BaseFolder;
        if (!Directory.Exists(baseFolder) && manifest.BaseFolderRelative is { } relative
            && Directory.Exists(Path.Combine(Path.GetFullPath(folder), relative)))
            baseFolder = Path.GetFullPath(Path.Combine(folder, relative));
        if (!Directory.Exists(baseFolder))
            throw AdapterErrors.Fail(AdapterFolderError.BaseMissing, path, "base_folder", $"'{manifest.BaseFolder}' does not exist; the adapters need the base model they were trained on");
        var opened = ModelFolder.Open(baseFolder);
        var identity = BaseModelIdentity.Of(opened);
        if (identity.GraphSha256 != manifest.BaseGraphSha256 || identity.WeightsSha256 != manifest.BaseWeightsSha256)
            throw AdapterErrors.Fail(AdapterFolderError.BaseChanged, path, "base_weights_sha256",
                $"the base model in '{baseFolder}' is not the one the adapters were trained on (recorded graph {manifest.BaseGraphSha256[..16]}…, weights {manifest.BaseWeightsSha256[..16]}…; found {identity.GraphSha256[..16]}…, {identity.WeightsSha256[..16]}…)");
        return (opened, identity);
    }

    /// <summary>Writes the folder in a temporary sibling and renames it into place.</summary>
    public static void Write(string destination, ModelFolder baseFolder, BaseModelIdentity identity, PeftOptions options, CpuSlab adapters)
    {
        string target = Path.GetFullPath(destination);
        ModelFolder.WriteDirectory(target, temp =>
        {
            adapters.Save(Path.Combine(temp, AdapterManifest.DefaultAdaptersFile), new Dictionary<string, string> { ["producer"] = "ortzo", ["peft"] = options.AdapterIdentity() });
            var manifest = new AdapterManifest
            {
                BaseFolder = baseFolder.Path,
                BaseFolderRelative = Path.GetRelativePath(target, baseFolder.Path),
                BaseGraphSha256 = identity.GraphSha256,
                BaseWeightsSha256 = identity.WeightsSha256,
                Peft = options with { CacheFolder = null },
                AdapterParameters = adapters.Layout.ElementCount,
            };
            AtomicFile.WriteAllText(Path.Combine(temp, ModelManifest.FileName), JsonSerializer.Serialize(manifest, AdapterManifest.Json) + "\n");
        });
    }
}
