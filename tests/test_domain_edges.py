"""Every op's value and local derivatives at the edges of its domain.

The edges: 0 and -0, ±inf, nan, negative bases, whole and fractional exponents, and
results that overflow or underflow. Each row of EDGES gives an op's operands, its value and
its derivative with respect to each operand, derived by hand: the formula where it is
defined, else the limit or the convention the row names (the reason is part of the row).
Every row is checked on the op table's float rules, on both scalar sweeps and on compiled
lanes (numba and the NumPy tier), and, where PyTorch is installed, against torch's float64
autograd: rows where PyTorch gives something else say what it gives and why we differ.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest

import microgradx
from microgradx import Op, Value
from microgradx.core.ops import TABLE
from microgradx.kernels import calls, jit, numpy_calls

INF, NAN = math.inf, math.nan


class Edge(NamedTuple):
    """op(*args) = value, with ∂value/∂args[k] = grads[k]; POWC's last argument is its constant
    exponent, which takes no gradient. torch: (value, grads) where PyTorch differs, else None."""

    op: Op
    args: tuple[float, ...]
    value: float
    grads: tuple[float, ...]
    why: str
    torch: tuple[float, tuple[float, ...]] | None = None


# fmt: off
EDGES = [
    # x ** y with y a Value: ∂/∂x = y·x^(y-1), ∂/∂y = x^y·ln x
    Edge(Op.POW, (0.0, -1.0), INF, (-INF, -INF),
         "∂/∂x = -1·0^-2 = -inf; ∂/∂y = 0^y·ln 0 → inf·(-inf) = -inf, the limit as x → 0+ (issue 14)"),
    Edge(Op.POW, (0.0, -0.5), INF, (-INF, -INF), "as at y = -1: -0.5·0^-1.5 = -inf; inf·ln 0 = -inf"),
    Edge(Op.POW, (0.0, -2.0), INF, (-INF, -INF), "-2·0^-3 = -inf; inf·ln 0 = -inf"),
    Edge(Op.POW, (-0.0, -1.0), -INF, (-INF, INF),
         "(-0)^-1 = -inf (an odd power keeps the sign of -0): -1·(-0)^-2 = -inf; -inf·ln 0 = +inf"),
    Edge(Op.POW, (-0.0, -2.0), INF, (INF, -INF), "-2·(-0)^-3 = -2·(-inf) = inf; inf·ln 0 = -inf"),
    Edge(Op.POW, (0.0, -INF), INF, (-INF, -INF), "0^-inf = inf: -inf·0^-inf = -inf; inf·ln 0 = -inf"),
    Edge(Op.POW, (0.0, 0.0), 1.0, (0.0, 0.0),
         "x^0 = 1 for every x: ∂/∂x = 0; 0^y jumps at y = 0 (1 there, 0 above): no derivative, "
         "0 by PyTorch's convention"),
    Edge(Op.POW, (0.0, 2.0), 0.0, (0.0, 0.0),
         "2·0^1 = 0; 0^y = 0 for every y > 0, so ∂/∂y = 0 (the formula's 0·ln 0 is nan)"),
    Edge(Op.POW, (0.0, 0.5), 0.0, (INF, 0.0), "0.5·0^-0.5 = inf, the limit from the right; 0^y = 0 near 0.5"),
    Edge(Op.POW, (0.0, 1.0), 0.0, (1.0, 0.0), "1·0^0 = 1; 0^y = 0 near 1"),
    Edge(Op.POW, (0.0, NAN), NAN, (NAN, NAN), "a nan exponent: everything nan"),
    Edge(Op.POW, (0.0, INF), 0.0, (0.0, 0.0),
         "x^inf = 0 for every |x| < 1: ∂/∂x = 0 (the formula: inf·0^inf = inf·0 = nan); 0^y = 0 near inf",
         torch=(0.0, (NAN, 0.0))),
    Edge(Op.POW, (0.5, INF), 0.0, (0.0, 0.0),
         "x^inf = 0 for every |x| < 1: ∂/∂x = 0; 0·ln 0.5 = 0", torch=(0.0, (NAN, 0.0))),
    Edge(Op.POW, (2.0, -INF), 0.0, (0.0, 0.0),
         "x^-inf = 0 for every |x| > 1: ∂/∂x = 0 (the formula: -inf·0 = nan); 0·ln 2 = 0",
         torch=(0.0, (NAN, 0.0))),
    Edge(Op.POW, (2.0, INF), INF, (INF, INF), "inf·2^inf = inf; inf·ln 2 = inf"),
    Edge(Op.POW, (1.0, INF), 1.0, (INF, 0.0),
         "1^inf = 1 (IEEE); x^inf jumps at 1 from 0 to inf: inf·1 = inf; 1·ln 1 = 0"),
    Edge(Op.POW, (INF, -1.0), 0.0, (-0.0, 0.0),
         "-1·inf^-2 = -0; inf^y = 0 for every y < 0, so ∂/∂y = 0 (the formula: 0·ln inf = nan)",
         torch=(0.0, (-0.0, NAN))),
    Edge(Op.POW, (INF, 0.0), 1.0, (0.0, INF), "x^0 = 1: ∂/∂x = 0; 1·ln inf = inf"),
    Edge(Op.POW, (INF, 0.5), INF, (0.0, INF), "0.5·inf^-0.5 = 0; inf·ln inf = inf"),
    Edge(Op.POW, (-2.0, 3.0), -8.0, (12.0, NAN),
         "3·(-2)² = 12; a negative base: x^y is real at whole y only, so ∂/∂y is nan"),
    Edge(Op.POW, (-2.0, 2.0), 4.0, (-4.0, NAN), "2·(-2) = -4; ∂/∂y nan (a negative base)"),
    Edge(Op.POW, (-2.0, 0.5), NAN, (NAN, NAN), "(-2)^0.5 is not real: nan, and so its derivatives"),
    Edge(Op.POW, (-INF, 0.5), INF, (NAN, NAN),
         "IEEE's pow(-inf, 0.5) = inf, but x^0.5 is not real for x < 0: ∂/∂x nan as at every x < 0 "
         "(the formula: 0.5·(-inf)^-0.5 = 0, which PyTorch gives)", torch=(INF, (0.0, NAN))),
    Edge(Op.POW, (-INF, 2.0), INF, (-INF, NAN), "2·(-inf) = -inf; ∂/∂y nan (a negative base)"),
    Edge(Op.POW, (-INF, 3.0), -INF, (INF, NAN), "3·(-inf)² = inf; ∂/∂y nan (a negative base)"),
    Edge(Op.POW, (-1.0, INF), 1.0, (INF, NAN),
         "IEEE: (-1)^inf = 1, inf·1 = inf; ∂/∂y nan (a negative base)"),
    Edge(Op.POW, (NAN, 0.0), 1.0, (0.0, NAN),
         "nan^0 = 1 (IEEE): ∂/∂x = 0 (x^0 = 1 everywhere); 1·ln nan = nan"),
    Edge(Op.POW, (1.0, NAN), 1.0, (NAN, 0.0), "1^nan = 1 (IEEE): nan·1^(nan-1) = nan; 1·ln 1 = 0"),
    Edge(Op.POW, (2.0, 0.0), 1.0, (0.0, math.log(2.0)), "x^0 = 1: 0; 1·ln 2"),
    Edge(Op.POW, (1e300, 2.0), INF, (2e300, INF), "overflow: 2·1e300; inf·ln 1e300 = inf"),
    Edge(Op.POW, (1e-300, 2.0), 0.0, (2e-300, 0.0), "underflow: 2·1e-300; 0·ln 1e-300 = 0"),
    # x ** c with c a number: ∂/∂x = c·x^(c-1)
    Edge(Op.POWC, (0.0, -1.0), INF, (-INF,), "-1·0^-2 = -inf"),
    Edge(Op.POWC, (-0.0, -1.0), -INF, (-INF,), "-1·(-0)^-2 = -inf: -1/x² < 0 on both sides"),
    Edge(Op.POWC, (0.0, 0.5), 0.0, (INF,), "0.5·0^-0.5 = inf, the limit from the right"),
    Edge(Op.POWC, (-0.0, 0.5), 0.0, (INF,),
         "IEEE: pow(-0, 0.5) = +0 and pow(-0, -0.5) = +inf: 0.5·inf = inf, as at +0. PyTorch computes "
         "x**0.5 as sqrt(x), and sqrt(-0) = -0, so 0.5/sqrt(-0) = -inf", torch=(-0.0, (-INF,))),
    Edge(Op.POWC, (-0.0, -0.5), INF, (-INF,),
         "IEEE: pow(-0, -0.5) = +inf; -0.5·(-0)^-1.5 = -0.5·inf = -inf. PyTorch computes x**-0.5 as "
         "1/sqrt(x) = 1/-0 = -inf", torch=(-INF, (-INF,))),
    Edge(Op.POWC, (0.0, 0.0), 1.0, (0.0,), "x^0 = 1 for every x: 0"),
    Edge(Op.POWC, (INF, 0.0), 1.0, (0.0,), "x^0 = 1 for every x: 0"),
    Edge(Op.POWC, (NAN, 0.0), 1.0, (0.0,), "x^0 = 1 for every x, nan too (IEEE): 0"),
    Edge(Op.POWC, (-INF, 0.5), INF, (NAN,),
         "IEEE's pow(-inf, 0.5) = inf, but x^0.5 is not real for x < 0: nan as at every x < 0. "
         "PyTorch's sqrt(-inf) is nan", torch=(NAN, (NAN,))),
    Edge(Op.POWC, (-INF, -0.5), 0.0, (NAN,),
         "IEEE's pow(-inf, -0.5) = 0; the derivative nan as at every x < 0 (the formula: -0.5·0 = -0, "
         "which PyTorch gives, with 1/sqrt(-inf) = nan for the value)", torch=(NAN, (-0.0,))),
    Edge(Op.POWC, (-INF, 2.0), INF, (-INF,), "2·(-inf) = -inf"),
    Edge(Op.POWC, (-INF, 3.0), -INF, (INF,), "3·(-inf)² = inf"),
    Edge(Op.POWC, (-INF, -1.0), -0.0, (-0.0,), "-1·(-inf)^-2 = -0"),
    Edge(Op.POWC, (0.5, INF), 0.0, (0.0,),
         "x^inf = 0 for every |x| < 1: 0 (the formula: inf·0 = nan)", torch=(0.0, (NAN,))),
    Edge(Op.POWC, (2.0, -INF), 0.0, (0.0,),
         "x^-inf = 0 for every |x| > 1: 0 (the formula: -inf·0 = nan)", torch=(0.0, (NAN,))),
    Edge(Op.POWC, (1e200, 2.0), INF, (2e200,), "overflow: 2·1e200"),
    Edge(Op.POWC, (-1e200, 3.0), -INF, (INF,), "overflow of an odd power: -inf; 3·1e400 = inf"),
    Edge(Op.POWC, (-8.0, 1 / 3), NAN, (NAN,), "a fractional power of a negative number is not real"),
    # the other binary ops
    Edge(Op.ADD, (INF, -INF), NAN, (1.0, 1.0), "inf - inf = nan; d(x+y) = dx + dy whatever the value"),
    Edge(Op.ADD, (NAN, 1.0), NAN, (1.0, 1.0), "d(x+y) = dx + dy whatever the value"),
    Edge(Op.SUB, (INF, INF), NAN, (1.0, -1.0), "d(x-y) = dx - dy whatever the value"),
    Edge(Op.MUL, (0.0, INF), NAN, (INF, 0.0), "0·inf = nan; d(xy) = y dx + x dy: inf and 0"),
    Edge(Op.MUL, (-0.0, 3.0), -0.0, (3.0, -0.0), "y and x"),
    Edge(Op.DIV, (1.0, 0.0), INF, (INF, -INF), "1/y = inf; -x/y² = -inf"),
    Edge(Op.DIV, (1.0, -0.0), -INF, (-INF, -INF), "1/-0 = -inf; -x/y² < 0 on both sides of 0: -inf"),
    Edge(Op.DIV, (-1.0, 0.0), -INF, (INF, INF), "1/0 = inf; -x/y² = 1/0 = inf"),
    Edge(Op.DIV, (0.0, 0.0), NAN, (INF, NAN), "0/0 = nan; 1/y = inf; -x/y² = 0/0 = nan"),
    Edge(Op.DIV, (1.0, INF), 0.0, (0.0, -0.0), "1/inf = 0; -1/inf² = -0"),
    Edge(Op.DIV, (INF, 2.0), INF, (0.5, -INF), "1/2; -inf/4 = -inf"),
    Edge(Op.DIV, (INF, INF), NAN, (0.0, NAN), "inf/inf = nan; 1/inf = 0; -inf/inf² = nan"),
    # unary ops
    Edge(Op.NEG, (INF,), -INF, (-1.0,), "d(-x) = -dx whatever the value"),
    Edge(Op.NEG, (NAN,), NAN, (-1.0,), "d(-x) = -dx whatever the value"),
    Edge(Op.EXP, (INF,), INF, (INF,), "d eˣ = eˣ"),
    Edge(Op.EXP, (-INF,), 0.0, (0.0,), "d eˣ = eˣ"),
    Edge(Op.EXP, (710.0,), INF, (INF,), "overflow: e^710 > 1.8e308"),
    Edge(Op.EXP, (NAN,), NAN, (NAN,), "nan"),
    Edge(Op.LOG, (0.0,), -INF, (INF,), "ln 0 = -inf; 1/x → inf as x → 0+"),
    Edge(Op.LOG, (-0.0,), -INF, (-INF,), "1/-0 = -inf: -0 as the limit from below (tests/test_numerics.py)"),
    Edge(Op.LOG, (INF,), INF, (0.0,), "1/inf = 0"),
    Edge(Op.LOG, (-1.0,), NAN, (-1.0,),
         "ln of a negative number is nan; the rule 1/x = -1 is left as it is, as PyTorch: the nan value "
         "already marks the slot"),
    Edge(Op.LOG, (NAN,), NAN, (NAN,), "nan"),
    Edge(Op.SQRT, (0.0,), 0.0, (INF,), "1/(2√x) → inf as x → 0+"),
    Edge(Op.SQRT, (-0.0,), -0.0, (-INF,), "IEEE: √-0 = -0, and 1/(2·-0) = -inf, as for log at -0"),
    Edge(Op.SQRT, (INF,), INF, (0.0,), "1/(2·inf) = 0"),
    Edge(Op.SQRT, (-1.0,), NAN, (NAN,), "√-1 is not real; 1/(2·nan) = nan"),
    Edge(Op.SQRT, (-INF,), NAN, (NAN,), "not real"),
    Edge(Op.TANH, (INF,), 1.0, (0.0,), "1 - tanh² = 0"),
    Edge(Op.TANH, (-INF,), -1.0, (0.0,), "1 - tanh² = 0"),
    Edge(Op.TANH, (NAN,), NAN, (NAN,), "nan"),
    Edge(Op.SIGMOID, (INF,), 1.0, (0.0,), "σ(1 - σ) = 0"),
    Edge(Op.SIGMOID, (-INF,), 0.0, (0.0,), "σ(1 - σ) = 0"),
    Edge(Op.SIGMOID, (-800.0,), 0.0, (0.0,), "e^-800 underflows to 0: σ = 0, σ(1 - σ) = 0"),
    Edge(Op.SIGMOID, (NAN,), NAN, (NAN,), "nan"),
    Edge(Op.RELU, (0.0,), 0.0, (0.0,), "no derivative at 0: 0, the subgradient PyTorch takes too"),
    Edge(Op.RELU, (-0.0,), 0.0, (0.0,), "as at 0 (PyTorch's relu keeps the sign: -0)", torch=(-0.0, (0.0,))),
    Edge(Op.RELU, (INF,), INF, (1.0,), "1[x > 0]"),
    Edge(Op.RELU, (-INF,), 0.0, (0.0,), "1[x > 0]"),
    Edge(Op.RELU, (NAN,), NAN, (0.0,),
         "the mask 1[x > 0] is 0 at nan, so a nan stops at a relu as inf does at a dead one; PyTorch "
         "passes the gradient through (its test is out <= 0)", torch=(NAN, (1.0,))),
    Edge(Op.ABS, (0.0,), 0.0, (0.0,), "no derivative at 0: sign 0 = 0, the subgradient PyTorch takes too"),
    Edge(Op.ABS, (-0.0,), 0.0, (0.0,), "as at 0"),
    Edge(Op.ABS, (INF,), INF, (1.0,), "sign inf = 1"),
    Edge(Op.ABS, (-INF,), INF, (-1.0,), "sign -inf = -1"),
    Edge(Op.ABS, (NAN,), NAN, (NAN,), "sign nan = nan (PyTorch's sgn(nan) is 0)", torch=(NAN, (0.0,))),
    Edge(Op.SIN, (INF,), NAN, (NAN,), "sin and cos of inf are nan"),
    Edge(Op.SIN, (0.0,), 0.0, (1.0,), "cos 0 = 1"),
    Edge(Op.COS, (-INF,), NAN, (NAN,), "sin and cos of -inf are nan"),
    Edge(Op.COS, (0.0,), 1.0, (-0.0,), "-sin 0 = -0"),
    # relu's and abs's derivatives as nodes (gradient graphs, modes.py): flat, derivative 0
    Edge(Op.STEP, (2.5,), 1.0, (0.0,), "1[x > 0]; flat on each side of 0"),
    Edge(Op.STEP, (0.0,), 0.0, (0.0,), "relu's mask at 0: 0, so relu′ = step at every x"),
    Edge(Op.STEP, (-0.0,), 0.0, (0.0,), "as at 0"),
    Edge(Op.STEP, (INF,), 1.0, (0.0,), "1[inf > 0]"),
    Edge(Op.STEP, (-INF,), 0.0, (0.0,), "1[-inf > 0]"),
    Edge(Op.STEP, (NAN,), 0.0, (0.0,), "0 at nan, as relu's mask is"),
    Edge(Op.SIGN, (-2.5,), -1.0, (0.0,), "flat on each side of 0"),
    Edge(Op.SIGN, (0.0,), 0.0, (0.0,), "sign 0 = 0, abs′(0) as the sweeps take it"),
    Edge(Op.SIGN, (INF,), 1.0, (0.0,), "sign inf = 1"),
    Edge(Op.SIGN, (-INF,), -1.0, (0.0,), "sign -inf = -1"),
    Edge(Op.SIGN, (NAN,), NAN, (0.0,), "sign nan = nan, as abs′ is (PyTorch's sign(nan) is 0)",
         torch=(0.0, (0.0,))),
    # any number of operands
    Edge(Op.SUM, (INF, -INF, 1.0), NAN, (1.0, 1.0, 1.0), "d(Σ x) = Σ dx whatever the value"),
    Edge(Op.DOT, (INF, 1.0, 0.0, 2.0), NAN, (0.0, 2.0, INF, 1.0), "inf·0 = nan; ∂/∂xᵢ = wᵢ, ∂/∂wᵢ = xᵢ"),
]
# fmt: on


def edge_id(edge: Edge) -> str:
    return f"{TABLE[edge.op].name}{edge.args}"


def leaves_of(edge: Edge) -> list[float]:
    """The operands that take a gradient: all but POWC's constant exponent."""
    return list(edge.args[:-1] if edge.op == Op.POWC else edge.args)


def build(edge: Edge, leaves: list[Value]) -> Value:
    """The op on the leaves through the public API."""
    op = edge.op
    if op == Op.POWC:
        return leaves[0] ** edge.args[-1]
    if op == Op.SUM:
        return Value.sum(leaves)
    if op == Op.DOT:
        n = len(leaves) // 2
        return Value.dot(leaves[:n], leaves[n:])
    if TABLE[op].arity == 1:
        return -leaves[0] if op == Op.NEG else getattr(leaves[0], TABLE[op].name)()
    x, y = leaves
    return {Op.ADD: x + y, Op.SUB: x - y, Op.MUL: x * y, Op.DIV: x / y, Op.POW: x**y}[op]


def assert_edge(edge: Edge, value: float, grads, value_want=None, grads_want=None) -> None:
    value_want = edge.value if value_want is None else value_want
    grads_want = edge.grads if grads_want is None else grads_want
    np.testing.assert_allclose(value, value_want, rtol=1e-15, err_msg=f"{edge_id(edge)}: {edge.why}")
    if value_want == 0.0:  # the value's zero keeps its sign (a gradient's is lost adding to +0)
        assert math.copysign(1.0, value) == math.copysign(1.0, value_want), f"{edge_id(edge)}: {value}"
    np.testing.assert_allclose(
        np.asarray(grads, dtype=float), grads_want, rtol=1e-15, err_msg=f"∂{edge_id(edge)}: {edge.why}"
    )


def test_every_computed_op_has_edges():
    assert {edge.op for edge in EDGES} == {info.op for info in TABLE if info.arity != 0}


@pytest.mark.parametrize("edge", EDGES, ids=edge_id)
def test_the_op_tables_float_rules(edge):
    info = TABLE[edge.op]
    value = info.forward(*edge.args)
    assert_edge(edge, value, info.derivative(value, *edge.args))


@pytest.mark.parametrize("engine", ["python", "numba"])
@pytest.mark.parametrize("edge", EDGES, ids=edge_id)
def test_the_scalar_sweeps(edge, engine):
    leaves = [Value(x) for x in leaves_of(edge)]
    out = build(edge, leaves)
    out.backward(engine=engine)
    assert_edge(edge, out.data, [v.grad for v in leaves])


@pytest.mark.parametrize("tier", [calls, numpy_calls], ids=["numba", "numpy"])
@pytest.mark.parametrize("edge", EDGES, ids=edge_id)
def test_compiled_lanes(edge, tier, monkeypatch):
    """Two equal rows of lanes: each has the edge's value and gradients."""
    monkeypatch.setattr(jit, "kernels_now", lambda: tier)
    leaves = [Value(0.0) for _ in leaves_of(edge)]
    step = microgradx.compile(build(edge, leaves), inputs=leaves, optimize=False)
    values = step.forward(np.array([leaves_of(edge)] * 2))
    grads = step.backward(reduction="sum")
    for row in range(2):
        assert_edge(edge, values[row], grads[row])


TORCH_OPS = {
    Op.ADD: lambda t, c: t[0] + t[1],
    Op.SUB: lambda t, c: t[0] - t[1],
    Op.MUL: lambda t, c: t[0] * t[1],
    Op.DIV: lambda t, c: t[0] / t[1],
    Op.POW: lambda t, c: t[0] ** t[1],
    Op.POWC: lambda t, c: t[0] ** c,
    Op.NEG: lambda t, c: -t[0],
    Op.STEP: lambda t, c: torch_step(t[0]),
}


def torch_step(x):
    """1[x > 0] with a derivative (0) in PyTorch, which has no step function that takes one."""
    import torch

    return torch.relu(torch.sign(x))  # (torch.sign(nan) is 0)


@pytest.mark.parametrize("edge", EDGES, ids=edge_id)
def test_against_pytorch(edge):
    """PyTorch's float64 autograd gives the row's value and derivatives, or the ones the row
    says it gives instead. (Skipped where PyTorch is not installed.)"""
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in leaves_of(edge)]
    n = len(ts) // 2
    rules = {
        **TORCH_OPS,
        Op.SUM: lambda t, c: torch.stack(t).sum(),
        Op.DOT: lambda t, c: (torch.stack(t[:n]) * torch.stack(t[n:])).sum(),
    }
    rule = rules.get(edge.op) or (lambda t, c: getattr(torch, TABLE[edge.op].name)(t[0]))
    out = rule(ts, edge.args[-1])
    out.backward()
    grads = [0.0 if t.grad is None else t.grad.item() for t in ts]
    value, want = edge.torch or (edge.value, edge.grads)
    assert_edge(edge, out.item(), grads, value, want)
