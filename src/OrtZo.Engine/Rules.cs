namespace OrtZo.Engine;

/// <summary>
/// The optimizer rules of <see cref="UpdateRule"/>, element by element, in float32 without fused
/// multiply-add. Shared by the scalar reference and the scalar tails of the SIMD kernels; the vector
/// kernels and the CUDA kernels restate the same expressions.
/// </summary>
internal static unsafe class Rules
{
    /// <param name="g">ĝ for this element (already masked in: the caller skips masked-out elements).</param>
    /// <param name="s1">Momentum or Adam's first moment for this element (unused otherwise).</param>
    /// <param name="s2">Adam's second moment for this element.</param>
    public static float Apply(UpdateSpec u, bool decay, float theta, float g, float* s1, float* s2)
    {
        if (u.Rule == UpdateRule.CommitOffset) return theta + g;  // g = fl(s·z): the candidate offset itself
        if (decay && u.WeightDecay != 0f) g = g + u.WeightDecay * theta;
        switch (u.Rule)
        {
            case UpdateRule.Sgd:
                return theta - u.LearningRate * g;
            case UpdateRule.Sign:
                float sign = g > 0f ? 1f : g < 0f ? -1f : 0f;
                return theta - u.LearningRate * sign;
            case UpdateRule.Momentum:
                float m = u.Beta1 * *s1 + g;
                *s1 = m;
                return theta - u.LearningRate * m;
            case UpdateRule.Adam:
                float m1 = u.Beta1 * *s1 + (1f - u.Beta1) * g;
                float v = u.Beta2 * *s2 + (1f - u.Beta2) * (g * g);
                *s1 = m1;
                *s2 = v;
                float denom = MathF.Sqrt(v) / u.AdamBias2Sqrt + u.AdamEpsilon;
                return theta - u.AdamStepSize * (m1 / denom);
            default:
                throw new ArgumentOutOfRangeException(nameof(u), u.Rule, null);
        }
    }
}
