"""A compiled graph's arrays packed into a few, and cut back into views: both ways, here.

Each array a numba call takes costs about 65 ns to unpack, and a training step is a few
microseconds: so the entry points (calls.py) take a graph's arrays packed into a few, the
program in one int32 array `prog`, a workspace's arrays in one float64 buffer `work`
described by `layout`, and cut them back into views. Packing (`pack_program`,
`new_workspace`) is Python, once per graph or batch size; cutting (`program_parts`,
`workspace_parts`) is numba, inlined into each entry point, and the same functions run as
Python for the compiler and the NumPy tier, so there is one description of each layout.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import cache
from .codes import COLUMNS, inline
from .scalar import squares_runs

# -- the program: prog = header, then where each part starts, then the parts ---------------------

UFIRST = 0  # prog[UFIRST]: the uniform program's first computed slot (leaves and constants come first)
STORE_RUN = 1  # prog[STORE_RUN]: where the parameters start in the store when they are one run there
UNIFORM_RUN = 2  # and in the uniform values, in the same order (both -1 when they are not: see params_in)
OFFSETS = 3  # prog[OFFSETS + p]: where part p starts; prog[OFFSETS + PROGRAM_PARTS]: where the last ends

# The parts: the uniform program as a tape (op, a, b, args) with where each DOT's run of squares
# starts (scalar.squares_runs), the varying program (vcode of shape (n, COLUMNS), named in
# codes.py; its args; its groups of DOTs), the inputs' rows, each parameter's uniform slot and
# store index, and the outputs' encoded references.
Program = namedtuple(
    "Program", "ufirst uop ua ub uargs usquares vcode vargs vgroups in_rows p_uslots p_idx outs"
)
PROGRAM_PARTS = len(Program._fields) - 1  # ufirst is in the header


def pack_program(split, in_rows, p_uslots, p_idx, out_refs) -> tuple[np.ndarray, list[np.ndarray]]:
    """The program's arrays in one int32 array, and each part as a view into it (in the order of
    Program's fields, without ufirst), so that the caller need not hold the program twice.

    split: compiler/program.py's Split; in_rows, p_uslots, p_idx, out_refs: see Program."""
    squares = squares_runs(split.uop, split.ua, split.ub, split.uargs)
    parts = [split.uop, split.ua, split.ub, split.uargs, squares, split.vcode, split.vargs, split.vgroups]
    parts += [in_rows, p_uslots, p_idx, out_refs]
    assert len(parts) == PROGRAM_PARTS
    sizes = [part.size for part in parts]
    starts = np.cumsum([OFFSETS + 1 + len(parts)] + sizes)
    prog = np.empty(starts[-1], dtype=np.int32)
    prog[UFIRST], prog[OFFSETS : OFFSETS + 1 + len(parts)] = split.ufirst, starts
    prog[STORE_RUN] = prog[UNIFORM_RUN] = -1
    n = p_idx.size
    if n and p_idx.max() - p_idx.min() == n - 1 and np.all(p_uslots - p_idx == p_uslots[0] - p_idx[0]):
        prog[STORE_RUN], prog[UNIFORM_RUN] = p_idx.min(), p_uslots.min()  # one run in both
    for part, start, size in zip(parts, starts, sizes, strict=False):
        prog[start : start + size] = part.ravel()
    return prog, [prog[start : start + size] for start, size in zip(starts, sizes, strict=False)]


@inline
def program_parts(prog):
    """A graph's arrays out of prog, as a Program of views (see pack_program)."""
    o = prog[OFFSETS : OFFSETS + PROGRAM_PARTS + 1]
    vcode = prog[o[5] : o[6]].reshape((o[6] - o[5]) // COLUMNS, COLUMNS)
    u = prog.view(np.uint32)  # the uniform program's slots are never negative: unsigned, numba
    return Program(  # indexes with them without checking for a negative index first (half the time)
        prog[UFIRST],
        u[o[0] : o[1]], u[o[1] : o[2]], u[o[2] : o[3]], u[o[3] : o[4]], u[o[4] : o[5]],
        vcode, prog[o[6] : o[7]], prog[o[7] : o[8]],
        prog[o[8] : o[9]], prog[o[9] : o[10]], prog[o[10] : o[11]], prog[o[11] : o[12]],
    )  # fmt: skip


@inline
def copy(dst, src, n):
    """dst[:n] = src[:n], as a plain loop (a slice assignment checks for overlap first)."""
    for c in range(n):
        dst[c] = src[c]


@inline
def params_in(prog, p_uslots, p_idx, uvals, p_data):
    """The parameters' values from the store into the uniform values: one run when they are
    in the same order in both (prog[STORE_RUN], prog[UNIFORM_RUN]: see pack_program)."""
    if prog[STORE_RUN] >= 0:
        copy(uvals[prog[UNIFORM_RUN] :], p_data[prog[STORE_RUN] :], p_idx.size)
    else:
        for c in range(p_uslots.size):
            uvals[p_uslots[c]] = p_data[p_idx[c]]


@inline
def params_out(prog, p_uslots, p_idx, uvals, ugrads, p_data, p_grad):
    """The parameters' values and gradients from the uniform ones back into the store. (Its own
    two copies: written inside the last update's loop instead, with three outputs that loop
    no longer vectorised, 241 µs on 784-128-10 against 216 and the copies' 25-35, and the
    moons' SGD step took 1.4 µs more.)"""
    if prog[STORE_RUN] >= 0:
        copy(p_data[prog[STORE_RUN] :], uvals[prog[UNIFORM_RUN] :], p_idx.size)
        grads_into(prog, p_idx, ugrads, p_grad)
    else:
        for c in range(p_uslots.size):
            p_data[p_idx[c]] = uvals[p_uslots[c]]
            p_grad[p_idx[c]] = ugrads[p_uslots[c]]


@inline
def grads_into(prog, p_idx, ugrads, p_grad):
    """params_out's gradients alone (see store_shift)."""
    copy(p_grad[prog[STORE_RUN] :], ugrads[prog[UNIFORM_RUN] :], p_idx.size)


@inline
def store_shift(prog):
    """How far past the parameters' run in the uniform values their run in the store starts
    (store index = uniform slot + shift), when they are one run in both and it is not negative;
    else -1. A call of one training step then updates the store's values in place of the
    uniform ones (calls.py's one_step: the store's values are still those params_in copied),
    and params_out copies only the gradients: on 784-128-10's 101,770 parameters, 0.8 MB less
    copied a step (28 µs here)."""
    shift = prog[STORE_RUN] - prog[UNIFORM_RUN]
    return shift if prog[STORE_RUN] >= 0 and shift >= 0 else -1


@inline
def grads_out(prog, p_uslots, p_idx, ugrads, p_grad):
    """The parameters' gradients from the uniform ones added into the store's."""
    if prog[STORE_RUN] >= 0:
        grad, run = p_grad[prog[STORE_RUN] :], ugrads[prog[UNIFORM_RUN] :]
        for c in range(p_idx.size):
            grad[c] += run[c]
    else:
        for c in range(p_uslots.size):
            p_grad[p_idx[c]] += ugrads[p_uslots[c]]


# -- the workspace: layout = header, then the rows of each chunk; work = one buffer ------------------

CHUNKS, SLOTS, STRIDE, UNIFORM = 0, 1, 2, 3  # chunks, varying slots, lanes a row (padded), uniform slots
SCRATCH = 4  # layout[SCRATCH]: a chunk's rows of scratch (tmp) for the matrix groups (matrix_layers.py)
COUNTS = 5  # layout[COUNTS + c]: the batch's rows in chunk c
TMP_ROWS = 4  # the last rows of a chunk's vals and grads, past the program's slots: a binary op's two
# uniform operands as rows of lanes and their gradients (lanes.py's scratch_row)
LINE = 8  # float64s in a 64-byte cache line (and in an AVX-512 register)


def aligned_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """np.zeros(shape), starting on a 64-byte boundary (NumPy promises only 16)."""
    size = int(np.prod(shape))
    buffer = np.zeros(size + LINE)
    start = (-buffer.ctypes.data % (8 * LINE)) // 8
    return buffer[start : start + size].reshape(shape)


def new_workspace(
    counts: list[int], n_varying: int, stride: int, n_uniform: int, scratch: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A workspace for chunks of counts[c] rows, each row `stride` lanes, n_varying rows of vals
    and of grads a chunk (the program's slots and TMP_ROWS), with `scratch` rows of scratch a
    chunk: (layout, work), work zeroed and starting on a cache line. workspace_parts cuts it."""
    layout = np.array([len(counts), n_varying, stride, n_uniform, scratch, *counts], np.int64)
    return layout, aligned_zeros((cache.python_function(workspace_size)(layout),))


@inline
def workspace_size(layout):
    """The float64s a workspace holds: vals and grads, the scratch rows, the chunks' uniform gradients."""
    chunks, stride = layout[CHUNKS], layout[STRIDE]
    return chunks * (2 * layout[SLOTS] * stride + layout[SCRATCH] * stride + layout[UNIFORM])


@inline
def workspace_parts(layout, work):
    """A workspace's arrays out of work: vals and grads (chunks, varying slots, stride), tmp
    (chunks, scratch rows, stride), the chunks' uniform gradients (chunks, uniform slots) and the
    rows of each chunk."""
    chunks, n, stride, nu = layout[CHUNKS], layout[SLOTS], layout[STRIDE], layout[UNIFORM]
    size, tmp_size = chunks * n * stride, chunks * layout[SCRATCH] * stride
    vals = work[:size].reshape(chunks, n, stride)
    grads = work[size : 2 * size].reshape(chunks, n, stride)
    tmp = work[2 * size : 2 * size + tmp_size].reshape(chunks, layout[SCRATCH], stride)
    chunk_ugrads = work[2 * size + tmp_size : 2 * size + tmp_size + chunks * nu].reshape(chunks, nu)
    return vals, grads, tmp, chunk_ugrads, layout[COUNTS : COUNTS + chunks]


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
