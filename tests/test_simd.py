"""kernels/simd.py: its four vector operations, compiled by numba, equal the NumPy lines they
stand for (what runs under NUMBA_DISABLE_JIT=1), and matmul.product built on them equals `@`
on every edge of its tiles."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

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


EDGES = [
    (1, 1, 1),
    (3, 5, 7),
    (4, 9, 8),
    (5, 9, 41),
    (6, 3, 32),
    (7, 4, 40),
    (9, 2, 33),
    (12, 3, 8),
    (13, 17, 70),
]


@pytest.mark.parametrize("m, k, n", EDGES)
def test_product_equals_numpys_matmul_on_every_edge_of_its_tiles(m, k, n):
    """Rows not a multiple of six (the last tile repeats its last row), columns past the strips
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


def test_the_tiles_for_16_vector_registers_equal_numpys_matmul_too():
    """On a CPU without AVX-512 the tiles are six rows of 8 columns (matmul.STRIP); this
    machine compiles them when numba is told to compile for AVX2 (NUMBA_CPU_FEATURES), in a
    fresh process with an empty cache."""
    code = (
        "import numpy as np\nfrom microgradx.kernels import matmul, simd\n"
        "assert simd.REGISTERS == 16 and matmul.STRIP == 8\n"
        f"for m, k, n in {EDGES!r}:\n"
        "    rng = np.random.default_rng(m)\n"
        "    A, B = rng.standard_normal((m, k)), rng.standard_normal((k, n))\n"
        "    c = rng.standard_normal((m, n))\n"
        "    flat = c.reshape(-1).copy()\n"
        "    rows, cols = np.arange(m, dtype=np.int64) * k, np.arange(k, dtype=np.int64)\n"
        "    b_row, c_row = np.arange(k, dtype=np.int64) * n, np.arange(m, dtype=np.int64) * n\n"
        "    matmul.product(A.reshape(-1), rows, cols, B.reshape(-1), b_row, np.int64(n), flat, c_row)\n"
        "    assert np.allclose(flat.reshape(m, n), c + A @ B, rtol=1e-13, atol=1e-13), (m, k, n)\n"
        "print('ok')\n"
    )
    features = "+64bit,+avx,+avx2,+fma,+sse,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cmov,-avx512f"
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=features)
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
        )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_vector_registers_follow_what_numba_compiles_for(monkeypatch):
    monkeypatch.setattr(simd.config, "CPU_FEATURES", "+avx2,+fma")
    assert simd.vector_registers() == 16
    monkeypatch.setattr(simd.config, "CPU_FEATURES", "+avx2,+fma,+avx512f")
    assert simd.vector_registers() == 32
