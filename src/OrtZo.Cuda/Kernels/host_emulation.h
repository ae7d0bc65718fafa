// Host emulation of zo_passes.cu: the kernels compiled as plain C++ (g++ -DORTZO_HOST_EMULATION) so that the CPU tests
// run every pass case through the very source the GPU runs. Each PTX helper becomes the IEEE binary32 operation it
// stands for (compiled with -ffp-contract=off -fno-fast-math -mfpmath=sse: one rounding per operation, no FMA
// contraction, no x87 excess precision); half-precision conversion is written out bit by bit; the atomics become plain
// read-modify-writes; and the grid is one thread of one block, so each kernel's grid-stride loop visits one quad per
// iteration, in order.
#pragma once
#include <cmath>
#include <cstring>

#define __global__
#define __device__
#define __forceinline__ inline

struct OrtZoDim3 { unsigned int x; };
static const OrtZoDim3 blockIdx = {0u}, threadIdx = {0u}, blockDim = {1u}, gridDim = {1u};

typedef unsigned int u32;
typedef unsigned short u16;

static inline u32 bits_of(float a) { u32 r; std::memcpy(&r, &a, sizeof r); return r; }
static inline float float_of(u32 a) { float r; std::memcpy(&r, &a, sizeof r); return r; }
static inline float add_rn(float a, float b) { return a + b; }
static inline float sub_rn(float a, float b) { return a - b; }
static inline float mul_rn(float a, float b) { return a * b; }
static inline float div_rn(float a, float b) { return a / b; }
static inline float fma_rn(float a, float b, float c) { return std::fmaf(a, b, c); }   // correctly rounded in glibc
static inline float sqrt_rn(float a) { return std::sqrt(a); }
static inline float floor_f(float a) { return std::floor(a); }
static inline float float_of_int(int a) { return (float)a; }

// cvt.f32.f16: exact widening, subnormals normalised.
static inline float f16_to_f32(u16 h) {
    u32 sign = (u32)(h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0x1Fu) return float_of(sign | 0x7F800000u | (m << 13));
    if (e == 0u) {
        if (m == 0u) return float_of(sign);
        u32 shift = 0;
        while ((m & 0x400u) == 0u) { m <<= 1; shift++; }
        return float_of(sign | ((113u - shift) << 23) | ((m & 0x3FFu) << 13));
    }
    return float_of(sign | ((e + 112u) << 23) | (m << 13));
}

// cvt.rn.f16.f32: round to nearest even, subnormal results, overflow to infinity, NaNs quiet.
static inline u16 f32_to_f16(float f) {
    u32 x = bits_of(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return (u16)(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
    if (ax >= 0x477FF000u) return (u16)(sign | 0x7C00u);             // 65520 and above (a tie goes to the even: infinity)
    if (ax < 0x38800000u) {                                           // below 2^-14: an f16 subnormal, or zero
        if (ax < 0x33000000u) return (u16)sign;                       // below 2^-25 (2^-25 itself ties to the even 0 below)
        u32 e = ax >> 23, m = (ax & 0x7FFFFFu) | 0x800000u, shift = 126u - e;
        u32 r = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (u16)(sign | r);
    }
    u32 r = ax - 0x38000000u, h = r >> 13, rem = r & 0x1FFFu;        // rebias the exponent by 127 − 15
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;           // a carry into the exponent is the right neighbour
    return (u16)(sign | h);
}

static inline void atomic_or_u64(unsigned long long* address, unsigned long long value) { *address |= value; }
static inline void atomic_and_u64(unsigned long long* address, unsigned long long value) { *address &= value; }
