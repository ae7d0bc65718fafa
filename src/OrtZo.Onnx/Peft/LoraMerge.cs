namespace OrtZo.Onnx.Peft;

/// <summary>
/// Folds a LoRA branch into its base weight, W' = W + (α/r)·B·A, written in W's own layout:
/// <code>
/// [out, in] (nn.Linear):         W'[o, i] = W[o, i] + s · Σ_k B[o, k] · A[k, i]
/// [in, out] (Conv1D, MatMul):    W'[i, o] = W[i, o] + s · Σ_k A[k, i] · B[o, k]
/// </code>
/// The rank-r sums run in double and are added once, so the merged weight differs from W by the exactly rounded
/// update; the merged model then agrees with the unmerged branch up to float rounding of the forward itself.
/// </summary>
internal static class LoraMerge
{
    public static void Apply(float[] weight, WeightLayout layout, long inFeatures, long outFeatures, float[] a, float[] b, int rank, double scale)
    {
        if (weight.LongLength != inFeatures * outFeatures || a.LongLength != rank * inFeatures || b.LongLength != outFeatures * rank)
            throw new ArgumentException($"LoRA merge: W has {weight.LongLength} elements, A {a.LongLength}, B {b.LongLength}; expected {inFeatures}×{outFeatures}, {rank}×{inFeatures}, {outFeatures}×{rank}");
        Parallel.For(0L, outFeatures, o =>
        {
            for (long i = 0; i < inFeatures; i++)
            {
                double sum = 0;
                for (int k = 0; k < rank; k++) sum += (double)b[o * rank + k] * a[k * inFeatures + i];
                long at = layout == WeightLayout.OutIn ? o * inFeatures + i : i * outFeatures + o;
                weight[at] += (float)(scale * sum);
            }
        });
    }
}
