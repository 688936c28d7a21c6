"""numba sweeps over a tape, one value per slot: forward and reverse; and optimizer updates.

Each sweep is one loop over slots with one branch per op code (see `ops.py`), the
forward rule in `forward`, the chain rule in `backward`:

    grad[operand] += grad[slot] * ∂slot/∂operand

Leaves and constants are written into `vals` before a forward sweep; the sweeps
never touch them. Floats follow NumPy (`error_model="numpy"`): 1/0 is inf, never an
exception inside numba. The sweeps over many rows at once are in `lanes.py`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .ops import TABLE, Op

# numba freezes globals at compile time; plain ints keep the branches readable.
LEAF, CONST = int(Op.LEAF), int(Op.CONST)
ADD, SUB, MUL, DIV = int(Op.ADD), int(Op.SUB), int(Op.MUL), int(Op.DIV)
POW, POWC, NEG, EXP, LOG = int(Op.POW), int(Op.POWC), int(Op.NEG), int(Op.EXP), int(Op.LOG)
TANH, SIGMOID, RELU, ABS = int(Op.TANH), int(Op.SIGMOID), int(Op.RELU), int(Op.ABS)
SQRT, SIN, COS = int(Op.SQRT), int(Op.SIN), int(Op.COS)
SUM, DOT = int(Op.SUM), int(Op.DOT)
ARITY_OF = np.array([info.arity for info in TABLE], dtype=np.int8)

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
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0 * x)  # 0 at 0, nan at nan


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
def forward(op, a, b, args, vals, first=0):
    """Evaluate every computed slot of the tape, in order (slots before `first` are all
    leaves and constants: nothing to compute there)."""
    for i in range(first, op.size):
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
def backward(op, a, b, args, vals, grads, first=0):
    """Reverse sweep: push each slot's gradient to its operands (chain rule), down to `first`."""
    for i in range(op.size - 1, first - 1, -1):
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
        elif k == RELU:
            if vals[a[i]] > 0.0:  # d relu = 1[x > 0], a mask: inf or nan from above stops here
                grads[a[i]] += g
        else:
            grads[a[i]] += g * dunary(k, vals[a[i]], vals[i])


# -- optimizer updates over flat parameter arrays ------------------------------------------


@jit
def sgd_update(data, grad, idx, velocity, lr, momentum, weight_decay):
    """p ← p − lr·g, with g = ∂L/∂p + weight_decay·p, through velocity v ← momentum·v + g."""
    for j in range(idx.size):
        i = idx[j]
        g = grad[i] + weight_decay * data[i]  # d/dp (λ/2 p²) = λp
        if momentum != 0.0:
            velocity[j] = momentum * velocity[j] + g
            g = velocity[j]
        data[i] -= lr * g


@jit
def adam_update(data, grad, idx, m, v, lr, beta1, beta2, eps, weight_decay, t):
    """Adam's step t (from 1): moments m, v of the gradient, bias-corrected."""
    c1 = 1.0 - beta1**t
    c2 = 1.0 - beta2**t
    for j in range(idx.size):
        i = idx[j]
        g = grad[i] + weight_decay * data[i]
        m[j] = beta1 * m[j] + (1.0 - beta1) * g  # first moment
        v[j] = beta2 * v[j] + (1.0 - beta2) * g * g  # second moment
        data[i] -= lr * (m[j] / c1) / (math.sqrt(v[j] / c2) + eps)
