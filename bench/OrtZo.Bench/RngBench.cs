using System.Diagnostics;
using OrtZo.Engine.Rng;

namespace OrtZo.Bench;

/// <summary>Single-thread throughput of each noise kernel, and of the per-element oracle (figures in docs/rng.md).</summary>
internal static class RngBench
{
    public static int Run()
    {
        float[] normals = new float[1 << 16];
        uint[] bits = new uint[1 << 16];
        foreach (NoiseKernel kernel in new[] { NoiseKernel.Scalar, NoiseKernel.Vector256, NoiseKernel.Vector512 })
        {
            if (!NoiseKernels.IsSupported(kernel)) continue;
            double normalRate = Measure(first => Noise.FillNormals(1, NoiseStream.Perturbation, first, normals, kernel), normals.Length);
            double bitsRate = Measure(first => Noise.FillUniformBits(1, NoiseStream.StochasticRounding, first, bits, kernel), bits.Length);
            Console.WriteLine($"rng      {kernel,-9}: {normalRate / 1e6,8:F1} M normals/s   {bitsRate / 1e6,8:F1} M words/s");
        }
        float[] single = new float[1 << 16];
        double oracleRate = Measure(first =>
        {
            for (int i = 0; i < single.Length; i++) single[i] = Noise.Normal(1, NoiseStream.Perturbation, first + i);
        }, single.Length);
        Console.WriteLine($"rng      Normal() oracle, one call per element: {oracleRate / 1e6:F1} M normals/s");
        return 0;
    }

    // Best of five ~0.4 s windows, to damp the noise of a shared machine.
    private static double Measure(Action<long> fill, int perCall)
    {
        for (int i = 0; i < 20; i++) fill(i * (long)perCall);
        double best = 0;
        for (int round = 0; round < 5; round++)
        {
            long calls = 0;
            var clock = Stopwatch.StartNew();
            while (clock.ElapsedMilliseconds < 400) fill(calls++ * perCall);
            best = Math.Max(best, calls * perCall / clock.Elapsed.TotalSeconds);
        }
        return best;
    }
}
