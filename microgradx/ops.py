"""The op table: every operation microgradx knows, listed once.

Each entry gives the op's code, name, drawing symbol and arity, then its forward
formula and its local derivatives side by side, as plain Python on floats. These
Python rules compute `Value.data` while a graph is built and drive the reference
sweep (`microgradx.reference`); the numba kernels (`microgradx.kernels`) hold one
branch per op with the same formulas.

Floats follow NumPy's rules, never Python's exceptions: 1/0 is inf, log(0) is -inf,
log(-1) and sqrt(-1) are nan, exp(1000) is inf.

Codes are fixed (cached compiled kernels and saved tapes refer to them): append new
ops at the end, never renumber.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Callable, NamedTuple

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
    except OverflowError:
        return INF
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


def _relu(x: float) -> float:
    return x if x > 0.0 or x != x else 0.0  # relu(nan) is nan, as np.maximum gives


_sin = _safe(math.sin)
_cos = _safe(math.cos)


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0 * x)


def _dpow_dy(x: float, out: float) -> float:
    """d(x**y)/dy = x**y · log x; 0 where x = 0 (the limit for y > 0), nan for x < 0."""
    if x > 0.0:
        return out * math.log(x)
    return 0.0 if x == 0.0 else NAN


def _dpowc(x: float, c: float) -> float:
    """d(x**c)/dx = c · x**(c-1); exactly 0 for c = 0 (x**0 is the constant 1)."""
    return 0.0 if c == 0.0 else c * _pow(x, c - 1.0)


# -- the table ---------------------------------------------------------------------------


class OpInfo(NamedTuple):
    """One op: how it is named and drawn, its forward rule and its local derivatives.

    `forward(x, y)` returns the output; `derivative(x, y, out)` returns
    (∂out/∂x, ∂out/∂y). Unary ops ignore y; leaves and constants have no rules.
    """

    op: Op
    name: str
    symbol: str
    arity: int
    forward: Callable[[float, float], float] | None
    derivative: Callable[[float, float, float], tuple[float, float]] | None


# fmt: off
TABLE: tuple[OpInfo, ...] = (
    OpInfo(Op.LEAF,    "leaf",    "",     0, None, None),
    OpInfo(Op.CONST,   "const",   "",     0, None, None),
    OpInfo(Op.ADD,     "add",     "+",    2, lambda x, y: x + y,        lambda x, y, o: (1.0, 1.0)),
    OpInfo(Op.SUB,     "sub",     "-",    2, lambda x, y: x - y,        lambda x, y, o: (1.0, -1.0)),
    OpInfo(Op.MUL,     "mul",     "*",    2, lambda x, y: x * y,        lambda x, y, o: (y, x)),
    OpInfo(Op.DIV,     "div",     "/",    2, _div,                      lambda x, y, o: (_div(1.0, y), -_div(o, y))),
    OpInfo(Op.POW,     "pow",     "**",   2, _pow,                      lambda x, y, o: (_dpowc(x, y), _dpow_dy(x, o))),
    OpInfo(Op.POWC,    "powc",    "**",   2, _pow,                      lambda x, c, o: (_dpowc(x, c), 0.0)),
    OpInfo(Op.NEG,     "neg",     "-",    1, lambda x, y: -x,           lambda x, y, o: (-1.0, 0.0)),
    OpInfo(Op.EXP,     "exp",     "exp",  1, lambda x, y: _exp(x),      lambda x, y, o: (o, 0.0)),
    OpInfo(Op.LOG,     "log",     "log",  1, lambda x, y: _log(x),      lambda x, y, o: (_div(1.0, x), 0.0)),
    OpInfo(Op.TANH,    "tanh",    "tanh", 1, lambda x, y: math.tanh(x), lambda x, y, o: (1.0 - o * o, 0.0)),
    OpInfo(Op.SIGMOID, "sigmoid", "σ",    1, lambda x, y: _sigmoid(x),  lambda x, y, o: (o * (1.0 - o), 0.0)),
    OpInfo(Op.RELU,    "relu",    "relu", 1, lambda x, y: _relu(x),     lambda x, y, o: (1.0 if x > 0.0 else 0.0, 0.0)),
    OpInfo(Op.ABS,     "abs",     "abs",  1, lambda x, y: abs(x),       lambda x, y, o: (_sign(x), 0.0)),
    OpInfo(Op.SQRT,    "sqrt",    "√",    1, lambda x, y: math.sqrt(x) if x >= 0.0 else NAN,
                                                                        lambda x, y, o: (_div(0.5, o), 0.0)),
    OpInfo(Op.SIN,     "sin",     "sin",  1, lambda x, y: _sin(x),      lambda x, y, o: (_cos(x), 0.0)),
    OpInfo(Op.COS,     "cos",     "cos",  1, lambda x, y: _cos(x),      lambda x, y, o: (-_sin(x), 0.0)),
)
# fmt: on

assert all(info.op == i for i, info in enumerate(TABLE)), "TABLE must list ops in code order"

UNARY = frozenset(info.op for info in TABLE if info.arity == 1)
BINARY = frozenset(info.op for info in TABLE if info.arity == 2)
FORWARD = [info.forward for info in TABLE]
DERIVATIVE = [info.derivative for info in TABLE]
