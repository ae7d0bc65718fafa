using OrtZo.WeightStore;

namespace OrtZo.Engine.Reference;

/// <summary>
/// The weight operations of a ZO step written as plain scalar code, one element at a time: this file is the
/// specification. No SIMD, no threads, slow on purpose. The CPU SIMD kernels and the CUDA kernels must produce
/// bit-identical weights, mask bits and optimizer state for every pass; tests hold them to it.
///
/// Arithmetic is IEEE-754 binary32 with round-to-nearest-even, one rounding per written operation and no
/// fused multiply-add (a CUDA port must use __fmul_rn/__fadd_rn or -fmad=false). "Round" means rounding the
/// float32 value to the slab's storage type (identity for f32; nearest-even for f16 and bf16).
/// Per element i of a segment's tensors, with counter c = CounterBase + i:
///   x  = Load(w_i)                                     exact widening
///   mo = mask of the step that owns the offset on w_i  (dense 1 | stored bit c | U(maskSeed,c) &lt; keep)
///   p(P) = Round(fl(P.Scale · z_c(P.Seed)))             an offset is put on the storage grid first
///   θ  = mo ? Round(x − p(Remove)) : x
///   if Update and mo:
///     ĝ = Σ_j fl(c_j · z_c(seed_j))                   accumulated left to right
///     ĝ = decay ? ĝ + λ·θ : ĝ
///     θ = RoundUpdate(Rule(θ, ĝ, state_c))             nearest-even, or stochastic with bits R(roundSeed, c)
///   mn = Apply ? (recompute ? |θ| ≤ h : stored bit) : –  stored when recomputed
///   w_i = (Apply and mn) ? Round(θ + p(Apply)) : θ
/// Masked-out elements are copied unchanged (no arithmetic, so signed zeros survive). With p fixed and on the
/// storage grid, θ → θ+p → θ−p → θ returns θ exactly unless θ±p rounds in a coarser binade than θ or at an
/// exact tie (tests characterise this); zeros and weights finer than p always come back.
/// </summary>
internal static unsafe class ScalarPassRunner
{
    public static void Run(WeightBuffers buffers, IReadOnlyList<PassSegment> segments)
    {
        foreach (var segment in segments)
            foreach (int slot in segment.Slots)
            {
                var tensor = buffers.Tensors[slot];
                if (!tensor.IsTrainable) continue;
                for (long i = 0; i < tensor.Slot.ElementCount; i++)
                    Element(buffers, tensor, segment, i);
            }
    }

    private static void Element(WeightBuffers b, TrainableTensor t, PassSegment s, long i)
    {
        long c = t.Slot.CounterBase + i;
        DType dtype = t.Slot.DType;
        byte* w = b.Slab.Pointer(t.Slot.Index);
        float x = Load(w, dtype, i);

        bool oldMask = s.Remove is { } r0 ? MaskOf(b, t, r0.MaskSeed, c) : s.Update is { } u0 && MaskOf(b, t, u0.MaskSeed, c);
        float theta = x;
        if (s.Remove is { } remove && oldMask)
            theta = Round(x - Offset(remove, c, dtype), dtype);

        if (s.Update is { } update && oldMask)
        {
            float g = 0f;
            for (int j = 0; j < update.Directions.Count; j++)
            {
                var d = update.Directions[j];
                float term = d.Coefficient * ZoNoise.Normal(d.Seed, c);
                g = j == 0 ? term : g + term;
            }
            long si = t.StateBase + i;
            theta = RuleDriver.Scalar(update, t.Decay, theta, g, b.State1Pointer == null ? null : b.State1Pointer + si, b.State2Pointer == null ? null : b.State2Pointer + si);
            theta = update.StochasticRounding ? Rounding.Stochastic(theta, dtype, ZoNoise.RoundingBits(update.RoundingSeed, c)) : Round(theta, dtype);
        }

        float result = theta;
        if (s.Apply is { } apply)
        {
            bool newMask;
            if (t.Mask == MaskKind.Magnitude && s.RecomputeMask)
            {
                newMask = MathF.Abs(theta) <= t.Threshold;
                SetBit(b, c, newMask);
            }
            else
            {
                newMask = MaskOf(b, t, apply.MaskSeed, c);
            }
            if (newMask) result = Round(theta + Offset(apply, c, dtype), dtype);
        }
        Store(w, dtype, i, result);
    }

    /// <summary>p = Round(fl(Scale · z)): on the storage grid, so zeros and weights at least as fine as p come back exactly.</summary>
    internal static float Offset(Perturbation p, long c, DType dtype) => Round(p.Scale * ZoNoise.Normal(p.Seed, c), dtype);

    private static bool MaskOf(WeightBuffers b, TrainableTensor t, ulong maskSeed, long c) => t.Mask switch
    {
        MaskKind.Dense => true,
        MaskKind.Magnitude => (b.MaskWords[c >> 6] >> (int)(c & 63) & 1UL) != 0,
        MaskKind.Random => ZoNoise.MaskUniform(maskSeed, c) < t.KeepRatio,
        _ => false,
    };

    private static void SetBit(WeightBuffers b, long c, bool on)
    {
        ulong bit = 1UL << (int)(c & 63);
        if (on) b.MaskWords[c >> 6] |= bit;
        else b.MaskWords[c >> 6] &= ~bit;
    }

    internal static float Load(byte* w, DType dtype, long i) => dtype switch
    {
        DType.F32 => ((float*)w)[i],
        DType.F16 => (float)((Half*)w)[i],
        DType.BF16 => FloatConversions.Bf16ToFloat32(((ushort*)w)[i]),
        _ => throw new NotSupportedException(dtype.ToString()),
    };

    internal static void Store(byte* w, DType dtype, long i, float v)
    {
        switch (dtype)
        {
            case DType.F32: ((float*)w)[i] = v; break;
            case DType.F16: ((Half*)w)[i] = (Half)v; break;
            case DType.BF16: ((ushort*)w)[i] = FloatConversions.Float32ToBf16(v); break;
            default: throw new NotSupportedException(dtype.ToString());
        }
    }

    /// <summary>Round a float32 to the storage type and widen back (exact for f32).</summary>
    internal static float Round(float v, DType dtype) => dtype switch
    {
        DType.F32 => v,
        DType.F16 => (float)(Half)v,
        DType.BF16 => FloatConversions.Bf16ToFloat32(FloatConversions.Float32ToBf16(v)),
        _ => throw new NotSupportedException(dtype.ToString()),
    };
}
