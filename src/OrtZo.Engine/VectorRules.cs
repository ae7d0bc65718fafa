using System.Numerics;

namespace OrtZo.Engine;

/// <summary>
/// <see cref="Rules"/> over a chunk: the same float32 expressions, lane by lane, so results are bit-identical.
/// Lanes whose mask is off compute a value that the caller discards, and their optimizer state is kept.
/// </summary>
internal static unsafe class VectorRules
{
    /// <param name="theta">Restored weights.</param>
    /// <param name="g">ĝ per element.</param>
    /// <param name="result">Updated weights (before rounding to the storage type).</param>
    /// <param name="mask">All-ones where the element moves.</param>
    public static void Apply(UpdateSpec u, bool decay, ReadOnlySpan<float> theta, ReadOnlySpan<float> g, Span<float> result,
        ReadOnlySpan<uint> mask, float* s1, float* s2)
    {
        int n = theta.Length;
        int i = 0;
        int w = Vector<float>.Count;
        bool useDecay = decay && u.WeightDecay != 0f && u.Rule != UpdateRule.CommitOffset;
        var lr = new Vector<float>(u.LearningRate);
        var wd = new Vector<float>(u.WeightDecay);
        var b1 = new Vector<float>(u.Beta1);
        var b2 = new Vector<float>(u.Beta2);
        var c1 = new Vector<float>(1f - u.Beta1);
        var c2 = new Vector<float>(1f - u.Beta2);
        var eps = new Vector<float>(u.AdamEpsilon);
        var step = new Vector<float>(u.AdamStepSize);
        var bias2 = new Vector<float>(u.AdamBias2Sqrt);
        for (; i <= n - w; i += w)
        {
            var th = new Vector<float>(theta.Slice(i));
            var gv = new Vector<float>(g.Slice(i));
            if (useDecay) gv = gv + wd * th;
            Vector<float> r;
            switch (u.Rule)
            {
                case UpdateRule.CommitOffset:
                    r = th + gv;
                    break;
                case UpdateRule.Sgd:
                    r = th - lr * gv;
                    break;
                case UpdateRule.Sign:
                    var sign = Vector.ConditionalSelect(Vector.GreaterThan(gv, Vector<float>.Zero), Vector<float>.One,
                        Vector.ConditionalSelect(Vector.LessThan(gv, Vector<float>.Zero), -Vector<float>.One, Vector<float>.Zero));
                    r = th - lr * sign;
                    break;
                case UpdateRule.Momentum:
                {
                    var on = Vector.AsVectorInt32(new Vector<uint>(mask.Slice(i)));
                    var old = Vector.Load(s1 + i);
                    var m = b1 * old + gv;
                    Vector.ConditionalSelect(on, m, old).Store(s1 + i);
                    r = th - lr * m;
                    break;
                }
                case UpdateRule.Adam:
                {
                    var on = Vector.AsVectorInt32(new Vector<uint>(mask.Slice(i)));
                    var oldM = Vector.Load(s1 + i);
                    var oldV = Vector.Load(s2 + i);
                    var m = b1 * oldM + c1 * gv;
                    var v = b2 * oldV + c2 * (gv * gv);
                    Vector.ConditionalSelect(on, m, oldM).Store(s1 + i);
                    Vector.ConditionalSelect(on, v, oldV).Store(s2 + i);
                    var denom = Vector.SquareRoot(v) / bias2 + eps;
                    r = th - step * (m / denom);
                    break;
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(u), u.Rule, null);
            }
            r.CopyTo(result.Slice(i));
        }
        for (; i < n; i++)
        {
            if (mask[i] != 0)
            {
                result[i] = Rules.Apply(u, decay, theta[i], g[i], s1 == null ? null : s1 + i, s2 == null ? null : s2 + i);
            }
            else
            {
                float dummy1 = s1 == null ? 0f : s1[i], dummy2 = s2 == null ? 0f : s2[i];
                result[i] = Rules.Apply(u, decay, theta[i], g[i], &dummy1, &dummy2);
            }
        }
    }
}
