using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tests.Zo;

/// <summary>
/// L(w) = Σ a_i·(w_i − b_i)² over every slab element, evaluated in double from the slab's current contents:
/// a loss whose exact gradient 2·a_i·(w_i − b_i) is known, for testing the estimator without a model.
/// </summary>
internal sealed class QuadraticProbe : IStepLosses
{
    private readonly CpuSlab _slab;
    private readonly double[][] _a, _b;

    public QuadraticProbe(CpuSlab slab, int seed)
    {
        _slab = slab;
        var rnd = new Random(seed);
        _a = slab.Layout.Slots.Select(s => Enumerable.Range(0, (int)s.ElementCount).Select(_ => 0.5 + rnd.NextDouble()).ToArray()).ToArray();
        _b = slab.Layout.Slots.Select(s => Enumerable.Range(0, (int)s.ElementCount).Select(_ => EngineFixtures.Gaussian(rnd) * 0.05).ToArray()).ToArray();
    }

    public int Calls { get; private set; }

    /// <summary>Returns NaN on these call numbers (0-based), to exercise the skip path.</summary>
    public HashSet<int> NanCalls { get; } = new();

    public double Loss(long step, int probe)
    {
        int call = Calls++;
        if (NanCalls.Contains(call)) return double.NaN;
        double sum = 0;
        for (int s = 0; s < _a.Length; s++)
        {
            var w = _slab.ReadFloat32(s);
            for (int i = 0; i < w.Length; i++)
            {
                double d = w[i] - _b[s][i];
                sum += _a[s][i] * d * d;
            }
        }
        return sum;
    }

    public double[] Gradient(int slot)
    {
        var w = _slab.ReadFloat32(slot);
        return w.Select((v, i) => 2 * _a[slot][i] * (v - _b[slot][i])).ToArray();
    }
}
