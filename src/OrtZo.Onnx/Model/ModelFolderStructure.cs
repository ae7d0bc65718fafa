using OrtZo.WeightStore;

namespace OrtZo.Onnx.Model;

/// <summary>
/// The structural promises a model folder makes to the engine, checked before import publishes it: every weight
/// is a graph input with the manifest's dtype and full static shape, no initializer shares an input's name, the
/// graph is self-contained, and the weights file holds exactly the manifest's tensors. What ONNX Runtime makes of
/// the folder is checked above this project (OrtZo's ModelImport).
/// </summary>
internal static class ModelFolderStructure
{
    public static void Verify(string folder, ModelManifest manifest)
    {
        VerifyGraph(Path.Combine(folder, manifest.Graph), manifest);
        VerifyWeightsFile(Path.Combine(folder, manifest.Weights), manifest);
    }

    private static OrtZoException Fail(string path, string? subject, string message) =>
        OnnxErrors.Fail(OnnxError.VerificationFailed, path, subject, message);

    private static void VerifyGraph(string path, ModelManifest manifest)
    {
        using var file = OnnxModelFile.Load(path);
        var graph = file.Graph;
        var inputs = graph.Input.ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
        {
            if (inputs.ContainsKey(t.Name))
                throw Fail(path, $"initializer '{t.Name}'", "shares its name with a graph input; ORT would load it as a second, overridable copy");
            if (TensorData.IsExternal(t))
                throw Fail(path, $"initializer '{t.Name}'", "still points at external data; the folder's graph must be self-contained");
        }
        var dataInputs = new[] { manifest.Inputs.InputIds, manifest.Inputs.AttentionMask, manifest.Inputs.PositionIds, manifest.Inputs.LabelMask }
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var name in dataInputs)
            if (!inputs.ContainsKey(name)) throw Fail(path, $"input '{name}'", "named in the manifest but not a graph input");
        var weightNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var w in manifest.WeightInputs)
        {
            if (!weightNames.Add(w.Name)) throw Fail(path, $"weight '{w.Name}'", "listed twice in the manifest");
            if (!inputs.TryGetValue(w.Name, out var info)) throw Fail(path, $"weight '{w.Name}'", "listed in the manifest but not a graph input");
            var type = info.Type?.TensorType;
            if (type is null || !OnnxElementType.TryToDType(type.ElemType, out var dtype) || dtype.ToShortName() != w.Dtype)
                throw Fail(path, $"input '{w.Name}'", $"element type {OnnxElementType.Name(type?.ElemType ?? 0)} does not match the manifest's {w.Dtype}");
            var dims = type.Shape?.Dim;
            if (dims is null || dims.Count != w.Shape.Count
                || dims.Zip(w.Shape).Any(p => p.First.ValueCase != Onnx.Proto.TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue || p.First.DimValue != p.Second))
                throw Fail(path, $"input '{w.Name}'", $"declared shape does not equal the manifest's static shape [{string.Join(", ", w.Shape)}]");
        }
        foreach (var name in inputs.Keys)
            if (!dataInputs.Contains(name) && !weightNames.Contains(name))
                throw Fail(path, $"input '{name}'", "is neither a data input named in the manifest nor a weight; the engine would not feed it");
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in new[] { manifest.Outputs.SumLogprob, manifest.Outputs.MeanLogprob, manifest.Outputs.Logits }.OfType<string>())
            if (!outputs.Contains(name)) throw Fail(path, $"output '{name}'", "named in the manifest but not a graph output");
        var groups = manifest.Groups.Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i, StringComparer.Ordinal);
        int previous = 0;
        foreach (var w in manifest.WeightInputs)
        {
            if (!groups.TryGetValue(w.Group, out int at)) throw Fail(path, $"weight '{w.Name}'", $"group '{w.Group}' is not among the manifest's groups");
            if (at < previous) throw Fail(path, $"weight '{w.Name}'", "weights are not ordered by group");
            previous = at;
        }
    }

    private static void VerifyWeightsFile(string path, ModelManifest manifest)
    {
        using var file = SafetensorsFile.Open(path);
        if (file.Tensors.Count != manifest.WeightInputs.Count)
            throw Fail(path, null, $"holds {file.Tensors.Count} tensors; the manifest lists {manifest.WeightInputs.Count} weights");
        foreach (var w in manifest.WeightInputs)
        {
            if (!file.TryGet(w.Name, out var entry)) throw Fail(path, $"tensor '{w.Name}'", "listed in the manifest but missing from the weights file");
            if (entry.Spec.DType.ToShortName() != w.Dtype || !entry.Spec.Shape.SequenceEqual(w.Shape))
                throw Fail(path, $"tensor '{w.Name}'", $"is {entry.Spec.DType.ToShortName()} {entry.Spec.ShapeText}; the manifest says {w.Dtype} [{string.Join(", ", w.Shape)}]");
        }
    }
}
