using OrtZo.Cuda;
using System.Runtime.InteropServices;
using OrtZo.Engine.Rng;
using OrtZo.WeightStore;
using OrtZo.Engine;
using OrtZo.Engine.Reference;

namespace OrtZo.Cli;

/// <summary>One line of the GPU check: what was compared and how it came out.</summary>
internal sealed record GpuCheckResult(string Name, bool Passed, string Detail);

/// <summary>
/// Runs the CUDA kernels and compares them with the scalar C# specification byte for byte: the noise generator
/// (published vectors of docs/rng.md and a long run), and the weight-pass kernel over the engine's whole case
/// table (<see cref="PassCases"/>, the cases the CPU kernels are tested on). Needs a CUDA driver; reached through
/// <c>ortzo gpu-check</c>.
/// </summary>
internal static unsafe class GpuAgreementCheck
{
    public static List<GpuCheckResult> Run(CudaContext context, byte[] ptx)
    {
        var results = new List<GpuCheckResult>();
        results.AddRange(NoiseChecks(context, ptx));
        results.AddRange(PassChecks(context, ptx));
        return results;
    }

    private static IEnumerable<GpuCheckResult> NoiseChecks(CudaContext context, byte[] ptx)
    {
        using var module = CudaModule.LoadPtx(ptx);
        var normals = module.GetFunction(KernelModule.FillNormals);
        var words = module.GetFunction(KernelModule.FillUniformBits);
        var cases = new (ulong Seed, NoiseStream Stream, long First, int Count)[]
        {
            (0, NoiseStream.Perturbation, 0, 8),
            (0, NoiseStream.Perturbation, (1L << 33) + 5, 8),
            (1, NoiseStream.Perturbation, 0, 8),
            (0x0123456789ABCDEF, NoiseStream.Perturbation, (1L << 33) + 5, 8),
            (0xfedcba9876543210, NoiseStream.Perturbation, 3, 1 << 20),
            (42, NoiseStream.RandomMask, 1L << 40, 1 << 16),
        };
        var list = new List<GpuCheckResult>();
        foreach (var (seed, stream, first, count) in cases)
        {
            var expected = new float[count];
            Noise.FillNormals(seed, stream, first, expected);
            var actual = new float[count];
            Launch(normals, seed, (uint)stream, first, count, MemoryMarshal.AsBytes(actual.AsSpan()));
            list.Add(CompareBits($"normals seed={seed:x} stream={stream} first={first} n={count}", MemoryMarshal.AsBytes(expected.AsSpan()), MemoryMarshal.AsBytes(actual.AsSpan()), 4));

            var expectedBits = new uint[count];
            Noise.FillUniformBits(seed, NoiseStream.StochasticRounding, first, expectedBits);
            var actualBits = new uint[count];
            Launch(words, seed, (uint)NoiseStream.StochasticRounding, first, count, MemoryMarshal.AsBytes(actualBits.AsSpan()));
            list.Add(CompareBits($"uniform bits seed={seed:x} first={first} n={count}", MemoryMarshal.AsBytes(expectedBits.AsSpan()), MemoryMarshal.AsBytes(actualBits.AsSpan()), 4));
        }
        return list;

        void Launch(IntPtr function, ulong seed, uint stream, long first, long count, Span<byte> destination)
        {
            using var device = CudaDeviceMemory.Allocate(destination.Length);
            IntPtr address = device.Address;
            void** args = stackalloc void*[5];
            args[0] = &seed;
            args[1] = &stream;
            args[2] = &first;
            args[3] = &count;
            args[4] = &address;
            var launch = LaunchConfiguration.For(count, 1);
            CudaDriver.Check(CudaNative.cuLaunchKernel(function, launch.GridX, 1, 1, launch.BlockX, 1, 1, 0, IntPtr.Zero, args, null), nameof(CudaNative.cuLaunchKernel));
            context.Synchronize();
            fixed (byte* d = destination)
                CudaDriver.Check(CudaNative.cuMemcpyDtoH_v2(d, address, (nuint)destination.Length), nameof(CudaNative.cuMemcpyDtoH_v2));
        }
    }

    /// <summary>Every case of the engine's table on the CUDA pass kernel against the scalar specification.</summary>
    private static IEnumerable<GpuCheckResult> PassChecks(CudaContext context, byte[] ptx) =>
        PassCases.All.Select(c => PassCaseCheck.Run(c, buffers => new CudaPassRunner(context, buffers, ptx)))
            .Select(r => new GpuCheckResult($"passes: {r.Case}", r.Passed, r.Detail));

    private static GpuCheckResult CompareBits(string name, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, int elementSize)
    {
        int differing = 0, first = -1;
        for (int i = 0; i < expected.Length; i += elementSize)
            if (!expected.Slice(i, elementSize).SequenceEqual(actual.Slice(i, elementSize)))
            {
                if (first < 0) first = i / elementSize;
                differing++;
            }
        if (differing == 0) return new GpuCheckResult(name, true, $"{expected.Length / elementSize} elements bit-identical");
        string e = Convert.ToHexString(expected.Slice(first * elementSize, elementSize));
        string a = Convert.ToHexString(actual.Slice(first * elementSize, elementSize));
        return new GpuCheckResult(name, false, $"{differing} of {expected.Length / elementSize} elements differ; first at {first}: oracle {e}, cuda {a} (little-endian bytes)");
    }
}
