"""numba sweeps over a tape: forward and reverse, scalar and batched (lanes).

Each sweep is one loop over slots with one branch per op code (see `ops.py`), the
forward rule in `forward*`, the chain rule in `backward*`:

    grad[operand] += grad[slot] * ∂slot/∂operand

Leaves and constants are written into `vals` before a forward sweep; the sweeps
never touch them. In the batched sweeps `vals` and `grads` have shape
(slots, lanes): each lane is one input row, and lanes are contiguous so the inner
loops vectorise. Floats follow NumPy (`error_model="numpy"`): 1/0 is inf, never an
exception inside numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .ops import Op

# numba freezes globals at compile time; plain ints keep the branches readable.
LEAF, CONST = int(Op.LEAF), int(Op.CONST)
ADD, SUB, MUL, DIV = int(Op.ADD), int(Op.SUB), int(Op.MUL), int(Op.DIV)
POW, POWC, NEG, EXP, LOG = int(Op.POW), int(Op.POWC), int(Op.NEG), int(Op.EXP), int(Op.LOG)
TANH, SIGMOID, RELU, ABS = int(Op.TANH), int(Op.SIGMOID), int(Op.RELU), int(Op.ABS)
SQRT, SIN, COS = int(Op.SQRT), int(Op.SIN), int(Op.COS)
SUM, DOT = int(Op.SUM), int(Op.DOT)
N_OPS = len(Op)  # ops with a branch below; `tape.check_ops` refuses any other code

jit = njit(cache=True, error_model="numpy", nogil=True)


# -- scalar helpers shared by both kinds of sweep -------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def sigmoid(x):
    # 1 / (1 + e^-x), written so that e^(±x) never overflows
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True, error_model="numpy", inline="always")
def relu(x):
    return x if x > 0.0 or x != x else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def dpow_base(x, c):
    # d(x^c)/dx = c·x^(c-1); exactly 0 for c = 0
    return 0.0 if c == 0.0 else c * x ** (c - 1.0)


@njit(cache=True, error_model="numpy", inline="always")
def dpow_exponent(x, out):
    # d(x^y)/dy = x^y·ln x; 0 at x = 0 (the limit for y > 0); nan for x < 0
    if x > 0.0:
        return out * math.log(x)
    return 0.0 if x == 0.0 else np.nan


@njit(cache=True, error_model="numpy", inline="always")
def sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def unary(k, x):
    if k == NEG:
        return -x
    if k == EXP:
        return math.exp(x)
    if k == LOG:
        return math.log(x)
    if k == TANH:
        return math.tanh(x)
    if k == SIGMOID:
        return sigmoid(x)
    if k == RELU:
        return relu(x)
    if k == ABS:
        return abs(x)
    if k == SQRT:
        return math.sqrt(x)
    if k == SIN:
        return math.sin(x)
    return math.cos(x)  # COS


@njit(cache=True, error_model="numpy", inline="always")
def dunary(k, x, out):
    """Local derivative ∂out/∂x of a unary op."""
    if k == NEG:
        return -1.0
    if k == EXP:
        return out  # d e^x = e^x
    if k == LOG:
        return 1.0 / x  # d ln x = 1/x
    if k == TANH:
        return 1.0 - out * out  # d tanh = 1 - tanh²
    if k == SIGMOID:
        return out * (1.0 - out)  # dσ = σ(1 - σ)
    if k == RELU:
        return 1.0 if x > 0.0 else 0.0  # d relu = 1[x > 0]
    if k == ABS:
        return sign(x)  # d|x| = sign x
    if k == SQRT:
        return 0.5 / out  # d √x = 1 / (2√x)
    if k == SIN:
        return math.cos(x)  # d sin = cos
    return -math.sin(x)  # COS: d cos = -sin


# -- scalar sweeps: one value per slot -------------------------------------------------


@jit
def forward(op, a, b, args, vals):
    """Evaluate every computed slot of the tape, in order."""
    for i in range(op.size):
        k = op[i]
        if k == ADD:
            vals[i] = vals[a[i]] + vals[b[i]]
        elif k == MUL:
            vals[i] = vals[a[i]] * vals[b[i]]
        elif k <= CONST:
            continue  # leaves and constants were filled in
        elif k == DOT:
            n = b[i] // 2
            total = 0.0
            for m in range(a[i], a[i] + n):
                total += vals[args[m]] * vals[args[m + n]]
            vals[i] = total
        elif k == SUM:
            total = 0.0
            for m in range(a[i], a[i] + b[i]):
                total += vals[args[m]]
            vals[i] = total
        elif k == SUB:
            vals[i] = vals[a[i]] - vals[b[i]]
        elif k == DIV:
            vals[i] = vals[a[i]] / vals[b[i]]
        elif k == POW or k == POWC:
            vals[i] = vals[a[i]] ** vals[b[i]]
        else:
            vals[i] = unary(k, vals[a[i]])


@jit
def backward(op, a, b, args, vals, grads):
    """Reverse sweep: push each slot's gradient to its operands (chain rule)."""
    for i in range(op.size - 1, -1, -1):
        k = op[i]
        g = grads[i]
        if k == ADD:
            grads[a[i]] += g  # d(x+y) = dx + dy
            grads[b[i]] += g
        elif k == MUL:
            x, y = a[i], b[i]
            gx = g * vals[y]  # d(xy) = y dx + x dy
            grads[y] += g * vals[x]
            grads[x] += gx
        elif k <= CONST:
            continue
        elif k == DOT:
            n = b[i] // 2
            for m in range(a[i], a[i] + n):
                x, w = args[m], args[m + n]
                gx = g * vals[w]  # d(Σ xw) = Σ (w dx + x dw)
                grads[w] += g * vals[x]
                grads[x] += gx
        elif k == SUM:
            for m in range(a[i], a[i] + b[i]):
                grads[args[m]] += g  # d(Σ x) = Σ dx
        elif k == SUB:
            grads[a[i]] += g  # d(x-y) = dx - dy
            grads[b[i]] -= g
        elif k == DIV:
            y = vals[b[i]]
            grads[a[i]] += g / y  # d(x/y) = dx/y - (x/y²) dy
            grads[b[i]] -= g * vals[i] / y
        elif k == POW:
            x, y = vals[a[i]], vals[b[i]]
            grads[a[i]] += g * dpow_base(x, y)
            grads[b[i]] += g * dpow_exponent(x, vals[i])
        elif k == POWC:
            grads[a[i]] += g * dpow_base(vals[a[i]], vals[b[i]])
        else:
            grads[a[i]] += g * dunary(k, vals[a[i]], vals[i])


# -- batched sweeps: a row of lanes per slot -------------------------------------------


@jit
def forward_batch(op, a, b, args, vals):
    """`forward` on every lane at once: vals has shape (slots, lanes)."""
    lanes = vals.shape[1]
    for i in range(op.size):
        k = op[i]
        if k <= CONST:
            continue
        out = vals[i]
        if k == DOT:
            n = b[i] // 2
            out[:] = 0.0
            for m in range(a[i], a[i] + n):
                x = vals[args[m]]
                w = vals[args[m + n]]
                for j in range(lanes):
                    out[j] += x[j] * w[j]
            continue
        if k == SUM:
            out[:] = 0.0
            for m in range(a[i], a[i] + b[i]):
                x = vals[args[m]]
                for j in range(lanes):
                    out[j] += x[j]
            continue
        x = vals[a[i]]
        if k == ADD:
            y = vals[b[i]]
            for j in range(lanes):
                out[j] = x[j] + y[j]
        elif k == MUL:
            y = vals[b[i]]
            for j in range(lanes):
                out[j] = x[j] * y[j]
        elif k == SUB:
            y = vals[b[i]]
            for j in range(lanes):
                out[j] = x[j] - y[j]
        elif k == DIV:
            y = vals[b[i]]
            for j in range(lanes):
                out[j] = x[j] / y[j]
        elif k == POW or k == POWC:
            y = vals[b[i]]
            for j in range(lanes):
                out[j] = x[j] ** y[j]
        elif k == RELU:
            for j in range(lanes):
                out[j] = relu(x[j])
        elif k == TANH:
            for j in range(lanes):
                out[j] = math.tanh(x[j])
        else:
            for j in range(lanes):
                out[j] = unary(k, x[j])


@jit
def backward_batch(op, a, b, args, vals, grads):
    """`backward` on every lane at once: vals and grads have shape (slots, lanes)."""
    lanes = vals.shape[1]
    for i in range(op.size - 1, -1, -1):
        k = op[i]
        if k <= CONST:
            continue
        g = grads[i]
        if k == DOT:
            n = b[i] // 2
            for m in range(a[i], a[i] + n):
                x, w = vals[args[m]], vals[args[m + n]]
                gx, gw = grads[args[m]], grads[args[m + n]]
                for j in range(lanes):
                    dx = g[j] * w[j]  # d(Σ xw) = Σ (w dx + x dw)
                    gw[j] += g[j] * x[j]
                    gx[j] += dx
            continue
        if k == SUM:
            for m in range(a[i], a[i] + b[i]):
                gx = grads[args[m]]
                for j in range(lanes):
                    gx[j] += g[j]  # d(Σ x) = Σ dx
            continue
        out = vals[i]
        x = vals[a[i]]
        gx = grads[a[i]]
        if k == ADD:
            gy = grads[b[i]]
            for j in range(lanes):
                gx[j] += g[j]
                gy[j] += g[j]
        elif k == MUL:
            y = vals[b[i]]
            gy = grads[b[i]]
            for j in range(lanes):
                gx[j] += g[j] * y[j]
                gy[j] += g[j] * x[j]
        elif k == SUB:
            gy = grads[b[i]]
            for j in range(lanes):
                gx[j] += g[j]
                gy[j] -= g[j]
        elif k == DIV:
            y = vals[b[i]]
            gy = grads[b[i]]
            for j in range(lanes):
                gx[j] += g[j] / y[j]
                gy[j] -= g[j] * out[j] / y[j]
        elif k == POW:
            y = vals[b[i]]
            gy = grads[b[i]]
            for j in range(lanes):
                gx[j] += g[j] * dpow_base(x[j], y[j])
                gy[j] += g[j] * dpow_exponent(x[j], out[j])
        elif k == POWC:
            y = vals[b[i]]
            for j in range(lanes):
                gx[j] += g[j] * dpow_base(x[j], y[j])
        elif k == RELU:
            for j in range(lanes):
                gx[j] += g[j] * (1.0 if x[j] > 0.0 else 0.0)  # d relu = 1[x > 0]
        elif k == TANH:
            for j in range(lanes):
                gx[j] += g[j] * (1.0 - out[j] * out[j])
        else:
            for j in range(lanes):
                gx[j] += g[j] * dunary(k, x[j], out[j])


# -- moving data between a compiled graph's arrays and the sweeps -----------------------


@jit
def load_batch(vals, in_slots, x, p_slots, p_data, p_idx):
    """Write the input rows x (rows, inputs) and the parameters into vals' lanes."""
    for c in range(in_slots.size):
        row = vals[in_slots[c]]
        for j in range(x.shape[0]):
            row[j] = x[j, c]
    for c in range(p_slots.size):
        vals[p_slots[c], :] = p_data[p_idx[c]]


@jit
def reduce_batch(grads, in_slots, x_grad, p_slots, p_grad, p_idx):
    """Add each parameter's gradient, summed over lanes, into p_grad; copy the inputs'."""
    for c in range(p_slots.size):
        row = grads[p_slots[c]]
        total = 0.0
        for j in range(row.size):
            total += row[j]
        p_grad[p_idx[c]] += total
    for c in range(in_slots.size):
        row = grads[in_slots[c]]
        for j in range(row.size):
            x_grad[j, c] = row[j]
