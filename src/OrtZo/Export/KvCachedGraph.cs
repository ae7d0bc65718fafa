using OrtZo.Onnx;
using OrtZo.Onnx.Model;
using OrtZo.Onnx.Peft;
using OrtZo.Onnx.Proto;
using OrtZo.Peft;

namespace OrtZo.Export;

/// <summary>
/// The cache a <see cref="KvCachedGraph"/> gave a graph: per layer, [batch, KvHeads, sequence, HeadDim] tensors of
/// ElementType named as <see cref="KvCacheRewrite.PastKey"/> etc., or, when <see cref="Restored"/>, the tensors the
/// source export declared (<see cref="Tensors"/> lists them either way). Heads is 0 when no probe could read it (a
/// restored graph with fused attention ops).
/// </summary>
internal sealed record KvCacheLayout(int Layers, int Heads, int KvHeads, int HeadDim, int ElementType, bool HasPositionIds, bool HasAttentionMask)
{
    public required IReadOnlyList<CacheTensor> Tensors { get; init; }

    /// <summary>The source export's own cache path was restored (names and layout are the source's).</summary>
    public bool Restored { get; init; }
}

/// <summary>
/// A model's scoring-free graph (an export graph, or the graph generation runs) with a KV cache: the source
/// export's own, when the model was imported with one (<see cref="KvCacheRestore"/>), else one added by
/// <see cref="KvCacheRewrite"/>. The attention cores and their head counts come from the base graph (the model's
/// own, or a PEFT run's base), since a PEFT rewrite hides the cores from the matcher but keeps the values it names.
/// Prompt tuning is refused: its virtual tokens are put in front of every call's input, so each cached step would
/// insert them again.
/// </summary>
internal static class KvCachedGraph
{
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
        var manifest = baseFolder.Manifest;
        string? mask = graph.Graph.Input.Any(i => i.Name == manifest.Inputs.AttentionMask) ? manifest.Inputs.AttentionMask : null;
        string? positions = graph.Graph.Input.Any(i => i.Name == manifest.Inputs.PositionIds) ? manifest.Inputs.PositionIds : null;
        if (KvCacheRestore.TryApply(graph, graphPath) is { } restored)
            return RestoredLayout(restored, baseFolder, model.Threads, positions is not null, mask is not null);
        var (cores, shapes) = AttentionShapeProbe.Probe(baseFolder, model.Threads);
        if (shapes.Select(s => (s.Heads, s.KvHeads, s.HeadDim)).Distinct().Count() != 1)
            throw OnnxErrors.Fail(OnnxError.Unsupported, graphPath, "attention",
                "layers differ in head counts; a KV cache layout (and GenAI's config) has one head count and head size for all layers");
        int elementType = OnnxElementType.FromDType(PeftRewriter.WeightDType(manifest));
        KvCacheRewrite.Apply(graph, cores, shapes, elementType, mask, positions, graphPath);
        var s = shapes[0];
        long[] empty = [1, s.KvHeads, 0, s.HeadDim];
        return new KvCacheLayout(cores.Count, s.Heads, s.KvHeads, s.HeadDim, elementType, positions is not null, mask is not null)
        {
            Tensors = Enumerable.Range(0, cores.Count).SelectMany(i => new[]
            {
                new CacheTensor(KvCacheRewrite.PastKey(i), KvCacheRewrite.PresentKey(i), elementType, empty),
                new CacheTensor(KvCacheRewrite.PastValue(i), KvCacheRewrite.PresentValue(i), elementType, empty),
            }).ToList(),
        };
    }

    /// <summary>
    /// Layers and head sizes of a restored cache: [B, Hkv, S, Dh] per key and per value, or GPT-2's combined
    /// [2, B, Hkv, S, Dh] per layer. The query head count comes from a probe where the attention is not fused.
    /// </summary>
    private static KvCacheLayout RestoredLayout(List<CacheTensor> tensors, ModelFolder baseFolder, int threads, bool positions, bool mask)
    {
        var first = tensors[0].EmptyShape;
        bool combined = first.Length == 5;
        int heads = 0;
        try
        {
            var (_, shapes) = AttentionShapeProbe.Probe(baseFolder, threads);
            heads = shapes[0].Heads;
        }
        catch (OrtZoException)
        {
            // fused attention ops: the matcher finds no MatMul → Softmax → MatMul to probe
        }
        int kvHeads = (int)first[^3], headDim = (int)first[^1];
        return new KvCacheLayout(combined ? tensors.Count : tensors.Count / 2, heads, kvHeads, headDim, tensors[0].ElementType, positions, mask)
        {
            Tensors = tensors,
            Restored = true,
        };
    }
}
