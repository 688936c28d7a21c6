"""Every op in the table against central finite differences, in every sweep.

Parametrised over `ops.TABLE`: a new op without its kernel branches, or with a
wrong derivative, fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import central_difference, sweep_grads

import microgradx
from microgradx import Op, Value
from microgradx.core.ops import FORWARD, TABLE

# Points inside each op's domain, away from kinks (relu and abs at 0).
POINTS = {
    Op.LOG: [(0.7,), (2.5,)],
    Op.SQRT: [(0.3,), (4.0,)],
    Op.POW: [(1.7, 2.3), (0.4, -1.5)],
    Op.POWC: [(1.7, 3.0), (-1.3, 2.0), (0.6, -0.5)],
    Op.DIV: [(1.5, -0.7), (-2.0, 3.0)],
    Op.RELU: [(0.8,), (-0.6,)],
    Op.ABS: [(0.8,), (-0.6,)],
    Op.SUM: [(0.5, -1.5, 2.0), (3.0,)],
    Op.DOT: [(0.5, -1.5, 2.0, 0.25), (1.0, 3.0)],
}
DEFAULT = {1: [(-0.9,), (0.4,), (1.3,)], 2: [(-0.9, 0.6), (1.4, 2.1)]}
COMPUTED = [info for info in TABLE if info.arity != 0]


CASES = [
    pytest.param(info.op, point, id=f"{info.name}{point}")
    for info in COMPUTED
    for point in POINTS.get(info.op, DEFAULT.get(info.arity, []))
]


def build(op: Op, leaves: list[Value]) -> Value:
    """The op applied to leaves through the public API (POWC's exponent as a number)."""
    if op == Op.POWC:
        return leaves[0] ** leaves[1].data
    if op == Op.SUM:
        return Value.sum(leaves)
    if op == Op.DOT:
        n = len(leaves) // 2
        return Value.dot(leaves[:n], leaves[n:])
    name = TABLE[op].name
    if TABLE[op].arity == 1:
        return -leaves[0] if op == Op.NEG else getattr(leaves[0], name)()
    x, y = leaves
    return {Op.ADD: x + y, Op.SUB: x - y, Op.MUL: x * y, Op.DIV: x / y, Op.POW: x**y}[op]


def test_every_op_has_cases():
    covered = {c.values[0] for c in CASES}
    assert covered == {info.op for info in COMPUTED}


@pytest.mark.parametrize("op,point", CASES)
@pytest.mark.parametrize("engine", ["numba", "python"])
def test_gradient_matches_finite_differences(op, point, engine):
    leaves = [Value(p) for p in point]
    out = build(op, leaves)
    assert out.op == op
    out.backward(engine=engine)
    expected = central_difference(lambda xs: build(op, [Value(x) for x in xs]).data, list(point))
    if op == Op.POWC:
        expected[1] = 0.0  # a constant exponent: the Value passed in is only read for its number
    got = [v.grad for v in leaves]
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("op,point", CASES)
def test_batched_sweep_matches_scalar(op, point):
    """Each lane of a batched sweep gives what a scalar sweep gives for that row."""
    leaves = [Value(p) for p in point]
    out = build(op, leaves)
    inputs = leaves if op != Op.POWC else leaves[:1]
    step = microgradx.compile(out, inputs=inputs)
    rows = np.array([point, [p * 0.9 for p in point], [p * 1.1 for p in point]])[:, : len(inputs)]
    batch = step.forward(rows)
    batch_grad = step.backward(reduction="sum")
    for r, row in enumerate(rows):
        assert step.forward(row) == pytest.approx(batch[r], rel=1e-14)
        assert step.backward() == pytest.approx(batch_grad[r], rel=1e-14)


@pytest.mark.parametrize("op,point", CASES)
def test_python_forward_matches_kernel_forward(op, point):
    """The op table's Python rule (used while building) and the kernel branch agree."""
    out = build(op, [Value(p) for p in point])
    tape, data, _ = sweep_grads(out)
    assert data[tape.outputs[0]] == pytest.approx(out.data, rel=1e-14)


@pytest.mark.parametrize(
    "expr,expected",
    [
        (lambda: Value(0.0).log(), -np.inf),
        (lambda: Value(-1.0).log(), np.nan),
        (lambda: Value(-4.0).sqrt(), np.nan),
        (lambda: Value(1.0) / 0, np.inf),
        (lambda: Value(-1.0) / 0, -np.inf),
        (lambda: Value(0.0) / 0, np.nan),
        (lambda: Value(1000.0).exp(), np.inf),
        (lambda: Value(0.0) ** -1, np.inf),
        (lambda: Value(-8.0) ** (1 / 3), np.nan),
        (lambda: Value(np.inf).sin(), np.nan),
        (lambda: Value(1e10) ** 100, np.inf),
    ],
)
def test_domain_errors_follow_numpy(expr, expected):
    """Out-of-domain inputs give NumPy's inf or nan in .data (and in the kernels), never raise."""
    v = expr()
    with np.errstate(all="ignore"):
        assert np.array_equal(v.data, expected, equal_nan=True)
    v.backward()  # compiled kernels agree and do not raise either
    tape, data, _ = sweep_grads(v)
    assert np.array_equal(data[tape.outputs[0]], expected, equal_nan=True)


def test_forward_table_covers_every_computed_op():
    assert all(FORWARD[info.op] is not None for info in COMPUTED)


EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 3.0, -3.0, 1e-300, 1e300, -1e300, 710.0, -710.0]
EDGES += [np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("info", COMPUTED, ids=lambda info: info.name)
def test_array_rules_equal_the_float_rules_on_edge_values(info):
    """numpy_kernels' rules (ops.ARRAY_RULES) are the table's float rules on whole arrays: the same
    value and derivatives on 0, ±0, ±inf, nan, huge and tiny operands, every pair of them."""
    if info.arity == -1:  # SUM and DOT: written out in the sweeps, tested in test_numpy_kernels.py
        assert info.op not in microgradx.core.ops.ARRAY_RULES
        return
    forward, derivative = microgradx.core.ops.ARRAY_RULES[info.op]
    cases = [(x,) for x in EDGES] if info.arity == 1 else [(x, y) for x in EDGES for y in EDGES]
    columns = [np.array(column) for column in zip(*cases)]
    with np.errstate(all="ignore"):
        out = forward(*columns)
        local = [np.broadcast_to(d, out.shape) for d in derivative(out, *columns)]
    for j, case in enumerate(cases):
        o = info.forward(*case)
        np.testing.assert_allclose(out[j], o, rtol=1e-15, err_msg=f"{info.name}{case}")
        for d_array, d_float in zip(local, info.derivative(o, *case), strict=True):
            np.testing.assert_allclose(d_array[j], d_float, rtol=1e-15, err_msg=f"∂{info.name}{case}")


def test_every_compiled_tier_squares_as_x_times_x():
    """x ** 2 compiled is x·x, correctly rounded, on every tier: the lane sweeps, the scalar
    sweeps (Value.backward(engine="numba")) and the NumPy tier; its gradient 2x. Tried on
    numbers where a call of pow rounds x ** 2.0 otherwise (Python's, as micrograd computes it:
    the reference sweep keeps it), as the kernels did before they squared."""
    from microgradx.kernels import calls, jit, numpy_calls

    rng = np.random.default_rng(5)
    pool = (rng.standard_normal(400_000) * np.exp(rng.uniform(-20, 20, 400_000))).tolist()
    odd = np.array([v for v in pool if v**2.0 != v * v][:40])
    assert odd.size == 40
    x = Value(0.0)
    square = x**2
    for kernels in (calls, numpy_calls):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(jit, "kernels_now", lambda k=kernels: k)
            step = microgradx.compile(square, inputs=[x])
            assert np.array_equal(step.forward(odd[:, None]), odd * odd)
            assert np.array_equal(step.backward(reduction="sum")[:, 0], 2.0 * odd)
    for v in odd[:5].tolist():  # the scalar sweeps: the tape's own forward and backward in numba
        y = Value(v)
        tape, data, grad = sweep_grads(y**2 + y, engine="numba")
        assert data[tape.outputs[0]] == v * v + v
        assert grad[tape.leaves[0]] == 2.0 * v + 1.0
