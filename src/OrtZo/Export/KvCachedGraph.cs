using OrtZo.Onnx;
using OrtZo.Onnx.Peft;
using OrtZo.Onnx.Proto;
using OrtZo.Peft;

namespace OrtZo.Export;

/// <summary>The cache a <see cref="KvCachedGraph"/> added: per layer, [batch, KvHeads, sequence, HeadDim] tensors of ElementType.</summary>
internal sealed record KvCacheLayout(int Layers, int Heads, int KvHeads, int HeadDim, int ElementType, bool HasPositionIds, bool HasAttentionMask);

/// <summary>
/// A model's scoring-free graph (an export graph, or the graph generation runs) with a KV cache added by
/// <see cref="KvCacheRewrite"/>. The attention cores and their head counts come from the base graph (the model's
/// own, or a PEFT run's base), since a PEFT rewrite hides the cores from the matcher but keeps the values it names.
/// Prompt tuning is refused: its virtual tokens are put in front of every call's input, so each cached step would
/// insert them again.
/// </summary>
internal static class KvCachedGraph
{
    public static string PastKey(int layer) => KvCacheRewrite.PastKey(layer);

    public static string PastValue(int layer) => KvCacheRewrite.PastValue(layer);

    public static string PresentKey(int layer) => KvCacheRewrite.PresentKey(layer);

    public static string PresentValue(int layer) => KvCacheRewrite.PresentValue(layer);

    /// <summary>Refuses a model whose graph cannot carry a cache (prompt tuning).</summary>
    public static void EnsureSupported(ZoModel model)
    {
        if (model.PeftState?.Options.Scheme == PeftScheme.Prompt)
            throw OptionErrors.Fail(OptionError.Conflict, "peft.scheme",
                $"{model.FolderPath} is prompt-tuned: its virtual tokens are prepended to every call's input, so a KV cache would see them again at every step");
    }

    public static KvCacheLayout Apply(ModelProto graph, ZoModel model, string graphPath)
    {
        EnsureSupported(model);
        var peft = model.PeftState;
        var baseFolder = peft?.BaseFolder ?? model.Folder;
        var (cores, shapes) = AttentionShapeProbe.Probe(baseFolder, model.Threads);
        if (shapes.Select(s => (s.Heads, s.KvHeads, s.HeadDim)).Distinct().Count() != 1)
            throw OnnxErrors.Fail(OnnxError.Unsupported, graphPath, "attention",
                "layers differ in head counts; a KV cache layout (and GenAI's config) has one head count and head size for all layers");
        var manifest = baseFolder.Manifest;
        int elementType = OnnxElementType.FromDType(PeftRewriter.WeightDType(manifest));
        string? mask = graph.Graph.Input.Any(i => i.Name == manifest.Inputs.AttentionMask) ? manifest.Inputs.AttentionMask : null;
        string? positions = graph.Graph.Input.Any(i => i.Name == manifest.Inputs.PositionIds) ? manifest.Inputs.PositionIds : null;
        KvCacheRewrite.Apply(graph, cores, shapes, elementType, mask, positions, graphPath);
        return new KvCacheLayout(cores.Count, shapes[0].Heads, shapes[0].KvHeads, shapes[0].HeadDim, elementType, positions is not null, mask is not null);
    }
}
