using Microsoft.ML.OnnxRuntime;
using OrtZo.Onnx;
using OrtZo.WeightStore;

namespace OrtZo.Model;

/// <summary>
/// Checks a model folder against its manifest before it is published: the promises the engine relies on
/// (every weight is a graph input with the manifest's dtype and full static shape, no initializer shares an
/// input's name, the weights file holds exactly those tensors) and, by level, that ORT accepts and runs it.
/// </summary>
internal static class ModelFolderVerifier
{
    public static void Verify(string folder, ModelManifest manifest, ImportVerification level)
    {
        string graphPath = Path.Combine(folder, manifest.Graph);
        VerifyGraph(graphPath, manifest);
        VerifyWeightsFile(Path.Combine(folder, manifest.Weights), manifest);
        if (level >= ImportVerification.Session) VerifySession(graphPath, manifest);
        if (level >= ImportVerification.Forward) VerifyForward(folder, manifest);
    }

    private static OnnxModelException Fail(string path, string? subject, string message) =>
        new(OnnxError.VerificationFailed, path, subject, message);

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

    private static void VerifySession(string path, ModelManifest manifest)
    {
        try
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1 };
            using var session = new InferenceSession(path, options);
            if (session.OverridableInitializerMetadata.Count > 0)
                throw Fail(path, $"initializer '{session.OverridableInitializerMetadata.Keys.First()}'", "ORT sees it as overridable (it shares a graph input's name)");
            foreach (var w in manifest.WeightInputs)
            {
                if (!session.InputMetadata.TryGetValue(w.Name, out var meta))
                    throw Fail(path, $"weight '{w.Name}'", "ORT does not list it among the session's inputs");
                if (!meta.Dimensions.Select(d => (long)d).SequenceEqual(w.Shape))
                    throw Fail(path, $"weight '{w.Name}'", $"ORT sees shape [{string.Join(", ", meta.Dimensions)}], the manifest [{string.Join(", ", w.Shape)}]");
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxModelException(OnnxError.VerificationFailed, path, null, $"ONNX Runtime cannot load the converted graph: {e.Message}", e);
        }
    }

    private static void VerifyForward(string folder, ModelManifest manifest)
    {
        int seq = Math.Max(2, Math.Min(4, manifest.MaxLength > 0 ? manifest.MaxLength : 4));
        int vocab = Math.Max(1, manifest.VocabSize);
        var ids = Enumerable.Range(0, seq).Select(i => (long)(i % vocab)).ToArray();
        var labels = Enumerable.Range(0, seq).Select(i => i == 0 ? 0f : 1f).ToArray();
        try
        {
            using var runner = ImportedModelRunner.Open(folder);
            var scores = runner.Score(ids, 1, seq, null, labels);
            if (!float.IsFinite(scores.SumLogprob[0]) || !float.IsFinite(scores.MeanLogprob[0]))
                throw Fail(Path.Combine(folder, manifest.Graph), $"output '{manifest.Outputs.SumLogprob}'",
                    $"a smoke forward on ids [{string.Join(", ", ids)}] gave {scores.SumLogprob[0]}; expected a finite score");
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxModelException(OnnxError.VerificationFailed, Path.Combine(folder, manifest.Graph), null,
                $"a smoke forward failed in ONNX Runtime: {e.Message}", e);
        }
    }
}
