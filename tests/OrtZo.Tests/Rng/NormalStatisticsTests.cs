using NUnit.Framework;
using OrtZo.Engine.Rng;

namespace OrtZo.Tests.Rng;

/// <summary>
/// Distribution checks on large samples. Seeds are fixed, so each test is deterministic; the
/// tolerances are what a correct generator would meet for almost any seed choice, so a failure
/// means a real defect rather than bad luck.
/// </summary>
public class NormalStatisticsTests
{
    private const int MomentSamples = 1 << 22; // ≈ 4.2 M
    private const int KsSamples = 1 << 20;
    private const int CorrelationSamples = 1 << 20;

    // Streams are passed as their numeric values because NoiseStream is internal.
    [TestCase(0UL, 0u)]
    [TestCase(0x0123456789abcdefUL, 0u)]
    [TestCase(0x0123456789abcdefUL, 1u)]
    public void MomentsMatchTheStandardNormal(ulong seed, uint streamValue)
    {
        var stream = (NoiseStream)streamValue;
        float[] z = new float[MomentSamples];
        Noise.FillNormals(seed, stream, 1L << 35, z);
        double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
        foreach (float v in z)
        {
            double x = v, x2 = x * x;
            s1 += x;
            s2 += x2;
            s3 += x2 * x;
            s4 += x2 * x2;
        }

        double n = z.Length;
        double mean = s1 / n;
        double m2 = s2 / n - mean * mean;
        double m3 = s3 / n - 3 * mean * s2 / n + 2 * mean * mean * mean;
        double m4 = s4 / n - 4 * mean * s3 / n + 6 * mean * mean * s2 / n - 3 * Math.Pow(mean, 4);
        double skewness = m3 / Math.Pow(m2, 1.5);
        double excessKurtosis = m4 / (m2 * m2) - 3;

        // Standard errors of the sample statistics for N i.i.d. standard normals: mean 1/√N,
        // variance √(2/N), skewness √(6/N), excess kurtosis √(24/N). Allow 5 of them: a correct
        // generator fails that with probability ≈ 6e-7 per statistic. (Clipping at |z| ≈ 5.77, the
        // largest radius the uniform grid allows, shifts the kurtosis by ~1e-5 — far below √(24/N).)
        double se = 1 / Math.Sqrt(n);
        TestContext.Out.WriteLine($"mean {mean:E3}, var {m2:F6}, skew {skewness:E3}, ex.kurt {excessKurtosis:E3} (N = {n})");
        Assert.That(Math.Abs(mean), Is.LessThan(5 * se));
        Assert.That(Math.Abs(m2 - 1), Is.LessThan(5 * Math.Sqrt(2) * se));
        Assert.That(Math.Abs(skewness), Is.LessThan(5 * Math.Sqrt(6) * se));
        Assert.That(Math.Abs(excessKurtosis), Is.LessThan(5 * Math.Sqrt(24) * se));
    }

    [Test]
    public void KolmogorovSmirnovAgainstNormalCdf()
    {
        float[] z = new float[KsSamples];
        Noise.FillNormals(0xfeedface, NoiseStream.Perturbation, 12345, z);
        Array.Sort(z);
        double d = 0;
        for (int i = 0; i < z.Length; i++)
        {
            double cdf = RngTestMath.NormalCdf(z[i]);
            d = Math.Max(d, Math.Max((i + 1.0) / z.Length - cdf, cdf - (double)i / z.Length));
        }

        // Asymptotic KS critical value at α = 0.001 is 1.949/√N.
        double scaled = d * Math.Sqrt(z.Length);
        TestContext.Out.WriteLine($"KS D = {d:E3}, √N·D = {scaled:F3} (critical 1.949 at α = 0.001)");
        Assert.That(scaled, Is.LessThan(1.949));
    }

    [Test]
    public void KolmogorovSmirnovUniforms()
    {
        float[] u = new float[KsSamples];
        Noise.FillUniforms(0xfeedface, NoiseStream.RandomMask, 0, u);
        Array.Sort(u);
        double d = 0;
        for (int i = 0; i < u.Length; i++)
        {
            d = Math.Max(d, Math.Max((i + 1.0) / u.Length - u[i], u[i] - (double)i / u.Length));
        }

        Assert.That(u[0], Is.GreaterThan(0f));
        Assert.That(u[^1], Is.LessThan(1f));
        Assert.That(d * Math.Sqrt(u.Length), Is.LessThan(1.949));
    }

    [Test]
    public void NormalCdfReferenceIsAccurate()
    {
        // Values from mpmath.ncdf at 30 digits.
        (double X, double Cdf)[] known =
        [
            (0, 0.5), (1, 0.84134474606854294859), (-1.96, 0.024997895148220436213),
            (0.5, 0.69146246127401310364), (-2.5, 0.006209665325776135167),
            (3, 0.99865010196836990547), (-5, 2.8665157187919391167e-7), (6, 0.99999999901341235496),
        ];
        foreach (var (x, cdf) in known)
        {
            Assert.That(RngTestMath.NormalCdf(x), Is.EqualTo(cdf).Within(1e-12 * Math.Max(cdf, 1e-3)), $"Φ({x})");
        }
    }

    [Test]
    public void NeighbouringIndicesAreUncorrelated()
    {
        // Lag 1 pairs Box–Muller partners (same radius), lag 2 the two pairs of one block, lag 4 the
        // same lane of adjacent counters. Squares are checked too because partners share a radius:
        // a broken angle would leave z uncorrelated but z² correlated.
        float[] z = new float[CorrelationSamples + 4];
        Noise.FillNormals(99, NoiseStream.Perturbation, 0, z);
        float[] squares = z.Select(v => v * v).ToArray();
        double bound = Bound();
        foreach (int lag in new[] { 1, 2, 3, 4 })
        {
            double r = RngTestMath.Correlation(z.AsSpan(0, CorrelationSamples), z.AsSpan(lag, CorrelationSamples));
            double r2 = RngTestMath.Correlation(squares.AsSpan(0, CorrelationSamples), squares.AsSpan(lag, CorrelationSamples));
            TestContext.Out.WriteLine($"lag {lag}: corr(z) = {r:E3}, corr(z²) = {r2:E3}, bound {bound:E3}");
            Assert.That(Math.Abs(r), Is.LessThan(bound), $"corr(z[i], z[i+{lag}])");
            Assert.That(Math.Abs(r2), Is.LessThan(bound), $"corr(z[i]², z[i+{lag}]²)");
        }
    }

    [TestCase(0UL, 0u, 1UL, 0u)]
    [TestCase(0x0123456789abcdefUL, 0u, 0x0123456689abcdefUL, 0u)]
    [TestCase(7UL, 0u, 7UL, 1u)]
    [TestCase(7UL, 0u, 7UL, 2u)]
    [TestCase(7UL, 1u, 7UL, 3u)]
    public void SameIndexUnderDifferentSeedsOrStreamsIsUncorrelated(ulong seedA, uint streamA, ulong seedB, uint streamB)
    {
        float[] a = new float[CorrelationSamples], b = new float[CorrelationSamples];
        Noise.FillNormals(seedA, (NoiseStream)streamA, 1L << 34, a);
        Noise.FillNormals(seedB, (NoiseStream)streamB, 1L << 34, b);
        double r = RngTestMath.Correlation(a, b);
        double r2 = RngTestMath.Correlation(a.Select(v => v * v).ToArray(), b.Select(v => v * v).ToArray());
        TestContext.Out.WriteLine($"corr(z) = {r:E3}, corr(z²) = {r2:E3}");
        Assert.That(Math.Abs(r), Is.LessThan(Bound()));
        Assert.That(Math.Abs(r2), Is.LessThan(Bound()));
    }

    // The sample correlation of independent series has standard error ≈ 1/√N (also for squares of
    // normals, by the delta method with finite fourth moments); 5/√N ≈ 0.0049 at N = 2^20.
    private static double Bound() => 5 / Math.Sqrt(CorrelationSamples);
}
