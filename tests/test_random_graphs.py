"""Random graphs (hypothesis): compiled sweeps against the pure-Python reference sweep."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import KINKS

import microgradx
from microgradx import Value
from microgradx.backprop import sweep
from microgradx.core.tape import flatten

# Ops that stay finite on any finite operands of moderate size (the others are
# covered at chosen points in test_ops.py).
UNARY = ["tanh", "sigmoid", "relu", "sin", "cos", "neg", "abs", "square", "softlog", "step", "sign"]
BINARY = ["add", "sub", "mul", "div_safe", "sum3", "dot2"]


def apply(name: str, xs: list[Value]) -> Value:
    x = xs[0]
    if name == "neg":
        return -x
    if name == "square":
        return x**2
    if name == "softlog":  # log and sqrt of something positive
        return (x * x + 1).log() + (x * x + 0.5).sqrt()
    if name in UNARY:
        return getattr(x, name)()
    y = xs[1]
    if name == "add":
        return x + y
    if name == "sub":
        return x - y
    if name == "mul":
        return x * y
    if name == "div_safe":
        return x / (y * y + 1.0)
    if name == "sum3":
        return Value.sum([x, y, xs[-1]])
    return Value.dot([x, y], [xs[-1], 0.5])  # dot2


@st.composite
def graphs(draw, max_leaves: int = 4, max_ops: int = 25):
    """A random graph: leaves, then ops whose operands are any earlier nodes (sharing allowed)."""
    n_leaves = draw(st.integers(1, max_leaves))
    values = [draw(st.floats(-2, 2, allow_nan=False)) for _ in range(n_leaves)]
    nodes = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    for _ in range(draw(st.integers(1, max_ops))):
        name = draw(st.sampled_from(UNARY + BINARY))
        picks = [nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(3)]
        if draw(st.booleans()):
            picks[1] = Value.const(draw(st.floats(-3, 3, allow_nan=False)))
        nodes.append(apply(name, picks))
    out = nodes[-1]
    tape = flatten(out)
    return [tape.nodes[s] for s in tape.leaves], out  # the leaves the output depends on


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_compiled_sweep_equals_reference_sweep(graph):
    leaves, out = graph
    tape = flatten(out)
    sweep(tape, "numba")
    data, grad = tape.data, tape.grad
    sweep(tape, "python")
    np.testing.assert_allclose(data, tape.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, tape.grad, rtol=1e-10, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(graphs(), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_batched_lanes_equal_scalar_rows(graph, rows, seed):
    leaves, out = graph
    inputs = leaves[: max(1, len(leaves) - 1)]  # the last leaf (if any other) is a parameter
    step = microgradx.compile(out, inputs=inputs)
    X = np.random.default_rng(seed).uniform(-2, 2, size=(rows, len(inputs)))
    batch = step.forward(X)
    params_before = step.store.grad.copy()
    gx = step.backward(reduction="sum")
    batch_param_grad = step.store.grad - params_before
    total = np.zeros_like(batch_param_grad)
    for r in range(rows):
        assert step.forward(X[r]) == pytest.approx(batch[r], rel=1e-12, abs=1e-12)
        before = step.store.grad.copy()
        np.testing.assert_allclose(step.backward(), gx[r], rtol=1e-10, atol=1e-10)
        total += step.store.grad - before
    np.testing.assert_allclose(total, batch_param_grad, rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(graphs(max_leaves=3, max_ops=12))
def test_compiled_gradients_match_finite_differences(graph):
    leaves, out = graph
    step = microgradx.compile(out, inputs=leaves)
    x0 = np.array([v.data for v in leaves])
    step.forward(x0)
    g = step.backward()
    h = 1e-6
    for i in range(len(leaves)):
        e = np.zeros_like(x0)
        e[i] = h
        fd = (step.forward(x0 + e) - step.forward(x0 - e)) / (2 * h)
        # relu and abs have kinks, step and sign jumps: allow the rare draw that sits within h of one
        assert g[i] == pytest.approx(fd, rel=1e-4, abs=1e-4) or _near_kink(out, h)


def _near_kink(out: Value, h: float) -> bool:
    tape = flatten(out)
    sweep(tape)
    kinks = [i for i in range(len(tape)) if tape.op[i] in KINKS]
    return any(abs(tape.data[tape.a[i]]) < 1e3 * h for i in kinks)


@st.composite
def networks(draw):
    """Random layered networks: DOTs over shared rows (layers), fused relus, biases, odd widths,
    rows × rows products and uniform terms, the lane kernels' fast paths and their edges."""
    n_in = draw(st.sampled_from([1, 2, 3, 4, 6, 8]))
    xs = [Value(0.0, label=f"x{i}") for i in range(n_in)]
    h = list(xs)
    params = []
    for _ in range(draw(st.integers(1, 3))):
        width = draw(st.sampled_from([1, 2, 3, 4, 5, 7, 8]))  # multiples of 4 run as tiles
        act = draw(st.sampled_from(["relu", "tanh", "none"]))
        layer = []
        for _ in range(width):
            ws = [Value(draw(st.floats(-1.5, 1.5, allow_nan=False))) for _ in h]
            b = Value(draw(st.floats(-0.5, 0.5, allow_nan=False)))
            params += ws + [b]
            z = Value.dot(ws, h) + b if draw(st.booleans()) else sum((w * x for w, x in zip(ws, h)), b)
            layer.append(z.relu() if act == "relu" else (z.tanh() if act == "tanh" else z))
        if draw(st.booleans()) and len(layer) >= 2:
            layer.append(Value.dot(layer[:2], layer[-2:]))  # rows × rows
        h = layer
    out = Value.sum(h) if len(h) > 1 else h[0]
    return xs, params, out * 0.5 + params[0] * params[-1]


@settings(max_examples=40, deadline=None)
@given(networks(), st.one_of(st.integers(1, 9), st.integers(33, 47)), st.integers(0, 2**32 - 1))
def test_compiled_networks_match_the_reference_sweep(net, rows, seed):
    """(From 32 rows on, a row's lanes are padded to whole cache lines, and tiles run on
    the padding too: see kernels.py.)"""
    xs, params, out = net
    step = microgradx.compile(out, inputs=xs)
    X = np.random.default_rng(seed).uniform(-2, 2, size=(rows, len(xs)))
    for p in params:
        p.grad = 0.0
    values = step.forward(X)
    gx = step.backward(reduction="sum")
    compiled = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    for r in range(rows):
        for x, v in zip(xs, X[r]):
            x.data = float(v)
            x.grad = 0.0
        out.backward(engine="python")
        assert out.data == pytest.approx(values[r], rel=1e-10, abs=1e-12)
        assert [x.grad for x in xs] == pytest.approx(gx[r], rel=1e-9, abs=1e-11)
    assert compiled == pytest.approx([p.grad for p in params], rel=1e-9, abs=1e-11)
    threaded = microgradx.compile(out, inputs=xs, threads=True)
    threaded.parallel_rows, threaded.block_rows = 2, 2  # rows in blocks of two, over the threads
    np.testing.assert_allclose(threaded.forward(X), values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(threaded.backward(reduction="sum"), gx, rtol=1e-12, atol=1e-14)
