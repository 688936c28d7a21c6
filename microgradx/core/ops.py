"""The op table: every operation microgradx knows, listed once.

Each entry gives the op's code, name, drawing symbol and arity, then its forward
formula and its local derivatives side by side, as plain Python on floats. These
Python rules compute `Value.data` while a graph is built and drive the reference
sweep (`reference.py`); the numba kernels (`kernels/scalar.py`, `kernels/lanes.py`) hold
one branch per op with the same formulas. The checklist at the end names every place
an op's rules are written.

Floats follow NumPy's rules, never Python's exceptions: 1/0 is inf, log(0) is -inf,
log(-1) and sqrt(-1) are nan, exp(1000) is inf.

Codes are fixed (cached compiled kernels and saved tapes refer to them): append new
ops at the end, never renumber.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import IntEnum
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

INF = math.inf
NAN = math.nan


class Op(IntEnum):
    """Op codes: the vocabulary shared by engine, tape, kernels and viz."""

    LEAF = 0  # a user's Value: an input or a parameter
    CONST = 1  # a number that appeared in an expression, like the 2 in x * 2
    ADD = 2
    SUB = 3
    MUL = 4
    DIV = 5
    POW = 6  # x ** y, gradient to both
    POWC = 7  # x ** c with c a constant, gradient to x only
    NEG = 8
    EXP = 9
    LOG = 10
    TANH = 11
    SIGMOID = 12
    RELU = 13
    ABS = 14
    SQRT = 15
    SIN = 16
    COS = 17
    SUM = 18  # x1 + x2 + … + xn in one node
    DOT = 19  # x1·w1 + … + xn·wn in one node, operands (x1 … xn, w1 … wn)
    STEP = 20  # 1 if x > 0 else 0: relu's derivative, a node of a gradient graph (microgradx.modes)
    SIGN = 21  # 1, 0 or -1 as x > 0, = 0, < 0: abs's derivative, likewise


# -- forward formulas with NumPy semantics --------------------------------------------


def _div(x: float, y: float) -> float:
    if y != 0.0:
        return x / y
    if x != x or x == 0.0:
        return NAN
    return math.copysign(INF, x) * math.copysign(1.0, y)


def _pow(x: float, y: float) -> float:
    try:
        r = x**y
    except ZeroDivisionError:  # 0 ** negative
        return math.copysign(INF, x) if y == int(y) and int(y) % 2 else INF
    except OverflowError:  # |x ** y| too large: nan for x < 0 and a fractional y (complex, as NumPy
        if x < 0.0 and not float(y).is_integer():  # says), negative for x < 0 and an odd integer y
            return NAN
        return -INF if x < 0.0 and int(y) % 2 else INF
    return NAN if isinstance(r, complex) else r


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def _log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    return -INF if x == 0.0 else NAN


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # also nan for nan
    return e / (1.0 + e)


def _safe(f: Callable[[float], float]) -> Callable[[float], float]:
    """sin and cos of inf raise in Python; NumPy gives nan."""

    def g(x: float) -> float:
        return f(x) if math.isfinite(x) else NAN

    return g


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else NAN


def _relu(x: float) -> float:
    return x if x > 0.0 or x != x else 0.0  # relu(nan) is nan, as np.maximum gives


_sin = _safe(math.sin)
_cos = _safe(math.cos)


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0 * x)


def _step(x: float) -> float:
    return 1.0 if x > 0.0 else 0.0  # relu's derivative as the sweeps take it: 0 at 0 and at nan


def _dpow_dy(x: float, out: float) -> float:
    """d(x**y)/dy = x**y · ln x, from out = x**y.

    nan for x < 0 (x**y is real only at whole y) and for x nan. 0 where x**y = 0, as it is for
    every y nearby (0**y for y > 0, inf**y for y < 0: the limit of x**y · ln x, where the
    formula gives 0·∓inf = nan), and at 0**0 (0**y jumps there from 1 to 0: it has no
    derivative; 0 is PyTorch's choice too). At 0**y = ±inf (y < 0) it is ±inf · ln 0 = ∓inf,
    the limit as x → 0, as PyTorch gives.
    """
    if not x >= 0.0:
        return NAN
    if out == 0.0 or (x == 0.0 and out == 1.0):
        return 0.0
    return out * _log(x)  # ln 0 = -inf


def _dpowc(x: float, c: float) -> float:
    """d(x**c)/dx = c · x**(c-1).

    0 where x**c is constant around x: c = 0 (x**0 is 1 everywhere), and c = ±inf where
    x**c = 0 (|x| < 1 for inf, |x| > 1 for -inf; there x**(c-1) = x**c, and the formula
    gives ±inf·0 = nan). nan at x = -inf for a fractional c, as at every x < 0 (x**c is not
    real there; IEEE's pow(-inf, c), which the forward follows, is inf or 0).
    """
    if c == 0.0:
        return 0.0
    if math.isinf(c):
        p = _pow(x, c)
        return 0.0 if p == 0.0 else c * p
    if x == -INF and not float(c).is_integer():
        return NAN
    return c * _pow(x, c - 1.0)


# -- the table ---------------------------------------------------------------------------


class OpInfo(NamedTuple):
    """One op: how it is named and drawn, its forward rule and its local derivatives.

    `forward(*args)` returns the output from the operands' values;
    `derivative(out, *args)` returns ∂out/∂arg for each operand that takes a gradient
    (POWC's constant exponent takes none). arity -1 means any number of operands.
    """

    op: Op
    name: str
    symbol: str
    arity: int
    forward: Callable[..., float] | None
    derivative: Callable[..., tuple[float, ...]] | None


def _dot(*args: float) -> float:
    """Σ xᵢ·wᵢ over operands laid out as (x1 … xn, w1 … wn)."""
    n = len(args) // 2
    total = 0.0
    for i in range(n):
        total += args[i] * args[n + i]
    return total


def _ddot(out: float, *args: float) -> tuple[float, ...]:
    n = len(args) // 2
    return args[n:] + args[:n]  # ∂/∂xᵢ = wᵢ, ∂/∂wᵢ = xᵢ


def _sum(*args: float) -> float:
    total = 0.0
    for x in args:
        total += x
    return total


# fmt: off
TABLE: tuple[OpInfo, ...] = (
    OpInfo(Op.LEAF,    "leaf",    "",     0, None, None),
    OpInfo(Op.CONST,   "const",   "",     0, None, None),
    OpInfo(Op.ADD,     "add",     "+",    2, lambda x, y: x + y,   lambda o, x, y: (1.0, 1.0)),
    OpInfo(Op.SUB,     "sub",     "-",    2, lambda x, y: x - y,   lambda o, x, y: (1.0, -1.0)),
    OpInfo(Op.MUL,     "mul",     "*",    2, lambda x, y: x * y,   lambda o, x, y: (y, x)),
    OpInfo(Op.DIV,     "div",     "/",    2, _div,                 lambda o, x, y: (_div(1.0, y), -_div(o, y))),  # noqa: E501
    OpInfo(Op.POW,     "pow",     "**",   2, _pow,                 lambda o, x, y: (_dpowc(x, y), _dpow_dy(x, o))),  # noqa: E501
    OpInfo(Op.POWC,    "powc",    "**",   2, _pow,                 lambda o, x, c: (_dpowc(x, c),)),
    OpInfo(Op.NEG,     "neg",     "-",    1, lambda x: -x,         lambda o, x: (-1.0,)),
    OpInfo(Op.EXP,     "exp",     "exp",  1, _exp,                 lambda o, x: (o,)),
    OpInfo(Op.LOG,     "log",     "log",  1, _log,                 lambda o, x: (_div(1.0, x),)),
    OpInfo(Op.TANH,    "tanh",    "tanh", 1, math.tanh,            lambda o, x: (1.0 - o * o,)),
    OpInfo(Op.SIGMOID, "sigmoid", "σ",    1, _sigmoid,             lambda o, x: (o * (1.0 - o),)),
    OpInfo(Op.RELU,    "relu",    "relu", 1, _relu,                lambda o, x: (_step(x),)),
    OpInfo(Op.ABS,     "abs",     "abs",  1, abs,                  lambda o, x: (_sign(x),)),
    OpInfo(Op.SQRT,    "sqrt",    "√",    1, _sqrt,                lambda o, x: (_div(0.5, o),)),
    OpInfo(Op.SIN,     "sin",     "sin",  1, _sin,                 lambda o, x: (_cos(x),)),
    OpInfo(Op.COS,     "cos",     "cos",  1, _cos,                 lambda o, x: (-_sin(x),)),
    OpInfo(Op.SUM,     "sum",     "Σ",   -1, _sum,                 lambda o, *xs: (1.0,) * len(xs)),
    OpInfo(Op.DOT,     "dot",     "·",   -1, _dot,                 _ddot),
    OpInfo(Op.STEP,    "step",    "step", 1, _step,                lambda o, x: (0.0,)),
    OpInfo(Op.SIGN,    "sign",    "sign", 1, _sign,                lambda o, x: (0.0,)),
)
# fmt: on

assert all(info.op == i for i, info in enumerate(TABLE)), "TABLE must list ops in code order"
assert len(TABLE) == len(Op), "every op in Op needs its entry in TABLE"


def local_derivatives(op: int, out: float, args: list[float]) -> tuple[float, ...]:
    """∂out/∂arg for each operand of one node that takes a gradient, as the sweeps apply them.

    The table's derivative at the node's value `out` and its operands' values `args`,
    except that relu's derivative is a mask: on its dead side nothing passes, not even
    inf · 0 = nan, so there it is empty. The reference sweep and `Value._backward` both
    read it, so the two apply the same rule.
    """
    local = TABLE[op].derivative(out, *args)
    if op == _RELU and local[0] == 0.0:
        return ()
    return local


_RELU = int(Op.RELU)  # a plain int: cheaper to compare with than the enum member

FORWARD = [info.forward for info in TABLE]
ARITY = np.array([info.arity for info in TABLE], dtype=np.int8)  # by code, for numba loops
COMPUTED = tuple(info.op for info in TABLE if info.arity != 0)  # every op but leaves and constants
UNARY = tuple(info.op for info in TABLE if info.arity == 1)
FIXED_ARITY = tuple(info.op for info in TABLE if info.arity in (1, 2))  # all but SUM and DOT (any number)

# The codes as plain ints, which Values store: cheaper to compare and to turn into arrays.
codes = SimpleNamespace(**{op.name: int(op) for op in Op})


# -- the checklist: every place an op's rules are written -----------------------------------
#
# An op is its entry in Op and TABLE above, then one in each place below. Each place asserts,
# when its module loads, that it covers every op it should (`covers`): a new op missing from
# one of them stops the package at import with ADD_AN_OP, which names them all.
# tests/test_ops.py then checks every op, in every sweep, against finite differences, and
# tests/test_architecture.py that every place below asserts its coverage.

PLACES: tuple[tuple[str, str], ...] = (
    ("core/ops.py TABLE", "its code, name, symbol, arity, forward rule and local derivatives, side by side"),
    ("core/ops.py ARRAY_RULES", "the same two rules on NumPy arrays, for the NumPy tier (not SUM, DOT)"),
    ("core/graph_rules.py RULES", "its local derivatives as Values, for gradients that are graphs"),
    ("core/engine.py OPERATORS", "the Value method, named as in TABLE, or the operator that builds it"),
    (
        "kernels/scalar.py SCALAR_OPS",
        "its branches in the scalar sweeps: unary and dunary, or forward and backward",
    ),
    ("kernels/lanes.py LANE_OPS", "its branches in the lane sweeps, forward_lanes and backward_lanes"),
    ("viz/steps.py LOCAL", "its local derivative as the pictures write it (not SUM, DOT)"),
    ("app/expr.py FUNCTIONS", "a unary op's name as a function in the command line's expressions"),
)
ADD_AN_OP = (
    "To add an op, give it an entry in microgradx/core/ops.py's TABLE (its forward rule and derivative "
    "side by side), then one in each of: "
    + "; ".join(f"{place} ({what})" for place, what in PLACES[1:])
    + ". tests/test_ops.py then checks it against finite differences in every sweep. Or build it from "
    "the ops above (a leaky ReLU is x.relu() - 0.01 * (-x).relu())."
)


def covers(place: str, ops: object, which: tuple[Op, ...] = COMPUTED) -> None:
    """Check that the rules table `place` (one of PLACES) has an entry for each op of `which`
    (every computed op by default); else raise naming the ops missing and every place."""
    assert any(place == p for p, _ in PLACES), f"{place} is not in ops.PLACES: add it to the checklist"
    have = {int(k) for k in ops}
    missing = [TABLE[k].name for k in which if int(k) not in have]
    if missing:
        raise AssertionError(f"{place} has no rule for {', '.join(missing)}. {ADD_AN_OP}")


# -- the same rules on NumPy arrays: a whole batch's lanes at once -----------------------
#
# kernels/numpy_calls.py runs a compiled graph with these while numba compiles the kernels
# (see jit.py). Each is the float rule above, written with NumPy's ufuncs, which
# follow the same rules for inf and nan; tests/test_ops.py holds each pair equal on
# edge values. SUM and DOT, which take any number of operands, are done by the sweeps.


def _array_relu(x: np.ndarray) -> np.ndarray:
    return np.where((x > 0.0) | (x != x), x, 0.0)  # relu(nan) is nan


def _array_step(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.0, 1.0, 0.0)  # 0 at nan, as _step


def _array_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # e^(-|x|) never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _array_pow(x: np.ndarray, y: np.ndarray | float) -> np.ndarray:
    """x ** y lane by lane, a square as x·x (as the numba kernels' power, kernels/scalar.py).
    NumPy takes a power by one number 0.5 as a square root, and sqrt(-0) = -0, sqrt(-inf) =
    nan where pow gives 0 and inf (the numba kernels' answer): so a single exponent goes in
    as a whole array."""
    if np.ndim(y) == 0:
        return x * x if y == 2.0 else np.power(x, np.full(np.shape(x), y))
    return np.where(y == 2.0, x * x, np.power(x, y))


def _array_dpowc(x: np.ndarray, c: np.ndarray | float) -> np.ndarray:
    """_dpowc on arrays: c · x**(c-1); 0 for c = 0 and for c = ±inf where x**c = 0; nan at
    x = -inf for a fractional c."""
    p = _array_pow(x, c - 1.0)  # = x**c where c is infinite
    return np.select(
        [c == 0.0, np.isinf(c) & (p == 0.0), (x == -np.inf) & np.isfinite(c) & (np.floor(c) != c)],
        [0.0, 0.0, np.nan],
        c * p,
    )


def _array_dpow_dy(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """_dpow_dy on arrays: x**y · ln x; nan for x < 0; 0 where x**y = 0 and at 0**0."""
    d = out * np.log(np.where(x >= 0.0, x, 1.0))  # ln 0 = -inf
    return np.select([~(x >= 0.0), (out == 0.0) | ((x == 0.0) & (out == 1.0))], [np.nan, 0.0], d)


# op: (forward(*operands), derivative(out, *operands) -> ∂out/∂operand for each operand)
# fmt: off
ARRAY_RULES: dict[int, tuple[Callable[..., np.ndarray], Callable[..., tuple]]] = {
    Op.ADD:     (np.add,          lambda o, x, y: (1.0, 1.0)),
    Op.SUB:     (np.subtract,     lambda o, x, y: (1.0, -1.0)),
    Op.MUL:     (np.multiply,     lambda o, x, y: (y, x)),
    Op.DIV:     (np.divide,       lambda o, x, y: (1.0 / y, -o / y)),
    Op.POW:     (_array_pow,      lambda o, x, y: (_array_dpowc(x, y), _array_dpow_dy(x, o))),
    Op.POWC:    (_array_pow,      lambda o, x, c: (_array_dpowc(x, c),)),
    Op.NEG:     (np.negative,     lambda o, x: (-1.0,)),
    Op.EXP:     (np.exp,          lambda o, x: (o,)),
    Op.LOG:     (np.log,          lambda o, x: (1.0 / x,)),
    Op.TANH:    (np.tanh,         lambda o, x: (1.0 - o * o,)),
    Op.SIGMOID: (_array_sigmoid,  lambda o, x: (o * (1.0 - o),)),
    Op.RELU:    (_array_relu,     lambda o, x: (_array_step(x),)),
    Op.ABS:     (np.abs,          lambda o, x: (np.sign(x),)),
    Op.SQRT:    (np.sqrt,         lambda o, x: (0.5 / o,)),
    Op.SIN:     (np.sin,          lambda o, x: (np.cos(x),)),
    Op.COS:     (np.cos,          lambda o, x: (-np.sin(x),)),
    Op.STEP:    (_array_step,     lambda o, x: (0.0,)),
    Op.SIGN:    (np.sign,         lambda o, x: (0.0,)),
}
# fmt: on
covers("core/ops.py ARRAY_RULES", ARRAY_RULES, FIXED_ARITY)  # (the sweeps do SUM and DOT)
