using System.Runtime.InteropServices;
using OrtZo.WeightStore;
using OrtZo.Engine;

namespace OrtZo.Cuda;

// The binary form of one weight pass that ortzo_weight_pass reads from device memory. The structs mirror those
// of Kernels/zo_passes.cu field for field; both sides assert the sizes, and a unit test compares the C#
// sizes with the static_asserts in the .cu source. Enumerations are mapped to explicit kernel codes rather
// than cast, so renumbering a C# enum cannot silently change what the kernel does.

[StructLayout(LayoutKind.Sequential)]
internal struct PassHeader
{
    public long TotalQuads;
    public uint TensorCount;
    public uint SegmentCount;
    public uint DirectionCount;
    public uint Reserved0;
    public long Reserved1;
}

[StructLayout(LayoutKind.Sequential)]
internal struct TensorEntry
{
    public long FirstQuad;
    public long ElementCount;
    public long ByteOffset;
    public long CounterBase;
    public long StateBase;
    public uint DType;
    public uint MaskKind;
    public float Threshold;
    public float KeepRatio;
    public uint Decay;
    public uint Segment;
}

[StructLayout(LayoutKind.Sequential)]
internal struct SegmentEntry
{
    public ulong RemoveSeed;
    public ulong RemoveMaskSeed;
    public ulong ApplySeed;
    public ulong ApplyMaskSeed;
    public ulong UpdateMaskSeed;
    public ulong RoundingSeed;
    public float RemoveScale;
    public float ApplyScale;
    public float LearningRate;
    public float WeightDecay;
    public float Beta1;
    public float Beta2;
    public float AdamEpsilon;
    public float AdamStepSize;
    public float AdamBias2Sqrt;
    public uint Flags;
    public uint Rule;
    public uint DirectionStart;
    public uint DirectionCount;
    public uint Reserved;
}

[StructLayout(LayoutKind.Sequential)]
internal struct DirectionEntry
{
    public ulong Seed;
    public float Coefficient;
    public uint Reserved;
}

/// <summary>A pass encoded for the kernel: the bytes to upload and the number of quads (work items) it covers.</summary>
internal sealed record EncodedPass(byte[] Bytes, long TotalQuads, int TensorCount, int SegmentCount, int DirectionCount);

/// <summary>Encodes <see cref="PassSegment"/> lists into the kernel's descriptor format (the codes below are the .cu's).</summary>
internal static class PassDescriptor
{
    public const uint DTypeF32 = 0, DTypeF16 = 1, DTypeBf16 = 2;
    public const uint MaskDense = 1, MaskMagnitude = 2, MaskRandom = 3;
    public const uint SegRemove = 1, SegUpdate = 2, SegApply = 4, SegRecomputeMask = 8, SegStochasticRounding = 16;
    public const uint RuleSgd = 0, RuleSign = 1, RuleMomentum = 2, RuleAdam = 3, RuleCommitOffset = 4;

    /// <summary>Elements per work item: one Philox block of four 32-bit words.</summary>
    public const int QuadSize = 4;

    public static EncodedPass Encode(IReadOnlyList<TrainableTensor> tensors, IReadOnlyList<PassSegment> segments)
    {
        var tensorEntries = new List<TensorEntry>();
        var segmentEntries = new List<SegmentEntry>();
        var directionEntries = new List<DirectionEntry>();
        long quads = 0;
        for (int si = 0; si < segments.Count; si++)
        {
            var segment = segments[si];
            segmentEntries.Add(EncodeSegment(segment, directionEntries));
            foreach (int slot in segment.Slots)
            {
                var t = tensors[slot];
                if (!t.IsTrainable || t.Slot.ElementCount == 0) continue;
                if (t.Slot.CounterBase % SlabLayout.CounterAlignment != 0)
                    throw new ArgumentException($"tensor '{t.Slot.Spec.Name}': counter base {t.Slot.CounterBase} is not {SlabLayout.CounterAlignment}-aligned");
                tensorEntries.Add(new TensorEntry
                {
                    FirstQuad = quads,
                    ElementCount = t.Slot.ElementCount,
                    ByteOffset = t.Slot.ByteOffset,
                    CounterBase = t.Slot.CounterBase,
                    StateBase = t.StateBase,
                    DType = DTypeCode(t.Slot.DType),
                    MaskKind = MaskCode(t.Mask),
                    Threshold = t.Threshold,
                    KeepRatio = t.KeepRatio,
                    Decay = t.Decay ? 1u : 0u,
                    Segment = (uint)si,
                });
                quads += (t.Slot.ElementCount + QuadSize - 1) / QuadSize;
            }
        }
        var header = new PassHeader
        {
            TotalQuads = quads,
            TensorCount = (uint)tensorEntries.Count,
            SegmentCount = (uint)segmentEntries.Count,
            DirectionCount = (uint)directionEntries.Count,
        };
        var bytes = new byte[Marshal.SizeOf<PassHeader>() + tensorEntries.Count * Marshal.SizeOf<TensorEntry>()
            + segmentEntries.Count * Marshal.SizeOf<SegmentEntry>() + directionEntries.Count * Marshal.SizeOf<DirectionEntry>()];
        var span = bytes.AsSpan();
        MemoryMarshal.Write(span, in header);
        int at = Marshal.SizeOf<PassHeader>();
        at += Copy(CollectionsMarshal.AsSpan(tensorEntries), span[at..]);
        at += Copy(CollectionsMarshal.AsSpan(segmentEntries), span[at..]);
        Copy(CollectionsMarshal.AsSpan(directionEntries), span[at..]);
        return new EncodedPass(bytes, quads, tensorEntries.Count, segmentEntries.Count, directionEntries.Count);
    }

    /// <summary>Reads the tables back (tests, diagnostics).</summary>
    public static (PassHeader Header, TensorEntry[] Tensors, SegmentEntry[] Segments, DirectionEntry[] Directions) Decode(ReadOnlySpan<byte> bytes)
    {
        var header = MemoryMarshal.Read<PassHeader>(bytes);
        int at = Marshal.SizeOf<PassHeader>();
        var tensors = MemoryMarshal.Cast<byte, TensorEntry>(bytes.Slice(at, (int)header.TensorCount * Marshal.SizeOf<TensorEntry>())).ToArray();
        at += tensors.Length * Marshal.SizeOf<TensorEntry>();
        var segments = MemoryMarshal.Cast<byte, SegmentEntry>(bytes.Slice(at, (int)header.SegmentCount * Marshal.SizeOf<SegmentEntry>())).ToArray();
        at += segments.Length * Marshal.SizeOf<SegmentEntry>();
        var directions = MemoryMarshal.Cast<byte, DirectionEntry>(bytes.Slice(at, (int)header.DirectionCount * Marshal.SizeOf<DirectionEntry>())).ToArray();
        return (header, tensors, segments, directions);
    }

    private static int Copy<T>(ReadOnlySpan<T> source, Span<byte> destination) where T : struct
    {
        var raw = MemoryMarshal.AsBytes(source);
        raw.CopyTo(destination);
        return raw.Length;
    }

    private static SegmentEntry EncodeSegment(PassSegment s, List<DirectionEntry> directions)
    {
        var e = new SegmentEntry();
        if (s.Remove is { } remove)
        {
            e.Flags |= SegRemove;
            e.RemoveSeed = remove.Seed;
            e.RemoveScale = remove.Scale;
            e.RemoveMaskSeed = remove.MaskSeed;
        }
        if (s.Apply is { } apply)
        {
            e.Flags |= SegApply;
            e.ApplySeed = apply.Seed;
            e.ApplyScale = apply.Scale;
            e.ApplyMaskSeed = apply.MaskSeed;
        }
        if (s.RecomputeMask) e.Flags |= SegRecomputeMask;
        if (s.Update is { } u)
        {
            e.Flags |= SegUpdate;
            if (u.StochasticRounding) e.Flags |= SegStochasticRounding;
            e.Rule = RuleCode(u.Rule);
            e.UpdateMaskSeed = u.MaskSeed;
            e.RoundingSeed = u.RoundingSeed;
            e.LearningRate = u.LearningRate;
            e.WeightDecay = u.WeightDecay;
            e.Beta1 = u.Beta1;
            e.Beta2 = u.Beta2;
            e.AdamEpsilon = u.AdamEpsilon;
            e.AdamStepSize = u.AdamStepSize;
            e.AdamBias2Sqrt = u.AdamBias2Sqrt;
            e.DirectionStart = (uint)directions.Count;
            e.DirectionCount = (uint)u.Directions.Count;
            foreach (var d in u.Directions) directions.Add(new DirectionEntry { Seed = d.Seed, Coefficient = d.Coefficient });
        }
        return e;
    }

    public static uint DTypeCode(DType dtype) => dtype switch
    {
        DType.F32 => DTypeF32,
        DType.F16 => DTypeF16,
        DType.BF16 => DTypeBf16,
        _ => throw new NotSupportedException($"{dtype} weights have no CUDA pass kernel"),
    };

    public static uint MaskCode(MaskKind mask) => mask switch
    {
        MaskKind.Dense => MaskDense,
        MaskKind.Magnitude => MaskMagnitude,
        MaskKind.Random => MaskRandom,
        _ => throw new ArgumentOutOfRangeException(nameof(mask), mask, "frozen tensors are never encoded"),
    };

    public static uint RuleCode(UpdateRule rule) => rule switch
    {
        UpdateRule.Sgd => RuleSgd,
        UpdateRule.Sign => RuleSign,
        UpdateRule.Momentum => RuleMomentum,
        UpdateRule.Adam => RuleAdam,
        UpdateRule.CommitOffset => RuleCommitOffset,
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, null),
    };
}
