"""Each op's local derivatives once more, as Value operations: gradients that are graphs.

`ops.TABLE` gives ∂out/∂operand as a float, which the sweeps multiply through. Here the
same derivatives are built from Values, entry by entry in the table's order, so that a
sweep that multiplies and adds Values (`microgradx.modes`) returns derivatives that are
graphs themselves: they print, draw, compile and differentiate again.

A rule takes the node and its operands, `rule(out, *operands)`, and returns one entry per
operand that takes a gradient: a Value, or a plain number where the derivative is the
same everywhere (1, -1, 0: the sweeps then add, negate or skip, with no node made).

A derivative that is piecewise constant is a node, never a number read at build time:
relu′ = step(x), abs′ = sign(x) (ops STEP and SIGN, whose own derivative is 0), so a
gradient graph compiled once is right at every input it is run on. (Where the float sweeps
pass nothing through a dead relu, not even an infinite adjoint, the graph multiplies by
step(x) = 0: an infinite adjoint there gives nan.)

Where the float rules take a limit at a domain edge (ops._dpowc at c = 0 or ±inf, and at
x = -inf; ops._dpow_dy at x**y = 0 and at 0**0), these rules use the plain formula
(c·x**(c-1), x**y·ln x), which gives nan there, or the same number: tests/test_modes.py
holds each rule equal to its float rule at many points inside the domains.
"""

from __future__ import annotations

from collections.abc import Callable

from .engine import Value
from .ops import Op, covers

Local = Value | float  # a local derivative: a node, or a number the same everywhere


def _powc(out: Value, x: Value, c: Value) -> tuple[Local]:
    """d(x**c)/dx = c·x**(c-1) for the constant c; no node at all for c = 0, 1, 2 - the
    common squares and roots make one or two."""
    e = c.data
    if e == 0.0:
        return (0.0,)  # x**0 = 1 everywhere
    if e == 1.0:
        return (1.0,)
    return ((x if e == 2.0 else x ** (e - 1.0)) * e,)


def _dot(out: Value, *args: Value) -> tuple[Local, ...]:
    n = len(args) // 2
    return args[n:] + args[:n]  # ∂/∂xᵢ = wᵢ, ∂/∂wᵢ = xᵢ: the operands themselves, no new node


# fmt: off
RULES: dict[int, Callable[..., tuple[Local, ...]]] = {
    Op.ADD:     lambda o, x, y: (1.0, 1.0),
    Op.SUB:     lambda o, x, y: (1.0, -1.0),
    Op.MUL:     lambda o, x, y: (y, x),
    Op.DIV:     lambda o, x, y: (1.0 / y, -(o / y)),
    Op.POW:     lambda o, x, y: (y * x ** (y - 1.0), o * x.log()),
    Op.POWC:    _powc,
    Op.NEG:     lambda o, x: (-1.0,),
    Op.EXP:     lambda o, x: (o,),
    Op.LOG:     lambda o, x: (1.0 / x,),
    Op.TANH:    lambda o, x: (1.0 - o * o,),
    Op.SIGMOID: lambda o, x: (o * (1.0 - o),),
    Op.RELU:    lambda o, x: (x.step(),),
    Op.ABS:     lambda o, x: (x.sign(),),
    Op.SQRT:    lambda o, x: (0.5 / o,),
    Op.SIN:     lambda o, x: (x.cos(),),
    Op.COS:     lambda o, x: (-x.sin(),),
    Op.SUM:     lambda o, *xs: (1.0,) * len(xs),
    Op.DOT:     _dot,
    Op.STEP:    lambda o, x: (0.0,),
    Op.SIGN:    lambda o, x: (0.0,),
}
# fmt: on

covers("core/graph_rules.py RULES", RULES)


def local(node: Value) -> tuple[Local, ...]:
    """The node's local derivatives as Values or numbers, one per operand that takes a gradient."""
    return RULES[node.op](node, *node.operands)
