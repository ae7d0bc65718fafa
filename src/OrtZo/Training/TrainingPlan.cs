using OrtZo.Onnx.Model;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Training;

/// <summary>Turns the public options into the engine's settings and per-tensor treatment.</summary>
internal static class TrainingPlan
{
    public static ZoSettings Settings(ZoOptions o) => new()
    {
        MasterSeed = o.Seed,
        Epsilon = (float)o.Epsilon,
        Queries = o.Queries,
        Estimator = o.Optimizer == ZoOptimizer.ZoConservative ? Estimator.Conservative
            : o.OnePoint ? Estimator.OnePoint : Estimator.TwoPoint,
        Blocks = o.BlockWise switch
        {
            BlockWiseMode.Coordinate => BlockMode.Coordinate,
            BlockWiseMode.Jacobi => BlockMode.Jacobi,
            _ => BlockMode.None,
        },
        Rule = o.Optimizer switch
        {
            ZoOptimizer.ZoSign => UpdateRule.Sign,
            ZoOptimizer.ZoMomentum => UpdateRule.Momentum,
            ZoOptimizer.ZoAdam => UpdateRule.Adam,
            _ => UpdateRule.Sgd,
        },
        WeightDecay = (float)o.WeightDecay,
        Beta1 = (float)o.Beta1,
        Beta2 = (float)o.Beta2,
        AdamEpsilon = (float)o.AdamEpsilon,
        StochasticRounding = o.StochasticRounding,
        MaskResampleSteps = o.GradientPruningResample,
    };

    public static int StateBuffers(ZoOptions o) => o.Optimizer switch
    {
        ZoOptimizer.ZoMomentum => 1,
        ZoOptimizer.ZoAdam => 2,
        _ => 0,
    };

    public static WeightKinds KindOf(WeightRole role) => role switch
    {
        WeightRole.Matrix => WeightKinds.Matrices,
        WeightRole.Embedding or WeightRole.PositionEmbedding => WeightKinds.Embeddings,
        WeightRole.LmHead => WeightKinds.Head,
        WeightRole.Norm => WeightKinds.Norms,
        WeightRole.Bias => WeightKinds.Biases,
        _ => WeightKinds.Other,
    };

    /// <summary>
    /// Per-tensor treatment. Magnitude thresholds and pruning keep-ratios come from <paramref name="fixedRatios"/>
    /// when resuming (they are fixed at the start of a run); otherwise they are computed from the slab now.
    /// </summary>
    public static List<TrainableTensor> Tensors(ModelManifest manifest, CpuSlab slab, ZoOptions o, IReadOnlyList<float>? fixedRatios = null)
    {
        var result = new List<TrainableTensor>(slab.Layout.Slots.Count);
        float[] ratios = fixedRatios?.ToArray() ?? ComputeRatios(manifest, slab, o);
        if (ratios.Length != slab.Layout.Slots.Count)
            throw new ArgumentException($"{ratios.Length} per-tensor thresholds for {slab.Layout.Slots.Count} tensors");
        long stateBase = 0;
        foreach (var slot in slab.Layout.Slots)
        {
            var w = manifest.WeightInputs[slot.Index];
            MaskKind mask = MaskFor(o, w.Role);
            result.Add(new TrainableTensor
            {
                Slot = slot,
                Mask = mask,
                Threshold = mask == MaskKind.Magnitude ? ratios[slot.Index] : 0f,
                KeepRatio = mask == MaskKind.Random ? ratios[slot.Index] : 1f,
                Decay = w.Role is not (WeightRole.Bias or WeightRole.Norm),
                StateBase = mask == MaskKind.Frozen ? 0 : stateBase,
                Group = w.Group,
            });
            if (mask != MaskKind.Frozen) stateBase = SlabLayout.AlignUp(stateBase + slot.ElementCount, 64);
        }
        return result;
    }

    /// <summary>
    /// Adapters (PEFT) are few and freshly initialised (LoRA's B is all zeros), so magnitude and pruning masks
    /// would say nothing about them: every optimizer moves all of their elements. A PEFT model's slab holds
    /// only adapters; its base weights live in the graph and are frozen by construction.
    /// </summary>
    private static MaskKind MaskFor(ZoOptions o, WeightRole role)
    {
        if (role == WeightRole.Adapter) return MaskKind.Dense;
        var kind = KindOf(role);
        if ((o.Trainable & kind) == 0) return MaskKind.Frozen;
        if (o.Optimizer == ZoOptimizer.SparseMeZO)
            return (o.SparseTargets & kind) != 0 ? MaskKind.Magnitude : o.FreezeUnmasked ? MaskKind.Frozen : MaskKind.Dense;
        if (o.GradientPruning > 0) return MaskKind.Random;
        return MaskKind.Dense;
    }

    /// <summary>
    /// Sparse-MeZO: per-tensor |w| threshold at the requested sparsity. Gradient pruning: the global
    /// magnitude threshold at the pruning ratio, then each tensor's share of weights above it is its keep ratio.
    /// </summary>
    public static float[] ComputeRatios(ModelManifest manifest, CpuSlab slab, ZoOptions o)
    {
        var ratios = new float[slab.Layout.Slots.Count];
        if (o.Optimizer == ZoOptimizer.SparseMeZO)
        {
            foreach (var slot in slab.Layout.Slots)
                if (MaskFor(o, manifest.WeightInputs[slot.Index].Role) == MaskKind.Magnitude)
                    ratios[slot.Index] = MagnitudeThreshold.Compute(slab.ReadFloat32(slot.Index), o.Sparsity);
        }
        else if (o.GradientPruning > 0)
        {
            var trainable = slab.Layout.Slots.Where(s => MaskFor(o, manifest.WeightInputs[s.Index].Role) == MaskKind.Random).ToList();
            var all = trainable.SelectMany(s => slab.ReadFloat32(s.Index)).ToArray();
            float global = MagnitudeThreshold.Compute(all, 1 - o.GradientPruning);
            foreach (var slot in trainable)
            {
                var values = slab.ReadFloat32(slot.Index);
                int pruned = values.Count(v => MathF.Abs(v) <= global);
                ratios[slot.Index] = 1f - (float)pruned / values.Length;
            }
        }
        return ratios;
    }
}
