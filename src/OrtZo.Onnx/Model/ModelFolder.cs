using System.Text.Json;
using OrtZo.WeightStore;

namespace OrtZo.Onnx.Model;

/// <summary>
/// An OrtZo model folder on disk: ortzo.json, the rewritten graph, the weights file and the tokenizer files.
/// Opening validates the manifest against itself and against the weights file, so later stages can trust it.
/// </summary>
internal sealed class ModelFolder
{
    private ModelFolder(string path, ModelManifest manifest)
    {
        Path = path;
        Manifest = manifest;
    }

    public string Path { get; }
    public ModelManifest Manifest { get; }
    public string ManifestPath => System.IO.Path.Combine(Path, ModelManifest.FileName);
    public string GraphPath => System.IO.Path.Combine(Path, Manifest.Graph);
    public string WeightsPath => System.IO.Path.Combine(Path, Manifest.Weights);

    public static ModelFolder Open(string path)
    {
        string dir = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(dir))
            throw ModelErrors.Fail(ModelFolderError.FolderMissing, dir, null, "model folder not found");
        string manifestPath = System.IO.Path.Combine(dir, ModelManifest.FileName);
        if (!File.Exists(manifestPath))
            throw ModelErrors.Fail(ModelFolderError.ManifestMissing, manifestPath, null, "missing; is this an OrtZo model folder? (`ortzo import` makes one from an ONNX causal LM)");
        var manifest = ReadManifest(manifestPath);
        Validate(dir, manifestPath, manifest);
        return new ModelFolder(dir, manifest);
    }

    public static ModelManifest ReadManifest(string manifestPath)
    {
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllBytes(manifestPath), ModelManifest.Json);
        }
        catch (JsonException e)
        {
            string field = e.Path is { Length: > 0 } p ? p : "(root)";
            throw ModelErrors.Fail(ModelFolderError.ManifestInvalidJson, manifestPath, field, $"invalid JSON or wrong type: {e.Message}", e);
        }
        return manifest ?? throw ModelErrors.Fail(ModelFolderError.ManifestEmpty, manifestPath, null, "empty manifest");
    }

    public static void WriteManifest(string manifestPath, ModelManifest manifest) =>
        AtomicFile.WriteAllText(manifestPath, JsonSerializer.Serialize(manifest, ModelManifest.Json) + "\n");

    private static void Validate(string dir, string file, ModelManifest m)
    {
        if (m.Format != ModelManifest.FormatName)
            throw ModelErrors.Fail(ModelFolderError.WrongFormat, file, "format", $"'{m.Format}', expected '{ModelManifest.FormatName}'");
        if (m.Version != ModelManifest.CurrentVersion)
            throw ModelErrors.Fail(ModelFolderError.UnsupportedVersion, file, "version", $"{m.Version}; this OrtZo reads version {ModelManifest.CurrentVersion}");
        foreach (var (field, rel) in new[] { ("graph", m.Graph), ("weights", m.Weights) })
            if (!File.Exists(System.IO.Path.Combine(dir, rel)))
                throw ModelErrors.Fail(ModelFolderError.FileMissing, file, field, $"names '{rel}', which is not in the folder");
        if (m.WeightInputs.Count == 0)
            throw ModelErrors.Fail(ModelFolderError.NoWeights, file, "weight_inputs", "empty; a trainable model needs at least one weight input");
        var groups = new HashSet<string>(m.Groups, StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < m.WeightInputs.Count; i++)
        {
            var w = m.WeightInputs[i];
            string at = $"weight_inputs[{i}]";
            if (!names.Add(w.Name)) throw ModelErrors.Fail(ModelFolderError.DuplicateWeight, file, at + ".name", $"'{w.Name}' appears twice");
            if (!DTypeExtensions.TryParseShortName(w.Dtype, out var dt) || !dt.IsTrainableFloat())
                throw ModelErrors.Fail(ModelFolderError.InvalidDType, file, at + ".dtype", $"'{w.Dtype}', expected f32, f16 or bf16");
            if (w.Shape.Any(d => d <= 0))
                throw ModelErrors.Fail(ModelFolderError.InvalidShape, file, at + ".shape", "weight shapes must be static and positive");
            if (!groups.Contains(w.Group))
                throw ModelErrors.Fail(ModelFolderError.UnknownGroup, file, at + ".group", $"'{w.Group}' is not listed in groups");
        }
        foreach (var t in m.Tokenizer.Files)
            if (!File.Exists(System.IO.Path.Combine(dir, t)))
                throw ModelErrors.Fail(ModelFolderError.TokenizerFileMissing, file, "tokenizer.files", $"names '{t}', which is not in the folder");
        if (m.MaxLength <= 1) throw ModelErrors.Fail(ModelFolderError.MaxLengthTooSmall, file, "max_length", $"{m.MaxLength}; must be at least 2");
    }

    public IReadOnlyList<TensorSpec> WeightSpecs() =>
        Manifest.WeightInputs.Select(w =>
        {
            DTypeExtensions.TryParseShortName(w.Dtype, out var dt);
            return new TensorSpec(w.Name, dt, w.Shape.ToArray());
        }).ToList();

    public SlabLayout CreateLayout() => SlabLayout.Create(WeightSpecs());

    /// <summary>Loads the weights into a new CPU slab, checking them against the manifest.</summary>
    public CpuSlab LoadWeights()
    {
        var layout = CreateLayout();
        using var file = SafetensorsFile.Open(WeightsPath);
        return CpuSlab.Load(layout, file);
    }

    public ParameterGroups CreateGroups(SlabLayout layout) =>
        new(layout, Manifest.Groups, slot => Manifest.WeightInputs[slot.Index].Group);

    /// <summary>
    /// Writes a model folder at <paramref name="destination"/> that shares this folder's graph and tokenizer and
    /// holds <paramref name="weights"/>. Built in a temporary folder and renamed into place, so a crash never
    /// leaves a half-written model.
    /// </summary>
    public void SaveWithWeights(string destination, CpuSlab weights, IReadOnlyDictionary<string, string>? provenance = null)
    {
        WriteDirectory(destination, temp =>
        {
            foreach (string rel in Manifest.Tokenizer.Files.Append(Manifest.Graph).Distinct())
            {
                string dst = System.IO.Path.Combine(temp, rel);
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(dst)!);
                File.Copy(System.IO.Path.Combine(Path, rel), dst);
            }
            weights.Save(System.IO.Path.Combine(temp, Manifest.Weights));
            var manifest = provenance is null
                ? Manifest
                : Manifest with { Source = (Manifest.Source ?? new Dictionary<string, string>()).Concat(provenance)
                    .GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value) };
            WriteManifest(System.IO.Path.Combine(temp, ModelManifest.FileName), manifest);
        });
    }

    /// <summary>
    /// Builds a folder with <paramref name="build"/> in a temporary sibling of <paramref name="destination"/> and
    /// moves it over the destination only once complete: a crash leaves the old folder or the new one, never a
    /// mixture (leftovers are cleared by <see cref="RecoverReplace"/>). Returns the destination's full path.
    /// </summary>
    internal static string WriteDirectory(string destination, Action<string> build)
    {
        string target = System.IO.Path.GetFullPath(destination);
        string parent = System.IO.Path.GetDirectoryName(target)!;
        string temp = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(parent);
            Directory.CreateDirectory(temp);
            build(temp);
            ReplaceDirectory(temp, target);
            return target;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDeleteDirectory(temp);
            throw WeightStoreErrors.Fail(WeightStoreError.Io, target, null, $"cannot be written: {e.Message}", e);
        }
        catch
        {
            TryDeleteDirectory(temp);
            throw;
        }
    }

    /// <summary>
    /// Moves a finished folder over <paramref name="target"/>: the old one is renamed aside first, then deleted.
    /// A crash between the two renames leaves only the aside copy; <see cref="RecoverReplace"/> puts it back.
    /// </summary>
    internal static void ReplaceDirectory(string finished, string target)
    {
        string? aside = null;
        if (Directory.Exists(target))
        {
            aside = AsidePrefix(target) + Guid.NewGuid().ToString("N");
            Directory.Move(target, aside);
        }
        Directory.Move(finished, target);
        AtomicFile.SyncDirectory(System.IO.Path.GetDirectoryName(target)!);
        if (aside is not null) TryDeleteDirectory(aside);
    }

    /// <summary>
    /// Finishes or undoes a <see cref="ReplaceDirectory"/> a crash interrupted: with the target missing, the
    /// folder renamed aside is the last complete one and comes back; with the target present, leftovers of the
    /// replace (aside copies, unfinished temporary folders) are removed.
    /// </summary>
    internal static void RecoverReplace(string target)
    {
        string full = System.IO.Path.GetFullPath(target);
        string parent = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return;
        string name = System.IO.Path.GetFileName(full);
        var aside = Directory.GetDirectories(parent, name + ".old-*").OrderByDescending(Directory.GetLastWriteTimeUtc).ToList();
        if (!Directory.Exists(full) && aside.Count > 0)
        {
            Directory.Move(aside[0], full);
            aside.RemoveAt(0);
        }
        foreach (string d in aside) TryDeleteDirectory(d);
        foreach (string d in Directory.GetDirectories(parent, $".{name}.tmp-*")) TryDeleteDirectory(d);
    }

    private static string AsidePrefix(string target) => target + ".old-";

    internal static void TryDeleteDirectory(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
