"""The scalar sweeps: forward and reverse over a tape, one float per slot.

The lesson's algorithm in numba, the same loop as `core/reference.py` (which a reader meets
first), with one branch per op code (see core/ops.py) in place of the op table's rules:
the forward rule in `forward`, the chain rule in `backward`,

    grad[operand] += grad[slot] * ∂slot/∂operand

Leaves and constants are written into `vals` before a forward sweep; the sweeps never touch
them. Floats follow NumPy (`error_model="numpy"`): 1/0 is inf, never an exception inside
numba. Each op's rule on one float (unary, dunary, sigmoid, dpow_base…) is here too: the
lane sweeps (lanes.py) inline the same rules.

Equals: core/reference.py's forward and backward, slot by slot, to the last bit but in two
places, to rounding there: a sum of squares added in partial sums (squares_from) and x ** 2
taken as x·x (power). Value.backward(engine="numba") against engine="python":
tests/test_ops.py (test_python_forward_matches_kernel_forward,
test_gradient_matches_finite_differences, test_every_compiled_tier_squares_as_x_times_x),
tests/test_random_graphs.py (test_compiled_sweep_equals_reference_sweep) and
tests/test_losses.py (test_an_l2_penalty_over_many_parameters_equals_the_reference_sweep).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.ops import covers
from . import cache
from .codes import (
    ABS,
    ADD,
    CONST,
    COS,
    DIV,
    DOT,
    EXP,
    LOG,
    MUL,
    NEG,
    POW,
    POWC,
    RELU,
    SIGMOID,
    SIGN,
    SIN,
    SQRT,
    STEP,
    SUB,
    SUM,
    TANH,
    dense,
    inline,
    kernel,
)  # fmt: skip

# The ops the branches below handle (the checklist's entry for this file, see core/ops.py).
SCALAR_OPS = (ADD, SUB, MUL, DIV, POW, POWC, NEG, EXP, LOG, TANH, SIGMOID, RELU, ABS, SQRT, SIN, COS,
              SUM, DOT, STEP, SIGN)  # fmt: skip
covers("kernels/scalar.py SCALAR_OPS", SCALAR_OPS)


# -- scalar helpers shared by both kinds of sweep -------------------------------------


@inline
def sigmoid(x):
    # 1 / (1 + e^-x), written so that e^(±x) never overflows
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@inline
def relu(x):
    return x if x > 0.0 or x != x else 0.0


@inline
def power(x, c):
    """x ** c; a square as x·x, correctly rounded (one rounding) and 20-30 times faster than a
    call of pow, which rounds x ** 2.0 otherwise for about one x in 1,000 (NumPy's vectorised
    power for 3 in 100). NumPy and PyTorch take x ** 2 as x·x too. Every compiled tier squares
    so (core/ops.py's _array_pow for the NumPy tier); the reference sweep keeps Python's
    x ** c, as micrograd does, and equals them to the last bit but in those cases."""
    return x * x if c == 2.0 else x**c


@inline
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
    return c * power(x, c - 1.0)


@inline
def dpow_exponent(x, out):
    # d(x^y)/dy = x^y·ln x (ops._dpow_dy): nan for x < 0 or nan; 0 where x^y = 0 (the limit of
    # x^y·ln x) and at 0^0 (PyTorch's choice); at 0^y = ±inf (y < 0), ±inf·ln 0 = ∓inf
    if not x >= 0.0:
        return np.nan
    if out == 0.0 or (x == 0.0 and out == 1.0):
        return 0.0
    return out * math.log(x)  # ln 0 = -inf


@inline
def sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0 * x)  # 0 at 0, nan at nan


@inline
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
    return sign(x)  # SIGN (the last unary op: see SCALAR_OPS)


@inline
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


# -- a sum of squares: an L2 penalty's Σ p² -----------------------------------------------------

SQUARES_FROM = 64  # the shortest run of squares that squares_from looks for


@inline
def squares_from(args, start, n):
    """Where the DOT of n pairs at args[start] ends in a run of squares: the first pair s such
    that pairs s … n − 1 are x·x with x the consecutive slots x_s, x_s + 1, … (an L2 penalty's
    Σ p², losses.l2, the parameters in the store's order); n where it does not, or where the
    DOT is shorter than SQUARES_FROM pairs. One pass over the pairs, then the run takes no
    gathers: its sum vectorises (sum_of_squares), and its gradient."""
    if n < SQUARES_FROM or args[start + n - 1] != args[start + 2 * n - 1]:
        return n
    s = 0 if args[start] == args[start + n] else 1
    for k in range(1, n):
        x = np.int64(args[start + k])
        square = x == args[start + n + k]
        follows = x == np.int64(args[start + k - 1]) + 1
        s = max(s, k if square and not follows else (0 if square else k + 1))
    return s if n - s >= SQUARES_FROM else n


def squares_runs(op, a, b, args) -> np.ndarray:
    """squares_from for every DOT of a tape at once, in NumPy, shape (len(op),) uint32: where
    DOT i's run of squares starts (its n pairs where it has none; 0 for other ops). Found once,
    when a compiled graph's program is packed (layout.pack_program), so that each sweep reads a
    number where it scanned the DOT's 2n slots: 18-22 µs a sweep, forward and backward, on
    784-128-10's penalty of 101,770 squares. Equals squares_from on each DOT (tests/test_losses.py:
    test_squares_from_finds_the_trailing_run_of_squares, and on random runs, jumps and products
    test_squares_runs_equals_squares_from_on_runs_jumps_and_products)."""
    squares = np.zeros(op.size, np.uint32)
    dots = np.flatnonzero(op == DOT)
    starts, ns = a[dots].astype(np.int64), b[dots].astype(np.int64) // 2
    squares[dots] = ns
    long = ns >= SQUARES_FROM
    ends_square = np.zeros(dots.size, np.bool_)
    ends_square[long] = args[starts[long] + ns[long] - 1] == args[starts[long] + 2 * ns[long] - 1]
    for i, start, n in zip(dots[ends_square], starts[ends_square], ns[ends_square], strict=True):
        x, y = args[start : start + n].astype(np.int64), args[start + n : start + 2 * n]
        k = np.arange(n)
        follows = np.concatenate([[False], x[1:] == x[:-1] + 1])  # pair k's slot is pair k - 1's + 1
        # as squares_from: a run can start at a square that does not follow, or after a product
        s = int(np.max(np.where(x == y, np.where(follows, 0, k), k + 1)))
        squares[i] = s if n - s >= SQUARES_FROM else n
    return squares


@dense
def sum_of_squares(x):
    """Σ x_k², in partial sums that vectorise (fastmath "reassoc"). Every term is >= 0, so the
    order changes only the rounding (relative error under n·ε), never cancels: a sum of squares
    is the one DOT the scalar sweeps do not add in the graph's order (every other DOT keeps
    it). The penalty of 784-128-10's 101,770 parameters: 26 µs forward against 86 in order."""
    total = 0.0
    for k in range(x.size):
        total += x[k] * x[k]
    return total


# -- scalar sweeps: one value per slot -------------------------------------------------


@kernel
def forward(op, a, b, args, squares, vals, first=0):
    """Evaluate every computed slot of the tape, in order (slots before `first` are all
    leaves and constants: nothing to compute there). squares: squares_runs of the tape, or
    empty (each DOT then looks for its run of squares itself, squares_from)."""
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
            s = np.int64(squares[i]) if squares.size else squares_from(args, a[i], n)  # n: no run of squares
            total = 0.0
            for m in range(a[i], a[i] + s):
                total += vals[args[m]] * vals[args[m + n]]
            if s < n:
                x0 = args[a[i] + s]
                total += sum_of_squares(vals[x0 : x0 + n - s])
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
            vals[i] = power(vals[a[i]], vals[b[i]])
        else:
            vals[i] = unary(k, vals[a[i]])


@kernel
def backward(op, a, b, args, squares, vals, grads, first=0):
    """Reverse sweep: push each slot's gradient to its operands (chain rule), down to `first`
    (squares: as forward's)."""
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
            s = np.int64(squares[i]) if squares.size else squares_from(args, a[i], n)
            if s < n:  # the run of squares: d(Σ x²) = Σ 2x dx, slot after slot
                x0 = args[a[i] + s]
                x_run, g_run = vals[x0 : x0 + n - s], grads[x0 : x0 + n - s]
                for j in range(n - s):
                    g_run[j] += 2.0 * g * x_run[j]
            for m in range(a[i], a[i] + s):
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


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
