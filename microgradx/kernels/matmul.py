"""Dense matrix products in numba, for layers run as matrices (see matrix_layers.py).

One product does all the work: C[i, j] = Σ_k A[i, k]·B[j, k], where each row of A and of
B is a run of k consecutive numbers somewhere in a flat array (its start given per row),
and C[i, j] is added to c[c_start[i] + j]. That is the *dot form*: both operands contiguous
along the sum, so its loop over k vectorises (fastmath "reassoc": several partial sums
a lane, added at the end) and a tile of four rows of A × four rows of B keeps sixteen
sums in registers, loading eight numbers for sixteen multiply-adds. A layer's three
products take this form:

    a = W h        A = W (its rows in the uniform values), B = hᵀ (packed by transposed)
    ∇W = g hᵀ      A = g, B = h (the lanes' rows, contiguous along the lanes already)
    ∇h = Wᵀ g      A = Wᵀ, B = gᵀ (both packed by transposed)

Measured against NumPy's `@` (OpenBLAS, one thread) on the shapes of the digits and
MNIST-shaped networks' steps, it runs as fast (benchmarks/matmul_kernels.py: 43-50
GFLOP/s both ways at 784-128 × 128 lanes); numba's own np.dot would call SciPy's BLAS,
a run-time dependency for no speed gained. A register-blocked kernel of the usual BLAS
shape (a tile of C held across the k loop, B's rows along the lanes) did not vectorise
in numba (6-10 GFLOP/s: numba cannot say that C does not overlap A or B).

Equals: NumPy's `@` on the same matrices, and through matrix_layers.py the tiles (tiles.py)
and the plain DOTs (dots.py). Sums are taken in another order than the scalar DOT's
(partial sums per lane of a vector), so results differ from the tiles' in the last bits:
tests/test_matrix_layers.py holds them to 1e-12 relative.
"""

from __future__ import annotations

import numpy as np

from . import cache
from .codes import dense, inline


@dense
def transposed(src, start, n, dst):
    """dst[j·m + i] = src[start[i] + j] for the m = start.size rows and j < n: m runs of n
    numbers (the rows of a matrix, anywhere in src) packed as the n × m matrix they transpose
    to. Eight rows a pass, so that each pass writes whole cache lines of dst."""
    m = start.size
    i = 0
    while i + 8 <= m:
        s0, s1, s2, s3 = start[i], start[i + 1], start[i + 2], start[i + 3]
        s4, s5, s6, s7 = start[i + 4], start[i + 5], start[i + 6], start[i + 7]
        for j in range(n):
            o = j * m + i
            dst[o] = src[s0 + j]
            dst[o + 1] = src[s1 + j]
            dst[o + 2] = src[s2 + j]
            dst[o + 3] = src[s3 + j]
            dst[o + 4] = src[s4 + j]
            dst[o + 5] = src[s5 + j]
            dst[o + 6] = src[s6 + j]
            dst[o + 7] = src[s7 + j]
        i += 8
    for r in range(i, m):
        s = start[r]
        for j in range(n):
            dst[j * m + r] = src[s + j]


@dense
def product(a, a_start, b, b_start, n, c, c_start):
    """C[i, j] = Σ_{k < n} a[a_start[i] + k]·b[b_start[j] + k], added to c[c_start[i] + j], in tiles
    of four rows of A × four rows of B.

    A tile at an edge repeats its last row (its sums are computed and not added)."""
    rows_a, rows_b = a_start.size, b_start.size
    for i in range(0, rows_a, 4):
        i1, i2, i3 = min(i + 1, rows_a - 1), min(i + 2, rows_a - 1), min(i + 3, rows_a - 1)
        a0 = a[a_start[i] : a_start[i] + n]
        a1 = a[a_start[i1] : a_start[i1] + n]
        a2 = a[a_start[i2] : a_start[i2] + n]
        a3 = a[a_start[i3] : a_start[i3] + n]
        for j in range(0, rows_b, 4):
            j1, j2, j3 = min(j + 1, rows_b - 1), min(j + 2, rows_b - 1), min(j + 3, rows_b - 1)
            b0 = b[b_start[j] : b_start[j] + n]
            b1 = b[b_start[j1] : b_start[j1] + n]
            b2 = b[b_start[j2] : b_start[j2] + n]
            b3 = b[b_start[j3] : b_start[j3] + n]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
            for k in range(n):
                x0, x1, x2, x3 = b0[k], b1[k], b2[k], b3[k]
                w0, w1, w2, w3 = a0[k], a1[k], a2[k], a3[k]
                s00 += w0 * x0
                s01 += w0 * x1
                s02 += w0 * x2
                s03 += w0 * x3
                s10 += w1 * x0
                s11 += w1 * x1
                s12 += w1 * x2
                s13 += w1 * x3
                s20 += w2 * x0
                s21 += w2 * x1
                s22 += w2 * x2
                s23 += w2 * x3
                s30 += w3 * x0
                s31 += w3 * x1
                s32 += w3 * x2
                s33 += w3 * x3
            add4(c, c_start[i], j, rows_b, s00, s01, s02, s03)
            if i + 1 < rows_a:
                add4(c, c_start[i1], j, rows_b, s10, s11, s12, s13)
            if i + 2 < rows_a:
                add4(c, c_start[i2], j, rows_b, s20, s21, s22, s23)
            if i + 3 < rows_a:
                add4(c, c_start[i3], j, rows_b, s30, s31, s32, s33)


@dense
def packed(m, n):
    """Where the m rows of an m × n matrix packed by transposed start: 0, n, 2n, … (int64, as
    every start matmul takes: one compile of product). A plain call: np.arange(m) * n
    written in place cost about 400 instructions of LLVM IR a use, in every library that
    links the lane sweeps."""
    start = np.empty(m, np.int64)
    for i in range(m):
        start[i] = i * n
    return start


@inline
def add4(c, o, j, rows_b, s0, s1, s2, s3):
    """Add C[i, j … j + 3] (those below rows_b) to c[o + j …]."""
    c[o + j] += s0
    if j + 1 < rows_b:
        c[o + j + 1] += s1
    if j + 2 < rows_b:
        c[o + j + 2] += s2
    if j + 3 < rows_b:
        c[o + j + 3] += s3


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
