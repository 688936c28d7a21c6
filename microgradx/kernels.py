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


# -- lane sweeps: the varying program, a row of lanes per slot ------------------------
#
# A compiled graph's varying program (see program.py) runs on vals of shape
# (slots, lanes), lanes contiguous. Its operands are encoded references: r >= 0 is
# row r, r < 0 is the uniform (same on every lane) scalar uvals[-r - 1]. A uniform
# operand's gradient is summed over the lanes into ugrads inside the sweep.


@njit(cache=True, error_model="numpy", inline="always")
def lane_row(r, vals, uvals, tmp):
    """Operand r as a row of lanes: its own row, or tmp filled with its uniform value."""
    if r >= 0:
        return vals[r]
    tmp[:] = uvals[-r - 1]
    return tmp


@njit(cache=True, error_model="numpy", inline="always")
def grad_row(r, grads, tmp):
    """Where operand r's lane gradients go: its row, or tmp (zeroed) to be summed after."""
    if r >= 0:
        return grads[r]
    tmp[:] = 0.0
    return tmp


@njit(cache=True, error_model="numpy", inline="always")
def settle(r, ugrads, tmp):
    """A uniform operand's gradient is the sum over lanes of what went into tmp."""
    if r < 0:
        ugrads[-r - 1] += tmp.sum()


@njit(cache=True, error_model="numpy")
def axpy(out, x, w):
    """out += x·w over the lanes: one weight times a row (kept out of line: it vectorises best alone)."""
    for j in range(out.size):
        out[j] += x[j] * w


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def axpy_dot(gx, g, w, x):
    """gx += g·w over the lanes, and return Σ g·x: a weight's gradient, summed over the rows.

    Reassociating the sum lets it vectorise; the result differs from the sequential
    sum only in the last bits."""
    total = 0.0
    for j in range(g.size):
        gx[j] += g[j] * w
        total += g[j] * x[j]
    return total


@jit
def forward_lanes(code, args, vals, uvals, tmp):
    """Evaluate the varying program on every lane (inputs are filled in)."""
    lanes = vals.shape[1]
    for i in range(code.shape[0]):
        k, ra, rb = code[i, 0], code[i, 1], code[i, 2]
        if k <= CONST:
            continue
        out = vals[i]
        if k == DOT:
            n = rb // 2
            out[:] = 0.0
            for m in range(ra, ra + n):
                rx, rw = args[m], args[m + n]
                if rx < 0 <= rw:  # a product commutes: put the row first
                    rx, rw = rw, rx
                if rw < 0 <= rx:  # the common case: a row times a weight
                    axpy(out, vals[rx], uvals[-rw - 1])
                elif rx < 0:  # both uniform, like a bias times 1
                    c = uvals[-rx - 1] * uvals[-rw - 1]
                    for j in range(lanes):
                        out[j] += c
                else:
                    x, w = vals[rx], vals[rw]
                    for j in range(lanes):
                        out[j] += x[j] * w[j]
            continue
        if k == SUM:
            out[:] = 0.0
            for m in range(ra, ra + rb):
                r = args[m]
                if r >= 0:
                    axpy(out, vals[r], 1.0)
                else:
                    c = uvals[-r - 1]
                    for j in range(lanes):
                        out[j] += c
            continue
        x = lane_row(ra, vals, uvals, tmp[0])
        if k == ADD:
            y = lane_row(rb, vals, uvals, tmp[1])
            for j in range(lanes):
                out[j] = x[j] + y[j]
        elif k == MUL:
            y = lane_row(rb, vals, uvals, tmp[1])
            for j in range(lanes):
                out[j] = x[j] * y[j]
        elif k == SUB:
            y = lane_row(rb, vals, uvals, tmp[1])
            for j in range(lanes):
                out[j] = x[j] - y[j]
        elif k == DIV:
            y = lane_row(rb, vals, uvals, tmp[1])
            for j in range(lanes):
                out[j] = x[j] / y[j]
        elif k == POW or k == POWC:
            y = lane_row(rb, vals, uvals, tmp[1])
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
def backward_lanes(code, args, vals, grads, uvals, ugrads, tmp):
    """Reverse sweep of the varying program; uniform operands' gradients summed into ugrads."""
    lanes = vals.shape[1]
    for i in range(code.shape[0] - 1, -1, -1):
        k, ra, rb = code[i, 0], code[i, 1], code[i, 2]
        if k <= CONST:
            continue
        g = grads[i]
        out = vals[i]
        if k == DOT:
            n = rb // 2
            for m in range(ra, ra + n):
                rx, rw = args[m], args[m + n]
                if rx < 0 <= rw:
                    rx, rw = rw, rx
                if rw < 0 <= rx:  # a row times a weight: d(xw) = w dx + x dw
                    ugrads[-rw - 1] += axpy_dot(grads[rx], g, uvals[-rw - 1], vals[rx])
                elif rx < 0:  # both uniform: each gets the other times Σ g
                    total = g.sum()
                    ugrads[-rx - 1] += total * uvals[-rw - 1]
                    ugrads[-rw - 1] += total * uvals[-rx - 1]
                else:
                    x, w, gx, gw = vals[rx], vals[rw], grads[rx], grads[rw]
                    for j in range(lanes):
                        dx = g[j] * w[j]
                        gw[j] += g[j] * x[j]
                        gx[j] += dx
            continue
        if k == SUM:
            for m in range(ra, ra + rb):
                r = args[m]
                if r >= 0:
                    axpy(grads[r], g, 1.0)  # d(Σ x) = Σ dx
                else:
                    ugrads[-r - 1] += g.sum()
            continue
        x = lane_row(ra, vals, uvals, tmp[0])
        gx = grad_row(ra, grads, tmp[2])
        if k == ADD or k == SUB or k == MUL or k == DIV or k == POW:
            y = lane_row(rb, vals, uvals, tmp[1])
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
            settle(rb, ugrads, tmp[3])
        elif k == POWC:
            y = lane_row(rb, vals, uvals, tmp[1])
            for j in range(lanes):
                gx[j] += g[j] * dpow_base(x[j], y[j])
        elif k == RELU:
            for j in range(lanes):
                gx[j] += g[j] * (1.0 if x[j] > 0.0 else 0.0)  # d relu = 1[x > 0]
        elif k == TANH:
            for j in range(lanes):
                gx[j] += g[j] * (1.0 - out[j] * out[j])  # d tanh = 1 - tanh²
        else:
            for j in range(lanes):
                gx[j] += g[j] * dunary(k, x[j], out[j])
        settle(ra, ugrads, tmp[2])


# -- a compiled graph's whole forward and backward, one call each ------------------------


@jit
def run_forward(uop, ua, ub, uargs, uvals, p_uslots, p_data, p_idx, vcode, vargs, vals, in_rows, x, tmp):
    """Parameters into the uniform program, run it once; inputs into the lanes, run them."""
    for c in range(p_uslots.size):
        uvals[p_uslots[c]] = p_data[p_idx[c]]
    forward(uop, ua, ub, uargs, uvals)
    for c in range(in_rows.size):
        row = vals[in_rows[c]]
        for j in range(x.shape[0]):
            row[j] = x[j, c]
    forward_lanes(vcode, vargs, vals, uvals, tmp)


@jit
def run_backward(
    uop, ua, ub, uargs, uvals, ugrads, p_uslots, p_grad, p_idx,
    vcode, vargs, vals, grads, in_rows, x_grad, tmp, out_ref, seed,
):  # fmt: skip
    """Seed the output on every lane, sweep the lanes back, then the uniform program,
    then add into the parameters' gradients; the inputs' gradients go to x_grad."""
    grads[:] = 0.0
    ugrads[:] = 0.0
    if out_ref >= 0:
        grads[out_ref, :] = seed
    else:  # an output that does not depend on the inputs: the same seed on every lane
        ugrads[-out_ref - 1] = seed * vals.shape[1]
    backward_lanes(vcode, vargs, vals, grads, uvals, ugrads, tmp)
    backward(uop, ua, ub, uargs, uvals, ugrads)
    for c in range(p_uslots.size):
        p_grad[p_idx[c]] += ugrads[p_uslots[c]]
    for c in range(in_rows.size):
        row = grads[in_rows[c]]
        for j in range(row.size):
            x_grad[j, c] = row[j]
