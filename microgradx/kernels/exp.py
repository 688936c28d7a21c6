"""e^x for the lane sweeps: math.exp's value to within an ulp, in arithmetic LLVM vectorises.

numba compiles math.exp to a call of the C library's exp, one number at a time: on the
digits' softmax cross-entropy (10 exps for each of 128 lanes) that took 8.7 µs a step of
about 75. Written out in arithmetic, the loop over the lanes runs eight at a time:

    e^x = 2^k · e^r,  k = round(x / ln 2),  r = x − k·ln 2  (|r| <= ln 2 / 2)
    e^r = Σ_{n <= 13} r^n / n!   (the Taylor series: the rest is below 2^-57 · e^r)

k·ln 2 is taken off in two parts (Cody and Waite; fdlibm's ln2_hi and ln2_lo): ln2_hi has
its last 32 bits 0, so k·ln2_hi is exact and r is x − k·ln 2 to about 2^-80. k comes from
adding 1.5·2^52, which rounds to an integer (to even, as np.rint) and leaves it in the low
bits; 2^k is then built from bits, in two factors (2^(k − k//2) · 2^(k//2)) so that e^x
overflows to inf, and underflows gradually to 0, as math.exp does, with one rounding.
x is clamped to [−746, 710] first (e^x is 0 below, inf above); nan stays nan.

Equals: math.exp to 1 ulp (tests/test_exp.py: 2·10^6 numbers over the whole range, the
edges of overflow and underflow, ±inf and nan); the scalar sweeps, which call math.exp,
equal the lane sweeps to that.
"""

from __future__ import annotations

import math
import struct

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from . import cache
from .codes import inline

LOG2E = 1.4426950408889634  # 1 / ln 2
LN2_HI = 6.93147180369123816490e-01  # ln 2's first 21 bits (0x3FE62E42FEE00000)
LN2_LO = 1.90821492927058770002e-10  # ln 2 − LN2_HI
ROUND = 6755399441055744.0  # 1.5 · 2^52: y + ROUND rounds y to an integer, held in the low bits
HI, LO = 710.0, -746.0  # e^x is inf above, 0 below
TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))  # 1/n!, n = 0 … 13


def bits(x: float) -> int:
    """The 64 bits of the float64 x, as an int64."""
    return struct.unpack("<q", struct.pack("<d", x))[0]


def from_bits(i: int) -> float:
    """The float64 whose 64 bits are the int64 i."""
    return struct.unpack("<d", struct.pack("<q", i))[0]


@intrinsic
def _bits(typingctx, x):
    if x != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, i):
    if i != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@overload(bits, inline="always")
def _bits_impl(x):
    return lambda x: _bits(x)


@overload(from_bits, inline="always")
def _from_bits_impl(i):
    return lambda i: _from_bits(i)


@inline
def exp(x):
    """e^x, within an ulp of math.exp(x), for any float64 x (see the top)."""
    x = HI if x > HI else x
    x = LO if x < LO else x  # (nan passes both)
    shifted = x * LOG2E + ROUND  # k in its low bits
    k_float = shifted - ROUND
    r = (x - k_float * LN2_HI) - k_float * LN2_LO
    p = TAYLOR[13]
    for n in range(12, -1, -1):  # Horner's rule: ((r/13! + 1/12!)·r + …)·r + 1 (unrolled by LLVM)
        p = p * r + TAYLOR[n]
    k = bits(shifted) - bits(ROUND) + 2048  # k + 2048 >= 972: a logical shift halves it
    half = (k >> 1) - 1024  # k // 2
    rest = k - 2048 - half
    return p * from_bits((half + 1023) << 52) * from_bits((rest + 1023) << 52)


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
