// OrtZo weight-pass kernels: the CUDA twin of src/OrtZo.Engine/Reference/ScalarPassRunner.cs (the specification)
// and of the counter RNG of docs/rng.md. Results must match the C# scalar oracle bit for bit, so every float
// operation that rounds is written as inline PTX with an explicit .rn modifier: no compiler may contract a
// multiply and an add into an FMA, reassociate, or substitute an approximate instruction. (PTX never fuses
// instructions that carry a rounding modifier; nvcc is additionally run with -fmad=false and clang with
// -ffp-contract=off.) Nothing here depends on CUDA headers, so clang can compile it without a CUDA install.
//
// Layout of a pass (built by src/OrtZo.Cuda/PassDescriptor.cs; sizes are asserted on both sides):
//   PassHeader | TensorEntry[tensorCount] | SegmentEntry[segmentCount] | DirectionEntry[directionCount]
// The work unit is a quad: four consecutive elements of one tensor. Counter bases are 64-aligned, so a quad's
// counters are exactly one Philox block of every stream, and one thread computes each block once.

#if defined(ORTZO_HOST_EMULATION)
#include "host_emulation.h"
#elif !defined(__NVCC__)
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __forceinline__ __attribute__((always_inline)) inline
#endif

#ifndef ORTZO_HOST_EMULATION
typedef unsigned int u32;
typedef unsigned short u16;
#endif
typedef unsigned long long u64;
typedef long long i64;

struct PassHeader {
    i64 totalQuads;
    u32 tensorCount;
    u32 segmentCount;
    u32 directionCount;
    u32 reserved0;
    i64 reserved1;
};

struct TensorEntry {
    i64 firstQuad;      // quads of all earlier entries: the entries partition [0, totalQuads)
    i64 elementCount;
    i64 byteOffset;     // from the slab base
    i64 counterBase;    // 64-aligned (SlabLayout)
    i64 stateBase;      // index into the optimizer-state buffers
    u32 dtype;          // DTYPE_*
    u32 maskKind;       // MASK_*
    float threshold;    // magnitude masks
    float keepRatio;    // random masks
    u32 decay;          // weight decay applies
    u32 segment;        // index into the segment table
};

struct SegmentEntry {
    u64 removeSeed;
    u64 removeMaskSeed;
    u64 applySeed;
    u64 applyMaskSeed;
    u64 updateMaskSeed;
    u64 roundingSeed;
    float removeScale;
    float applyScale;
    float learningRate;
    float weightDecay;
    float beta1;
    float beta2;
    float adamEpsilon;
    float adamStepSize;
    float adamBias2Sqrt;
    u32 flags;          // SEG_*
    u32 rule;           // RULE_*
    u32 directionStart;
    u32 directionCount;
    u32 reserved;
};

struct DirectionEntry {
    u64 seed;
    float coefficient;
    u32 reserved;
};

static_assert(sizeof(PassHeader) == 32, "PassHeader layout is shared with C#");
static_assert(sizeof(TensorEntry) == 64, "TensorEntry layout is shared with C#");
static_assert(sizeof(SegmentEntry) == 104, "SegmentEntry layout is shared with C#");
static_assert(sizeof(DirectionEntry) == 16, "DirectionEntry layout is shared with C#");

#define DTYPE_F32 0u
#define DTYPE_F16 1u
#define DTYPE_BF16 2u

#define MASK_DENSE 1u
#define MASK_MAGNITUDE 2u
#define MASK_RANDOM 3u

#define SEG_REMOVE 1u
#define SEG_UPDATE 2u
#define SEG_APPLY 4u
#define SEG_RECOMPUTE_MASK 8u
#define SEG_STOCHASTIC_ROUNDING 16u

#define RULE_SGD 0u
#define RULE_SIGN 1u
#define RULE_MOMENTUM 2u
#define RULE_ADAM 3u
#define RULE_COMMIT_OFFSET 4u

#define STREAM_PERTURBATION 0u
#define STREAM_STOCHASTIC_ROUNDING 1u
#define STREAM_RANDOM_MASK 2u

// ---- correctly rounded binary32 operations, one rounding each -------------------------------------------
#ifndef ORTZO_HOST_EMULATION   // the host build maps these to IEEE operations (host_emulation.h)
static __device__ __forceinline__ float add_rn(float a, float b) { float r; asm("add.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
static __device__ __forceinline__ float sub_rn(float a, float b) { float r; asm("sub.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
static __device__ __forceinline__ float mul_rn(float a, float b) { float r; asm("mul.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
static __device__ __forceinline__ float div_rn(float a, float b) { float r; asm("div.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
static __device__ __forceinline__ float fma_rn(float a, float b, float c) { float r; asm("fma.rn.f32 %0, %1, %2, %3;" : "=f"(r) : "f"(a), "f"(b), "f"(c)); return r; }
static __device__ __forceinline__ float sqrt_rn(float a) { float r; asm("sqrt.rn.f32 %0, %1;" : "=f"(r) : "f"(a)); return r; }
static __device__ __forceinline__ float floor_f(float a) { float r; asm("cvt.rmi.f32.f32 %0, %1;" : "=f"(r) : "f"(a)); return r; }
static __device__ __forceinline__ u32 bits_of(float a) { u32 r; asm("mov.b32 %0, %1;" : "=r"(r) : "f"(a)); return r; }
static __device__ __forceinline__ float float_of(u32 a) { float r; asm("mov.b32 %0, %1;" : "=f"(r) : "r"(a)); return r; }
// int32 / uint32 to float: every conversion in this file is of a value below 2^24, hence exact.
static __device__ __forceinline__ float float_of_int(int a) { float r; asm("cvt.rn.f32.s32 %0, %1;" : "=f"(r) : "r"(a)); return r; }
#endif

// ---- storage types ---------------------------------------------------------------------------------------
#ifndef ORTZO_HOST_EMULATION
static __device__ __forceinline__ float f16_to_f32(u16 h) { float r; asm("cvt.f32.f16 %0, %1;" : "=f"(r) : "h"(h)); return r; }
static __device__ __forceinline__ u16 f32_to_f16(float f) { u16 r; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(f)); return r; }
#endif
static __device__ __forceinline__ float bf16_to_f32(u16 h) { return float_of(((u32)h) << 16); }
// FloatConversions.Float32ToBf16: nearest-even on the bit pattern, NaNs kept quiet with their sign.
static __device__ __forceinline__ u16 f32_to_bf16(float f) {
    u32 b = bits_of(f);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) return (u16)((b >> 16) | 0x0040u);
    u32 bias = 0x7FFFu + ((b >> 16) & 1u);
    return (u16)((b + bias) >> 16);
}

static __device__ __forceinline__ float load_weight(const unsigned char* w, u32 dtype, i64 i) {
    if (dtype == DTYPE_F32) return ((const float*)w)[i];
    if (dtype == DTYPE_F16) return f16_to_f32(((const u16*)w)[i]);
    return bf16_to_f32(((const u16*)w)[i]);
}

static __device__ __forceinline__ void store_weight(unsigned char* w, u32 dtype, i64 i, float v) {
    if (dtype == DTYPE_F32) ((float*)w)[i] = v;
    else if (dtype == DTYPE_F16) ((u16*)w)[i] = f32_to_f16(v);
    else ((u16*)w)[i] = f32_to_bf16(v);
}

// Round to the storage grid and widen back (ScalarPassRunner.Round).
static __device__ __forceinline__ float round_to(float v, u32 dtype) {
    if (dtype == DTYPE_F32) return v;
    if (dtype == DTYPE_F16) return f16_to_f32(f32_to_f16(v));
    return bf16_to_f32(f32_to_bf16(v));
}

static __device__ __forceinline__ bool is_finite(float v) { return (bits_of(v) & 0x7F800000u) != 0x7F800000u; }

// Rounding.StochasticBf16: add 16 random bits below the kept half and truncate.
static __device__ __forceinline__ float stochastic_bf16(float v, u32 bits) {
    if (!is_finite(v)) return round_to(v, DTYPE_BF16);
    return float_of((bits_of(v) + (bits & 0xFFFFu)) & 0xFFFF0000u);
}

// Rounding.StochasticF16: round |v| up one f16 ulp with probability equal to its fractional position.
static __device__ __forceinline__ float stochastic_f16(float v, u32 bits) {
    float a = float_of(bits_of(v) & 0x7FFFFFFFu);
    if (!is_finite(v) || a >= 65504.0f) return round_to(v, DTYPE_F16);
    int exponent = (int)((bits_of(a) >> 23) & 0xFFu) - 127;
    if (exponent < -14) exponent = -14;
    float ulp = float_of((u32)(exponent - 10 + 127) << 23);   // 2^(e−10), a normal float for e in [−14, 15]
    float inv = float_of((u32)(10 - exponent + 127) << 23);   // 2^(10−e)
    float scaled = mul_rn(a, inv);
    float fl = floor_f(scaled);
    float fraction = sub_rn(scaled, fl);
    float uniform = mul_rn(float_of_int((int)(bits >> 8)), 5.9604644775390625e-8f);   // 2^-24
    float magnitude = mul_rn(uniform < fraction ? add_rn(fl, 1.0f) : fl, ulp);
    float result = float_of(bits_of(magnitude) | (bits_of(v) & 0x80000000u));   // the sign bit: −0 stays −0
    return round_to(result, DTYPE_F16);
}

// ---- Philox4x32-10 and the noise transforms (docs/rng.md §2–§6) ------------------------------------------
struct Block { u32 x0, x1, x2, x3; };

static __device__ __forceinline__ Block philox(u64 block, u32 stream, u64 seed) {
    u32 c0 = (u32)block, c1 = (u32)(block >> 32), c2 = stream, c3 = 0u;
    u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        u64 p0 = (u64)0xD2511F53u * c0;
        u64 p1 = (u64)0xCD9E8D57u * c2;
        u32 n0 = (u32)(p1 >> 32) ^ c1 ^ k0;
        u32 n1 = (u32)p1;
        u32 n2 = (u32)(p0 >> 32) ^ c3 ^ k1;
        u32 n3 = (u32)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    }
    Block b = { c0, c1, c2, c3 };
    return b;
}

static __device__ __forceinline__ float to_uniform(u32 x) {
    return mul_rn(add_rn(float_of_int((int)(x >> 9)), 0.5f), 1.1920928955078125e-7f);   // 2^-23
}

static __device__ __forceinline__ float det_log(float x) {
    int i = (int)bits_of(x) - 0x3f3504f3;
    float e = float_of_int(i >> 23);
    float m = float_of((u32)((i & 0x007fffff) + 0x3f3504f3));
    float f = sub_rn(m, 1.0f);
    float q = fma_rn(float_of(0xbd9c1e23u), f, float_of(0x3e042928u));
    q = fma_rn(q, f, float_of(0xbe079cf7u));
    q = fma_rn(q, f, float_of(0x3e11382au));
    q = fma_rn(q, f, float_of(0xbe2a137fu));
    q = fma_rn(q, f, float_of(0x3e4cd200u));
    q = fma_rn(q, f, float_of(0xbe800214u));
    q = fma_rn(q, f, float_of(0x3eaaaaa8u));
    q = fma_rn(q, f, float_of(0xbefffffcu));
    float f2 = mul_rn(f, f);
    float lnm = fma_rn(f2, q, f);
    float lo = fma_rn(e, float_of(0xb102e308u), lnm);
    return fma_rn(e, float_of(0x3f317218u), lo);
}

static __device__ __forceinline__ void det_sincos_2pi(float u, float* sinOut, float* cosOut) {
    const float shifter = float_of(0x4b400000u);
    float t = mul_rn(u, 4.0f);
    float shifted = add_rn(t, shifter);
    int quad = (int)bits_of(shifted);
    float k = sub_rn(shifted, shifter);
    float v = sub_rn(t, k);
    float w = mul_rn(v, v);
    float s = fma_rn(float_of(0xbb96e3e4u), w, float_of(0x3da33001u));
    s = fma_rn(s, w, float_of(0xbf255ddfu));
    float v3 = mul_rn(v, w);
    s = mul_rn(v3, s);
    s = fma_rn(v, float_of(0xb33bbd2eu), s);
    s = fma_rn(v, float_of(0x3fc90fdbu), s);
    float c = fma_rn(float_of(0x3a6cea53u), w, float_of(0xbcaae2eeu));
    c = fma_rn(c, w, float_of(0x3e81e0efu));
    c = fma_rn(c, w, float_of(0xbf9de9e6u));
    c = fma_rn(w, c, 1.0f);
    bool swap = (quad & 1) != 0;
    u32 sinSign = (u32)(quad & 2) << 30;
    u32 cosSign = (u32)((quad + 1) & 2) << 30;
    *sinOut = float_of(bits_of(swap ? c : s) ^ sinSign);
    *cosOut = float_of(bits_of(swap ? s : c) ^ cosSign);
}

// The four normals of one block: (r0·cos, r0·sin) from words (x0, x1), (r1·cos, r1·sin) from (x2, x3).
static __device__ __forceinline__ void normals4(u64 seed, u64 block, float z[4]) {
    Block b = philox(block, STREAM_PERTURBATION, seed);
    float s, c;
    float r0 = sqrt_rn(mul_rn(det_log(to_uniform(b.x0)), -2.0f));
    det_sincos_2pi(to_uniform(b.x1), &s, &c);
    z[0] = mul_rn(r0, c);
    z[1] = mul_rn(r0, s);
    float r1 = sqrt_rn(mul_rn(det_log(to_uniform(b.x2)), -2.0f));
    det_sincos_2pi(to_uniform(b.x3), &s, &c);
    z[2] = mul_rn(r1, c);
    z[3] = mul_rn(r1, s);
}

static __device__ __forceinline__ u32 lane_word(Block b, int lane) {
    return lane == 0 ? b.x0 : lane == 1 ? b.x1 : lane == 2 ? b.x2 : b.x3;
}

// Mask of a step for one element (ScalarPassRunner.MaskOf). `word` is the element's stored mask word.
static __device__ __forceinline__ bool mask_of(const TensorEntry* t, u64 word, int bit, const Block* randomBlock, int lane) {
    if (t->maskKind == MASK_DENSE) return true;
    if (t->maskKind == MASK_MAGNITUDE) return ((word >> bit) & 1ull) != 0ull;
    if (t->maskKind == MASK_RANDOM) return to_uniform(lane_word(*randomBlock, lane)) < t->keepRatio;
    return false;
}

// Rules.Apply: one optimizer rule on the restored θ, float32, no FMA.
static __device__ __forceinline__ float apply_rule(const SegmentEntry* s, bool decay, float theta, float g, float* s1, float* s2) {
    if (s->rule == RULE_COMMIT_OFFSET) return add_rn(theta, g);
    if (decay && s->weightDecay != 0.0f) g = add_rn(g, mul_rn(s->weightDecay, theta));
    if (s->rule == RULE_SGD) return sub_rn(theta, mul_rn(s->learningRate, g));
    if (s->rule == RULE_SIGN) {
        float sign = g > 0.0f ? 1.0f : g < 0.0f ? -1.0f : 0.0f;
        return sub_rn(theta, mul_rn(s->learningRate, sign));
    }
    if (s->rule == RULE_MOMENTUM) {
        float m = add_rn(mul_rn(s->beta1, *s1), g);
        *s1 = m;
        return sub_rn(theta, mul_rn(s->learningRate, m));
    }
    // RULE_ADAM
    float m1 = add_rn(mul_rn(s->beta1, *s1), mul_rn(sub_rn(1.0f, s->beta1), g));
    float v = add_rn(mul_rn(s->beta2, *s2), mul_rn(sub_rn(1.0f, s->beta2), mul_rn(g, g)));
    *s1 = m1;
    *s2 = v;
    float denom = add_rn(div_rn(sqrt_rn(v), s->adamBias2Sqrt), s->adamEpsilon);
    return sub_rn(theta, mul_rn(s->adamStepSize, div_rn(m1, denom)));
}

#ifndef ORTZO_HOST_EMULATION
static __device__ __forceinline__ void atomic_or_u64(u64* address, u64 value) {
    asm volatile("red.global.or.b64 [%0], %1;" :: "l"(address), "l"(value) : "memory");
}

static __device__ __forceinline__ void atomic_and_u64(u64* address, u64 value) {
    asm volatile("red.global.and.b64 [%0], %1;" :: "l"(address), "l"(value) : "memory");
}
#endif

// The entry whose quads contain q: the last entry with firstQuad <= q.
static __device__ __forceinline__ const TensorEntry* find_tensor(const TensorEntry* tensors, u32 count, i64 q) {
    u32 lo = 0, hi = count - 1;
    while (lo < hi) {
        u32 mid = (lo + hi + 1) >> 1;
        if (tensors[mid].firstQuad <= q) lo = mid; else hi = mid - 1;
    }
    return tensors + lo;
}

// One pass over every tensor the descriptor lists, grid-stride over quads, one launch per pass.
extern "C" __global__ void ortzo_weight_pass(const unsigned char* descriptor, unsigned char* slab, u64* maskWords, float* state1, float* state2) {
    const PassHeader* header = (const PassHeader*)descriptor;
    const TensorEntry* tensors = (const TensorEntry*)(descriptor + sizeof(PassHeader));
    const SegmentEntry* segments = (const SegmentEntry*)(tensors + header->tensorCount);
    const DirectionEntry* directions = (const DirectionEntry*)(segments + header->segmentCount);
    i64 stride = (i64)blockDim.x * gridDim.x;
    for (i64 q = (i64)blockIdx.x * blockDim.x + threadIdx.x; q < header->totalQuads; q += stride) {
        const TensorEntry* t = find_tensor(tensors, header->tensorCount, q);
        const SegmentEntry* s = segments + t->segment;
        i64 first = (q - t->firstQuad) * 4;
        i64 counter0 = t->counterBase + first;          // a multiple of 4: one Philox block per stream
        u64 block = (u64)(counter0 >> 2);
        unsigned char* w = slab + t->byteOffset;
        bool hasRemove = (s->flags & SEG_REMOVE) != 0u;
        bool hasUpdate = (s->flags & SEG_UPDATE) != 0u;
        bool hasApply = (s->flags & SEG_APPLY) != 0u;
        bool recompute = t->maskKind == MASK_MAGNITUDE && (s->flags & SEG_RECOMPUTE_MASK) != 0u;

        u64* wordAddress = maskWords != 0 ? maskWords + (counter0 >> 6) : 0;
        u64 word = (t->maskKind == MASK_MAGNITUDE) ? *wordAddress : 0ull;
        int bit0 = (int)(counter0 & 63);

        // Every stream's block is drawn at most once per quad, and only when the segment needs it.
        Block oldMaskBlock = {0u, 0u, 0u, 0u}, newMaskBlock = {0u, 0u, 0u, 0u}, roundingBlock = {0u, 0u, 0u, 0u};
        if (t->maskKind == MASK_RANDOM) {
            u64 oldSeed = hasRemove ? s->removeMaskSeed : s->updateMaskSeed;
            if (hasRemove || hasUpdate) oldMaskBlock = philox(block, STREAM_RANDOM_MASK, oldSeed);
            if (hasApply) newMaskBlock = philox(block, STREAM_RANDOM_MASK, s->applyMaskSeed);
        }
        float zRemove[4] = {0, 0, 0, 0}, zApply[4] = {0, 0, 0, 0}, g[4] = {0, 0, 0, 0};
        if (hasRemove) normals4(s->removeSeed, block, zRemove);
        if (hasApply) normals4(s->applySeed, block, zApply);
        if (hasUpdate) {
            for (u32 j = 0; j < s->directionCount; j++) {
                const DirectionEntry* d = directions + s->directionStart + j;
                float z[4];
                normals4(d->seed, block, z);
                for (int l = 0; l < 4; l++) {
                    float term = mul_rn(d->coefficient, z[l]);
                    g[l] = j == 0 ? term : add_rn(g[l], term);
                }
            }
            if ((s->flags & SEG_STOCHASTIC_ROUNDING) != 0u) roundingBlock = philox(block, STREAM_STOCHASTIC_ROUNDING, s->roundingSeed);
        }

        u64 setBits = 0ull, clearBits = 0ull;
        for (int l = 0; l < 4; l++) {
            i64 i = first + l;
            if (i >= t->elementCount) break;
            float x = load_weight(w, t->dtype, i);
            bool oldMask = (hasRemove || hasUpdate) && mask_of(t, word, bit0 + l, &oldMaskBlock, l);
            bool touched = false;
            float theta = x;
            if (hasRemove && oldMask) {
                theta = round_to(sub_rn(x, round_to(mul_rn(s->removeScale, zRemove[l]), t->dtype)), t->dtype);
                touched = true;
            }
            if (hasUpdate && oldMask) {
                i64 si = t->stateBase + i;
                theta = apply_rule(s, t->decay != 0u, theta, g[l], state1 != 0 ? state1 + si : 0, state2 != 0 ? state2 + si : 0);
                theta = (s->flags & SEG_STOCHASTIC_ROUNDING) != 0u
                    ? (t->dtype == DTYPE_F32 ? theta : t->dtype == DTYPE_BF16 ? stochastic_bf16(theta, lane_word(roundingBlock, l)) : stochastic_f16(theta, lane_word(roundingBlock, l)))
                    : round_to(theta, t->dtype);
                touched = true;
            }
            float result = theta;
            if (hasApply) {
                bool newMask;
                if (recompute) {
                    newMask = float_of(bits_of(theta) & 0x7FFFFFFFu) <= t->threshold;
                    if (newMask) setBits |= 1ull << (bit0 + l); else clearBits |= 1ull << (bit0 + l);
                } else {
                    newMask = mask_of(t, word, bit0 + l, &newMaskBlock, l);
                }
                if (newMask) {
                    result = round_to(add_rn(theta, round_to(mul_rn(s->applyScale, zApply[l]), t->dtype)), t->dtype);
                    touched = true;
                }
            }
            // Untouched elements keep their exact bits (the oracle's load/store round trip is the identity).
            if (touched) store_weight(w, t->dtype, i, result);
        }
        if (recompute) {
            // Other quads of the same 64-bit word belong to other threads: change only this quad's bits.
            if (setBits != 0ull) atomic_or_u64(wordAddress, setBits);
            if (clearBits != 0ull) atomic_and_u64(wordAddress, ~clearBits);
        }
    }
}

// z for elements [firstIndex, firstIndex + count) of a stream: checks the generator against Noise.FillNormals.
extern "C" __global__ void ortzo_fill_normals(u64 seed, u32 stream, i64 firstIndex, i64 count, float* destination) {
    i64 stride = (i64)blockDim.x * gridDim.x;
    for (i64 k = (i64)blockIdx.x * blockDim.x + threadIdx.x; k < count; k += stride) {
        i64 n = firstIndex + k;
        Block b = philox((u64)(n >> 2), stream, seed);
        int lane = (int)(n & 3);
        u32 radiusWord = lane < 2 ? b.x0 : b.x2;
        u32 angleWord = lane < 2 ? b.x1 : b.x3;
        float s, c;
        float r = sqrt_rn(mul_rn(det_log(to_uniform(radiusWord)), -2.0f));
        det_sincos_2pi(to_uniform(angleWord), &s, &c);
        destination[k] = mul_rn(r, (lane & 1) == 0 ? c : s);
    }
}

// Raw 32-bit words for elements [firstIndex, firstIndex + count): checks against Noise.FillUniformBits.
extern "C" __global__ void ortzo_fill_uniform_bits(u64 seed, u32 stream, i64 firstIndex, i64 count, u32* destination) {
    i64 stride = (i64)blockDim.x * gridDim.x;
    for (i64 k = (i64)blockIdx.x * blockDim.x + threadIdx.x; k < count; k += stride) {
        i64 n = firstIndex + k;
        destination[k] = lane_word(philox((u64)(n >> 2), stream, seed), (int)(n & 3));
    }
}

#ifdef ORTZO_HOST_EMULATION
// The host build's half-precision conversions, exported so the tests can hold them to .NET's Half exhaustively.
extern "C" void ortzo_emulation_narrow_f16(const float* source, u16* destination, i64 count) {
    for (i64 i = 0; i < count; i++) destination[i] = f32_to_f16(source[i]);
}
extern "C" void ortzo_emulation_widen_f16(const u16* source, float* destination, i64 count) {
    for (i64 i = 0; i < count; i++) destination[i] = f16_to_f32(source[i]);
}
#endif
