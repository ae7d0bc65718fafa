using NUnit.Framework;
using OrtZo.Engine;

namespace OrtZo.Tests.Zo;

public class MagnitudeThresholdTests
{
    [Test]
    public void SelectionEqualsTheSortedQuantile()
    {
        var rnd = new Random(2);
        foreach (int n in new[] { 1, 2, 3, 10, 97, 1000, 4099 })
            foreach (double sparsity in new[] { 0.0, 0.1, 0.5, 0.8, 0.95, 1.0 })
            {
                // include repeated values so ties are exercised
                var v = Enumerable.Range(0, n).Select(_ => (float)Math.Round(EngineFixtures.Gaussian(rnd), rnd.Next(2) == 0 ? 1 : 6)).ToArray();
                float h = MagnitudeThreshold.Compute(v, sparsity);
                long k = (long)Math.Ceiling((1 - sparsity) * n - 1e-9);
                var sorted = v.Select(MathF.Abs).Order().ToArray();
                int moving = v.Count(x => MathF.Abs(x) <= h);
                if (k <= 0) Assert.That(moving, Is.Zero);
                else if (k >= n) Assert.That(moving, Is.EqualTo(n));
                else
                {
                    Assert.That(h, Is.EqualTo(sorted[k - 1]), $"n={n} s={sparsity}");
                    Assert.That(moving, Is.GreaterThanOrEqualTo(k));
                    Assert.That(sorted.Count(x => x < h), Is.LessThan(k));
                }
            }
    }

    [Test]
    public void SparsityPointEightMovesTheSmallestFifth()
    {
        var v = Enumerable.Range(1, 1000).Select(i => (float)(i % 2 == 0 ? i : -i)).ToArray();
        float h = MagnitudeThreshold.Compute(v, 0.8);
        Assert.That(h, Is.EqualTo(200f));
        Assert.That(v.Count(x => MathF.Abs(x) <= h), Is.EqualTo(200));
    }

    [Test]
    public void RejectsSparsityOutsideUnitInterval() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MagnitudeThreshold.Compute([1f], 1.5));
}
