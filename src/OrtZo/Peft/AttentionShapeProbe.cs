using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.Onnx.Peft;

namespace OrtZo.Peft;

/// <summary>
/// Head counts of each attention core, read from one probe run of the base graph: H and Dh from the queries
/// [B, H, T, Dh], Hkv from the values before a grouped-query repeat (H without one). Prefix tuning and the KV cache
/// rewrite both need them, and an exported graph does not state them.
/// </summary>
internal static class AttentionShapeProbe
{
    /// <summary>The values <see cref="Shapes"/> reads for one core.</summary>
    public static IEnumerable<string> Values(AttentionCore core) => core.KvHeads is null ? [core.Query] : [core.Query, core.KvHeads];

    public static List<AttentionShape> Shapes(IReadOnlyList<AttentionCore> cores, IReadOnlyDictionary<string, ProbeTensor> probe, string path)
    {
        var shapes = new List<AttentionShape>();
        foreach (var core in cores)
        {
            string subject = $"node '{core.Scores.Name}'";
            var q = probe[core.Query].Shape;
            if (q.Length != 4)
                throw OnnxErrors.Fail(OnnxError.Unsupported, path, subject,
                    $"queries have shape [{string.Join(", ", q)}]; expected [batch, heads, sequence, head_dim] (heads folded into the batch axis are not supported)");
            int heads = (int)q[1], headDim = (int)q[3];
            int kvHeads = core.KvHeads is { } kv ? (int)probe[kv].Shape[1] : heads;
            if (kvHeads <= 0 || heads % kvHeads != 0)
                throw OnnxErrors.Fail(OnnxError.Unsupported, path, subject, $"{heads} query heads do not divide into {kvHeads} key/value heads");
            shapes.Add(new AttentionShape(heads, kvHeads, headDim));
        }
        return shapes;
    }

    /// <summary>Finds the cores of a model folder's graph and probes their head counts with a few token ids.</summary>
    public static (List<AttentionCore> Cores, List<AttentionShape> Shapes) Probe(ModelFolder folder, int threads)
    {
        string path = folder.GraphPath;
        var model = OnnxModelFile.Parse(File.ReadAllBytes(path), path);
        var cores = AttentionCores.Find(model.Graph, folder.Manifest, path);
        long vocab = folder.Manifest.VocabSize > 0 ? folder.Manifest.VocabSize
            : folder.Manifest.WeightInputs.First(w => w.Role == WeightRole.Embedding).Shape[0];
        long[] ids = [.. Enumerable.Range(1, 3).Select(i => i % vocab)];
        var probe = ActivationProbe.Run(folder, ids, cores.SelectMany(Values).ToList(), threads);
        return (cores, Shapes(cores, probe, path));
    }
}
