"""A compiled graph's whole forward and backward over a batch: its rows cut into chunks.

The rows of a batch are cut into chunks that fit in cache: vals has shape (chunks, slots,
L') with L' >= L = counts[0], chunk c holding rows c·L … c·L + counts[c] - 1 as its first
lanes (compiler/workspace.py chooses L, kernels/layout.py lays the buffer out). Each chunk
runs the lane sweeps (lanes.py); the uniform program runs once, before the chunks forward
and after them backward, on the scalar sweeps (scalar.py). Uniform gradients are summed
per chunk, then over chunks.

The chunks run one after the other, unless a graph was compiled with threads=True: the
entry points take `threads`, None or True, and numba compiles the two apart (it drops the
branch that an argument's type rules out: `threads is None`), so the thread-parallel
sweeps (prange) are compiled only for a program that asks for them. Threads are not the
default: on a shared 2-core machine a busy core made a threaded step 3-270 times slower
than the serial one, for a gain of at most 1.8 times on an idle machine
(benchmarks/parallel.py). numba's GNU OpenMP threading layer, the one it picks on Linux
without TBB, kills a forked child at its first parallel call (compile(threads=True)); so
unless the user chose a layer (NUMBA_THREADING_LAYER), numba is asked for a fork-safe one
before the first parallel call (fork_safe_threads): TBB if installed, else its own
workqueue (which runs one parallel call at a time: compiler/graph.py makes them take turns
anyway). core/forks.py releases the package's locks in a forked child.

Equals: one chunk of all the rows, and the scalar sweeps row by row: tests/test_compiled.py
(test_outputs_of_every_chunk_land_in_their_rows, test_blocks_of_rows_padded_to_cache_lines_agree,
test_rows_split_over_threads_give_the_same_results).
"""

from __future__ import annotations

import os

import numba
from numba import prange
from numba.np.ufunc import parallel as numba_parallel

from . import cache
from .codes import inline, parallel, uncounted_kernel
from .lanes import backward_lanes, forward_lanes
from .layout import copy
from .scalar import backward, forward


def fork_safe_threads() -> None:
    """Ask numba for a fork-safe threading layer (see the top) before microgradx's first
    parallel kernel, unless the user chose a layer or numba's threads already run. Called
    when a graph compiled with threads=True first splits a batch over threads
    (compiler/graph.py), not at import: numba's threading layer is the process's, and the
    user's own parallel numba code keeps numba's default while microgradx runs none."""
    if "NUMBA_THREADING_LAYER" not in os.environ and not numba_parallel._is_initialized:
        numba.config.THREADING_LAYER = "forksafe"


@inline
def into_lanes(rows, n, in_rows, vals):
    """Input col of the batch's row j into lane j of row in_rows[col] (a transposition). Eight
    columns a pass, so that each pass reads whole cache lines of the rows: 784 × 128 lanes
    in 37 µs, against 45 a column at a time."""
    col = 0
    while col + 8 <= in_rows.size:
        at = in_rows[col : col + 8]
        v0, v1, v2, v3 = vals[at[0]], vals[at[1]], vals[at[2]], vals[at[3]]
        v4, v5, v6, v7 = vals[at[4]], vals[at[5]], vals[at[6]], vals[at[7]]
        for j in range(n):
            x = rows[j, col : col + 8]
            v0[j], v1[j], v2[j], v3[j] = x[0], x[1], x[2], x[3]
            v4[j], v5[j], v6[j], v7[j] = x[4], x[5], x[6], x[7]
        col += 8
    for k in range(col, in_rows.size):
        v = vals[in_rows[k]]
        for j in range(n):
            v[j] = rows[j, k]


@inline
def forward_chunk(c, code, args, groups, vals, uvals, tmp, in_rows, x, counts):
    n = counts[c]
    rows = x[c * counts[0] : c * counts[0] + n]  # every chunk but the last holds counts[0] rows
    into_lanes(rows, n, in_rows, vals[c])
    forward_lanes(code, args, groups, vals[c], uvals, n, tmp[c])


@inline
def inputs_first(in_rows):
    """n when the n inputs are a chunk's first n rows (as compiler/program.py lays out a varying
    program: its leaves, the inputs, first), else 0. A backward that does not want the inputs'
    gradients leaves those rows as they are, unzeroed: no kernel reads an input's gradient
    but to hand it out (run_backward, which wants them), and a first layer's matrix product
    writes none (matrix_layers.matrix_back). 784-128-10's step zeroed 0.8 MB less (25 µs);
    training/steps.py's check zeroes them before it reads every gradient (checked_after)."""
    n = in_rows.size
    for col in range(n):
        if in_rows[col] >= n:
            return 0
    return n


@inline
def backward_chunk(
    c, code, args, groups, vals, grads, uvals, ugrads, tmp, counts, out_ref, seed, input_grads, in_rows, x
):
    n = counts[c]
    rows = x[c * counts[0] : c * counts[0] + n]  # the chunk's rows of the batch (none: not given)
    g = grads[c].reshape(grads.shape[1] * grads.shape[2])  # the chunk's slots, lanes and padding: one run
    zeroed = g[0 if input_grads else inputs_first(in_rows) * grads.shape[2] :]  # (the inputs' rows: unwanted)
    for j in range(zeroed.size):  # (from 0: LLVM makes it a memset, not a loop checking for negative j)
        zeroed[j] = 0.0
    ugrads[c, :] = 0.0
    if out_ref >= 0:
        for j in range(n):
            grads[c, out_ref, j] = seed
    else:  # an output that does not depend on the inputs: the same seed on every lane
        ugrads[c, -out_ref - 1] = seed * n
    backward_lanes(
        code, args, groups, vals[c], grads[c], uvals, ugrads[c], tmp[c], n, input_grads, rows, in_rows
    )


@parallel
def forward_chunks_parallel(code, args, groups, vals, uvals, tmp, in_rows, x, counts):
    for c in prange(vals.shape[0]):
        forward_chunk(c, code, args, groups, vals, uvals, tmp, in_rows, x, counts)


@parallel
def backward_chunks_parallel(
    code, args, groups, vals, grads, uvals, ugrads, tmp, counts, out_ref, seed, input_grads, in_rows, x
):
    for c in prange(vals.shape[0]):
        backward_chunk(
            c, code, args, groups, vals, grads, uvals, ugrads, tmp, counts, out_ref, seed, input_grads,
            in_rows, x,
        )  # fmt: skip


@uncounted_kernel
def forward_pass(
    uop, ua, ub, uargs, usq, ufirst, uvals, vcode, vargs, vgroups, vals, tmp, in_rows, x, counts, threads
):
    """Run the uniform program once (its parameters in place); inputs into the lanes, run them
    (tmp: the chunks' scratch rows, for the matrix groups' index arrays)."""
    forward(uop, ua, ub, uargs, usq, uvals, ufirst)
    if threads is None:
        for c in range(vals.shape[0]):
            forward_chunk(c, vcode, vargs, vgroups, vals, uvals, tmp, in_rows, x, counts)
    else:
        forward_chunks_parallel(vcode, vargs, vgroups, vals, uvals, tmp, in_rows, x, counts)


@uncounted_kernel
def backward_pass(
    uop, ua, ub, uargs, usq, ufirst, uvals, ugrads, vcode, vargs, vgroups, vals, grads, chunk_ugrads, tmp,
    counts, threads, out_ref, seed, input_grads, in_rows, x,
):  # fmt: skip
    """Seed the output on every lane, sweep the lanes back (inputs' rows too if input_grads),
    sum the chunks' uniform gradients, then sweep the uniform program back. One chunk sums
    into ugrads itself (no copy: 15-25 µs on 784-128-10's 101,773 uniform slots).
    x: the batch's rows that forward_pass ran, or none (0 rows) when the caller has them no
    longer (a first layer's ∇W = g hᵀ reads hᵀ from them, see matrix_layers.matrix_back)."""
    if threads is None:
        one = vals.shape[0] == 1
        per_chunk = ugrads.reshape((1, ugrads.size)) if one else chunk_ugrads
        for c in range(vals.shape[0]):
            backward_chunk(
                c, vcode, vargs, vgroups, vals, grads, uvals, per_chunk, tmp, counts, out_ref, seed,
                input_grads, in_rows, x,
            )  # fmt: skip
        if one:
            backward(uop, ua, ub, uargs, usq, uvals, ugrads, ufirst)
            return
    else:
        backward_chunks_parallel(
            vcode, vargs, vgroups, vals, grads, uvals, chunk_ugrads, tmp, counts, out_ref, seed, input_grads,
            in_rows, x,
        )  # fmt: skip
    copy(ugrads, chunk_ugrads[0], ugrads.size)
    for c in range(1, vals.shape[0]):
        ugrads += chunk_ugrads[c]
    backward(uop, ua, ub, uargs, usq, uvals, ugrads, ufirst)


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
