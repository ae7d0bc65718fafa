using System.Diagnostics;
using NUnit.Framework;
using OrtZo.Rng;

namespace OrtZo.Tests.Rng;

/// <summary>Single-thread throughput of each kernel; run on demand (the figures go in docs/rng.md).</summary>
[Explicit("Benchmark: run explicitly, e.g. --filter Name~Throughput")]
public class ThroughputTests
{
    [Test]
    public void NormalsAndBitsPerSecond()
    {
        float[] normals = new float[1 << 16];
        uint[] bits = new uint[1 << 16];
        foreach (NoiseKernel kernel in new[] { NoiseKernel.Scalar, NoiseKernel.Vector256, NoiseKernel.Vector512 })
        {
            if (!NoiseKernels.IsSupported(kernel))
            {
                continue;
            }

            double normalRate = Measure(first => Noise.FillNormals(1, NoiseStream.Perturbation, first, normals, kernel), normals.Length);
            double bitsRate = Measure(first => Noise.FillUniformBits(1, NoiseStream.StochasticRounding, first, bits, kernel), bits.Length);
            TestContext.Out.WriteLine($"{kernel,-9}: {normalRate / 1e6,8:F1} M normals/s   {bitsRate / 1e6,8:F1} M words/s");
        }

        float[] single = new float[1 << 16];
        double oracleRate = Measure(first =>
        {
            for (int i = 0; i < single.Length; i++)
            {
                single[i] = Noise.Normal(1, NoiseStream.Perturbation, first + i);
            }
        }, single.Length);
        TestContext.Out.WriteLine($"Normal() oracle, one call per element: {oracleRate / 1e6:F1} M normals/s");
    }

    private static double Measure(Action<long> fill, int perCall)
    {
        for (int i = 0; i < 20; i++)
        {
            fill(i * (long)perCall);
        }

        // Best of five ~0.4 s windows, to dampen noise from the shared 2-core machine.
        double best = 0;
        for (int round = 0; round < 5; round++)
        {
            long calls = 0;
            var clock = Stopwatch.StartNew();
            while (clock.ElapsedMilliseconds < 400)
            {
                fill(calls++ * perCall);
            }

            best = Math.Max(best, calls * perCall / clock.Elapsed.TotalSeconds);
        }

        return best;
    }
}
