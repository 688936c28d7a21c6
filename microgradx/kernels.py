"""numba sweeps over a tape: forward and reverse, one value per slot or many rows at once.

Each sweep is one loop over slots with one branch per op code (see `ops.py`), the
forward rule in `forward*`, the chain rule in `backward*`:

    grad[operand] += grad[slot] * ∂slot/∂operand

Leaves and constants are written into `vals` before a forward sweep; the sweeps
never touch them. Floats follow NumPy (`error_model="numpy"`): 1/0 is inf, never an
exception inside numba.

Many rows at once (the second half of this file): a compiled graph's varying
program (see program.py) runs on vals of shape (slots, lanes), lanes contiguous,
so the inner loops vectorise. Its operands are encoded references: r >= 0 is row
r, r < 0 is the uniform (same on every lane) scalar uvals[-r - 1]; the uniform
program runs once per call on the scalar sweeps. A unary op of the varying
program always reads a row; a binary op may read one uniform operand. A uniform
operand's gradient is summed over the lanes into ugrads inside the sweep.

The hot loop of a network is the DOT of a neuron, Σ rowᵢ·weightᵢ: its first
code[i, 3] pairs are row × uniform, done four pairs at a time; DOTs reading the
same rows (a layer) pass the rows their gradients together (group_rows_back), and
when there are a multiple of four of them they run as tiles of four neurons × four
rows (code[i, 7]: group_forward, group_back); a relu that alone reads a DOT
lives in the DOT's row (code[i, 6]).

Tiles run over every lane of a row, the padding past the batch's rows included (a
row's lanes are rounded up to whole cache lines, see compiled.Workspace), so their
loops are whole vectors with no scalar remainder: at 100 rows that remainder cost
8 % of a training step. What the padding lanes hold never reaches a real sum, for
any finite parameters: lanes are independent in the forward, and in the backward
every product over a padding lane is 0·0 or 0·w, which adds exactly 0 to the sums
over lanes. The padding lanes' values are 0: the inputs' padding is never written,
every op but the tiles writes the batch's lanes only, and each tile sets its rows'
padding back to 0 after computing it (left alone, it would hold the layer's output
for zero inputs, which a few layers of large weights overflow to inf, and 0·inf is
nan). Their gradients are 0: zeroed every backward, and only tiles write there,
adding g·w = 0·w. Every other op runs on the batch's lanes only.

All the jitted code that calls other jitted code lives in this one file. (numba's
cache is keyed on all the sources it compiles: see cache.py.)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import cache
from .ops import ARITY, Op

# numba freezes globals at compile time; plain ints keep the branches readable.
LEAF, CONST = int(Op.LEAF), int(Op.CONST)
ADD, SUB, MUL, DIV = int(Op.ADD), int(Op.SUB), int(Op.MUL), int(Op.DIV)
POW, POWC, NEG, EXP, LOG = int(Op.POW), int(Op.POWC), int(Op.NEG), int(Op.EXP), int(Op.LOG)
TANH, SIGMOID, RELU, ABS = int(Op.TANH), int(Op.SIGMOID), int(Op.RELU), int(Op.ABS)
SQRT, SIN, COS = int(Op.SQRT), int(Op.SIN), int(Op.COS)
STEP, SIGN = int(Op.STEP), int(Op.SIGN)
SUM, DOT = int(Op.SUM), int(Op.DOT)

jit = njit(cache=True, error_model="numpy", nogil=True)
# The lane sweeps' big DOT helpers (dot_lanes, group_forward; dot_lanes_back, group_back,
# first_layer_back, group_rows_back) are plain calls, compiled once each with the flags of
# their sweep, not inlined: inlined, they made forward_lanes and backward_lanes two huge
# functions, 12 s and 34 s of the warmup's compile, against 4 s and 8 s this way (callees
# included; benchmarks/compile_cost.py), and the moons', a random MLP's and the digits'
# steps ran as fast (train_moons.py, train_digits.py, back to back with the inlined ones).
# The small helpers called inside their loops (mask: sixteen calls a layer) stay inlined.
lanes_fwd = njit(cache=True, error_model="numpy", nogil=True, fastmath={"contract"})
lanes_back = njit(cache=True, error_model="numpy", nogil=True, fastmath={"reassoc", "contract"})


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
    # d(x^c)/dx = c·x^(c-1) (ops._dpowc): 0 where x^c is constant around x, c = 0 or c = ±inf
    # with x^c = 0 (there x^(c-1) = x^c); nan at x = -inf for a fractional c, as at every x < 0
    if c == 0.0:
        return 0.0
    if math.isinf(c):
        p = x**c
        return 0.0 if p == 0.0 else c * p
    if x == -math.inf and np.floor(c) != c:
        return np.nan
    return c * x ** (c - 1.0)


@njit(cache=True, error_model="numpy", inline="always")
def dpow_exponent(x, out):
    # d(x^y)/dy = x^y·ln x (ops._dpow_dy): nan for x < 0 or nan; 0 where x^y = 0 (the limit of
    # x^y·ln x) and at 0^0 (PyTorch's choice); at 0^y = ±inf (y < 0), ±inf·ln 0 = ∓inf
    if not x >= 0.0:
        return np.nan
    if out == 0.0 or (x == 0.0 and out == 1.0):
        return 0.0
    return out * math.log(x)  # ln 0 = -inf


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
    if k == COS:
        return math.cos(x)
    if k == STEP:
        return 1.0 if x > 0.0 else 0.0  # relu's derivative: 0 at 0 and at nan
    return sign(x)  # SIGN


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
    if k == COS:
        return -math.sin(x)  # d cos = -sin
    return 0.0  # STEP, SIGN: flat on each side of 0


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
                if x == w:  # a square, like an L2 penalty's p·p: d(x²) = 2x dx
                    grads[x] += 2.0 * g * vals[x]
                    continue
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


SGD_RULE, ADAM_RULE = 0, 1  # the update rules; settings = (lr, momentum, weight_decay) or
# (lr, beta1, beta2, eps, weight_decay), state = (velocity,) or (m, v), one per parameter


@njit(cache=True, error_model="numpy", inline="always")
def sgd_update(data, grad, idx, velocity, lr, momentum, weight_decay):
    """p ← p − lr·g, with g = ∂L/∂p + weight_decay·p, through velocity v ← momentum·v + g."""
    for j in range(idx.size):
        i = idx[j]
        g = grad[i] + weight_decay * data[i]  # d/dp (λ/2 p²) = λp
        if momentum != 0.0:
            velocity[j] = momentum * velocity[j] + g
            g = velocity[j]
        data[i] -= lr * g


@njit(cache=True, error_model="numpy", inline="always")
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


@njit(cache=True, error_model="numpy", inline="always")
def apply_rule(rule, data, grad, idx, state, lr, settings, t):
    """Step t of the optimizer's rule on the parameters data[idx], from grad[idx]."""
    if rule == SGD_RULE:
        sgd_update(data, grad, idx, state[0], lr, settings[1], settings[2])
    else:
        adam_update(data, grad, idx, state[0], state[1], lr, settings[1], settings[2], settings[3],
                    settings[4], t)  # fmt: skip


@jit
def update(rule, store, idx, state, settings, t):
    """An optimizer's step t, at its lr settings[0], on its parameters in a store (data
    store[0], grad store[1])."""
    apply_rule(rule, store[0], store[1], idx, state, settings[0], settings, t)


# -- many rows at once: the varying program's sweeps ----------------------------------------


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


@njit(cache=True, error_model="numpy", inline="always")
def block_rows(args, uvals, m, n, q):
    """Up to four row × weight pairs from m on: their rows and weights (q of them are real;
    the rest repeat the first row with weight 0, and the loops leave them out)."""
    r0 = args[m]
    r1 = args[m + 1] if q > 1 else r0
    r2 = args[m + 2] if q > 2 else r0
    r3 = args[m + 3] if q > 3 else r0
    w0 = uvals[-args[m + n] - 1]
    w1 = uvals[-args[m + n + 1] - 1] if q > 1 else 0.0
    w2 = uvals[-args[m + n + 2] - 1] if q > 2 else 0.0
    w3 = uvals[-args[m + n + 3] - 1] if q > 3 else 0.0
    return r0, r1, r2, r3, w0, w1, w2, w3


@lanes_fwd
def dot_lanes(i, start, n, n_rw, lead, args, vals, uvals, lanes, with_relu):
    """vals[i] = Σ x·w over the DOT's pairs args[start:start+n] × args[start+n:start+2n], added
    in the graph's order (program._split lays them out): the `lead` uniform × uniform pairs
    after the first n_rw (those the graph adds first), then the n_rw rows × weights, four at a
    time (then three, two or one), each added to the running sum in turn, then the rest in
    order (a bias times 1, rows × rows). A small neuron (four rows or fewer, then at most one
    uniform pair) in one pass."""
    c = 0.0  # the leading uniform pairs, as the graph adds them
    for m in range(start + n_rw, start + n_rw + lead):
        c += uvals[-args[m] - 1] * uvals[-args[m + n] - 1]
    after = start + n_rw + lead  # the rest, in order
    last = 0.0  # a small neuron's one uniform pair after its rows (a bias times 1)
    if 0 < n_rw <= 4 and after + 1 >= start + n and (after == start + n or args[after] < 0 > args[after + n]):
        if after < start + n:
            last = uvals[-args[after] - 1] * uvals[-args[after + n] - 1]
        r0, r1, r2, r3, w0, w1, w2, w3 = block_rows(args, uvals, start, n, n_rw)
        for j in range(lanes):
            acc = c + vals[r0, j] * w0
            acc += vals[r1, j] * w1 if n_rw > 1 else 0.0
            acc += vals[r2, j] * w2 if n_rw > 2 else 0.0
            acc += vals[r3, j] * w3 if n_rw > 3 else 0.0
            acc += last
            vals[i, j] = relu(acc) if with_relu else acc
        return
    for j in range(lanes):
        vals[i, j] = c
    m = start
    while m + 4 <= start + n_rw:
        r0, r1, r2, r3 = four(args, m)
        w0, w1, w2, w3 = weights4(uvals, args, m + n)
        for j in range(lanes):
            vals[i, j] = (
                vals[i, j] + vals[r0, j] * w0 + vals[r1, j] * w1 + vals[r2, j] * w2 + vals[r3, j] * w3
            )
        m += 4
    left = start + n_rw - m
    if left == 3:
        r0, r1, r2 = args[m], args[m + 1], args[m + 2]
        w0, w1, w2 = uvals[-args[m + n] - 1], uvals[-args[m + n + 1] - 1], uvals[-args[m + n + 2] - 1]
        for j in range(lanes):
            vals[i, j] = vals[i, j] + vals[r0, j] * w0 + vals[r1, j] * w1 + vals[r2, j] * w2
    elif left == 2:
        r0, r1 = args[m], args[m + 1]
        w0, w1 = uvals[-args[m + n] - 1], uvals[-args[m + n + 1] - 1]
        for j in range(lanes):
            vals[i, j] = vals[i, j] + vals[r0, j] * w0 + vals[r1, j] * w1
    elif left == 1:
        r0, w0 = args[m], uvals[-args[m + n] - 1]
        for j in range(lanes):
            vals[i, j] += vals[r0, j] * w0
    for m in range(after, start + n):  # the rest: uniform × uniform, rows × rows
        rx, rw = args[m], args[m + n]
        if rx < 0:
            u = uvals[-rx - 1] * uvals[-rw - 1]
            for j in range(lanes):
                vals[i, j] += u
        else:
            for j in range(lanes):
                vals[i, j] += vals[rx, j] * vals[rw, j]
    if with_relu:  # the relu that alone reads this DOT, done in place
        for j in range(lanes):
            vals[i, j] = relu(vals[i, j])


@lanes_back
def dot_lanes_back(i, start, n, n_rw, args, vals, grads, uvals, ugrads, lanes, rows_later, relu_mask):
    """d(Σ x·w) = Σ (w dx + x dw): rows get g·w per lane, weights Σ_lanes g·x.

    With relu_mask, the DOT's row also holds its relu: g is masked by 1[out > 0] first
    (in the same pass that sums g for the uniform × uniform pairs). With rows_later,
    the rows' g·w is left to the DOT's group (see group_rows_back). The weights' sums
    go four at a time; a small neuron's (four rows or fewer) in one pass. (A tiled
    group does all this in group_back.)"""
    total = 0.0
    if relu_mask:
        for j in range(lanes):
            g = grads[i, j] if vals[i, j] > 0.0 else 0.0  # d relu = 1[x > 0], and x > 0 where relu(x) > 0
            grads[i, j] = g
            total += g
    else:
        for j in range(lanes):
            total += grads[i, j]
    for m in range(start + n_rw, start + n):
        rx, rw = args[m], args[m + n]
        if rx < 0 and rw < 0:  # both uniform: each gets the other times Σ g
            ugrads[-rx - 1] += total * uvals[-rw - 1]
            ugrads[-rw - 1] += total * uvals[-rx - 1]
        elif rx >= 0:  # two rows
            for j in range(lanes):
                g = grads[i, j]
                dx = g * vals[rw, j]
                grads[rw, j] += g * vals[rx, j]
                grads[rx, j] += dx
    if 0 < n_rw <= 4:  # a small neuron: its weights' sums in one pass
        r0, r1, r2, r3, w0, w1, w2, w3 = block_rows(args, uvals, start, n, n_rw)
        s0 = s1 = s2 = s3 = 0.0
        for j in range(lanes):
            g = grads[i, j]
            s0 += g * vals[r0, j]
            s1 += g * vals[r1, j] if n_rw > 1 else 0.0
            s2 += g * vals[r2, j] if n_rw > 2 else 0.0
            s3 += g * vals[r3, j] if n_rw > 3 else 0.0
        sums = (s0, s1, s2, s3)
        for t in range(n_rw):
            ugrads[-args[start + n + t] - 1] += sums[t]
            if not rows_later:
                r, w = args[start + t], uvals[-args[start + n + t] - 1]
                for j in range(lanes):
                    grads[r, j] += grads[i, j] * w
        return
    m = start
    while m + 4 <= start + n_rw:  # rows × weights, four pairs at a time
        r0, r1, r2, r3 = four(args, m)
        s0 = s1 = s2 = s3 = 0.0
        for j in range(lanes):
            g = grads[i, j]
            s0 += g * vals[r0, j]
            s1 += g * vals[r1, j]
            s2 += g * vals[r2, j]
            s3 += g * vals[r3, j]
        if not rows_later:
            w0, w1, w2, w3 = weights4(uvals, args, m + n)
            for r, w in ((r0, w0), (r1, w1), (r2, w2), (r3, w3)):
                for j in range(lanes):  # one row a loop: vectorises
                    grads[r, j] += grads[i, j] * w
        add4(ugrads, args, m + n, s0, s1, s2, s3)
        m += 4
    while m < start + n_rw:
        r0, u0 = args[m], -args[m + n] - 1
        s0 = 0.0
        for j in range(lanes):
            s0 += grads[i, j] * vals[r0, j]
        ugrads[u0] += s0
        if not rows_later:
            w = uvals[u0]
            for j in range(lanes):
                grads[r0, j] += grads[i, j] * w
        m += 1


@lanes_fwd
def group_forward(members, code, args, vals, uvals, lanes):
    """A tiled group's DOTs (a layer's neurons, see program._tiles), all at its first DOT, in
    tiles of four neurons × four rows (the rows left over: four neurons × one row): each
    pass over the lanes loads four rows and does sixteen multiply-adds, where one neuron
    at a time would load sixteen rows. Each neuron adds its terms in the graph's order
    (program._split): the first pass starts from its leading uniform pairs, and each pass
    adds its four products in turn; one more pass adds the uniform pair after the rows (a
    bias), with the relus.

    The tiles run on every lane of a row, width = vals.shape[1], the padding past the
    batch's `lanes` included (whole vectors: see the top); then each tile's rows get 0 on
    their padding lanes, which otherwise hold the layer's output for zero inputs: finite
    in one layer, but through a few layers of large weights it overflows to inf, and
    0·inf = nan in the next tile's sums over the lanes."""
    width = vals.shape[1]
    first_dot = members[0]
    start0, rows = code[first_dot, 1], code[first_dot, 3]
    for t in range(0, members.size, 4):
        i0, i1, i2, i3, b0, b1, b2, b3 = tile(members, code, t)
        c0, c1, c2, c3 = (  # the uniform pairs the graph adds before the rows
            uniform_part(i0, code, args, uvals, rows, rows + code[i0, 8]),
            uniform_part(i1, code, args, uvals, rows, rows + code[i1, 8]),
            uniform_part(i2, code, args, uvals, rows, rows + code[i2, 8]),
            uniform_part(i3, code, args, uvals, rows, rows + code[i3, 8]),
        )
        t0, t1, t2, t3 = (  # and the one after them (a bias times 1), if any (program._tiles)
            uniform_part(i0, code, args, uvals, rows + code[i0, 8], code[i0, 2] // 2),
            uniform_part(i1, code, args, uvals, rows + code[i1, 8], code[i1, 2] // 2),
            uniform_part(i2, code, args, uvals, rows + code[i2, 8], code[i2, 2] // 2),
            uniform_part(i3, code, args, uvals, rows + code[i3, 8], code[i3, 2] // 2),
        )
        f0, f1, f2, f3 = code[i0, 6] != 0, code[i1, 6] != 0, code[i2, 6] != 0, code[i3, 6] != 0
        for q in range(0, rows - rows % 4, 4):
            r0, r1, r2, r3 = four(args, start0 + q)
            w00, w01, w02, w03 = weights4(uvals, args, b0 + q)
            w10, w11, w12, w13 = weights4(uvals, args, b1 + q)
            w20, w21, w22, w23 = weights4(uvals, args, b2 + q)
            w30, w31, w32, w33 = weights4(uvals, args, b3 + q)
            if q == 0:  # the first pass starts from the leading uniform pairs (each added in turn)
                for j in range(width):
                    x0, x1, x2, x3 = vals[r0, j], vals[r1, j], vals[r2, j], vals[r3, j]
                    vals[i0, j] = c0 + x0 * w00 + x1 * w01 + x2 * w02 + x3 * w03
                    vals[i1, j] = c1 + x0 * w10 + x1 * w11 + x2 * w12 + x3 * w13
                    vals[i2, j] = c2 + x0 * w20 + x1 * w21 + x2 * w22 + x3 * w23
                    vals[i3, j] = c3 + x0 * w30 + x1 * w31 + x2 * w32 + x3 * w33
            else:
                for j in range(width):
                    x0, x1, x2, x3 = vals[r0, j], vals[r1, j], vals[r2, j], vals[r3, j]
                    vals[i0, j] = vals[i0, j] + x0 * w00 + x1 * w01 + x2 * w02 + x3 * w03
                    vals[i1, j] = vals[i1, j] + x0 * w10 + x1 * w11 + x2 * w12 + x3 * w13
                    vals[i2, j] = vals[i2, j] + x0 * w20 + x1 * w21 + x2 * w22 + x3 * w23
                    vals[i3, j] = vals[i3, j] + x0 * w30 + x1 * w31 + x2 * w32 + x3 * w33
        for q in range(rows - rows % 4, rows):  # the rows left over, one a pass
            r = args[start0 + q]
            w0, w1 = uvals[-args[b0 + q] - 1], uvals[-args[b1 + q] - 1]
            w2, w3 = uvals[-args[b2 + q] - 1], uvals[-args[b3 + q] - 1]
            if q == 0:  # the first pass starts from the leading uniform pairs
                for j in range(width):
                    x = vals[r, j]
                    vals[i0, j] = c0 + x * w0
                    vals[i1, j] = c1 + x * w1
                    vals[i2, j] = c2 + x * w2
                    vals[i3, j] = c3 + x * w3
            else:
                for j in range(width):
                    x = vals[r, j]
                    vals[i0, j] += x * w0
                    vals[i1, j] += x * w1
                    vals[i2, j] += x * w2
                    vals[i3, j] += x * w3
        if f0 and f1 and f2 and f3:  # the biases last, and the relus that alone read these DOTs, in one pass
            for j in range(width):
                vals[i0, j] = relu(vals[i0, j] + t0)
                vals[i1, j] = relu(vals[i1, j] + t1)
                vals[i2, j] = relu(vals[i2, j] + t2)
                vals[i3, j] = relu(vals[i3, j] + t3)
        else:
            for i, f, t in ((i0, f0, t0), (i1, f1, t1), (i2, f2, t2), (i3, f3, t3)):
                if f:
                    for j in range(width):
                        vals[i, j] = relu(vals[i, j] + t)
                elif code[i, 2] // 2 > rows + code[i, 8]:
                    for j in range(width):
                        vals[i, j] += t
        for i in (i0, i1, i2, i3):  # the padding lanes back to 0
            for j in range(lanes, width):
                vals[i, j] = 0.0


@njit(cache=True, error_model="numpy", inline="always")
def uniform_part(i, code, args, uvals, first, end):
    """Σ over DOT i's pairs first … end - 1, uniform × uniform (a bias times 1), in order."""
    start, n = code[i, 1], code[i, 2] // 2
    c = 0.0
    for m in range(start + first, start + end):
        c += uvals[-args[m] - 1] * uvals[-args[m + n] - 1]
    return c


@njit(cache=True, error_model="numpy", inline="always")
def four(a, m):
    """a[m], a[m + 1], a[m + 2], a[m + 3]: a tile's four neurons, or its four rows."""
    return a[m], a[m + 1], a[m + 2], a[m + 3]


@njit(cache=True, error_model="numpy", inline="always")
def tile(members, code, t):
    """A tile's four DOTs (members t … t + 3) and where each one's weights start in args."""
    i0, i1, i2, i3 = four(members, t)
    return i0, i1, i2, i3, weights(code, i0), weights(code, i1), weights(code, i2), weights(code, i3)


@njit(cache=True, error_model="numpy", inline="always")
def weights(code, i):
    """Where DOT i's weights (the second half of its operands) start in args."""
    return code[i, 1] + code[i, 2] // 2


@njit(cache=True, error_model="numpy", inline="always")
def weights4(uvals, args, m):
    """The four uniform values args[m … m + 3] refer to."""
    return uvals[-args[m] - 1], uvals[-args[m + 1] - 1], uvals[-args[m + 2] - 1], uvals[-args[m + 3] - 1]


@lanes_back
def group_back(members, code, args, vals, grads, uvals, ugrads, lanes, input_grads):
    """A tiled group's whole backward, once every member's gradient is complete: per tile of
    four neurons, their relus masked and their g summed (for the biases), then their
    weights' gradients Σ_lanes g·x in tiles of four neurons × four rows (sixteen sums from
    eight loads a lane); last the rows' gradients Σ_k g_k·w_k, four rows × four neurons a pass.
    (A first layer, on three inputs or fewer, goes in one pass a tile: first_layer_back.)"""
    first = members[0]
    start0, rows = code[first, 1], code[first, 3]
    if rows < 4 and not input_grads and inputs_only(code, args, start0, rows):
        first_layer_back(members, code, args, vals, grads, uvals, ugrads, lanes)
        return
    for t in range(0, members.size, 4):
        i0, i1, i2, i3, b0, b1, b2, b3 = tile(members, code, t)
        t0, t1, t2, t3 = mask4(i0, i1, i2, i3, code, vals, grads, lanes)
        uniform_back(i0, code, args, uvals, ugrads, rows, t0)
        uniform_back(i1, code, args, uvals, ugrads, rows, t1)
        uniform_back(i2, code, args, uvals, ugrads, rows, t2)
        uniform_back(i3, code, args, uvals, ugrads, rows, t3)
        for q in range(0, rows - rows % 4, 4):
            r0, r1, r2, r3 = four(args, start0 + q)
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
            for j in range(lanes):
                g0, g1, g2, g3 = grads[i0, j], grads[i1, j], grads[i2, j], grads[i3, j]
                x0, x1, x2, x3 = vals[r0, j], vals[r1, j], vals[r2, j], vals[r3, j]
                s00 += g0 * x0
                s01 += g0 * x1
                s02 += g0 * x2
                s03 += g0 * x3
                s10 += g1 * x0
                s11 += g1 * x1
                s12 += g1 * x2
                s13 += g1 * x3
                s20 += g2 * x0
                s21 += g2 * x1
                s22 += g2 * x2
                s23 += g2 * x3
                s30 += g3 * x0
                s31 += g3 * x1
                s32 += g3 * x2
                s33 += g3 * x3
            add4(ugrads, args, b0 + q, s00, s01, s02, s03)
            add4(ugrads, args, b1 + q, s10, s11, s12, s13)
            add4(ugrads, args, b2 + q, s20, s21, s22, s23)
            add4(ugrads, args, b3 + q, s30, s31, s32, s33)
        for q in range(rows - rows % 4, rows):  # the rows left over, one a pass
            r = args[start0 + q]
            s0 = s1 = s2 = s3 = 0.0
            for j in range(lanes):
                x = vals[r, j]
                s0 += grads[i0, j] * x
                s1 += grads[i1, j] * x
                s2 += grads[i2, j] * x
                s3 += grads[i3, j] * x
            ugrads[-args[b0 + q] - 1] += s0
            ugrads[-args[b1 + q] - 1] += s1
            ugrads[-args[b2 + q] - 1] += s2
            ugrads[-args[b3 + q] - 1] += s3
    for q in range(0, rows - rows % 4, 4):  # the rows' gradients, four rows × four neurons a pass
        r0, r1, r2, r3 = four(args, start0 + q)
        if (
            not input_grads
            and code[r0, 0] == LEAF
            and code[r1, 0] == LEAF
            and code[r2, 0] == LEAF
            and code[r3, 0] == LEAF
        ):
            continue  # input rows, whose gradient nobody wants
        for t in range(0, members.size, 4):
            i0, i1, i2, i3, b0, b1, b2, b3 = tile(members, code, t)
            w00, w01, w02, w03 = weights4(uvals, args, b0 + q)
            w10, w11, w12, w13 = weights4(uvals, args, b1 + q)
            w20, w21, w22, w23 = weights4(uvals, args, b2 + q)
            w30, w31, w32, w33 = weights4(uvals, args, b3 + q)
            for j in range(lanes):
                g0, g1, g2, g3 = grads[i0, j], grads[i1, j], grads[i2, j], grads[i3, j]
                grads[r0, j] += g0 * w00 + g1 * w10 + g2 * w20 + g3 * w30
                grads[r1, j] += g0 * w01 + g1 * w11 + g2 * w21 + g3 * w31
                grads[r2, j] += g0 * w02 + g1 * w12 + g2 * w22 + g3 * w32
                grads[r3, j] += g0 * w03 + g1 * w13 + g2 * w23 + g3 * w33
    group_rows_back(members, code, args, grads, uvals, lanes, input_grads, rows - rows % 4)


@njit(cache=True, error_model="numpy", inline="always")
def inputs_only(code, args, start, rows):
    """Whether the rows args[start : start + rows] are all inputs (leaves of the varying program)."""
    for q in range(rows):
        if code[args[start + q], 0] != LEAF:
            return False
    return True


@lanes_back
def first_layer_back(members, code, args, vals, grads, uvals, ugrads, lanes):
    """group_back for a group on one to three input rows whose gradients nobody wants (a
    first layer): per tile one pass, masking g on the fly where a relu is fused (nothing is
    stored, so nothing stops the loop vectorising) and summing it for the biases and times
    each row for the weights: sixteen sums at most, in one pass where group_back's way takes
    a masking pass per neuron and a pass per row."""
    first = members[0]
    start0, rows = code[first, 1], code[first, 3]
    ra = args[start0]
    rb = args[start0 + 1] if rows > 1 else ra  # (a row repeated when there are fewer: its sums unused)
    rc = args[start0 + 2] if rows > 2 else ra
    for t in range(0, members.size, 4):
        i0, i1, i2, i3, b0, b1, b2, b3 = tile(members, code, t)
        f0, f1, f2, f3 = code[i0, 6] == 0, code[i1, 6] == 0, code[i2, 6] == 0, code[i3, 6] == 0  # no relu
        t0 = t1 = t2 = t3 = 0.0  # Σ g, for the biases
        sa0 = sa1 = sa2 = sa3 = sb0 = sb1 = sb2 = sb3 = sc0 = sc1 = sc2 = sc3 = 0.0  # Σ g·x, rows a, b, c
        for j in range(lanes):
            g0 = grads[i0, j] if f0 or vals[i0, j] > 0.0 else 0.0  # d relu = 1[x > 0]: out > 0 there
            g1 = grads[i1, j] if f1 or vals[i1, j] > 0.0 else 0.0
            g2 = grads[i2, j] if f2 or vals[i2, j] > 0.0 else 0.0
            g3 = grads[i3, j] if f3 or vals[i3, j] > 0.0 else 0.0
            xa, xb, xc = vals[ra, j], vals[rb, j], vals[rc, j]
            t0 += g0
            t1 += g1
            t2 += g2
            t3 += g3
            sa0 += g0 * xa
            sa1 += g1 * xa
            sa2 += g2 * xa
            sa3 += g3 * xa
            sb0 += g0 * xb
            sb1 += g1 * xb
            sb2 += g2 * xb
            sb3 += g3 * xb
            sc0 += g0 * xc
            sc1 += g1 * xc
            sc2 += g2 * xc
            sc3 += g3 * xc
        for i, total in ((i0, t0), (i1, t1), (i2, t2), (i3, t3)):
            uniform_back(i, code, args, uvals, ugrads, rows, total)
        for q, s0, s1, s2, s3 in ((0, sa0, sa1, sa2, sa3), (1, sb0, sb1, sb2, sb3), (2, sc0, sc1, sc2, sc3)):
            if q < rows:
                ugrads[-args[b0 + q] - 1] += s0
                ugrads[-args[b1 + q] - 1] += s1
                ugrads[-args[b2 + q] - 1] += s2
                ugrads[-args[b3 + q] - 1] += s3


@njit(cache=True, error_model="numpy", inline="always")
def mask4(i0, i1, i2, i3, code, vals, grads, lanes):
    """Four DOT rows' gradients masked by 1[out > 0] where the row holds its relu (out > 0
    exactly where the DOT's x > 0), and each one's sum over the lanes."""
    return (
        mask(i0, code, vals, grads, lanes),
        mask(i1, code, vals, grads, lanes),
        mask(i2, code, vals, grads, lanes),
        mask(i3, code, vals, grads, lanes),
    )


@njit(cache=True, error_model="numpy", inline="always")
def mask(i, code, vals, grads, lanes):
    """One row a pass: masking and summing four rows in one pass measured more than twice as
    slow (numba cannot tell LLVM the rows do not overlap, and it gave up vectorising)."""
    g, out = grads[i], vals[i]
    total = 0.0
    if code[i, 6] == 0:  # no relu
        for j in range(lanes):
            total += g[j]
        return total
    for j in range(lanes):
        g[j] = g[j] if out[j] > 0.0 else 0.0
        total += g[j]
    return total


@njit(cache=True, error_model="numpy", inline="always")
def uniform_back(i, code, args, uvals, ugrads, rows, total):
    """DOT i's uniform × uniform pairs (after its first `rows`), given Σ_lanes g: each gets the
    other times Σ g (the way back of uniform_part)."""
    start, n = code[i, 1], code[i, 2] // 2
    for m in range(start + rows, start + n):
        rx, rw = -args[m] - 1, -args[m + n] - 1
        ugrads[rx] += total * uvals[rw]
        ugrads[rw] += total * uvals[rx]


@njit(cache=True, error_model="numpy", inline="always")
def add4(ugrads, args, m, s0, s1, s2, s3):
    """Add four sums to the uniform slots args[m … m + 3] refer to."""
    ugrads[-args[m] - 1] += s0
    ugrads[-args[m + 1] - 1] += s1
    ugrads[-args[m + 2] - 1] += s2
    ugrads[-args[m + 3] - 1] += s3


@lanes_back
def group_rows_back(members, code, args, grads, uvals, lanes, input_grads, q0):
    """The rows read by a group of DOTs (a layer's neurons), from its q0-th on, get Σ_k g_k·w_k,
    four neurons at a time: one pass over a row's lanes for every four neurons, not one for each."""
    first = members[0]
    start, rows = code[first, 1], code[first, 3]
    for q in range(q0, rows):
        r = args[start + q]
        if code[r, 0] == LEAF and not input_grads:  # an input row, whose gradient nobody wants
            continue
        k = 0
        while k + 4 <= members.size:
            a0, a1, a2, a3 = members[k], members[k + 1], members[k + 2], members[k + 3]
            w0 = uvals[-args[weights(code, a0) + q] - 1]
            w1 = uvals[-args[weights(code, a1) + q] - 1]
            w2 = uvals[-args[weights(code, a2) + q] - 1]
            w3 = uvals[-args[weights(code, a3) + q] - 1]
            for j in range(lanes):
                grads[r, j] += grads[a0, j] * w0 + grads[a1, j] * w1 + grads[a2, j] * w2 + grads[a3, j] * w3
            k += 4
        while k < members.size:
            a0 = members[k]
            w0 = uvals[-args[weights(code, a0) + q] - 1]
            for j in range(lanes):
                grads[r, j] += grads[a0, j] * w0
            k += 1


@njit(cache=True, error_model="numpy", nogil=True, fastmath={"contract"})
def forward_lanes(code, args, groups, vals, uvals, tmp, lanes):
    """Evaluate the varying program on the first `lanes` lanes (inputs are filled in; tiles
    run on all the lanes, see the top).

    Products may fuse into multiply-adds (fastmath "contract"): the last bit may differ."""
    for i in range(code.shape[0]):
        k, ra, rb = code[i, 0], code[i, 1], code[i, 2]
        if k == DOT:
            if code[i, 7] == 0:
                dot_lanes(i, ra, rb // 2, code[i, 3], code[i, 8], args, vals, uvals, lanes, code[i, 6] != 0)
            elif code[i, 5] > 0:  # a tiled group's first DOT: the whole group (the others skip)
                members = groups[code[i, 4] : code[i, 4] + code[i, 5]]
                group_forward(members, code, args, vals, uvals, lanes)  # on all the lanes: see the top
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
        elif ARITY[k] == 1:
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
            else:  # POW, POWC
                for j in range(lanes):
                    out[j] = x[j] ** y[j]


@njit(cache=True, error_model="numpy", nogil=True, fastmath={"reassoc", "contract"})
def backward_lanes(code, args, groups, vals, grads, uvals, ugrads, tmp, lanes, input_grads):
    """Reverse sweep of the varying program on the first `lanes` lanes (tiles on all of
    them, see the top); uniform operands' gradients summed into ugrads.

    Sums over lanes may be reassociated and products fused into multiply-adds (fastmath
    "reassoc", "contract") so that they vectorise: the last bits may differ from a plain sum.
    """
    for i in range(code.shape[0] - 1, -1, -1):
        k, ra, rb = code[i, 0], code[i, 1], code[i, 2]
        if k == DOT:
            if code[i, 7] != 0:  # a tiled group's DOT: the whole group goes at its first DOT
                if code[i, 5] > 0:
                    members = groups[code[i, 4] : code[i, 4] + code[i, 5]]  # all lanes: see the top
                    group_back(members, code, args, vals, grads, uvals, ugrads, vals.shape[1], input_grads)
                continue
            in_group, relu_mask = code[i, 5] != 0, code[i, 6] != 0
            dot_lanes_back(
                i,
                ra,
                rb // 2,
                code[i, 3],
                args,
                vals,
                grads,
                uvals,
                ugrads,
                lanes,
                in_group,
                relu_mask,
            )
            if code[i, 5] > 0:  # the group's first DOT: every member's gradient is complete
                members = groups[code[i, 4] : code[i, 4] + code[i, 5]]
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
        elif ARITY[k] == 1:
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


# -- a compiled graph's whole forward and backward, one call each ------------------------
#
# The rows of a batch are cut into chunks that fit in cache: vals has shape (chunks,
# slots, L') with L' >= L = counts[0], chunk c holding rows c·L … c·L + counts[c] - 1
# as its first lanes. Uniform gradients are summed per chunk, then over chunks.
#
# The chunks run one after the other, unless a graph was compiled with threads=True:
# the entry points take `threads`, None or True, and numba compiles the two apart
# (it drops the branch that an argument's type rules out: `threads is None`), so
# the thread-parallel sweeps (prange) are compiled only for a program that asks
# for them. Threads are not the default: on a shared 2-core machine a busy core
# made a threaded step 3-270 times slower than the serial one, for a gain of at
# most 1.8 times on an idle machine (benchmarks/parallel.py).


@njit(cache=True, error_model="numpy", inline="always")
def forward_chunk(c, code, args, groups, vals, uvals, tmp, in_rows, x, counts):
    n = counts[c]
    rows = x[c * counts[0] : c * counts[0] + n]  # every chunk but the last holds counts[0] rows
    for col in range(in_rows.size):
        row = vals[c, in_rows[col]]
        for j in range(n):
            row[j] = rows[j, col]
    forward_lanes(code, args, groups, vals[c], uvals, tmp[c], n)


@njit(cache=True, error_model="numpy", inline="always")
def backward_chunk(
    c, code, args, groups, vals, grads, uvals, ugrads, tmp, counts, out_ref, seed, input_grads
):
    n = counts[c]
    g = grads[c].reshape(grads.shape[1] * grads.shape[2])  # the chunk's slots, lanes and padding: one run
    for j in range(g.size):
        g[j] = 0.0
    ugrads[c, :] = 0.0
    if out_ref >= 0:
        for j in range(n):
            grads[c, out_ref, j] = seed
    else:  # an output that does not depend on the inputs: the same seed on every lane
        ugrads[c, -out_ref - 1] = seed * n
    backward_lanes(code, args, groups, vals[c], grads[c], uvals, ugrads[c], tmp[c], n, input_grads)


@njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def forward_chunks_parallel(code, args, groups, vals, uvals, tmp, in_rows, x, counts):
    for c in prange(vals.shape[0]):
        forward_chunk(c, code, args, groups, vals, uvals, tmp, in_rows, x, counts)


@njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def backward_chunks_parallel(
    code, args, groups, vals, grads, uvals, ugrads, tmp, counts, out_ref, seed, input_grads
):
    for c in prange(vals.shape[0]):
        backward_chunk(
            c, code, args, groups, vals, grads, uvals, ugrads, tmp, counts, out_ref, seed, input_grads
        )


@jit
def forward_pass(
    uop, ua, ub, uargs, ufirst, uvals, vcode, vargs, vgroups, vals, tmp, in_rows, x, counts, threads
):
    """Run the uniform program once (its parameters in place); inputs into the lanes, run them."""
    forward(uop, ua, ub, uargs, uvals, ufirst)
    if threads is None:
        for c in range(vals.shape[0]):
            forward_chunk(c, vcode, vargs, vgroups, vals, uvals, tmp, in_rows, x, counts)
    else:
        forward_chunks_parallel(vcode, vargs, vgroups, vals, uvals, tmp, in_rows, x, counts)


@jit
def backward_pass(
    uop, ua, ub, uargs, ufirst, uvals, ugrads, vcode, vargs, vgroups, vals, grads, chunk_ugrads, tmp, counts,
    threads, out_ref, seed, input_grads,
):  # fmt: skip
    """Seed the output on every lane, sweep the lanes back (inputs' rows too if input_grads),
    sum the chunks' uniform gradients, then sweep the uniform program back."""
    if threads is None:
        for c in range(vals.shape[0]):
            backward_chunk(
                c, vcode, vargs, vgroups, vals, grads, uvals, chunk_ugrads, tmp, counts, out_ref, seed,
                input_grads,
            )  # fmt: skip
    else:
        backward_chunks_parallel(
            vcode, vargs, vgroups, vals, grads, uvals, chunk_ugrads, tmp, counts, out_ref, seed, input_grads
        )
    copy(ugrads, chunk_ugrads[0], ugrads.size)
    for c in range(1, vals.shape[0]):
        ugrads += chunk_ugrads[c]
    backward(uop, ua, ub, uargs, uvals, ugrads, ufirst)


@jit
def run_forward(prog, layout, work, uniform, store, threads, x, out):
    """The parameters from the store, then forward_pass; the outputs written to out, row by
    row (out[j·n + k] is row j's output k, of n)."""
    ufirst, uop, ua, ub, uargs, vcode, vargs, vgroups, in_rows, p_uslots, p_idx, outs = program_parts(prog)
    vals, _, tmp, _, counts = workspace_parts(layout, work)
    params_in(prog, p_uslots, p_idx, uniform[0], store[0])
    forward_pass(
        uop, ua, ub, uargs, ufirst, uniform[0], vcode, vargs, vgroups, vals, tmp, in_rows, x, counts, threads
    )
    n, L = outs.size, counts[0]  # every chunk but the last holds L rows
    for k in range(n):
        r = outs[k]
        for c in range(vals.shape[0]):
            for j in range(counts[c]):
                out[(c * L + j) * n + k] = vals[c, r, j] if r >= 0 else uniform[0, -r - 1]


@jit
def run_backward(prog, layout, work, uniform, store, threads, x_grad, out_ref, seed):
    """backward_pass, then the parameters' gradients added into the store and the inputs'
    written to x_grad (empty: the inputs' gradients are not wanted)."""
    ufirst, uop, ua, ub, uargs, vcode, vargs, vgroups, in_rows, p_uslots, p_idx, outs = program_parts(prog)
    vals, grads, tmp, chunk_ugrads, counts = workspace_parts(layout, work)
    uvals, ugrads, p_grad = uniform[0], uniform[1], store[1]
    input_grads = x_grad.shape[0] > 0
    backward_pass(
        uop, ua, ub, uargs, ufirst, uvals, ugrads, vcode, vargs, vgroups, vals, grads, chunk_ugrads, tmp,
        counts, threads, out_ref, seed, input_grads,
    )  # fmt: skip
    grads_out(prog, p_uslots, p_idx, ugrads, p_grad)
    if not input_grads:
        return
    L = counts[0]  # rows per chunk (the last may hold fewer)
    for c in range(vals.shape[0]):
        rows = x_grad[c * L : c * L + counts[c]]
        for col in range(in_rows.size):
            row = grads[c, in_rows[col]]
            for j in range(counts[c]):
                rows[j, col] = row[j]


@njit(cache=True, error_model="numpy", inline="always")
def one_step(prog, parts, ws, uniform, store, threads, rule, opt, settings, state, x, counts, lanes, lr, t):
    """One training step on x's first `lanes` rows (counts[c] of them in chunk c): forward,
    backward seeded with 1/lanes, the optimizer's step t at lr. Returns the step's loss, the
    output's mean over the lanes. (parts: program_parts; ws: vals, grads, tmp, chunk_ugrads.)"""
    ufirst, uop, ua, ub, uargs, vcode, vargs, vgroups, in_rows, p_uslots, p_idx, outs = parts
    vals, grads, tmp, chunk_ugrads = ws
    uvals, ugrads = uniform[0], uniform[1]
    # out_ref and input_grads in the types run_backward passes (int64, a bool that is not a literal
    # False), so that numba compiles backward_pass once for both, not twice
    out_ref, input_grads = np.int64(outs[0]), x.shape[0] < 0
    in_place = opt.shape[0] > 1
    if not in_place:  # (in place, the caller reads them once for all the steps)
        params_in(prog, p_uslots, p_idx, uvals, store[0])
    forward_pass(
        uop, ua, ub, uargs, ufirst, uvals, vcode, vargs, vgroups, vals, tmp, in_rows, x, counts, threads
    )
    if out_ref >= 0:
        total = 0.0
        for c in range(vals.shape[0]):
            for j in range(counts[c]):
                total += vals[c, out_ref, j]
        loss = total / lanes
    else:
        loss = uvals[-out_ref - 1]
    backward_pass(
        uop, ua, ub, uargs, ufirst, uvals, ugrads, vcode, vargs, vgroups, vals, grads, chunk_ugrads, tmp,
        counts, threads, out_ref, 1.0 / lanes, input_grads,
    )  # fmt: skip
    if in_place:
        data, grad, idx = uvals, ugrads, opt[1]
    else:  # the graph's gradients are the step's: the optimizer's other parameters get none
        data, grad, idx = store[0], store[1], opt[0]
        for c in range(idx.size):
            grad[idx[c]] = 0.0
        for c in range(p_idx.size):
            grad[p_idx[c]] = ugrads[p_uslots[c]]
    apply_rule(rule, data, grad, idx, state, lr, settings, t)
    return loss


@jit
def train_steps(prog, layout, work, uniform, store, threads, rule, opt, settings, state, x, lrs, t0, losses):
    """len(lrs) training steps: forward, zero the gradients, backward (mean over rows), update.

    The update is an optimizer's rule, settings and state (see apply_rule), with step k's
    learning rate lrs[k] and its step number t0 + k + 1; opt[0] holds the store indices
    of the parameters it updates. losses gets each step's mean output (the graph's one output).

    When every one of those parameters is one of the graph's (opt[1] gives each one's
    uniform slot; opt has one row otherwise), the steps update the uniform values in
    place and the store sees the parameters, and the last step's gradients, at the end.
    """
    parts = program_parts(prog)
    vals, grads, tmp, chunk_ugrads, counts = workspace_parts(layout, work)
    ws = (vals, grads, tmp, chunk_ugrads)
    p_uslots, p_idx = parts[9], parts[10]
    in_place = opt.shape[0] > 1
    if in_place:  # once for all the steps (otherwise each step reads the store)
        params_in(prog, p_uslots, p_idx, uniform[0], store[0])
    for step in range(lrs.size):
        losses[step] = one_step(
            prog, parts, ws, uniform, store, threads, rule, opt, settings, state, x, counts, x.shape[0],
            lrs[step], t0 + step + 1,
        )  # fmt: skip
    if in_place:  # the parameters and the last step's gradients, back in the store
        params_out(prog, p_uslots, p_idx, uniform[0], uniform[1], store[0], store[1])


@jit
def train_batches(
    prog, layout, work, uniform, store, threads, rule, opt, settings, state, x, order, batch, lrs, t0, losses
):  # fmt: skip
    """train_steps on mini-batches: step k on x's rows order[k·batch : (k + 1)·batch], gathered
    into the lanes here (the workspace was made for `batch` rows). The last step takes the
    rows left: fewer, its loss and gradient the mean over them (PyTorch's DataLoader,
    drop_last=False); the lanes past them are set to 0 first, as a workspace made for
    that many rows would hold (see the top: the padding lanes are 0).

    (The whole-batch steps keep their own loop, without the gathering: running them through
    this one, with an empty order, made them 5-10 % slower at 100 rows, benchmarks/train_moons.py.)
    """
    parts = program_parts(prog)
    vals, grads, tmp, chunk_ugrads, full = workspace_parts(layout, work)
    ws = (vals, grads, tmp, chunk_ugrads)
    p_uslots, p_idx = parts[9], parts[10]
    picked = np.empty((batch, x.shape[1]))  # a step's rows, in the order of its lanes
    counts = np.empty_like(full)  # the rows of each chunk this step (the last may have fewer)
    in_place = opt.shape[0] > 1
    if in_place:  # once for all the steps (otherwise each step reads the store)
        params_in(prog, p_uslots, p_idx, uniform[0], store[0])
    for step in range(lrs.size):
        copy(counts, full, full.size)
        first = step * batch
        lanes = min(batch, order.size - first)
        for j in range(lanes):
            copy(picked[j], x[order[first + j]], x.shape[1])
        if lanes < batch:  # the last, short batch: its chunks' rows and padding lanes
            for c in range(counts.size):
                counts[c] = max(0, min(full[0], lanes - c * full[0]))
                vals[c, :, counts[c] :] = 0.0
        losses[step] = one_step(
            prog, parts, ws, uniform, store, threads, rule, opt, settings, state, picked, counts, lanes,
            lrs[step], t0 + step + 1,
        )  # fmt: skip
    if in_place:  # the parameters and the last step's gradients, back in the store
        params_out(prog, p_uslots, p_idx, uniform[0], uniform[1], store[0], store[1])


# -- a compiled graph's arrays, packed ------------------------------------------------------
#
# Each array a numba call takes costs about 65 ns to unpack, and a training step is a
# few microseconds: so the entry points above take a graph's arrays packed into a few
# (built by compiled.py) and cut them back into views here.

PROGRAM_PARTS = 11  # uop, ua, ub, uargs, vcode, vargs, vgroups, in_rows, p_uslots, p_idx, outs


@njit(cache=True, error_model="numpy", inline="always")
def program_parts(prog):
    """A graph's int32 arrays out of prog: prog[0] is the uniform program's first computed
    slot, prog[3 : 4 + PROGRAM_PARTS] where each part starts (and the last ends). (prog[1]
    and prog[2], see params_in, say where the parameters are one run.)"""
    o = prog[3 : 4 + PROGRAM_PARTS]
    vcode = prog[o[4] : o[5]].reshape((o[5] - o[4]) // 9, 9)  # program.COLUMNS
    u = prog.view(np.uint32)  # the uniform program's slots are never negative: unsigned, numba
    return (  # indexes with them without checking for a negative index first (half the time)
        prog[0],
        u[o[0] : o[1]], u[o[1] : o[2]], u[o[2] : o[3]], u[o[3] : o[4]],
        vcode, prog[o[5] : o[6]], prog[o[6] : o[7]],
        prog[o[7] : o[8]], prog[o[8] : o[9]], prog[o[9] : o[10]], prog[o[10] : o[11]],
    )  # fmt: skip


@njit(cache=True, error_model="numpy", inline="always")
def copy(dst, src, n):
    """dst[:n] = src[:n], as a plain loop (a slice assignment checks for overlap first)."""
    for c in range(n):
        dst[c] = src[c]


@njit(cache=True, error_model="numpy", inline="always")
def params_in(prog, p_uslots, p_idx, uvals, p_data):
    """The parameters' values from the store into the uniform values: one run when they are
    in the same order in both (prog[1] their first in the store, prog[2] in uvals; -1 if not)."""
    if prog[1] >= 0:
        copy(uvals[prog[2] :], p_data[prog[1] :], p_idx.size)
    else:
        for c in range(p_uslots.size):
            uvals[p_uslots[c]] = p_data[p_idx[c]]


@njit(cache=True, error_model="numpy", inline="always")
def params_out(prog, p_uslots, p_idx, uvals, ugrads, p_data, p_grad):
    """The parameters' values and gradients from the uniform ones back into the store."""
    if prog[1] >= 0:
        copy(p_data[prog[1] :], uvals[prog[2] :], p_idx.size)
        copy(p_grad[prog[1] :], ugrads[prog[2] :], p_idx.size)
    else:
        for c in range(p_uslots.size):
            p_data[p_idx[c]] = uvals[p_uslots[c]]
            p_grad[p_idx[c]] = ugrads[p_uslots[c]]


@njit(cache=True, error_model="numpy", inline="always")
def grads_out(prog, p_uslots, p_idx, ugrads, p_grad):
    """The parameters' gradients from the uniform ones added into the store's."""
    if prog[1] >= 0:
        grad, run = p_grad[prog[1] :], ugrads[prog[2] :]
        for c in range(p_idx.size):
            grad[c] += run[c]
    else:
        for c in range(p_uslots.size):
            p_grad[p_idx[c]] += ugrads[p_uslots[c]]


@njit(cache=True, error_model="numpy", inline="always")
def workspace_parts(layout, work):
    """A workspace's arrays out of work, by layout = (chunks, varying slots, lane stride,
    uniform slots, rows of each chunk…): vals, grads, tmp, the chunks' uniform gradients
    and the rows of each chunk."""
    chunks, n, stride, nu = layout[0], layout[1], layout[2], layout[3]
    size, tmp_size = chunks * n * stride, chunks * 4 * stride
    vals = work[:size].reshape(chunks, n, stride)
    grads = work[size : 2 * size].reshape(chunks, n, stride)
    tmp = work[2 * size : 2 * size + tmp_size].reshape(chunks, 4, stride)
    chunk_ugrads = work[2 * size + tmp_size : 2 * size + tmp_size + chunks * nu].reshape(chunks, nu)
    return vals, grads, tmp, chunk_ugrads, layout[4 : 4 + chunks]


cache.key_functions(globals())  # numba caches these under the key of all their sources
