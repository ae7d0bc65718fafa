namespace OrtZo.Onnx.Model;

/// <summary>
/// Recognises, from their values, the float tables an export carries that are not trainable weights even
/// when the exporter gave them anonymous names ("onnx::Add_123"): causal masks, rotary cos/sin caches and
/// inverse-frequency vectors. Each test checks a structure no trained or randomly initialised weight has, and
/// stops at the first value that breaks it, so scanning real weights costs next to nothing.
/// </summary>
internal static class ConstantPatterns
{
    /// <summary>
    /// A square trailing matrix (leading dims all 1) that is triangular with values from {0, x}, x being 1 or a
    /// large negative number (additive masks use −1e4 … −inf).
    /// </summary>
    public static bool LooksLikeCausalMask(IReadOnlyList<long> shape, ReadOnlySpan<float> values)
    {
        if (shape.Count < 2 || shape[^1] != shape[^2] || shape[^1] < 2) return false;
        for (int i = 0; i < shape.Count - 2; i++)
            if (shape[i] != 1) return false;
        float marker = 0f;
        foreach (float v in values)
        {
            if (v == 0f || v == marker) continue;
            if (marker != 0f || !(v == 1f || v <= -1e4f)) return false;
            marker = v;
        }
        if (marker == 0f) return false;
        int n = (int)shape[^1];
        // A 1-valued mask marks the attended side (diagonal included); a negative one marks the masked side.
        return marker == 1f
            ? IsTriangle(values, n, marker, (r, c) => c <= r) || IsTriangle(values, n, marker, (r, c) => c >= r)
            : IsTriangle(values, n, marker, (r, c) => c > r) || IsTriangle(values, n, marker, (r, c) => c < r);
    }

    /// <summary>
    /// A [positions, k] table (leading dims 1) whose every column j is cos(p·f_j) or sin(p·f_j) of the row p for
    /// one frequency f_j, as rotary embeddings cache them (checked on rows 0..3 and one far row).
    /// </summary>
    public static bool LooksLikeRotaryTable(IReadOnlyList<long> shape, ReadOnlySpan<float> values)
    {
        if (shape.Count < 2) return false;
        for (int i = 0; i < shape.Count - 2; i++)
            if (shape[i] != 1) return false;
        long rows = shape[^2], cols = shape[^1];
        if (rows < 4 || cols < 1) return false;
        bool isCos = values[0] == 1f;
        bool isSin = values[0] == 0f;
        if (!isCos && !isSin) return false;
        long far = Math.Min(rows - 1, 16);
        long[] probes = [2, 3, far];
        for (long j = 0; j < cols; j++)
        {
            float first = values[(int)j], second = values[(int)(cols + j)];
            if (first != (isCos ? 1f : 0f) || second < -1f || second > 1f) return false;
            double frequency = isCos ? Math.Acos(second) : Math.Asin(second);
            foreach (long p in probes)
            {
                double expected = isCos ? Math.Cos(p * frequency) : Math.Sin(p * frequency);
                if (Math.Abs(values[(int)(p * cols + j)] - expected) > 2e-3) return false;
            }
        }
        return true;
    }

    /// <summary>
    /// A geometric sequence starting at 1 and strictly decreasing: RoPE's θ^(−2i/d) inverse frequencies. A vector,
    /// or a vector with singleton axes around it, as torch.onnx leaves Hugging Face's <c>inv_freq[None, :, None]</c>.
    /// </summary>
    public static bool LooksLikeInverseFrequencies(IReadOnlyList<long> shape, ReadOnlySpan<float> values)
    {
        if (shape.Count(d => d != 1) != 1 || values.Length < 3 || values[0] != 1f) return false;
        double ratio = values[1];
        if (!(ratio > 0 && ratio < 1 - 1e-6)) return false;
        for (int i = 2; i < values.Length; i++)
        {
            double expected = values[i - 1] * ratio;
            if (Math.Abs(values[i] - expected) > 1e-4 * Math.Max(expected, 1e-30) + 1e-12) return false;
        }
        return true;
    }

    private static bool IsTriangle(ReadOnlySpan<float> values, int n, float marker, Func<int, int, bool> marked)
    {
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                if (values[r * n + c] != (marked(r, c) ? marker : 0f)) return false;
        return true;
    }
}
