using System.Numerics;

namespace OrtZo.Engine;

/// <summary>
/// Runs an optimizer rule: element by element for the scalar specification, or over a chunk with the rule's
/// vector form and its scalar form for the tail. The rule is chosen once per call, never inside the loop.
/// </summary>
internal static unsafe class RuleDriver
{
    /// <summary>One element (the specification's path). <paramref name="s1"/>/<paramref name="s2"/> may be null when the rule keeps no state.</summary>
    public static float Scalar(UpdateSpec u, bool decay, float theta, float g, float* s1, float* s2) => u.Rule switch
    {
        UpdateRule.Sgd => Scalar<SgdOp>(u, decay, theta, g, s1, s2),
        UpdateRule.Sign => Scalar<SignOp>(u, decay, theta, g, s1, s2),
        UpdateRule.Momentum => Scalar<MomentumOp>(u, decay, theta, g, s1, s2),
        UpdateRule.Adam => Scalar<AdamOp>(u, decay, theta, g, s1, s2),
        UpdateRule.CommitOffset => Scalar<CommitOffsetOp>(u, decay, theta, g, s1, s2),
        _ => throw new ArgumentOutOfRangeException(nameof(u), u.Rule, null),
    };

    /// <summary>
    /// A chunk: <paramref name="result"/>[i] = rule(θ_i, ĝ_i). Lanes whose mask is off compute a value the caller
    /// discards and keep their optimizer state.
    /// </summary>
    public static void Chunk(UpdateSpec u, bool decay, ReadOnlySpan<float> theta, ReadOnlySpan<float> g, Span<float> result,
        ReadOnlySpan<uint> mask, float* s1, float* s2)
    {
        switch (u.Rule)
        {
            case UpdateRule.Sgd: Chunk<SgdOp>(u, decay, theta, g, result, mask, s1, s2); break;
            case UpdateRule.Sign: Chunk<SignOp>(u, decay, theta, g, result, mask, s1, s2); break;
            case UpdateRule.Momentum: Chunk<MomentumOp>(u, decay, theta, g, result, mask, s1, s2); break;
            case UpdateRule.Adam: Chunk<AdamOp>(u, decay, theta, g, result, mask, s1, s2); break;
            case UpdateRule.CommitOffset: Chunk<CommitOffsetOp>(u, decay, theta, g, result, mask, s1, s2); break;
            default: throw new ArgumentOutOfRangeException(nameof(u), u.Rule, null);
        }
    }

    private static float Scalar<TOp>(UpdateSpec u, bool decay, float theta, float g, float* s1, float* s2) where TOp : struct, IRuleOp
    {
        var k = new RuleConstants(u);
        if (TOp.TakesDecay && decay && u.WeightDecay != 0f) g = g + u.WeightDecay * theta;
        float m = s1 == null ? 0f : *s1, v = s2 == null ? 0f : *s2;
        float r = TOp.Scalar(k, theta, g, ref m, ref v);
        if (s1 != null) *s1 = m;
        if (s2 != null) *s2 = v;
        return r;
    }

    private static void Chunk<TOp>(UpdateSpec u, bool decay, ReadOnlySpan<float> theta, ReadOnlySpan<float> g, Span<float> result,
        ReadOnlySpan<uint> mask, float* s1, float* s2) where TOp : struct, IRuleOp
    {
        var k = new RuleConstants(u);
        bool useDecay = TOp.TakesDecay && decay && u.WeightDecay != 0f;
        var wd = new Vector<float>(u.WeightDecay);
        int n = theta.Length, w = Vector<float>.Count, i = 0;
        for (; i <= n - w; i += w)
        {
            var th = new Vector<float>(theta.Slice(i));
            var gv = new Vector<float>(g.Slice(i));
            if (useDecay) gv = gv + wd * th;
            var on = Vector.AsVectorInt32(new Vector<uint>(mask.Slice(i)));
            var old1 = s1 == null ? Vector<float>.Zero : Vector.Load(s1 + i);
            var old2 = s2 == null ? Vector<float>.Zero : Vector.Load(s2 + i);
            var m = old1;
            var v = old2;
            TOp.Vector(k, th, gv, ref m, ref v).CopyTo(result.Slice(i));
            if (s1 != null) Vector.ConditionalSelect(on, m, old1).Store(s1 + i);
            if (s2 != null) Vector.ConditionalSelect(on, v, old2).Store(s2 + i);
        }
        for (; i < n; i++)
        {
            float gi = useDecay ? g[i] + u.WeightDecay * theta[i] : g[i];
            float m = s1 == null ? 0f : s1[i], v = s2 == null ? 0f : s2[i];
            result[i] = TOp.Scalar(k, theta[i], gi, ref m, ref v);
            if (mask[i] == 0) continue;
            if (s1 != null) s1[i] = m;
            if (s2 != null) s2[i] = v;
        }
    }
}
