using System.Runtime.InteropServices;
using NUnit.Framework;
using OrtZo.Cuda;
using OrtZo.Engine;
using OrtZo.Engine.Reference;
using OrtZo.Engine.Rng;

namespace OrtZo.Tests.Cuda;

/// <summary>
/// The CUDA kernels' own source, compiled for the host (libortzo_emulation.so: zo_passes.cu with host_emulation.h),
/// against the scalar specification: every case of the engine's pass-case table through the descriptor encoder and
/// the weight-pass kernel, and the noise kernels against the published vectors and the C# generator. What the GPU
/// adds beyond this is its own arithmetic units and the parallel grid.
/// </summary>
public class KernelEmulationTests
{
    private const string Library = "ortzo_emulation";

    [DllImport(Library)] private static extern unsafe void ortzo_weight_pass(byte* descriptor, byte* slab, ulong* maskWords, float* state1, float* state2);
    [DllImport(Library)] private static extern unsafe void ortzo_fill_normals(ulong seed, uint stream, long firstIndex, long count, float* destination);
    [DllImport(Library)] private static extern unsafe void ortzo_fill_uniform_bits(ulong seed, uint stream, long firstIndex, long count, uint* destination);
    [DllImport(Library)] private static extern unsafe void ortzo_emulation_narrow_f16(float* source, ushort* destination, long count);
    [DllImport(Library)] private static extern unsafe void ortzo_emulation_widen_f16(ushort* source, float* destination, long count);

    /// <summary>A pass runner that encodes each pass as the CUDA runner does and runs the kernel source on the host buffers.</summary>
    private sealed unsafe class EmulatedPassRunner(WeightBuffers buffers) : IPassRunner
    {
        public WeightBuffers Buffers { get; } = buffers;

        public void Run(IReadOnlyList<PassSegment> segments)
        {
            var pass = PassDescriptor.Encode(Buffers.Tensors, segments);
            if (pass.TotalQuads == 0) return;
            fixed (byte* d = pass.Bytes)
                ortzo_weight_pass(d, Buffers.Slab.BasePointer, Buffers.MaskWords, Buffers.State1Pointer, Buffers.State2Pointer);
        }

        public void DownloadState() { }
        public void UploadState() { }
        public void Dispose() { }
    }

    public static IEnumerable<TestCaseData> Cases() => PassCases.All.Select(c => new TestCaseData(c.Name).SetName($"Emulated kernel equals the specification: {c.Name}"));

    [TestCaseSource(nameof(Cases))]
    public void EmulatedKernelMatchesTheSpecification(string name)
    {
        var result = PassCaseCheck.Run(PassCases.All.Single(c => c.Name == name), b => new EmulatedPassRunner(b));
        Assert.That(result.Passed, Is.True, result.Detail);
    }

    [TestCase(0x0000000000000000UL, 0L)]
    [TestCase(0x0000000000000000UL, (1L << 33) + 5)]
    [TestCase(0x0000000000000001UL, 0L)]
    [TestCase(0x0123456789ABCDEFUL, (1L << 33) + 5)]
    [TestCase(0xfedcba9876543210UL, 3L)]
    public unsafe void EmulatedNoiseKernelsMatchTheGenerator(ulong seed, long first)
    {
        const int n = 1 << 16;
        var expected = new float[n];
        var actual = new float[n];
        Noise.FillNormals(seed, NoiseStream.Perturbation, first, expected);
        fixed (float* a = actual) ortzo_fill_normals(seed, (uint)NoiseStream.Perturbation, first, n, a);
        Assert.That(actual.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToUInt32Bits)), "normals");
        var expectedBits = new uint[n];
        var actualBits = new uint[n];
        Noise.FillUniformBits(seed, NoiseStream.StochasticRounding, first, expectedBits);
        fixed (uint* a = actualBits) ortzo_fill_uniform_bits(seed, (uint)NoiseStream.StochasticRounding, first, n, a);
        Assert.That(actualBits, Is.EqualTo(expectedBits), "uniform words");
    }

    [Test]
    public unsafe void EmulatedNormalsReproduceThePublishedVectors()
    {
        // docs/rng.md §8, first row: seed 0, counters 0..7
        uint[] published = [0x3f7dbb30, 0xbf6cb6b3, 0xbf1e1ba1, 0xbef6d1aa, 0xbe1d5354, 0x3e392a67, 0x3f54ec98, 0x3e4a2d9a];
        var z = new float[8];
        fixed (float* p = z) ortzo_fill_normals(0, 0, 0, 8, p);
        Assert.That(z.Select(BitConverter.SingleToUInt32Bits), Is.EqualTo(published));
    }

    [Test]
    public unsafe void EmulatedHalfConversionsEqualDotNetHalf()
    {
        // widening: every f16 pattern; narrowing: every float32 whose top 16 bits step through all values, with low
        // bits chosen to hit ties, just-above and just-below ties, and subnormal boundaries
        var halves = Enumerable.Range(0, 1 << 16).Select(h => (ushort)h).ToArray();
        var widened = new float[halves.Length];
        fixed (ushort* s = halves) fixed (float* d = widened) ortzo_emulation_widen_f16(s, d, halves.Length);
        for (int h = 0; h < halves.Length; h++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(halves[h]);
            if (float.IsNaN(expected)) Assert.That(float.IsNaN(widened[h]), Is.True, $"{h:x4}");
            else Assert.That(BitConverter.SingleToUInt32Bits(widened[h]), Is.EqualTo(BitConverter.SingleToUInt32Bits(expected)), $"widen {h:x4}");
        }
        uint[] lows = [0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x7FFF, 0x8000, 0xFFFF];
        var floats = new List<float>();
        for (uint top = 0; top < 0x10000; top++)
            foreach (uint low in lows)
            {
                float f = BitConverter.UInt32BitsToSingle((top << 16) | low);
                if (!float.IsNaN(f)) floats.Add(f);
            }
        var input = floats.ToArray();
        var narrowed = new ushort[input.Length];
        fixed (float* s = input) fixed (ushort* d = narrowed) ortzo_emulation_narrow_f16(s, d, input.Length);
        for (int i = 0; i < input.Length; i++)
            Assert.That(narrowed[i], Is.EqualTo(BitConverter.HalfToUInt16Bits((Half)input[i])), $"narrow {BitConverter.SingleToUInt32Bits(input[i]):x8}");
    }
}
