using OrtZo.Onnx.Model;
using OrtZo.Onnx;
using OrtZo.Onnx.Proto;
using OrtZo.WeightStore;

using OrtZo.Onnx.Peft;

namespace OrtZo.Peft;

/// <summary>A base graph with a PEFT scheme applied: the adapters are new graph inputs, the base weights are still inputs.</summary>
internal sealed class RewrittenGraph
{
    public required ModelProto Model { get; init; }
    public required IReadOnlyList<AdapterTensor> Adapters { get; init; }

    /// <summary>Positions the rewrite adds in front of every sequence (prompt tuning's virtual tokens; 0 otherwise).</summary>
    public int VirtualTokens { get; init; }
}

/// <summary>
/// Applies a <see cref="PeftOptions"/> scheme to a base model folder's graph (which stays untouched on disk) and
/// computes the adapters' starting values. The same rewrite serves training (through <see cref="PeftCache"/>) and
/// <c>ortzo export</c>, so an exported prefix or prompt model runs exactly the graph that was trained.
/// </summary>
internal static class PeftRewriter
{
    public static RewrittenGraph Apply(ModelFolder baseFolder, PeftOptions options, int threads)
    {
        options.Validate();
        string path = baseFolder.GraphPath;
        var model = OnnxModelFile.Parse(File.ReadAllBytes(path), path);
        var manifest = baseFolder.Manifest;
        IReadOnlyList<AdapterTensor> adapters;
        int virtualTokens = 0;
        switch (options.Scheme)
        {
            case PeftScheme.Lora:
                adapters = LoraRewrite.Apply(model, LoraSites.Find(model.Graph, manifest, options.LoraTargets, path), options.LoraRank, options.LoraAlpha, options.InitSeed);
                break;
            case PeftScheme.Prefix:
                adapters = ApplyPrefix(model, baseFolder, options, threads, path);
                break;
            case PeftScheme.Prompt:
                adapters = PromptRewrite.Apply(model, manifest, options.PromptTokens, d => PromptInitial(baseFolder, options, d), path);
                virtualTokens = options.PromptTokens;
                if (manifest.MaxLength - virtualTokens < 2)
                    throw OnnxErrors.Fail(OnnxError.Unsupported, path, "max_length",
                        $"{manifest.MaxLength} positions leave fewer than 2 for text after {virtualTokens} virtual tokens");
                break;
            default:
                throw new ArgumentException($"PEFT scheme {options.Scheme} rewrites nothing", nameof(options));
        }
        GraphSurgery.SortTopologically(model.Graph, path);
        return new RewrittenGraph { Model = model, Adapters = adapters, VirtualTokens = virtualTokens };
    }

    private static List<AdapterTensor> ApplyPrefix(ModelProto model, ModelFolder baseFolder, PeftOptions options, int threads, string path)
    {
        var manifest = baseFolder.Manifest;
        var cores = AttentionCores.Find(model.Graph, manifest, path);
        int p = options.PrefixTokens;
        long vocab = manifest.VocabSize > 0 ? manifest.VocabSize
            : manifest.WeightInputs.First(w => w.Role == WeightRole.Embedding).Shape[0];
        // ZO-Bench feeds P random token ids (no BOS) and keeps each layer's keys and values.
        long[] ids = AdapterInit.TokenIds(options.InitSeed, "prefix.token_ids", p, vocab);
        var wanted = cores.SelectMany(c => new[] { c.KeysTransposed, c.Values }.Concat(AttentionShapeProbe.Values(c))).ToList();
        var probe = ActivationProbe.Run(baseFolder, ids, wanted, threads);
        var shapes = AttentionShapeProbe.Shapes(cores, probe, path);
        var dtype = WeightDType(manifest);
        return PrefixRewrite.Apply(model, cores, shapes, p, dtype, layer =>
        {
            var shape = shapes[layer];
            long count = (long)p * shape.KvWidth;
            if (options.RandomInit)
                return (AdapterInit.Normal(options.InitSeed, PrefixRewrite.KeysName(layer), count, options.RandomInitStd),
                        AdapterInit.Normal(options.InitSeed, PrefixRewrite.ValuesName(layer), count, options.RandomInitStd));
            return (RealKeys(probe[cores[layer].KeysTransposed], shape, p), RealValues(probe[cores[layer].Values], shape, p));
        });
    }

    /// <summary>Kᵀ [1, H, Dh, P] → [P, Hkv·Dh], taking query head j·rep for kv head j (the repeat's copies are equal).</summary>
    private static float[] RealKeys(ProbeTensor keysT, AttentionShape s, int p)
    {
        var result = new float[p * s.KvWidth];
        for (int j = 0; j < s.KvHeads; j++)
            for (int d = 0; d < s.HeadDim; d++)
                for (int t = 0; t < p; t++)
                    result[t * s.KvWidth + j * s.HeadDim + d] = keysT.Values[((long)j * s.Repeats * s.HeadDim + d) * p + t];
        return result;
    }

    /// <summary>V [1, H, P, Dh] → [P, Hkv·Dh].</summary>
    private static float[] RealValues(ProbeTensor values, AttentionShape s, int p)
    {
        var result = new float[p * s.KvWidth];
        for (int j = 0; j < s.KvHeads; j++)
            for (int t = 0; t < p; t++)
                for (int d = 0; d < s.HeadDim; d++)
                    result[t * s.KvWidth + j * s.HeadDim + d] = values.Values[((long)j * s.Repeats * p + t) * s.HeadDim + d];
        return result;
    }

    /// <summary>Virtual-token embeddings: rows of the token table for random ids (ZO-Bench's default in its sweeps), or N(0, σ²).</summary>
    private static float[] PromptInitial(ModelFolder baseFolder, PeftOptions options, long d)
    {
        int n = options.PromptTokens;
        if (options.RandomInit)
            return AdapterInit.Normal(options.InitSeed, PromptRewrite.EmbeddingsName, n * d, options.RandomInitStd);
        var table = baseFolder.Manifest.WeightInputs.First(w => w.Role == WeightRole.Embedding && w.Shape.Count == 2);
        long[] ids = AdapterInit.TokenIds(options.InitSeed, "prompt.token_ids", n, table.Shape[0]);
        return EmbeddingRows(baseFolder, table.Name, ids);
    }

    /// <summary>Rows <paramref name="ids"/> of an embedding table in the base weights file, as float32.</summary>
    internal static float[] EmbeddingRows(ModelFolder folder, string table, IReadOnlyList<long> ids)
    {
        using var weights = SafetensorsFile.Open(folder.WeightsPath);
        var entry = weights.Get(table);
        long d = entry.Spec.Shape[1];
        int size = entry.Spec.DType.SizeInBytes();
        var result = new float[ids.Count * d];
        for (int i = 0; i < ids.Count; i++)
        {
            var row = weights.GetBytes(entry).Slice((int)(ids[i] * d * size), (int)(d * size));
            FloatConversions.ToFloat32(entry.Spec.DType, row, result.AsSpan(i * (int)d, (int)d), weights.FilePath, table);
        }
        return result;
    }

    /// <summary>Adapters take the dtype of the base model's matrices (f32 for every model OrtZo ships).</summary>
    internal static DType WeightDType(ModelManifest manifest)
    {
        var reference = manifest.WeightInputs.FirstOrDefault(w => w.Role == WeightRole.Matrix) ?? manifest.WeightInputs[0];
        DTypeExtensions.TryParseShortName(reference.Dtype, out var dtype);
        return dtype;
    }
}
