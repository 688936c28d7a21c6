"""The lane sweeps: a compiled graph's varying program on many rows at once.

A compiled graph runs many rows at once: its varying program (compiler/program.py) runs
on vals of shape (slots, lanes), lanes contiguous, so the inner loops vectorise. Its
operands are encoded references: r >= 0 is row r, r < 0 is the uniform (same on every
lane) scalar uvals[-r - 1]; the uniform program runs once per call on the scalar sweeps
(scalar.py). A unary op of the varying program always reads a row; a binary op may read
one uniform operand. A uniform operand's gradient is summed over the lanes into ugrads
inside the sweep.

The loop is the scalar sweeps' loop, one branch per op, each branch a loop over the lanes.
A DOT goes to dots.py (alone), tiles.py (a layer's group, as tiles) or matrix_layers.py (a
wide layer, as matrix products), as its column RUNS says; a relu that alone reads a DOT
lives in the DOT's row (code[i, FUSED_RELU]). The lane program's columns are
named in codes.py. Every op but the tiles runs on the batch's lanes only (tiles.py: the
padding).

Equals: the scalar sweeps (scalar.py) run row by row, and so reference.py's:
tests/test_random_graphs.py (test_batched_lanes_equal_scalar_rows), tests/test_ops.py
(test_batched_sweep_matches_scalar), tests/test_compiled.py; with the matrix products, the
same sweeps without them: tests/test_matrix_layers.py.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.ops import covers
from . import cache
from .codes import (
    ADD,
    ALONE,
    CONST,
    DIV,
    DOT,
    EXP,
    FUSED_RELU,
    GROUP,
    IS_UNARY,
    LEAD,
    MATRIX,
    MEMBERS,
    MUL,
    OP,
    POW,
    POWC,
    RELU,
    ROWS,
    RUNS,
    SUB,
    SUM,
    TANH,
    A,
    B,
    inline,
    uncounted_backward,
    uncounted_forward,
)  # fmt: skip
from .dots import dot_lanes, dot_lanes_back
from .exp import exp
from .layout import TMP_ROWS
from .matrix_layers import matrix_back, matrix_forward
from .scalar import dpow_base, dpow_exponent, dunary, power, relu, unary
from .tiles import group_back, group_forward, group_rows_back

# The ops the branches below handle: DOT, relu, SUM, tanh, every unary op (through scalar.py's
# unary and dunary), and the binary ops (the checklist's entry for this file, see core/ops.py).
LANE_OPS = (DOT, RELU, SUM, TANH, *np.flatnonzero(IS_UNARY).tolist(), ADD, MUL, SUB, DIV, POW, POWC)
covers("kernels/lanes.py LANE_OPS", LANE_OPS)


@inline
def scratch_row(r, rows, t):
    """Operand r's row of lanes: r itself, or scratch row t, of the TMP_ROWS past a chunk's
    `rows` slots (kernels/layout.py), for a uniform operand (the caller fills it).

    The sweeps name rows by number, never by a view of the row (vals[r]), and the helpers
    they inline take no arrays: numba counts the references to each view it makes and to
    each array an inlined function is given, an atomic add and subtract each, and those
    were 40 % of a chain of 27 binary ops and relus' time on 128 lanes."""
    return r if r >= 0 else rows - TMP_ROWS + t


@uncounted_forward
def forward_lanes(code, args, groups, vals, uvals, lanes, tmp):
    """Evaluate the varying program on the first `lanes` lanes (inputs are filled in; tiles
    run on all the lanes, see tiles.py).

    Products may fuse into multiply-adds (fastmath "contract"): the last bit may differ."""
    for i in range(code.shape[0]):
        k, ra, rb = code[i, OP], code[i, A], code[i, B]
        if k == DOT:
            if code[i, RUNS] == ALONE:
                relu_fused = code[i, FUSED_RELU] != 0
                dot_lanes(i, ra, rb // 2, code[i, ROWS], code[i, LEAD], args, vals, uvals, lanes, relu_fused)
            elif code[i, MEMBERS] > 0:  # a group's first DOT: the whole group (the others skip)
                members = groups[code[i, GROUP] : code[i, GROUP] + code[i, MEMBERS]]
                if code[i, RUNS] == MATRIX:
                    matrix_forward(members, code, args, vals, uvals, lanes, tmp)
                else:
                    group_forward(members, code, args, vals, uvals, lanes)  # on all the lanes: see tiles.py
        elif k <= CONST:
            continue
        elif k == RELU:
            for j in range(lanes):
                vals[i, j] = relu(vals[ra, j])
        elif k == SUM:
            for j in range(lanes):
                vals[i, j] = 0.0
            for m in range(ra, ra + rb):
                r = args[m]
                if r >= 0:
                    for j in range(lanes):
                        vals[i, j] += vals[r, j]
                else:
                    c = uvals[-r - 1]
                    for j in range(lanes):
                        vals[i, j] += c
        elif k == TANH:
            for j in range(lanes):
                vals[i, j] = math.tanh(vals[ra, j])
        elif k == EXP:  # math.exp to an ulp, eight lanes at a time (exp.py)
            for j in range(lanes):
                vals[i, j] = exp(vals[ra, j])
        elif IS_UNARY[k]:
            for j in range(lanes):
                vals[i, j] = unary(k, vals[ra, j])
        else:
            x, y = scratch_row(ra, vals.shape[0], 0), scratch_row(rb, vals.shape[0], 1)
            if ra < 0 or rb < 0:  # the uniform operand (a binary op reads one at most), as a row
                c, u = (uvals[-ra - 1], x) if ra < 0 else (uvals[-rb - 1], y)
                for j in range(vals.shape[1]):
                    vals[u, j] = c
            if k == ADD:
                for j in range(lanes):
                    vals[i, j] = vals[x, j] + vals[y, j]
            elif k == MUL:
                for j in range(lanes):
                    vals[i, j] = vals[x, j] * vals[y, j]
            elif k == SUB:
                for j in range(lanes):
                    vals[i, j] = vals[x, j] - vals[y, j]
            elif k == DIV:
                for j in range(lanes):
                    vals[i, j] = vals[x, j] / vals[y, j]
            elif k == POWC and vals[y, 0] == 2.0:  # a square (the constant exponent is uniform): x·x
                for j in range(lanes):
                    vals[i, j] = vals[x, j] * vals[x, j]
            else:  # POW, POWC
                for j in range(lanes):
                    vals[i, j] = power(vals[x, j], vals[y, j])


@uncounted_backward
def backward_lanes(code, args, groups, vals, grads, uvals, ugrads, tmp, lanes, input_grads, batch, in_rows):
    """Reverse sweep of the varying program on the first `lanes` lanes (tiles on all of
    them, see tiles.py); uniform operands' gradients summed into ugrads. batch: the lanes'
    rows of inputs, if the caller has them (else 0 rows), in_rows[col] the row that input
    col was filled into (a matrix group reads a first layer's hᵀ from batch).

    Sums over lanes may be reassociated and products fused into multiply-adds (fastmath
    "reassoc", "contract") so that they vectorise: the last bits may differ from a plain sum.
    """
    for i in range(code.shape[0] - 1, -1, -1):
        k, ra, rb = code[i, OP], code[i, A], code[i, B]
        if k == DOT:
            if code[i, RUNS] != 0:  # a tiled or matrix group's DOT: the whole group goes at its first DOT
                if code[i, MEMBERS] > 0:
                    members = groups[code[i, GROUP] : code[i, GROUP] + code[i, MEMBERS]]  # all lanes
                    if code[i, RUNS] == MATRIX:
                        matrix_back(
                            members, code, args, vals, grads, uvals, ugrads, lanes, input_grads, tmp,
                            batch, in_rows,
                        )  # fmt: skip
                    else:
                        width = vals.shape[1]
                        group_back(members, code, args, vals, grads, uvals, ugrads, width, input_grads)
                continue
            in_group, relu_mask = code[i, MEMBERS] != 0, code[i, FUSED_RELU] != 0
            dot_lanes_back(
                i,
                ra,
                rb // 2,
                code[i, ROWS],
                args,
                vals,
                grads,
                uvals,
                ugrads,
                lanes,
                in_group,
                relu_mask,
            )
            if code[i, MEMBERS] > 0:  # the group's first DOT: every member's gradient is complete
                members = groups[code[i, GROUP] : code[i, GROUP] + code[i, MEMBERS]]
                q0 = np.int64(0)  # not the literal 0: group_back's call passes an int64, one compile for both
                group_rows_back(members, code, args, grads, uvals, lanes, input_grads, q0)
        elif k <= CONST:
            continue
        elif k == RELU:
            for j in range(lanes):
                grads[ra, j] += grads[i, j] if vals[ra, j] > 0.0 else 0.0  # d relu = 1[x > 0], a mask
        elif k == SUM:
            for m in range(ra, ra + rb):
                r = args[m]
                if r >= 0:
                    for j in range(lanes):
                        grads[r, j] += grads[i, j]  # d(Σ x) = Σ dx
                else:
                    total = 0.0
                    for j in range(lanes):
                        total += grads[i, j]
                    ugrads[-r - 1] += total
        elif k == TANH:
            for j in range(lanes):
                grads[ra, j] += grads[i, j] * (1.0 - vals[i, j] * vals[i, j])  # d tanh = 1 - tanh²
        elif IS_UNARY[k]:
            for j in range(lanes):
                grads[ra, j] += grads[i, j] * dunary(k, vals[ra, j], vals[i, j])
        else:
            x, y = scratch_row(ra, vals.shape[0], 0), scratch_row(rb, vals.shape[0], 1)
            gx, gy = scratch_row(ra, grads.shape[0], 2), scratch_row(rb, grads.shape[0], 3)
            if ra < 0 or rb < 0:  # the uniform operand as a row, its gradient's row zeroed
                c, u, gu = (uvals[-ra - 1], x, gx) if ra < 0 else (uvals[-rb - 1], y, gy)
                for j in range(vals.shape[1]):
                    vals[u, j] = c
                    grads[gu, j] = 0.0
            if k == POWC:  # a constant exponent takes no gradient
                for j in range(lanes):
                    grads[gx, j] += grads[i, j] * dpow_base(vals[x, j], vals[y, j])
            elif k == ADD:
                for j in range(lanes):
                    grads[gx, j] += grads[i, j]  # d(x+y) = dx + dy
                    grads[gy, j] += grads[i, j]
            elif k == MUL:
                for j in range(lanes):
                    dx = grads[i, j] * vals[y, j]  # d(xy) = y dx + x dy
                    grads[gy, j] += grads[i, j] * vals[x, j]
                    grads[gx, j] += dx
            elif k == SUB:
                for j in range(lanes):
                    grads[gx, j] += grads[i, j]  # d(x-y) = dx - dy
                    grads[gy, j] -= grads[i, j]
            elif k == DIV:
                for j in range(lanes):
                    dx = grads[i, j] / vals[y, j]  # d(x/y) = dx/y - (x/y²) dy
                    grads[gy, j] -= grads[i, j] * vals[i, j] / vals[y, j]
                    grads[gx, j] += dx
            else:  # POW
                for j in range(lanes):
                    dx = grads[i, j] * dpow_base(vals[x, j], vals[y, j])
                    grads[gy, j] += grads[i, j] * dpow_exponent(vals[x, j], vals[i, j])
                    grads[gx, j] += dx
            if (ra < 0 or rb < 0) and k != POWC:  # the uniform operand's gradient: its sum over lanes
                u, gu = (ra, gx) if ra < 0 else (rb, gy)
                total = 0.0
                for j in range(grads.shape[1]):
                    total += grads[gu, j]
                ugrads[-u - 1] += total


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
