namespace OrtZo.Tests.Rng;

/// <summary>Double-precision references for the RNG tests (independent of the code under test).</summary>
internal static class RngTestMath
{
    /// <summary>Error of a float result in units of the binary32 ulp at the reference value.</summary>
    public static double UlpError(float actual, double reference)
    {
        double magnitude = Math.Abs(reference);
        int exponent = magnitude < 1.1754943508222875e-38 ? -126 : Math.Max(Math.ILogB(magnitude), -126);
        return Math.Abs(actual - reference) / Math.ScaleB(1.0, exponent - 23);
    }

    public static uint Bits(float value) => BitConverter.SingleToUInt32Bits(value);

    /// <summary>Standard normal CDF.</summary>
    public static double NormalCdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2.0));

    // Maclaurin series for erf near zero (cancellation costs at most ~e^{x²} ≈ 1e4 ulps at |x| = 3,
    // still ~1e-12 absolute) and a Lentz continued fraction for erfc in the tails, where the series
    // would lose everything to cancellation.
    public static double Erfc(double x)
    {
        if (x < 0)
        {
            return 2.0 - Erfc(-x);
        }

        if (x < 3.0)
        {
            double term = x, sum = x, x2 = x * x;
            for (int n = 1; n < 200; n++)
            {
                term *= -x2 / n;
                double contribution = term / (2 * n + 1);
                sum += contribution;
                if (Math.Abs(contribution) < 1e-17 * Math.Abs(sum))
                {
                    break;
                }
            }

            return 1.0 - 2.0 / Math.Sqrt(Math.PI) * sum;
        }

        // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))).
        const double Tiny = 1e-300;
        double f = x, c = x, d = 0.0;
        for (int k = 1; k < 500; k++)
        {
            double a = k * 0.5;
            d = x + a * d;
            d = Math.Abs(d) < Tiny ? Tiny : d;
            c = x + a / c;
            c = Math.Abs(c) < Tiny ? Tiny : c;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1.0) < 1e-16)
            {
                break;
            }
        }

        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    /// <summary>Pearson correlation of two equally long samples.</summary>
    public static double Correlation(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sa = 0, sb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sa += a[i];
            sb += b[i];
        }

        double ma = sa / a.Length, mb = sb / b.Length, cab = 0, caa = 0, cbb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double da = a[i] - ma, db = b[i] - mb;
            cab += da * db;
            caa += da * da;
            cbb += db * db;
        }

        return cab / Math.Sqrt(caa * cbb);
    }
}
