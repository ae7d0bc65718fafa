#!/usr/bin/python3
"""Independent reference model of OrtZo's noise RNG and its two-pass MeZO / Sparse-MeZO weight step.

Written from docs/rng.md and docs/zo-step.md (the C# sources were only consulted where the documents leave
something open; see README.md). It writes tests/OrtZo.Tests/Fixtures/reference/zo_reference.json.

Arithmetic discipline: every binary32 operation is a numpy float32 operation (IEEE-754 correctly rounded,
ties to even) on explicitly float32 operands, so nothing is silently widened to float64. The one exception is
fused multiply-add, which numpy does not offer: it is computed exactly with fractions.Fraction and rounded once.
Philox runs on plain Python integers masked to 32 bits.

Run:  /usr/bin/python3 tools/reference/zo_reference.py      (needs Debian's python3-numpy)
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from fractions import Fraction

import numpy as np

F32 = np.float32
U32 = 0xFFFFFFFF

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUTPUT = os.path.join(REPO, "tests", "OrtZo.Tests", "Fixtures", "reference", "zo_reference.json")


# ---------------------------------------------------------------------------------------------------------------
# float32 helpers
# ---------------------------------------------------------------------------------------------------------------

def f32_from_bits(bits: int) -> np.float32:
    return np.array([bits & U32], dtype=np.uint32).view(np.float32)[0]


def bits_of_f32(x: np.float32) -> int:
    assert type(x) is np.float32, type(x)
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


def _f32(r):
    # Guard against numpy's NEP-50-era promotion rules quietly widening a scalar result to float64.
    assert type(r) is np.float32, type(r)
    return r


def add(a, b): return _f32(_f32(a) + _f32(b))
def sub(a, b): return _f32(_f32(a) - _f32(b))
def mul(a, b): return _f32(_f32(a) * _f32(b))
def sqrt(a): return _f32(np.sqrt(_f32(a)))


def _nearest_f32(q: Fraction) -> np.float32:
    """The binary32 nearest to the non-zero rational q, ties to even (one rounding, subnormals included)."""
    negative = q < 0
    num, den = abs(q.numerator), q.denominator
    # e = floor(log2(num/den)), found from bit lengths and corrected by one comparison
    e = num.bit_length() - den.bit_length()
    if (num << max(0, -e)) < (den << max(0, e)):
        e -= 1
    quantum_exp = max(e, -126) - 23          # the spacing of binary32 values around q (or in the subnormal range)
    if quantum_exp <= 0:
        n, d = num << -quantum_exp, den
    else:
        n, d = num, den << quantum_exp
    whole, rest = divmod(n, d)
    if 2 * rest > d or (2 * rest == d and whole & 1):
        whole += 1
    # whole < 2^25 and the scale is a power of two, so the float64 product is exact and so is its narrowing
    # (the value is representable in binary32 by construction, barring overflow which never occurs here).
    value = F32(math.ldexp(whole, quantum_exp))
    return _f32(-value if negative else value)


def fma(a, b, c) -> np.float32:
    """a*b + c with a single rounding, as IEEE-754 fusedMultiplyAdd."""
    a, b, c = _f32(a), _f32(b), _f32(c)
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    if exact == 0:
        # Fractions lose the sign of zero; IEEE gives −0 only when both addends are −0 (in round-to-nearest).
        product_negative = bool(np.signbit(a)) != bool(np.signbit(b))
        both_negative = product_negative and bool(np.signbit(c)) and (a == 0 or b == 0) and c == 0
        return F32(-0.0) if both_negative else F32(0.0)
    return _nearest_f32(exact)


# ---------------------------------------------------------------------------------------------------------------
# Philox4x32-10, keyed counter layout, uniforms (rng.md §1–3)
# ---------------------------------------------------------------------------------------------------------------

def philox4x32_10(counter, key):
    x0, x1, x2, x3 = counter
    k0, k1 = key
    for rnd in range(10):
        if rnd:  # the key schedule advances before every round but the first
            k0 = (k0 + 0x9E3779B9) & U32
            k1 = (k1 + 0xBB67AE85) & U32
        lo_hi0 = 0xD2511F53 * x0
        lo_hi1 = 0xCD9E8D57 * x2
        x0, x1, x2, x3 = ((lo_hi1 >> 32) ^ x1 ^ k0) & U32, lo_hi1 & U32, ((lo_hi0 >> 32) ^ x3 ^ k1) & U32, lo_hi0 & U32
    return x0, x1, x2, x3


PERTURBATION_STREAM = 0
SEED_DERIVATION_WORD = 3


def noise_block(seed: int, stream: int, block: int):
    return philox4x32_10((block & U32, (block >> 32) & U32, stream & U32, 0), (seed & U32, (seed >> 32) & U32))


def derive_seed(master: int, step: int, query: int) -> int:
    # c3 = 3 keeps seed-derivation blocks apart from element blocks (which have c3 = 0)
    x0, x1, _, _ = philox4x32_10((step & U32, (step >> 32) & U32, query & U32, SEED_DERIVATION_WORD),
                                 (master & U32, (master >> 32) & U32))
    return x0 | (x1 << 32)


UNIFORM_STEP = f32_from_bits(0x34000000)  # 2^-23


def uniform(word: int) -> np.float32:
    # 23 bits so that the cell midpoint is exactly representable everywhere in (0,1)
    return mul(add(F32(word >> 9), F32(0.5)), UNIFORM_STEP)


# ---------------------------------------------------------------------------------------------------------------
# Deterministic log and sin/cos in turns (rng.md §6)
# ---------------------------------------------------------------------------------------------------------------

LOG_Q = [f32_from_bits(b) for b in (0xbefffffc, 0x3eaaaaa8, 0xbe800214, 0x3e4cd200, 0xbe2a137f,
                                    0x3e11382a, 0xbe079cf7, 0x3e042928, 0xbd9c1e23)]
LN2_HI, LN2_LO = f32_from_bits(0x3f317218), f32_from_bits(0xb102e308)
SQRT_HALF_BITS = 0x3f3504f3
HALF_PI_HI, HALF_PI_LO = f32_from_bits(0x3fc90fdb), f32_from_bits(0xb33bbd2e)
SIN_S = [f32_from_bits(b) for b in (0xbf255ddf, 0x3da33001, 0xbb96e3e4)]
COS_C = [f32_from_bits(b) for b in (0xbf9de9e6, 0x3e81e0ef, 0xbcaae2ee, 0x3a6cea53)]
SHIFTER = f32_from_bits(0x4b400000)  # 1.5·2^23


def det_log(x: np.float32) -> np.float32:
    # Re-centre the mantissa on [√½, √2) so the polynomial argument stays small on both sides of 1.
    rel = bits_of_f32(x) - SQRT_HALF_BITS            # a signed 32-bit quantity for positive normal x
    exponent = F32(rel >> 23)                         # Python's >> on negatives is the arithmetic shift
    mantissa = f32_from_bits((rel & 0x007FFFFF) + SQRT_HALF_BITS)
    f = sub(mantissa, F32(1.0))
    q = fma(LOG_Q[8], f, LOG_Q[7])
    for coefficient in (LOG_Q[6], LOG_Q[5], LOG_Q[4], LOG_Q[3], LOG_Q[2], LOG_Q[1], LOG_Q[0]):
        q = fma(q, f, coefficient)
    ln_mantissa = fma(mul(f, f), q, f)
    return fma(exponent, LN2_HI, fma(exponent, LN2_LO, ln_mantissa))


def det_sincos_2pi(u: np.float32):
    """(sin 2πu, cos 2πu): reduce by quarter turns exactly, then polynomials in v on [−½, ½]."""
    t = mul(u, F32(4.0))
    shifted = add(t, SHIFTER)
    quadrant = bits_of_f32(shifted)                   # low bits hold round(t) mod 4
    v = sub(t, sub(shifted, SHIFTER))
    w = mul(v, v)
    s = fma(fma(SIN_S[2], w, SIN_S[1]), w, SIN_S[0])
    s = mul(mul(v, w), s)
    s = fma(v, HALF_PI_HI, fma(v, HALF_PI_LO, s))
    c = fma(fma(fma(COS_C[3], w, COS_C[2]), w, COS_C[1]), w, COS_C[0])
    c = fma(w, c, F32(1.0))
    if quadrant & 1:
        s, c = c, s
    sin_flip = (quadrant & 2) << 30
    cos_flip = ((quadrant + 1) & 2) << 30
    return f32_from_bits(bits_of_f32(s) ^ sin_flip), f32_from_bits(bits_of_f32(c) ^ cos_flip)


_block_cache: dict = {}


def _normal_block(seed: int, stream: int, block: int):
    key = (seed, stream, block)
    hit = _block_cache.get(key)
    if hit is None:
        words = noise_block(seed, stream, block)
        out = []
        for radius_word, angle_word in ((words[0], words[1]), (words[2], words[3])):
            radius = sqrt(mul(det_log(uniform(radius_word)), F32(-2.0)))
            sin_v, cos_v = det_sincos_2pi(uniform(angle_word))
            out += [mul(radius, cos_v), mul(radius, sin_v)]
        hit = _block_cache[key] = tuple(out)
    return hit


def normal(seed: int, counter: int, stream: int = PERTURBATION_STREAM) -> np.float32:
    return _normal_block(seed, stream, counter // 4)[counter % 4]


def normals(seed: int, first: int, count: int, stream: int = PERTURBATION_STREAM) -> np.ndarray:
    return np.array([normal(seed, first + i, stream) for i in range(count)], dtype=np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Storage types
# ---------------------------------------------------------------------------------------------------------------

def _bf16_bits(a: np.ndarray) -> np.ndarray:
    # Nearest-even on the raw pattern: add 0x7FFF plus the lowest kept bit, then truncate (NaN never occurs here).
    b = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    return (((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF).astype(np.uint16)


def storage_bits(a: np.ndarray, dtype: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    if dtype == "f32":
        return a.view(np.uint32).copy()
    if dtype == "bf16":
        return _bf16_bits(a)
    if dtype == "f16":
        return a.astype(np.float16).view(np.uint16).copy()
    raise ValueError(dtype)


def widen(bits: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "f32":
        return bits.astype(np.uint32).view(np.float32).copy()
    if dtype == "bf16":
        return (bits.astype(np.uint32) << 16).view(np.float32)
    if dtype == "f16":
        return bits.astype(np.uint16).view(np.float16).astype(np.float32)
    raise ValueError(dtype)


def to_storage(a: np.ndarray, dtype: str) -> np.ndarray:
    """Round float32 values to the storage grid and widen back (what the weights can actually hold)."""
    return widen(storage_bits(a, dtype), dtype)


def _f16_bits_by_integers(b: int) -> int:
    """Integer-only binary32 → binary16 nearest-even, to check that numpy's conversion rounds once."""
    sign = (b >> 16) & 0x8000
    a = b & 0x7FFFFFFF
    biased = a >> 23
    significand = (a & 0x7FFFFF) | (0x800000 if biased else 0)
    e = max(biased, 1) - 127                          # value = significand · 2^(e − 23)
    target = max(e, -14) - 10                         # f16 spacing exponent at this magnitude
    drop = target - (e - 23)
    q, rest = significand >> drop, significand & ((1 << drop) - 1)
    half = 1 << (drop - 1)
    if rest > half or (rest == half and q & 1):
        q += 1
    if e < -14:
        mag = q                                       # subnormal (q == 0x400 is the smallest normal, encoded the same)
    else:
        mag = ((e + 15) << 10) + (q - 0x400)
    return sign | min(mag, 0x7C00)


def _check_f16_conversion():
    """numpy's float32→float16 must be one nearest-even rounding; probe ties, subnormals and overflow."""
    probes = []
    for e in range(-27, 17):
        for frac in (0, 1, 0x0FFF, 0x1000, 0x1001, 0x2000, 0x3000, 0x5000, 0x7FFFFF, 0x7FE000, 0x7FF000):
            biased = e + 127
            for low in (0, 1, 0x1FFF, 0x0FFF):
                probes.append((biased << 23) | ((frac | low) & 0x7FFFFF))
    probes += [0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000, 0x33000000, 0x33000001, 0x337FFFFF,
               0x32FFFFFF, 0x38800000, 0x387FC000, 0x387FE000, 0x00000000, 0x00000001]
    probes += [p | 0x80000000 for p in probes]
    arr = np.array(probes, dtype=np.uint32).view(np.float32)
    with np.errstate(over="ignore"):
        got = arr.astype(np.float16).view(np.uint16)
    for p, g in zip(probes, got):
        want = _f16_bits_by_integers(p)
        assert int(g) == want, f"np.float16 conversion of {p:08x}: {int(g):04x}, nearest-even is {want:04x}"
    return len(probes)


# ---------------------------------------------------------------------------------------------------------------
# Sparse-MeZO threshold
# ---------------------------------------------------------------------------------------------------------------

def magnitude_threshold(values: np.ndarray, sparsity: float) -> np.float32:
    """k-th smallest |w| with k = ⌈(1 − sparsity)·n − 1e-9⌉ (the 1e-9 keeps e.g. 0.3·10 from becoming 4)."""
    n = values.size
    k = math.ceil((1.0 - sparsity) * n - 1e-9)
    if k <= 0 or n == 0:
        return F32(-1.0)
    if k >= n:
        return F32(np.inf)
    magnitudes = np.sort(np.abs(values.astype(np.float32)))
    return _f32(magnitudes[k - 1])


# ---------------------------------------------------------------------------------------------------------------
# The step, as a plain simulation over whole tensors
# ---------------------------------------------------------------------------------------------------------------

MASK_SEED_INDEX = 1 << 24
ROUNDING_SEED_INDEX = (1 << 24) + 1


class Tensor:
    def __init__(self, spec: dict, counter_base: int, initial_bits: np.ndarray):
        self.name, self.dtype, self.shape = spec["name"], spec["dtype"], spec["shape"]
        self.decay, self.mask_kind = spec["decay"], spec["mask"]
        self.n = int(np.prod(self.shape))
        self.base = counter_base
        self.w = widen(initial_bits, self.dtype)     # what the slab holds, widened to float32
        self.threshold = None
        self.mask = np.ones(self.n, dtype=bool)

    def z(self, seed: int) -> np.ndarray:
        return normals(seed, self.base, self.n)

    def offset(self, seed: int, scale: np.float32) -> np.ndarray:
        # an offset is put on the storage grid before it touches a weight
        return to_storage(_arr(_f32(scale) * self.z(seed)), self.dtype)

    def bits(self) -> np.ndarray:
        return storage_bits(self.w, self.dtype)


def _arr(a):
    assert isinstance(a, np.ndarray) and a.dtype == np.float32, getattr(a, "dtype", type(a))
    return a


def counter_bases(sizes):
    bases, nxt = [], 0
    for n in sizes:
        bases.append(nxt)
        nxt = -(-(nxt + n) // 64) * 64
    return bases


class Run:
    """Holds the scenario's weights; open/flip/close are MeZO's +εz, +εz→−εz and restore+update."""

    def __init__(self, sc: dict, tensors: list):
        self.sc, self.t = sc, tensors
        self.master = int(sc["master_seed"], 16)
        self.eps = F32(sc["epsilon"])
        self.lr = F32(sc["learning_rate"])
        self.wd = F32(sc["weight_decay"])

    def seeds(self, step: int):
        return (derive_seed(self.master, step, 0),
                derive_seed(self.master, step // 1 * 1, MASK_SEED_INDEX),
                derive_seed(self.master, step, ROUNDING_SEED_INDEX))

    def judge_masks(self):
        for x in self.t:
            if x.mask_kind == "magnitude":
                x.mask = np.abs(x.w) <= x.threshold

    def apply(self, seed: int, scale: np.float32):
        for x in self.t:
            moved = to_storage(_arr(x.w + x.offset(seed, scale)), x.dtype)
            x.w = np.where(x.mask, moved, x.w)       # masked-out weights are copied, untouched (−0 survives)

    def remove(self, seed: int, scale: np.float32):
        for x in self.t:
            moved = to_storage(_arr(x.w - x.offset(seed, scale)), x.dtype)
            x.w = np.where(x.mask, moved, x.w)

    def update(self, seed: int, coefficient: np.float32):
        for x in self.t:
            g_hat = _arr(_f32(coefficient) * x.z(seed))
            if x.decay and self.wd != 0:
                g_hat = _arr(g_hat + _arr(self.wd * x.w))
            stepped = to_storage(_arr(x.w - _arr(self.lr * g_hat)), x.dtype)
            x.w = np.where(x.mask, stepped, x.w)

    def projected_gradient(self, step: int) -> float:
        l_plus, l_minus = self.sc["losses"][step]
        return (l_plus - l_minus) / (2.0 * float(self.eps))  # in double, but with ε as the float32 the run uses

    def coefficient(self, step: int) -> np.float32:
        return F32(self.projected_gradient(step) / 1)       # q = 1 query; one rounding to float32

    def snapshot(self):
        return {x.name: x.bits().copy() for x in self.t}

    # --- settled order: every step ends with its restore+update run on its own --------------------------------
    def run_settled(self, steps: int, trace: list | None = None):
        history = []
        for step in range(steps):
            seed, mask_seed, rounding_seed = self.seeds(step)
            self.judge_masks()
            self.apply(seed, self.eps)
            plus = self.snapshot()
            self.remove(seed, self.eps)
            self.apply(seed, -self.eps)
            minus = self.snapshot()
            c = self.coefficient(step)
            self.remove(seed, -self.eps)
            self.update(seed, c)
            history.append(self.snapshot())
            if trace is not None:
                trace.append({"step_index": step, "seed": f"0x{seed:016x}", "mask_seed": f"0x{mask_seed:016x}",
                              "rounding_seed": f"0x{rounding_seed:016x}",
                              "projected_gradient": self.projected_gradient(step),
                              "coefficient_bits": f"{bits_of_f32(c):08x}",
                              "masks": {x.name: [int(b) for b in x.mask] for x in self.t if x.mask_kind == "magnitude"},
                              "plus": plus, "minus": minus})
        return history

    # --- fused order: step t's restore+update and step t+1's perturbation in one element-wise pass -----------
    def run_fused(self, steps: int):
        pending = None
        for step in range(steps):
            seed, _, _ = self.seeds(step)
            if pending is None:
                self.judge_masks()
                self.apply(seed, self.eps)
            else:
                self._fused_close_open(pending, seed)
            self.remove(seed, self.eps)
            self.apply(seed, -self.eps)
            pending = (seed, self.coefficient(step))
        self.remove(pending[0], -self.eps)          # settle the last close alone
        self.update(*pending)
        return self.snapshot()

    def _fused_close_open(self, pending, seed):
        old_seed, c = pending
        for x in self.t:
            old_mask = x.mask                          # the previous step's bits govern its restore and update
            theta = to_storage(_arr(x.w - x.offset(old_seed, -self.eps)), x.dtype)
            g_hat = _arr(_f32(c) * x.z(old_seed))
            if x.decay and self.wd != 0:
                g_hat = _arr(g_hat + _arr(self.wd * theta))
            theta = to_storage(_arr(theta - _arr(self.lr * g_hat)), x.dtype)
            theta = np.where(old_mask, theta, x.w)
            new_mask = np.abs(theta) <= x.threshold if x.mask_kind == "magnitude" else np.ones(x.n, dtype=bool)
            perturbed = to_storage(_arr(theta + x.offset(seed, self.eps)), x.dtype)
            x.w = np.where(new_mask, perturbed, theta)
            x.mask = new_mask


# ---------------------------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------------------------

def initial_values(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(0.0, 0.05, n).astype(np.float32)
    # a few values that exercise the edge cases of perturb/restore: zeros (one signed) and coarse-binade weights
    specials = [0.0, -0.0, 2.0, -2.0, 0.0]
    slots = rng.permutation(n)[:min(len(specials), n // 6)]   # small tensors (biases) stay plain
    for slot, val in zip(slots, specials):
        v[slot] = F32(val)
    return v


SCENARIOS = [
    {
        "name": "mezo-f32", "optimizer": "mezo", "master_seed": "0x0123456789abcdef",
        "epsilon": 1e-3, "learning_rate": 1e-2, "weight_decay": 0.1,
        "tensors": [
            {"name": "layers.0.weight", "dtype": "f32", "shape": [5, 7], "decay": True, "mask": "dense"},
            {"name": "layers.0.proj", "dtype": "f32", "shape": [33], "decay": True, "mask": "dense"},
            {"name": "layers.0.bias", "dtype": "f32", "shape": [3], "decay": False, "mask": "dense"},
        ],
        "losses": [[0.70, 0.69], [0.68, 0.685], [0.66, 0.6517]],
    },
    {
        "name": "mezo-bf16-f16", "optimizer": "mezo", "master_seed": "0x00000000000004d2",
        "epsilon": 1e-3, "learning_rate": 0.5, "weight_decay": 0.0,
        "tensors": [
            {"name": "embed.weight", "dtype": "bf16", "shape": [6, 11], "decay": True, "mask": "dense"},
            {"name": "norm.weight", "dtype": "f16", "shape": [37], "decay": False, "mask": "dense"},
        ],
        "losses": [[0.7002, 0.7], [0.6891, 0.6893], [0.68125, 0.68115]],
    },
    {
        "name": "sparse-mezo-f32", "optimizer": "sparse-mezo", "master_seed": "0xfedcba9876543210",
        "epsilon": 1e-3, "learning_rate": 1e-2, "weight_decay": 0.05, "sparsity": 0.7,
        "tensors": [
            {"name": "layers.1.q", "dtype": "f32", "shape": [5, 7], "decay": True, "mask": "magnitude"},
            {"name": "layers.1.k", "dtype": "f32", "shape": [33], "decay": True, "mask": "magnitude"},
            {"name": "layers.1.norm", "dtype": "f32", "shape": [3], "decay": False, "mask": "dense"},
        ],
        "losses": [[0.5504, 0.55], [0.5497, 0.5501], [0.5493, 0.5491]],
    },
    {
        "name": "sparse-mezo-bf16", "optimizer": "sparse-mezo", "master_seed": "0x000000000000002a",
        "epsilon": 1e-3, "learning_rate": 0.05, "weight_decay": 0.1, "sparsity": 0.5, "tie_at_threshold": True,
        "tensors": [
            {"name": "layers.2.bias", "dtype": "bf16", "shape": [5], "decay": False, "mask": "dense"},
            {"name": "layers.2.w", "dtype": "bf16", "shape": [6, 11], "decay": True, "mask": "magnitude"},
        ],
        "losses": [[0.4003, 0.4], [0.3995, 0.3999], [0.41, 0.4098]],
    },
]

STEPS = 3


def build_scenario(sc: dict, rng: np.random.Generator):
    sizes = [int(np.prod(t["shape"])) for t in sc["tensors"]]
    tensors = []
    for spec, base, n in zip(sc["tensors"], counter_bases(sizes), sizes):
        tensors.append(Tensor(spec, base, storage_bits(initial_values(rng, n), spec["dtype"])))
    if sc["optimizer"] == "sparse-mezo":
        for x in tensors:
            if x.mask_kind == "magnitude":
                if sc.get("tie_at_threshold"):
                    _force_tie(x, sc["sparsity"])
                x.threshold = magnitude_threshold(x.w, sc["sparsity"])   # once, from the initial weights
    return tensors


def _force_tie(x: Tensor, sparsity: float):
    # Give the first element above the k-th smallest |w| the same magnitude (opposite sign), so the mask
    # must take k + 1 elements: "|θ| ≤ h" with ties, not "the k smallest".
    k = math.ceil((1.0 - sparsity) * x.n - 1e-9)
    order = np.argsort(np.abs(x.w), kind="stable")
    at, above = order[k - 1], order[k]
    x.w[above] = -x.w[at] if x.w[at] != 0 else x.w[at]


def hexes(bits: np.ndarray, dtype: str):
    width = 8 if dtype == "f32" else 4
    return [f"{int(b):0{width}x}" for b in bits]


def simulate(sc: dict, seed_for_weights: int):
    tensors = build_scenario(sc, np.random.default_rng(seed_for_weights))
    initial = {x.name: x.bits().copy() for x in tensors}
    thresholds = {x.name: x.threshold for x in tensors}
    trace = []
    history = Run(sc, tensors).run_settled(STEPS, trace)

    # Fusing a close with the next opening must not change a single bit (and resuming after k steps neither).
    for k in range(1, STEPS + 1):
        again = build_scenario(sc, np.random.default_rng(seed_for_weights))
        fused = Run(sc, again).run_fused(k)
        for name in fused:
            assert np.array_equal(fused[name], history[k - 1][name]), f"{sc['name']}: fused ≠ settled after {k}"

    dtype_of = {x.name: x.dtype for x in tensors}
    out = {key: sc[key] for key in ("name", "optimizer", "master_seed", "epsilon", "learning_rate", "weight_decay")}
    out["epsilon_bits"] = f"{bits_of_f32(F32(sc['epsilon'])):08x}"
    out["learning_rate_bits"] = f"{bits_of_f32(F32(sc['learning_rate'])):08x}"
    out["weight_decay_bits"] = f"{bits_of_f32(F32(sc['weight_decay'])):08x}"
    if "sparsity" in sc:
        out["sparsity"] = sc["sparsity"]
    out["queries"] = 1
    out["tensors"] = []
    for x in tensors:
        entry = {"name": x.name, "dtype": x.dtype, "shape": x.shape, "counter_base": x.base,
                 "decay": x.decay, "mask": x.mask_kind}
        if x.mask_kind == "magnitude":
            entry["threshold_bits"] = f"{bits_of_f32(thresholds[x.name]):08x}"
        entry["initial_bits"] = hexes(initial[x.name], x.dtype)
        out["tensors"].append(entry)
    out["losses"] = sc["losses"]
    out["after_steps"] = [{"step": k + 1, "tensors": {n: hexes(b, dtype_of[n]) for n, b in history[k].items()}}
                          for k in range(STEPS)]
    out["trace"] = [dict(tr, plus={n: hexes(b, dtype_of[n]) for n, b in tr["plus"].items()},
                         minus={n: hexes(b, dtype_of[n]) for n, b in tr["minus"].items()}) for tr in trace]

    # The fixture is only useful if the weights visibly move where they should and stay where they should.
    stats = {}
    for x in tensors:
        final = history[-1][x.name]
        changed = int(np.count_nonzero(final != initial[x.name]))
        ever = np.zeros(x.n, dtype=bool)
        for h in history:
            ever |= h[x.name] != initial[x.name]
        stats[x.name] = {"elements": x.n, "changed_after_3": changed, "ever_changed": int(ever.sum())}
        if x.mask_kind == "dense":
            assert changed >= 0.8 * x.n, f"{sc['name']}/{x.name}: only {changed}/{x.n} dense weights moved"
        else:
            assert 0 < int(ever.sum()) < x.n, f"{sc['name']}/{x.name}: magnitude mask moved {int(ever.sum())}/{x.n}"
    signs = [np.sign(lp - lm) for lp, lm in sc["losses"]]
    assert 1 in signs and -1 in signs, f"{sc['name']}: losses should give both signs of g"
    return out, stats


# ---------------------------------------------------------------------------------------------------------------
# Published vectors (rng.md §2, §8) — the model must reproduce them before anything is written
# ---------------------------------------------------------------------------------------------------------------

PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
    ((U32, U32, U32, U32), (U32, U32), (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
     (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1)),
]

PUBLISHED_NORMALS = [
    (0x0000000000000000, 0, "3f7dbb30 bf6cb6b3 bf1e1ba1 bef6d1aa be1d5354 3e392a67 3f54ec98 3e4a2d9a"),
    (0x0000000000000000, 2**33 + 5, "3f51f4a6 3fb7dae5 3f040308 bc4b733a bec66df7 3fb07ed2 400f7379 bf79294d"),
    (0x0000000000000001, 0, "3ec2c3e1 be97b1ba be7f36f6 bf807dbe 3f207fa7 bf224cc1 bf2da331 bf81aca1"),
    (0x0000000000000001, 2**33 + 5, "3fab0154 3fde3112 3f3adf73 3f785ad1 3ebaef9b 3fc6d62f 3e890e18 3f9be337"),
    (0x0123456789ABCDEF, 0, "3de16c08 bf4d97ea c00e4db2 3e9a0fce bec317aa 3f4b1bec bee139a2 bfa4ffb0"),
    (0x0123456789ABCDEF, 2**33 + 5, "c00f8cf5 3f16389d 3f35f853 3f4b09d9 3df96ba1 3fa31211 3da24010 bfc7cb1f"),
]

PUBLISHED_SEEDS = [
    (0x0000000000000000, 0, 0, 0xd75ee2f14d7b25fc),
    (0x0123456789ABCDEF, 1, 0, 0x7d43504b68987c9a),
    (0x0123456789ABCDEF, 2**40 + 3, 7, 0x0436e4ac3045354c),
]

EXTRA_NORMALS = [
    (0x0123456789ABCDEF, 3, 37),                     # starts in lane 3: a one-element leading block
    (0xDEADBEEFCAFEF00D, 2**33 + 13, 130),           # non-zero c1, partial blocks at both ends
    (0x9E3779B97F4A7C15, 4 * (2**32) - 5, 11),       # block index crosses 2^32: c0 wraps, c1 carries
    (0xFFFFFFFFFFFFFFFF, 2**62 + 2**40 + 1, 9),      # all-ones key, 62-bit counter
]

EXTRA_SEEDS = [
    (0x0123456789ABCDEF, 5, MASK_SEED_INDEX),
    (0x0123456789ABCDEF, 5, ROUNDING_SEED_INDEX),
    (0xFFFFFFFFFFFFFFFF, 2**63 - 1, 2**31 - 1),
]


def self_checks():
    for ctr, key, want in PHILOX_KAT:
        got = philox4x32_10(ctr, key)
        assert got == want, f"Philox KAT {ctr}: {[hex(v) for v in got]}"
    for seed, first, row in PUBLISHED_NORMALS:
        got = " ".join(hexes(normals(seed, first, 8).view(np.uint32), "f32"))
        assert got == row, f"published normals seed {seed:#x} index {first}:\n  got  {got}\n  want {row}"
    for master, step, query, want in PUBLISHED_SEEDS:
        got = derive_seed(master, step, query)
        assert got == want, f"DeriveSeed({master:#x}, {step}, {query}) = {got:#018x}, published {want:#018x}"
    return _check_f16_conversion()


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------

def _dump(value, indent=0):
    """JSON with lists of scalars on one line, so the fixture stays diffable and compact."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_dump(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        flat = all(not isinstance(v, (dict, list)) for v in value)
        short_rows = len(value) <= 8 and all(
            isinstance(v, list) and all(not isinstance(w, (dict, list)) for w in v) and len(v) <= 4 for v in value)
        if flat or short_rows:
            return json.dumps(value)
        return "[\n" + ",\n".join(inner + _dump(v, indent + 2) for v in value) + "\n" + pad + "]"
    return json.dumps(value)


def write_atomically(path: str, text: str):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".zo_reference.", suffix=".tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv):
    out_path = argv[1] if len(argv) > 1 else OUTPUT
    f16_probes = self_checks()

    doc = {
        "generator": {
            "script": "tools/reference/zo_reference.py",
            "numpy": np.__version__,
            "description": "Independent numpy/Fraction model of docs/rng.md and docs/zo-step.md "
                           "(Philox4x32-10 normals, DeriveSeed, two-point MeZO / Sparse-MeZO with SGD, q = 1)",
        },
        "conventions": {
            "normals": "stream 0 (Perturbation); bits are binary32 patterns of elements first_counter … first_counter+count−1",
            "weights": "storage bit patterns, element order = row-major; 8 hex digits f32, 4 hex digits f16/bf16",
            "steps": "step index t starts at 0; after_steps[k−1] is the settled weights after steps 0 … k−1",
            "trace": "per step: seeds, float32 update coefficient, magnitude mask bits judged at the opening, "
                     "and the weights during the L+ and L− forwards",
        },
        "normals": [],
        "derived_seeds": [],
        "steps": [],
    }
    for seed, first, _ in PUBLISHED_NORMALS:
        doc["normals"].append({"seed": f"0x{seed:016x}", "stream": 0, "first_counter": first, "count": 8,
                               "published": True, "bits": hexes(normals(seed, first, 8).view(np.uint32), "f32")})
    for seed, first, count in EXTRA_NORMALS:
        doc["normals"].append({"seed": f"0x{seed:016x}", "stream": 0, "first_counter": first, "count": count,
                               "published": False, "bits": hexes(normals(seed, first, count).view(np.uint32), "f32")})
    for master, step, query, _ in PUBLISHED_SEEDS:
        doc["derived_seeds"].append({"master_seed": f"0x{master:016x}", "step": step, "query": query,
                                     "published": True, "seed": f"0x{derive_seed(master, step, query):016x}"})
    for master, step, query in EXTRA_SEEDS:
        doc["derived_seeds"].append({"master_seed": f"0x{master:016x}", "step": step, "query": query,
                                     "published": False, "seed": f"0x{derive_seed(master, step, query):016x}"})

    summary = []
    for i, sc in enumerate(SCENARIOS):
        scenario, stats = simulate(sc, seed_for_weights=20250 + i)
        doc["steps"].append(scenario)
        summary.append((sc["name"], stats))

    write_atomically(out_path, _dump(doc) + "\n")
    print(f"self-checks passed: Philox KAT 3/3, published normals 6/6, DeriveSeed 3/3, f16 probes {f16_probes}; "
          f"fused = settled for every scenario")
    for name, stats in summary:
        print(f"  {name}: " + ", ".join(f"{t} {s['changed_after_3']}/{s['elements']} changed after 3 "
                                         f"({s['ever_changed']} ever)" for t, s in stats.items()))
    print(f"wrote {os.path.relpath(out_path, REPO)}")


if __name__ == "__main__":
    main(sys.argv)
