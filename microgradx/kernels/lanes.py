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
    lanes_backward,
    lanes_forward,
)  # fmt: skip
from .dots import dot_lanes, dot_lanes_back
from .exp import exp
from .matrix_layers import matrix_back, matrix_forward
from .scalar import dpow_base, dpow_exponent, dunary, power, relu, unary
from .tiles import group_back, group_forward, group_rows_back

# The ops the branches below handle: DOT, relu, SUM, tanh, every unary op (through scalar.py's
# unary and dunary), and the binary ops (the checklist's entry for this file, see core/ops.py).
LANE_OPS = (DOT, RELU, SUM, TANH, *np.flatnonzero(IS_UNARY).tolist(), ADD, MUL, SUB, DIV, POW, POWC)
covers("kernels/lanes.py LANE_OPS", LANE_OPS)


@inline
def lane_row(r, vals, uvals, tmp):
    """Operand r as a row of lanes: its own row, or tmp filled with its uniform value."""
    if r >= 0:
        return vals[r]
    tmp[:] = uvals[-r - 1]
    return tmp


@inline
def grad_row(r, grads, tmp):
    """Where operand r's lane gradients go: its row, or tmp (zeroed) to be summed after."""
    if r >= 0:
        return grads[r]
    tmp[:] = 0.0
    return tmp


@inline
def settle(r, ugrads, tmp):
    """A uniform operand's gradient is the sum over lanes of what went into tmp."""
    if r < 0:
        ugrads[-r - 1] += tmp.sum()


@lanes_forward
def forward_lanes(code, args, groups, vals, uvals, tmp, lanes):
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
                    matrix_forward(members, code, args, vals, uvals, lanes)
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
            out = vals[i]
            x = lane_row(ra, vals, uvals, tmp[0])
            y = lane_row(rb, vals, uvals, tmp[1])
            if k == ADD:
                for j in range(lanes):
                    out[j] = x[j] + y[j]
            elif k == MUL:
                for j in range(lanes):
                    out[j] = x[j] * y[j]
            elif k == SUB:
                for j in range(lanes):
                    out[j] = x[j] - y[j]
            elif k == DIV:
                for j in range(lanes):
                    out[j] = x[j] / y[j]
            elif k == POWC and y[0] == 2.0:  # a square (the constant exponent is uniform): x·x
                for j in range(lanes):
                    out[j] = x[j] * x[j]
            else:  # POW, POWC
                for j in range(lanes):
                    out[j] = power(x[j], y[j])


@lanes_backward
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
            g, out = grads[i], vals[i]
            x = lane_row(ra, vals, uvals, tmp[0])
            y = lane_row(rb, vals, uvals, tmp[1])
            gx = grad_row(ra, grads, tmp[2])
            if k == POWC:  # a constant exponent takes no gradient
                for j in range(lanes):
                    gx[j] += g[j] * dpow_base(x[j], y[j])
                settle(ra, ugrads, tmp[2])
                continue
            gy = grad_row(rb, grads, tmp[3])
            if k == ADD:
                for j in range(lanes):
                    gx[j] += g[j]  # d(x+y) = dx + dy
                    gy[j] += g[j]
            elif k == MUL:
                for j in range(lanes):
                    dx = g[j] * y[j]  # d(xy) = y dx + x dy
                    gy[j] += g[j] * x[j]
                    gx[j] += dx
            elif k == SUB:
                for j in range(lanes):
                    gx[j] += g[j]  # d(x-y) = dx - dy
                    gy[j] -= g[j]
            elif k == DIV:
                for j in range(lanes):
                    dx = g[j] / y[j]  # d(x/y) = dx/y - (x/y²) dy
                    gy[j] -= g[j] * out[j] / y[j]
                    gx[j] += dx
            else:  # POW
                for j in range(lanes):
                    dx = g[j] * dpow_base(x[j], y[j])
                    gy[j] += g[j] * dpow_exponent(x[j], out[j])
                    gx[j] += dx
            settle(ra, ugrads, tmp[2])
            settle(rb, ugrads, tmp[3])


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
