"""kernels/simd.py: its four vector operations, compiled by numba, equal the NumPy lines they
stand for (what runs under NUMBA_DISABLE_JIT=1), and matmul.product built on them equals `@`
on every edge of its tiles."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from microgradx.kernels import matmul, simd


def tile_step(a, b, out, s):
    """out[5:13] += s·a[3:11] + 2·b[0:8], through the four operations."""
    acc = simd.zero()
    acc = simd.fma(s, simd.load(a, 3), acc)
    acc = simd.fma(2.0, simd.load(b, 0), acc)
    simd.add_to(out, 5, acc)


def test_the_vector_operations_compiled_equal_their_numpy_lines():
    rng = np.random.default_rng(0)
    a, b, out = rng.standard_normal(16), rng.standard_normal(8), rng.standard_normal(20)
    plain, compiled = out.copy(), out.copy()
    tile_step(a, b, plain, 0.75)  # the NumPy lines
    njit(tile_step)(a, b, compiled, 0.75)  # LLVM's <8 x double>
    want = out.copy()
    want[5:13] += 0.75 * a[3:11] + 2.0 * b[:8]
    assert np.allclose(plain, want, rtol=1e-15, atol=0) and np.allclose(compiled, want, rtol=1e-15, atol=0)
    assert (compiled[:5] == out[:5]).all() and (compiled[13:] == out[13:]).all()  # nothing else written


def test_the_operations_refuse_what_is_not_a_contiguous_float64_array():
    """No bounds are checked, so the types are: an int array, or a strided view, does not compile."""
    with pytest.raises(Exception, match="(?i)typing"):
        njit(lambda a: simd.load(a, 0))(np.arange(8))
    with pytest.raises(Exception, match="(?i)typing"):
        njit(lambda a: simd.load(a, 0))(np.zeros(16)[::2])


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (3, 5, 7), (4, 9, 8), (5, 9, 41), (9, 2, 33), (13, 17, 70)])
def test_product_equals_numpys_matmul_on_every_edge_of_its_tiles(m, k, n):
    """Rows not a multiple of four (the last tile repeats its last row), columns past the strips
    of 32 and 8 (the last n % 8 as a strip of 8), and A read through row and column starts
    (here Wᵀ: A[i, p] = W[p, i], as ∇h = Wᵀ g reads it)."""
    rng = np.random.default_rng(m * 100 + n)
    W, B = rng.standard_normal((k, m)), rng.standard_normal((k, n))
    c = rng.standard_normal((m, n))
    want = c + W.T @ B
    a_row, a_col = np.arange(m, dtype=np.int64), np.arange(k, dtype=np.int64) * m  # A = Wᵀ in place
    b_row, c_row = np.arange(k, dtype=np.int64) * n, np.arange(m, dtype=np.int64) * n
    flat = c.reshape(-1).copy()
    matmul.product(W.reshape(-1), a_row, a_col, B.reshape(-1), b_row, np.int64(n), flat, c_row)
    assert np.allclose(flat.reshape(m, n), want, rtol=1e-13, atol=1e-13)
