using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using OrtZo.WeightStore;

namespace OrtZo.Engine;

/// <summary>
/// Weight passes on CPU: the scalar specification of <see cref="Reference.ScalarPassRunner"/> executed chunk by
/// chunk, each stage a vector loop over L1-resident scratch, chunks spread over <see cref="KernelThreads"/>.
/// A weight is read once and written once per pass; z is regenerated into scratch, never stored.
/// Bit-identical to the scalar runner (tests sweep dtypes, masks, rules and tail lengths). Owns its buffers.
/// </summary>
internal sealed unsafe class CpuPassRunner : IPassRunner
{
    /// <summary>Elements per work item; a multiple of 64 so mask words never straddle two items.</summary>
    internal const int ChunkElements = 4096;

    private readonly KernelThreads _threads;
    private readonly Scratch[] _scratch;
    private readonly Action<int, int> _executeItem;
    private WorkItem[] _items = new WorkItem[64];
    private IReadOnlyList<PassSegment>? _segments;

    public CpuPassRunner(WeightBuffers buffers, int threads)
    {
        Buffers = buffers;
        _threads = new KernelThreads(threads);
        _scratch = Enumerable.Range(0, _threads.Count).Select(_ => new Scratch()).ToArray();
        _executeItem = ExecuteItem;
    }

    public WeightBuffers Buffers { get; }

    public void Run(IReadOnlyList<PassSegment> segments)
    {
        int n = 0;
        for (int s = 0; s < segments.Count; s++)
            foreach (int slot in segments[s].Slots)
            {
                var t = Buffers.Tensors[slot];
                if (!t.IsTrainable) continue;
                for (long start = 0; start < t.Slot.ElementCount; start += ChunkElements)
                {
                    if (n == _items.Length) Array.Resize(ref _items, n * 2);
                    _items[n++] = new WorkItem(s, slot, start, (int)Math.Min(ChunkElements, t.Slot.ElementCount - start));
                }
            }
        _segments = segments;
        try
        {
            _threads.For(n, _executeItem);
        }
        finally
        {
            _segments = null;
        }
    }

    private void ExecuteItem(int index, int worker)
    {
        var item = _items[index];
        var segment = _segments![item.Segment];
        var tensor = Buffers.Tensors[item.Slot];
        Chunk(segment, tensor, item.Start, item.Count, _scratch[worker]);
    }

    private void Chunk(PassSegment s, TrainableTensor t, long start, int n, Scratch sc)
    {
        DType dtype = t.Slot.DType;
        long c0 = t.Slot.CounterBase + start;
        byte* w = Buffers.Slab.Pointer(t.Slot.Index) + start * dtype.SizeInBytes();
        var x = sc.X.AsSpan(0, n);
        var theta = sc.Theta.AsSpan(0, n);
        var zr = sc.ZRemove.AsSpan(0, n);
        var za = sc.ZApply.AsSpan(0, n);
        var g = sc.G.AsSpan(0, n);
        var tmp = sc.Tmp.AsSpan(0, n);
        var mOld = sc.MaskOld.AsSpan(0, n);
        var mNew = sc.MaskNew.AsSpan(0, n);

        Load(w, dtype, x);
        x.CopyTo(theta);

        // The step's mask, for removing its offset and for its update.
        ulong oldMaskSeed = s.Remove?.MaskSeed ?? s.Update?.MaskSeed ?? 0;
        bool needOld = s.Remove is not null || s.Update is not null;
        if (needOld) FillMask(t, oldMaskSeed, c0, mOld, sc);

        ulong? zrSeed = null;
        if (s.Remove is { } remove)
        {
            ZoNoise.FillNormals(remove.Seed, c0, zr);
            zrSeed = remove.Seed;
            SubtractScaled(tmp, x, remove.Scale, zr, dtype, sc.Offset);
            RoundTo(tmp, dtype);
            Select(theta, mOld, tmp, x);
        }

        if (s.Update is { } update)
        {
            for (int j = 0; j < update.Directions.Count; j++)
            {
                var d = update.Directions[j];
                ReadOnlySpan<float> z;
                if (zrSeed == d.Seed) z = zr;
                else
                {
                    ZoNoise.FillNormals(d.Seed, c0, tmp);
                    z = tmp;
                }
                if (j == 0) Scale(g, d.Coefficient, z);
                else AccumulateScaled(g, d.Coefficient, z);
            }
            long si = t.StateBase + start;
            float* s1 = Buffers.State1Pointer == null ? null : Buffers.State1Pointer + si;
            float* s2 = Buffers.State2Pointer == null ? null : Buffers.State2Pointer + si;
            // tmp receives the updated θ; state is written only where the mask is on.
            RuleDriver.Chunk(update, t.Decay, theta, g, tmp, mOld, s1, s2);
            if (update.StochasticRounding && dtype != DType.F32)
            {
                var bits = sc.Bits.AsSpan(0, n);
                ZoNoise.FillRoundingBits(update.RoundingSeed, c0, bits);
                for (int i = 0; i < n; i++) tmp[i] = Rounding.Stochastic(tmp[i], dtype, bits[i]);
            }
            else
            {
                RoundTo(tmp, dtype);
            }
            Select(theta, mOld, tmp, theta);
        }

        if (s.Apply is { } apply)
        {
            switch (t.Mask)
            {
                case MaskKind.Magnitude when s.RecomputeMask:
                    MagnitudeMask(theta, t.Threshold, mNew);
                    StoreBits(c0, mNew);
                    break;
                case MaskKind.Magnitude or MaskKind.Dense when needOld:
                    mOld.CopyTo(mNew);   // the stored bits were loaded into mOld and not rewritten since
                    break;
                case MaskKind.Random when needOld && apply.MaskSeed == oldMaskSeed:
                    mOld.CopyTo(mNew);
                    break;
                default:
                    FillMask(t, apply.MaskSeed, c0, mNew, sc);
                    break;
            }
            ReadOnlySpan<float> z;
            if (zrSeed == apply.Seed) z = zr;
            else
            {
                ZoNoise.FillNormals(apply.Seed, c0, za);
                z = za;
            }
            AddScaled(tmp, theta, apply.Scale, z, dtype, sc.Offset);
            RoundTo(tmp, dtype);
            Select(theta, mNew, tmp, theta);
        }

        Store(w, dtype, theta);
    }

    private void FillMask(TrainableTensor t, ulong maskSeed, long c0, Span<uint> mask, Scratch sc)
    {
        switch (t.Mask)
        {
            case MaskKind.Dense:
                mask.Fill(uint.MaxValue);
                break;
            case MaskKind.Magnitude:
                LoadBits(c0, mask);
                break;
            case MaskKind.Random:
                var u = sc.Uniform.AsSpan(0, mask.Length);
                ZoNoise.FillMaskUniforms(maskSeed, c0, u);
                for (int i = 0; i < mask.Length; i++) mask[i] = u[i] < t.KeepRatio ? uint.MaxValue : 0u;
                break;
            default:
                mask.Clear();
                break;
        }
    }

    // Each group of 16 elements reads 16 bits of a mask word: broadcast them, AND with lane bits 1, 2, 4, …,
    // and lanes with their bit set become all-ones.
    private static readonly uint[] LaneBits = Enumerable.Range(0, 64).Select(i => 1u << (i & 15)).ToArray();

    private void LoadBits(long c0, Span<uint> mask)
    {
        ulong* words = Buffers.MaskWords + (c0 >> 6);
        int i = 0;
        int w = Vector<uint>.Count;
        if (Vector.IsHardwareAccelerated && w <= 16 && 16 % w == 0)
        {
            for (; i + 16 <= mask.Length; i += 16)
            {
                uint bits = (uint)(words[i >> 6] >> (i & 63)) & 0xFFFFu;
                var b = new Vector<uint>(bits);
                for (int k = 0; k < 16; k += w)
                {
                    var lane = new Vector<uint>(LaneBits, k);
                    Vector.Equals(b & lane, lane).CopyTo(mask.Slice(i + k));
                }
            }
        }
        for (; i < mask.Length; i++)
            mask[i] = ((words[i >> 6] >> (i & 63)) & 1UL) != 0 ? uint.MaxValue : 0u;
    }

    private void StoreBits(long c0, ReadOnlySpan<uint> mask)
    {
        ulong* words = Buffers.MaskWords + (c0 >> 6);
        int fullWords = mask.Length >> 6;
        for (int wi = 0; wi < fullWords; wi++)
        {
            ulong word = 0;
            var chunk = mask.Slice(wi << 6, 64);
            if (Vector512.IsHardwareAccelerated)
                for (int k = 0; k < 64; k += 16)
                    word |= (ulong)Vector512.ExtractMostSignificantBits(Vector512.Create(chunk.Slice(k, 16))) << k;
            else if (Vector256.IsHardwareAccelerated)
                for (int k = 0; k < 64; k += 8)
                    word |= (ulong)Vector256.ExtractMostSignificantBits(Vector256.Create(chunk.Slice(k, 8))) << k;
            else
                for (int b = 0; b < 64; b++) word |= (ulong)(chunk[b] & 1u) << b;
            words[wi] = word;
        }
        int rest = mask.Length & 63;
        if (rest != 0)
        {
            // The tensor ends inside this word: keep bits beyond it (they belong to no element; they stay 0).
            ulong word = words[fullWords] & ~((1UL << rest) - 1);
            for (int b = 0; b < rest; b++) word |= (ulong)(mask[(fullWords << 6) + b] & 1u) << b;
            words[fullWords] = word;
        }
    }

    private static void MagnitudeMask(ReadOnlySpan<float> theta, float threshold, Span<uint> mask)
    {
        int i = 0;
        var h = new Vector<float>(threshold);
        var signless = new Vector<uint>(0x7FFF_FFFFu);
        for (; i <= theta.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = Vector.AsVectorSingle(Vector.AsVectorUInt32(new Vector<float>(theta.Slice(i))) & signless);
            Vector.AsVectorUInt32(Vector.LessThanOrEqual(v, h)).CopyTo(mask.Slice(i));
        }
        for (; i < theta.Length; i++) mask[i] = MathF.Abs(theta[i]) <= threshold ? uint.MaxValue : 0u;
    }

    /// <summary>dst = a − Round(fl(s·z)): takes an offset off.</summary>
    private static void SubtractScaled(Span<float> dst, ReadOnlySpan<float> a, float scale, ReadOnlySpan<float> z, DType dtype, float[] scratch)
    {
        var p = Offsets(scale, z, dtype, scratch);
        TensorPrimitives.Subtract(a, p, dst);
    }

    /// <summary>dst = a + Round(fl(s·z)): puts an offset on.</summary>
    private static void AddScaled(Span<float> dst, ReadOnlySpan<float> a, float scale, ReadOnlySpan<float> z, DType dtype, float[] scratch)
    {
        var p = Offsets(scale, z, dtype, scratch);
        TensorPrimitives.Add(a, p, dst);
    }

    /// <summary>The offset p = Round(fl(s·z)) of each element, rounded to the storage type.</summary>
    private static ReadOnlySpan<float> Offsets(float scale, ReadOnlySpan<float> z, DType dtype, float[] scratch)
    {
        var p = scratch.AsSpan(0, z.Length);
        TensorPrimitives.Multiply(z, scale, p);
        RoundTo(p, dtype);
        return p;
    }

    private static void Scale(Span<float> dst, float c, ReadOnlySpan<float> z) => TensorPrimitives.Multiply(z, c, dst);

    private static void AccumulateScaled(Span<float> acc, float c, ReadOnlySpan<float> z)
    {
        int i = 0;
        var vc = new Vector<float>(c);
        for (; i <= acc.Length - Vector<float>.Count; i += Vector<float>.Count)
            (new Vector<float>(acc.Slice(i)) + vc * new Vector<float>(z.Slice(i))).CopyTo(acc.Slice(i));
        for (; i < acc.Length; i++) acc[i] = acc[i] + c * z[i];
    }

    private static void Select(Span<float> dst, ReadOnlySpan<uint> mask, ReadOnlySpan<float> ifOn, ReadOnlySpan<float> ifOff)
    {
        int i = 0;
        for (; i <= dst.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var m = Vector.AsVectorSingle(new Vector<uint>(mask.Slice(i)));
            Vector.ConditionalSelect(Vector.AsVectorInt32(m), new Vector<float>(ifOn.Slice(i)), new Vector<float>(ifOff.Slice(i))).CopyTo(dst.Slice(i));
        }
        for (; i < dst.Length; i++) dst[i] = mask[i] != 0 ? ifOn[i] : ifOff[i];
    }

    internal static void Load(byte* w, DType dtype, Span<float> x)
    {
        switch (dtype)
        {
            case DType.F32:
                new ReadOnlySpan<float>(w, x.Length).CopyTo(x);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(w, x.Length), x);
                break;
            case DType.BF16:
                Bf16.Widen(new ReadOnlySpan<ushort>(w, x.Length), x);
                break;
            default:
                throw new NotSupportedException(dtype.ToString());
        }
    }

    internal static void Store(byte* w, DType dtype, ReadOnlySpan<float> v)
    {
        switch (dtype)
        {
            case DType.F32:
                v.CopyTo(new Span<float>(w, v.Length));
                break;
            case DType.F16:
                TensorPrimitives.ConvertToHalf(v, new Span<Half>(w, v.Length));
                break;
            case DType.BF16:
                Bf16.Narrow(v, new Span<ushort>(w, v.Length));
                break;
            default:
                throw new NotSupportedException(dtype.ToString());
        }
    }

    /// <summary>Rounds in place to the storage type (nearest even) and widens back.</summary>
    internal static void RoundTo(Span<float> v, DType dtype)
    {
        switch (dtype)
        {
            case DType.F32:
                return;
            case DType.F16:
                Span<Half> h = stackalloc Half[256];
                for (int i = 0; i < v.Length; i += h.Length)
                {
                    int k = Math.Min(h.Length, v.Length - i);
                    TensorPrimitives.ConvertToHalf(v.Slice(i, k), h[..k]);
                    TensorPrimitives.ConvertToSingle(h[..k], v.Slice(i, k));
                }
                return;
            case DType.BF16:
                Bf16.RoundInPlace(v);
                return;
            default:
                throw new NotSupportedException(dtype.ToString());
        }
    }

    // Host memory is the device: the state is already where checkpoints read it.
    public void DownloadState() { }
    public void UploadState() { }

    public void Dispose()
    {
        _threads.Dispose();
        Buffers.Dispose();
    }

    private readonly record struct WorkItem(int Segment, int Slot, long Start, int Count);

    private sealed class Scratch
    {
        public readonly float[] X = new float[ChunkElements];
        public readonly float[] Theta = new float[ChunkElements];
        public readonly float[] ZRemove = new float[ChunkElements];
        public readonly float[] ZApply = new float[ChunkElements];
        public readonly float[] G = new float[ChunkElements];
        public readonly float[] Tmp = new float[ChunkElements];
        public readonly float[] Offset = new float[ChunkElements];
        public readonly float[] Uniform = new float[ChunkElements];
        public readonly uint[] MaskOld = new uint[ChunkElements];
        public readonly uint[] MaskNew = new uint[ChunkElements];
        public readonly uint[] Bits = new uint[ChunkElements];
    }
}
