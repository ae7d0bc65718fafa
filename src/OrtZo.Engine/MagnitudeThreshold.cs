namespace OrtZo.Engine;

/// <summary>
/// Sparse-MeZO's per-tensor threshold: the k-th smallest |w| with k = ⌈(1 − sparsity)·n⌉, found by selection
/// (expected linear time, no full sort). Elements with |w| ≤ threshold move, so at least k of n do; ties at
/// the threshold may add a few more. Sparsity 0.8 moves the smallest-magnitude 20% of each tensor.
/// </summary>
internal static class MagnitudeThreshold
{
    /// <param name="values">The tensor's weights; copied, not modified.</param>
    public static float Compute(ReadOnlySpan<float> values, double sparsity)
    {
        if (double.IsNaN(sparsity) || sparsity < 0 || sparsity > 1)
            throw new ArgumentOutOfRangeException(nameof(sparsity), sparsity, "sparsity must be in [0, 1]");
        int n = values.Length;
        long k = (long)Math.Ceiling((1 - sparsity) * n - 1e-9);
        if (k <= 0 || n == 0) return -1f;          // nothing moves (|w| ≤ −1 never holds)
        if (k >= n) return float.PositiveInfinity;  // everything moves
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = float.IsNaN(values[i]) ? float.PositiveInfinity : MathF.Abs(values[i]);
        return Select(a, (int)k - 1);
    }

    /// <summary>The element that would sit at <paramref name="index"/> if <paramref name="a"/> were sorted (a is reordered).</summary>
    internal static float Select(float[] a, int index)
    {
        int lo = 0, hi = a.Length - 1;
        var rng = new Random(0x5EED);  // pivot choice only; the result does not depend on it
        while (lo < hi)
        {
            float pivot = a[rng.Next(lo, hi + 1)];
            // three-way partition: [lo, lt) < pivot, [lt, gt] == pivot, (gt, hi] > pivot
            int lt = lo, i = lo, gt = hi;
            while (i <= gt)
            {
                if (a[i] < pivot)
                {
                    (a[lt], a[i]) = (a[i], a[lt]);
                    lt++;
                    i++;
                }
                else if (a[i] > pivot)
                {
                    (a[i], a[gt]) = (a[gt], a[i]);
                    gt--;
                }
                else
                {
                    i++;
                }
            }
            if (index < lt) hi = lt - 1;
            else if (index > gt) lo = gt + 1;
            else return pivot;
        }
        return a[lo];
    }
}
