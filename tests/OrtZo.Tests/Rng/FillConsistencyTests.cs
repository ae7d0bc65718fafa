using NUnit.Framework;
using OrtZo.Engine.Rng;

namespace OrtZo.Tests.Rng;

/// <summary>
/// Every fill kernel must agree bit for bit with the single-element reference methods, whatever the
/// span length and starting index (head and tail blocks are handled separately from the vector body).
/// </summary>
public class FillConsistencyTests
{
    private static readonly NoiseKernel[] AllKernels = [NoiseKernel.Scalar, NoiseKernel.Vector256, NoiseKernel.Vector512];

    // Small, odd and block-straddling starts; starts above 2^32 blocks so counter word c1 is non-zero;
    // starts just below the 2^32-block boundary so c0 carries into c1 inside one vector step.
    private static readonly long[] FirstIndices =
    [
        0, 1, 2, 3, 5, 63, 64, 1001,
        (1L << 33) + 5,
        4L * 0xffff_ffff - 9,
        4L * 0x1_0000_0000 - 30,
        0x0123_4567_89ab_cdeL,
        long.MaxValue - 400,
    ];

    private static IEnumerable<NoiseKernel> Kernels() => AllKernels.Where(NoiseKernels.IsSupported);

    // NUnit needs public signatures, and NoiseKernel is internal: take the kernel by name.
    private static NoiseKernel Supported(string name)
    {
        NoiseKernel kernel = Enum.Parse<NoiseKernel>(name);
        if (!NoiseKernels.IsSupported(kernel))
        {
            Assert.Ignore($"{kernel} is not supported on this CPU.");
        }

        return kernel;
    }

    [TestCase("Scalar")]
    [TestCase("Vector256")]
    [TestCase("Vector512")]
    public void NormalsMatchReference(string kernelName)
    {
        NoiseKernel kernel = Supported(kernelName);
        const ulong Seed = 0x9e3779b97f4a7c15;
        foreach (long first in FirstIndices)
        {
            float[] reference = new float[300];
            for (int i = 0; i < reference.Length; i++)
            {
                reference[i] = Noise.Normal(Seed, NoiseStream.Perturbation, first + i);
            }

            for (int length = 0; length <= 300; length++)
            {
                float[] actual = new float[length];
                Noise.FillNormals(Seed, NoiseStream.Perturbation, first, actual, kernel);
                for (int i = 0; i < length; i++)
                {
                    if (RngTestMath.Bits(actual[i]) != RngTestMath.Bits(reference[i]))
                    {
                        Assert.Fail($"{kernel}: first={first} length={length} i={i}: {actual[i]:R} != {reference[i]:R}");
                    }
                }
            }
        }
    }

    [TestCase("Scalar")]
    [TestCase("Vector256")]
    [TestCase("Vector512")]
    public void UniformBitsAndUniformsMatchReference(string kernelName)
    {
        NoiseKernel kernel = Supported(kernelName);
        const ulong Seed = 42;
        foreach (long first in FirstIndices)
        {
            for (int length = 0; length <= 300; length += 7)
            {
                uint[] bits = new uint[length];
                float[] uniforms = new float[length];
                Noise.FillUniformBits(Seed, NoiseStream.StochasticRounding, first, bits, kernel);
                Noise.FillUniforms(Seed, NoiseStream.RandomMask, first, uniforms, kernel);
                for (int i = 0; i < length; i++)
                {
                    Assert.That(bits[i], Is.EqualTo(Noise.UniformBits(Seed, NoiseStream.StochasticRounding, first + i)),
                        $"{kernel}: bits first={first} length={length} i={i}");
                    Assert.That(RngTestMath.Bits(uniforms[i]), Is.EqualTo(RngTestMath.Bits(Noise.Uniform(Seed, NoiseStream.RandomMask, first + i))),
                        $"{kernel}: uniform first={first} length={length} i={i}");
                }
            }
        }
    }

    [Test]
    public void KernelsAgreeOnLongSpansAtRandomOffsets()
    {
        var random = new Random(7);
        float[] expected = new float[4099];
        float[] actual = new float[expected.Length];
        for (int trial = 0; trial < 24; trial++)
        {
            ulong seed = (ulong)random.NextInt64() * 2 + (ulong)(trial & 1);
            long first = trial < 12 ? random.NextInt64(0, 1L << 40) : random.NextInt64(0, long.MaxValue - expected.Length);
            var stream = (NoiseStream)(trial % 4);
            Noise.FillNormals(seed, stream, first, expected, NoiseKernel.Scalar);
            foreach (NoiseKernel kernel in Kernels())
            {
                Noise.FillNormals(seed, stream, first, actual, kernel);
                Assert.That(actual.Select(RngTestMath.Bits), Is.EqualTo(expected.Select(RngTestMath.Bits)), $"{kernel} first={first}");
            }

            // Spot-check the scalar fill against the per-element oracle too.
            for (int i = 0; i < expected.Length; i += 97)
            {
                Assert.That(RngTestMath.Bits(expected[i]), Is.EqualTo(RngTestMath.Bits(Noise.Normal(seed, stream, first + i))));
            }
        }
    }

    [Test]
    public void DefaultKernelMatchesReference()
    {
        float[] actual = new float[1000];
        Noise.FillNormals(3, NoiseStream.Perturbation, 17, actual);
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.That(RngTestMath.Bits(actual[i]), Is.EqualTo(RngTestMath.Bits(Noise.Normal(3, NoiseStream.Perturbation, 17 + i))));
        }

        TestContext.Out.WriteLine($"default kernel: {NoiseKernels.Best}");
    }

    [Test]
    public void StreamsAndSeedsChangeTheOutput()
    {
        float[] a = new float[64], b = new float[64];
        Noise.FillNormals(5, NoiseStream.Perturbation, 0, a);
        Noise.FillNormals(5, NoiseStream.RandomMask, 0, b);
        Assert.That(a, Is.Not.EqualTo(b));
        Noise.FillNormals(5 + (1UL << 32), NoiseStream.Perturbation, 0, b);
        Assert.That(a, Is.Not.EqualTo(b));
    }

    [Test]
    public void UniformsAreExactGridMidpointsStrictlyInsideTheUnitInterval()
    {
        Assert.That(NoiseLayout.ToUniform(0), Is.EqualTo(Math.ScaleB(1.0, -24)));
        Assert.That(NoiseLayout.ToUniform(uint.MaxValue), Is.EqualTo(1.0 - Math.ScaleB(1.0, -24)));
        for (ulong x = 0; x <= uint.MaxValue; x += 511)
        {
            double exact = ((x >> 9) + 0.5) * Math.ScaleB(1.0, -23);
            if ((double)NoiseLayout.ToUniform((uint)x) != exact)
            {
                Assert.Fail($"ToUniform(0x{x:x8}) is not the exact midpoint {exact:R}");
            }
        }
    }

    [Test]
    public void RejectsNegativeOrOverflowingIndices()
    {
        float[] buffer = new float[8];
        Assert.That(() => Noise.FillNormals(1, NoiseStream.Perturbation, -1, buffer), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Noise.FillNormals(1, NoiseStream.Perturbation, long.MaxValue - 4, buffer), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Noise.Normal(1, NoiseStream.Perturbation, -5), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Noise.DeriveSeed(1, -1, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
        Noise.FillNormals(1, NoiseStream.Perturbation, long.MaxValue - 8, buffer);
    }
}
