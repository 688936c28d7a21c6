"""Dense matrix products in numba, for layers run as matrices (see matrix_layers.py).

One product does all the work: C[i, q] += Σ_p A[i, p]·B[p, q], where B's and C's rows
are runs of consecutive numbers somewhere in a flat array (their starts given per row)
and A is read one number at a time (A[i, p] = a[a_row[i] + a_col[p]]: W or Wᵀ, in
place). That is the *broadcast form* of BLAS kernels: a tile of C (six rows × 32
columns) stays in 24 vector registers (simd.py) while the sum over p runs; each step
loads four vectors of B's row p and six numbers of A, for 24 vector multiply-adds (six
rows × 8 columns where the CPU has 16 vector registers, not 32: see TILE_ROWS). A
layer's three products, in the lanes' layout (a row of lanes per slot):

    a = W h        A = W (its rows in the uniform values), B = h (the lanes' rows)
    ∇W = g hᵀ      A = g (the lanes' rows), B = hᵀ (the batch's rows, or packed by transposed)
    ∇h = Wᵀ g      A = Wᵀ (W read down its columns), B = g (the lanes' rows)

Measured against NumPy's `@` (OpenBLAS, one thread) on the shapes of the MNIST-shaped
networks' steps (benchmarks/matmul_kernels.py, an Emerald Rapids core with AVX-512): the
forward a = W h at 65-70 GFLOP/s against 63-64, a first layer's ∇W (reading the batch's
rows) at 84-92 % of `@`'s speed, ∇h at 75-106 %, a deeper layer's ∇W with its packing of
hᵀ at 70-73 %. The dot form it replaced (both operands contiguous along the sum, sixteen
scalar sums a tile) paid sixteen horizontal additions a tile, a fifth of ∇W's time with
its sums over only 128 lanes; numba's own np.dot would call SciPy's BLAS, a run-time
dependency for no speed gained.

Equals: NumPy's `@` on the same matrices, and through matrix_layers.py the tiles (tiles.py)
and the plain DOTs (dots.py). Sums are taken in another order than the scalar DOT's, so
results differ from the tiles' in the last bits: tests/test_matrix_layers.py holds them
to 1e-12 relative.
"""

from __future__ import annotations

import numpy as np

from . import cache, simd
from .codes import dense, inline, uncounted_dense


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


# A tile of C: six rows of STRIP columns, kept in registers while its sum runs. With AVX-512's
# 32 vector registers, 6 × 32 columns are 24 vectors, with four of B's and A's broadcast beside
# them; with AVX2's 16, where a vector of 8 takes two registers, 6 × 8 are twelve (more spill
# to memory: 4 × 32 ran at 24 GFLOP/s there, 6 × 8 at 38-40). Against 4 × 32 on AVX-512, each
# load of B serves six rows instead of four: 64-71 GFLOP/s against 43-50 on 784-128 × 128 lanes.
TILE_ROWS = 6
STRIP = 32 if simd.REGISTERS == 32 else 8


@dense
def product(a, a_row, a_col, b, b_row, n, c, c_row):
    """C[i, q] += Σ_p A[i, p]·B[p, q] for q < n, where A[i, p] = a[a_row[i] + a_col[p]], B's row
    p is b[b_row[p] : b_row[p] + n] and C's row i is c[c_row[i] : c_row[i] + n].

    product_into with its scratch allocated here: for callers that have none (the tests, the
    benchmarks)."""
    product_into(a, a_row, a_col, b, b_row, n, c, c_row, np.empty(spare_size(a_col.size)))


@inline
def spare_size(m):
    """The float64s product_into's scratch holds for a sum over m: the last columns as m rows of 8,
    a tile of them, and (as int64s) where their rows start."""
    return 8 * m + 8 * TILE_ROWS + m + TILE_ROWS


@uncounted_dense
def product_into(a, a_row, a_col, b, b_row, n, c, c_row, spare):
    """product (see there), with spare_size(a_col.size) float64s of scratch from the caller: it
    allocates nothing, so it runs without numba's reference counting (codes.py), as the matrix
    layers that call it do (matrix_layers.py).

    C in strips of STRIP columns (then 8, then the last n % 8), each strip of B read by every
    six rows of C in turn while it is in cache (on ∇W's 128 × 784 result, 53 GFLOP/s against
    47 row by row). Six rows by a strip are a tile (tile32, tile8); a tile at the bottom edge
    repeats C's last row (its sums are computed, not added). The last n % 8 columns are copied
    into a strip of 8, zeros past them, and run as tile8 into a scratch tile, then added: one
    at a time, reading B down its columns, they cost 59-432-8's step a third of its time."""
    rows = a_row.size
    last = rows - 1
    m = a_col.size
    strip, tile = spare[: 8 * m], spare[8 * m : 8 * m + 8 * TILE_ROWS]
    starts = spare[8 * m + 8 * TILE_ROWS : spare_size(m)].view(np.int64)
    strip_row, tile_row = starts[:m], starts[m:]
    q = zero = np.int64(0)  # (not a literal 0: one compile of tile8)
    while q < n:
        width = min(STRIP if q + STRIP <= n else 8, n - q)
        if width < 8:  # the last columns, as a strip of 8 and a scratch tile (see above)
            last_columns(b, b_row, q, width, strip)
            packed(strip_row, np.int64(8))
            packed(tile_row, np.int64(8))
        for i in range(0, rows, TILE_ROWS):
            r0, r1, r2 = a_row[i], a_row[min(i + 1, last)], a_row[min(i + 2, last)]
            r3, r4, r5 = a_row[min(i + 3, last)], a_row[min(i + 4, last)], a_row[min(i + 5, last)]
            kept = min(TILE_ROWS, rows - i)  # C's rows of this tile that are real
            if STRIP == 32 and width == 32:
                tile32(a, r0, r1, r2, r3, r4, r5, a_col, b, b_row, q, c, c_row, i, kept)
            elif width == 8:
                tile8(a, r0, r1, r2, r3, r4, r5, a_col, b, b_row, q, c, c_row, i, kept)
            else:
                for k in range(tile.size):
                    tile[k] = 0.0
                tile8(a, r0, r1, r2, r3, r4, r5, a_col, strip, strip_row, zero, tile, tile_row, zero, kept)
                for t in range(kept):
                    for k in range(width):
                        c[c_row[i + t] + q + k] += tile[8 * t + k]
        q += width


@inline
def last_columns(b, b_row, q, width, strip):
    """B's columns q … q + width − 1 (width < 8) of its strip.size // 8 rows, into strip as rows
    of 8: zeros past them."""
    for p in range(strip.size // 8):
        for k in range(8):
            strip[8 * p + k] = b[b_row[p] + q + k] if k < width else 0.0


@inline
def at(a, i):
    """a[i] for an i >= 0, said so by an unsigned index: numba then adds no code for negative
    indices (counting from the end), a third of tile32's loop, 8 % of its time."""
    return a[np.uint64(i)]


@dense  # tile32 and tile8 are calls: inlined, numba counted references to their arrays a tile (atomic adds)
def tile32(a, r0, r1, r2, r3, r4, r5, a_col, b, b_row, q, c, c_row, i, kept):
    """C[i … i + kept − 1, q … q + 31] += A's rows r0 … r5 times B's columns q … q + 31."""
    c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = simd.zero()
    c30 = c31 = c32 = c33 = c40 = c41 = c42 = c43 = c50 = c51 = c52 = c53 = simd.zero()
    for p in range(a_col.size):
        o = b_row[p] + q
        x0, x1, x2, x3 = simd.load(b, o), simd.load(b, o + 8), simd.load(b, o + 16), simd.load(b, o + 24)
        k = a_col[p]
        c00, c01, c02, c03 = fma4(at(a, r0 + k), x0, x1, x2, x3, c00, c01, c02, c03)
        c10, c11, c12, c13 = fma4(at(a, r1 + k), x0, x1, x2, x3, c10, c11, c12, c13)
        c20, c21, c22, c23 = fma4(at(a, r2 + k), x0, x1, x2, x3, c20, c21, c22, c23)
        c30, c31, c32, c33 = fma4(at(a, r3 + k), x0, x1, x2, x3, c30, c31, c32, c33)
        c40, c41, c42, c43 = fma4(at(a, r4 + k), x0, x1, x2, x3, c40, c41, c42, c43)
        c50, c51, c52, c53 = fma4(at(a, r5 + k), x0, x1, x2, x3, c50, c51, c52, c53)
    add_row(c, c_row[i] + q, c00, c01, c02, c03)
    if kept > 1:
        add_row(c, c_row[i + 1] + q, c10, c11, c12, c13)
    if kept > 2:
        add_row(c, c_row[i + 2] + q, c20, c21, c22, c23)
    if kept > 3:
        add_row(c, c_row[i + 3] + q, c30, c31, c32, c33)
    if kept > 4:
        add_row(c, c_row[i + 4] + q, c40, c41, c42, c43)
    if kept > 5:
        add_row(c, c_row[i + 5] + q, c50, c51, c52, c53)


@inline
def fma4(w, x0, x1, x2, x3, c0, c1, c2, c3):
    """One row of a tile, one step of its sum: c_k + w·x_k for the four vectors."""
    return simd.fma(w, x0, c0), simd.fma(w, x1, c1), simd.fma(w, x2, c2), simd.fma(w, x3, c3)


@inline
def add_row(c, o, v0, v1, v2, v3):
    """c[o … o + 31] += the four vectors, in order."""
    simd.add_to(c, o, v0)
    simd.add_to(c, o + 8, v1)
    simd.add_to(c, o + 16, v2)
    simd.add_to(c, o + 24, v3)


@dense
def tile8(a, r0, r1, r2, r3, r4, r5, a_col, b, b_row, q, c, c_row, i, kept):
    """tile32 on 8 columns: C[i … i + kept − 1, q … q + 7] += A's rows r0 … r5 times B's columns."""
    c0 = c1 = c2 = c3 = c4 = c5 = simd.zero()
    for p in range(a_col.size):
        x = simd.load(b, b_row[p] + q)
        k = a_col[p]
        c0, c1, c2 = (
            simd.fma(at(a, r0 + k), x, c0),
            simd.fma(at(a, r1 + k), x, c1),
            simd.fma(at(a, r2 + k), x, c2),
        )
        c3, c4, c5 = (
            simd.fma(at(a, r3 + k), x, c3),
            simd.fma(at(a, r4 + k), x, c4),
            simd.fma(at(a, r5 + k), x, c5),
        )
    simd.add_to(c, c_row[i] + q, c0)
    if kept > 1:
        simd.add_to(c, c_row[i + 1] + q, c1)
    if kept > 2:
        simd.add_to(c, c_row[i + 2] + q, c2)
    if kept > 3:
        simd.add_to(c, c_row[i + 3] + q, c3)
    if kept > 4:
        simd.add_to(c, c_row[i + 4] + q, c4)
    if kept > 5:
        simd.add_to(c, c_row[i + 5] + q, c5)


@inline
def packed(start, n):
    """start[i] = i·n: where the rows of a matrix packed n numbers a row start (as transposed
    packs them), in the int64 start arrays product takes."""
    for i in range(start.size):
        start[i] = i * n


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
