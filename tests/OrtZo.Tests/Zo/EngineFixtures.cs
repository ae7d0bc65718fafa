using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Tests.Zo;

/// <summary>Small slabs with odd tensor sizes (every vector tail) and reproducible contents for kernel tests.</summary>
internal static class EngineFixtures
{
    /// <summary>Element counts that hit empty tails, one-element tails and chunk boundaries.</summary>
    public static readonly long[][] Shapes = [[1], [7], [64], [65, 3], [130], [17, 31], [4097], [9000]];

    public static CpuSlab RandomSlab(DType dtype, int seed, bool mixed = false)
    {
        var specs = Shapes.Select((s, i) => new TensorSpec($"t{i}", mixed ? (DType)new[] { DType.F32, DType.F16, DType.BF16 }[i % 3] : dtype, s)).ToList();
        var slab = CpuSlab.Allocate(SlabLayout.Create(specs));
        var rnd = new Random(seed);
        foreach (var slot in slab.Layout.Slots)
        {
            var v = new float[slot.ElementCount];
            for (int i = 0; i < v.Length; i++)
            {
                double u = rnd.NextDouble();
                // mostly N(0, 0.05)-like values, some exact zeros, some signed zeros, some large
                v[i] = u < 0.02 ? 0f : u < 0.03 ? -0f : u < 0.05 ? (float)(rnd.NextDouble() * 8 - 4) : (float)(Gaussian(rnd) * 0.05);
            }
            slab.WriteFloat32(slot.Index, v);
        }
        return slab;
    }

    public static double Gaussian(Random rnd) => Math.Sqrt(-2 * Math.Log(1 - rnd.NextDouble())) * Math.Cos(2 * Math.PI * rnd.NextDouble());

    /// <summary>One tensor treatment per slot, cycling through mask kinds when <paramref name="kinds"/> has several.</summary>
    public static List<TrainableTensor> Tensors(CpuSlab slab, MaskKind[] kinds, double sparsity = 0.7, float keep = 0.4f)
    {
        var result = new List<TrainableTensor>();
        long state = 0;
        foreach (var slot in slab.Layout.Slots)
        {
            var kind = kinds[slot.Index % kinds.Length];
            result.Add(new TrainableTensor
            {
                Slot = slot,
                Mask = kind,
                Threshold = kind == MaskKind.Magnitude ? MagnitudeThreshold.Compute(slab.ReadFloat32(slot.Index), sparsity) : 0f,
                KeepRatio = kind == MaskKind.Random ? keep : 1f,
                Decay = slot.Index % 2 == 0,
                StateBase = kind == MaskKind.Frozen ? 0 : state,
                Group = $"g{slot.Index % 3}",
            });
            if (kind != MaskKind.Frozen) state = SlabLayout.AlignUp(state + slot.ElementCount, 64);
        }
        return result;
    }

    public static unsafe void RandomizeState(WeightBuffers b, int seed)
    {
        var rnd = new Random(seed);
        if (b.State1 is { } s1) for (long i = 0; i < b.StateLength; i++) ((float*)s1.Pointer)[i] = (float)(Gaussian(rnd) * 0.01);
        if (b.State2 is { } s2) for (long i = 0; i < b.StateLength; i++) ((float*)s2.Pointer)[i] = (float)(rnd.NextDouble() * 1e-4);
    }

    public static unsafe byte[] Snapshot(WeightBuffers b)
    {
        var bytes = new List<byte>();
        bytes.AddRange(new ReadOnlySpan<byte>(b.Slab.BasePointer, (int)b.Slab.ByteLength).ToArray());
        if (b.MaskBits is { } m) bytes.AddRange(new ReadOnlySpan<byte>(m.Pointer, (int)m.ByteLength).ToArray());
        if (b.State1 is { } s1) bytes.AddRange(new ReadOnlySpan<byte>(s1.Pointer, (int)s1.ByteLength).ToArray());
        if (b.State2 is { } s2) bytes.AddRange(new ReadOnlySpan<byte>(s2.Pointer, (int)s2.ByteLength).ToArray());
        return bytes.ToArray();
    }

    public static (WeightBuffers A, WeightBuffers B) Twins(DType dtype, MaskKind[] kinds, int stateBuffers, int seed, bool mixed = false)
    {
        var slabA = RandomSlab(dtype, seed, mixed);
        var slabB = RandomSlab(dtype, seed, mixed);
        var a = new WeightBuffers(slabA, Tensors(slabA, kinds), stateBuffers);
        var b = new WeightBuffers(slabB, Tensors(slabB, kinds), stateBuffers);
        RandomizeState(a, seed + 1);
        RandomizeState(b, seed + 1);
        return (a, b);
    }

    public static int[] AllSlots(WeightBuffers b) => b.Trainable.Select(t => t.Slot.Index).ToArray();
}

/// <summary>The engine wired the one way the product wires it, over a slab the test keeps owning.</summary>
internal static class TestEngines
{
    public static TrainingEngine Create(CpuSlab slab, IReadOnlyList<TrainableTensor> tensors, int stateBuffers, ZoSettings settings,
        IReadOnlyList<IReadOnlyList<int>>? blocks = null, CpuKernels kernels = CpuKernels.Simd) =>
        TrainingEngine.Create(new CpuWeightBackend(slab, threads: 2, kernels), tensors, stateBuffers, settings,
            blocks ?? [tensors.Where(t => t.IsTrainable).Select(t => t.Slot.Index).ToArray()]);

    /// <summary>A bare pass runner (no step) over the slab, for tests that issue passes themselves.</summary>
    public static IPassRunner Runner(CpuSlab slab, IReadOnlyList<TrainableTensor> tensors, int stateBuffers, CpuKernels kernels = CpuKernels.Simd) =>
        new CpuWeightBackend(slab, threads: 2, kernels).CreateRunner(tensors, stateBuffers);
}
