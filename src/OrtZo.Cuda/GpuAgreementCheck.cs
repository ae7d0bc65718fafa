using System.Runtime.InteropServices;
using OrtZo.Engine.Rng;
using OrtZo.WeightStore;
using OrtZo.Engine;
using OrtZo.Engine.Reference;

namespace OrtZo.Cuda;

/// <summary>One line of the GPU check: what was compared and how it came out.</summary>
internal sealed record GpuCheckResult(string Name, bool Passed, string Detail);

/// <summary>
/// Runs the CUDA kernels on small slabs and compares them with the scalar C# oracle byte for byte: the noise
/// generator (published vectors of docs/rng.md and a long run), and every kind of weight pass — perturb,
/// flip, restore with each update rule, Sparse-MeZO mask recomputation, random masks, weight decay,
/// stochastic rounding — for f32, f16 and bf16. Needs a CUDA driver; reached through <c>ortzo gpu-check</c>.
/// </summary>
internal static unsafe class GpuAgreementCheck
{
    public static List<GpuCheckResult> Run(CudaContext context, byte[] ptx)
    {
        var results = new List<GpuCheckResult>();
        results.AddRange(NoiseChecks(context, ptx));
        foreach (var dtype in new[] { DType.F32, DType.F16, DType.BF16 })
            results.AddRange(PassChecks(context, ptx, dtype));
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

    /// <summary>Tensors of every mask kind, sized so quads straddle tensor ends and mask words are shared by many quads.</summary>
    private static (WeightBuffers Buffers, CpuSlab Slab) Build(DType dtype)
    {
        TensorSpec[] specs =
        [
            new("dense", dtype, [1000]), new("magnitude", dtype, [77, 13]), new("random", dtype, [333]),
            new("frozen", dtype, [50]), new("bias", dtype, [3]),
        ];
        var slab = CpuSlab.Allocate(SlabLayout.Create(specs));
        var rnd = new Random(7);
        foreach (var s in slab.Layout.Slots)
            slab.WriteFloat32(s.Index, Enumerable.Range(0, (int)s.ElementCount).Select(_ => (float)(rnd.NextDouble() - 0.5) * 0.2f).ToArray());
        var l = slab.Layout.Slots;
        List<TrainableTensor> tensors =
        [
            new() { Slot = l[0], Mask = MaskKind.Dense, Decay = true, StateBase = 0, Group = "g" },
            new() { Slot = l[1], Mask = MaskKind.Magnitude, Threshold = 0.03f, Decay = true, StateBase = 1000, Group = "g" },
            new() { Slot = l[2], Mask = MaskKind.Random, KeepRatio = 0.4f, StateBase = 2001, Group = "g" },
            new() { Slot = l[3], Mask = MaskKind.Frozen, Group = "g" },
            new() { Slot = l[4], Mask = MaskKind.Dense, StateBase = 2334, Group = "g" },
        ];
        return (new WeightBuffers(slab, tensors, 2), slab);
    }

    private static IEnumerable<GpuCheckResult> PassChecks(CudaContext context, byte[] ptx, DType dtype)
    {
        var (oracle, oracleSlab) = Build(dtype);
        var (mirror, mirrorSlab) = Build(dtype);
        using var _1 = oracleSlab;
        using var _2 = mirrorSlab;
        using var _3 = oracle;
        using var _4 = mirror;
        using var cuda = new CudaPassRunner(context, mirror, ptx);
        cuda.UploadAll();
        var results = new List<GpuCheckResult>();
        int[] all = [0, 1, 2, 3, 4];
        bool sr = dtype != DType.F32;
        foreach (var (name, pass) in Passes(all, sr))
        {
            ScalarPassRunner.Run(oracle, pass);
            cuda.Run(pass);
            cuda.DownloadAll();
            results.Add(Compare($"{dtype} {name}", oracle, mirror));
        }
        return results;
    }

    /// <summary>A run of steps covering every segment shape ZoStep issues and every rule.</summary>
    private static IEnumerable<(string Name, PassSegment[] Pass)> Passes(int[] slots, bool stochastic)
    {
        ulong mask = 0x5eed;
        var rules = new[] { UpdateRule.Sgd, UpdateRule.Sign, UpdateRule.Momentum, UpdateRule.Adam };
        Perturbation? pending = null;
        UpdateSpec? previous = null;
        for (int step = 0; step < rules.Length; step++)
        {
            var p = new Perturbation(Noise.DeriveSeed(99, step, 0), 1e-2f, mask + (ulong)step);
            var update = new UpdateSpec
            {
                Rule = rules[step], Directions = [new Direction(p.Seed, 0.75f), new Direction(Noise.DeriveSeed(99, step, 1), -0.5f)],
                MaskSeed = p.MaskSeed, LearningRate = 1e-2f, WeightDecay = 0.1f, Beta1 = 0.9f, Beta2 = 0.999f, AdamEpsilon = 1e-8f,
                AdamStepSize = 1e-2f, AdamBias2Sqrt = 0.05f, StochasticRounding = stochastic && step % 2 == 1,
                RoundingSeed = Noise.DeriveSeed(99, step, (1 << 24) + 1),
            };
            // The open (fused with the previous close when there is one), the flip, then the held-back close.
            yield return ($"step {step} open", [new PassSegment { Slots = slots, Remove = pending, Update = pending is null ? null : previous, Apply = p, RecomputeMask = true }]);
            yield return ($"step {step} flip", [new PassSegment { Slots = slots, Remove = p, Apply = p.Negated }]);
            pending = p.Negated;
            previous = update;
        }
        yield return ("settle", [new PassSegment { Slots = slots, Remove = pending, Update = previous }]);
        var commit = new UpdateSpec { Rule = UpdateRule.CommitOffset, Directions = [new Direction(77, 3e-3f)] };
        yield return ("commit offset", [new PassSegment { Slots = slots, Update = commit }]);
        yield return ("two segments", [new PassSegment { Slots = [0, 2], Apply = new Perturbation(5, -2e-2f, 9) }, new PassSegment { Slots = [1, 4], Apply = new Perturbation(6, 2e-2f, 9), RecomputeMask = true }]);
    }

    private static GpuCheckResult Compare(string name, WeightBuffers expected, WeightBuffers actual)
    {
        foreach (var slot in expected.Slab.Layout.Slots)
        {
            var r = CompareBits($"{name}: tensor '{slot.Spec.Name}'", expected.Slab.Bytes(slot.Index), actual.Slab.Bytes(slot.Index), slot.DType.SizeInBytes());
            if (!r.Passed) return r with { Name = name };
        }
        foreach (var (label, e, a) in new[] { ("mask bits", expected.MaskBits, actual.MaskBits), ("state 1", expected.State1, actual.State1), ("state 2", expected.State2, actual.State2) })
        {
            if (e is null || a is null) continue;
            var r = CompareBits($"{name}: {label}", e.AsSpan<byte>(0, e.ByteLength), a.AsSpan<byte>(0, a.ByteLength), label == "mask bits" ? 8 : 4);
            if (!r.Passed) return r with { Name = name };
        }
        return new GpuCheckResult(name, true, "weights, mask bits and optimizer state identical");
    }

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
