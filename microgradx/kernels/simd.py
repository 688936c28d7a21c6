"""Eight float64 numbers as one machine vector: the four operations matmul.product is made of.

numba vectorises a loop by itself when it can prove the loop safe, and it cannot prove
the loop a matrix product needs: a tile of C kept in registers across the sum, while
rows of B stream past (numba cannot tell that C does not overlap B, so it re-reads and
re-writes C each time, 6-10 GFLOP/s). So here the tile is said outright: a `Vec8` is
LLVM's <8 x double>, a value that lives in a register (a zmm register with AVX-512, two
ymm with AVX2), and a kernel keeps sixteen of them as plain local variables.

    load(a, i)          a[i : i + 8] as a vector
    zero()              the vector of eight 0.0
    fma(s, x, acc)      acc + s·x, the number s times each of x's (one multiply-add each)
    add_to(a, i, v)     a[i : i + 8] += v

No bounds are checked: the caller keeps i + 8 <= a.size. Under NUMBA_DISABLE_JIT=1 they
are the plain NumPy lines below, so the kernels that use them still run, as Python.
The numba side is four small pieces of LLVM IR (llvmlite, numba's own dependency).
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import config
from numba.extending import intrinsic, models, overload, register_model

LANES = 8
VECTOR = ir.VectorType(ir.DoubleType(), LANES)


def vector_registers() -> int:
    """The vector registers of the CPU numba compiles for: 32 with AVX-512 (zmm0-31, each a
    Vec8), else 16 (ymm0-15 on AVX2: a Vec8 takes two). NUMBA_CPU_FEATURES, when set, is what
    numba compiles for, as its caches record; else this machine's."""
    features = config.CPU_FEATURES or llvm.get_host_cpu_features().flatten()
    return 32 if "+avx512f" in features.split(",") else 16


REGISTERS = vector_registers()


def load(a, i):
    return a[i : i + LANES].copy()


def zero():
    return np.zeros(LANES)


def fma(s, x, acc):
    return acc + s * x


def add_to(a, i, v):
    a[i : i + LANES] += v


# -- numba's side: the type, and each operation as LLVM IR ---------------------------------------


class Vec8(types.Type):
    """numba's type of eight float64 held as one LLVM vector."""

    def __init__(self):
        super().__init__(name="Vec8")


vec8 = Vec8()


@register_model(Vec8)
class Vec8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, VECTOR)


def _address(context, builder, array_type, array, i):
    """A pointer to the vector that starts at array[i]."""
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [i]), VECTOR.as_pointer())


def _floats(a):
    """Whether numba's type a is a contiguous array of float64 (what the operations read and write)."""
    return isinstance(a, types.Array) and a.dtype == types.float64 and a.layout == "C"


@intrinsic
def _load(typingctx, a, i):
    if not _floats(a):
        return None

    def codegen(context, builder, sig, args):
        return builder.load(_address(context, builder, sig.args[0], *args), align=8)

    return vec8(a, i), codegen


@intrinsic
def _zero(typingctx):
    def codegen(context, builder, sig, args):
        return ir.Constant(VECTOR, [0.0] * LANES)

    return vec8(), codegen


@intrinsic
def _fma(typingctx, s, x, acc):
    def codegen(context, builder, sig, args):
        s, x, acc = args
        one = builder.insert_element(ir.Constant(VECTOR, ir.Undefined), s, ir.Constant(ir.IntType(32), 0))
        every = builder.shuffle_vector(
            one, one, ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        )
        return builder.fadd(acc, builder.fmul(every, x, flags=("contract",)), flags=("contract",))

    return vec8(types.float64, vec8, vec8), codegen


@intrinsic
def _add_to(typingctx, a, i, v):
    if not _floats(a):
        return None

    def codegen(context, builder, sig, args):
        where = _address(context, builder, sig.args[0], args[0], args[1])
        builder.store(builder.fadd(builder.load(where, align=8), args[2]), where, align=8)
        return context.get_dummy_value()

    return types.none(a, i, v), codegen


@overload(load, inline="always")
def _load_impl(a, i):
    return lambda a, i: _load(a, i)


@overload(zero, inline="always")
def _zero_impl():
    return lambda: _zero()


@overload(fma, inline="always")
def _fma_impl(s, x, acc):
    return lambda s, x, acc: _fma(s, x, acc)


@overload(add_to, inline="always")
def _add_to_impl(a, i, v):
    return lambda a, i, v: _add_to(a, i, v)
