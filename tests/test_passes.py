"""Tape optimisation passes: each shrinks the tape as it says, and changes no value or gradient."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx
from microgradx import Op, Value, flatten
from microgradx.backprop import sweep
from microgradx.compiler.passes import PASSES, optimize


def ops_of(tape) -> list[Op]:
    return [Op(k) for k in tape.op]


def test_constant_folding():
    x = Value(1.0, label="x")
    y = x * (Value.const(2.0) * 3 + 1)  # 2·3 + 1 needs no x
    tape = optimize(flatten(y), ["fold", "dce"])
    assert ops_of(tape).count(Op.MUL) == 1 and Op.ADD not in ops_of(tape)
    assert 7.0 in tape.consts.tolist()


def test_common_subexpressions_are_computed_once():
    x, w = Value(1.0), Value(2.0)
    y = (x * w).tanh() + (w * x).tanh()  # w·x = x·w: the same product, the same tanh
    tape = optimize(flatten(y), ["cse", "dce"])
    assert ops_of(tape).count(Op.MUL) == 1
    assert ops_of(tape).count(Op.TANH) == 1


def test_add_chain_becomes_one_sum():
    xs = [Value(float(i)) for i in range(5)]
    y = xs[0] + xs[1] + xs[2] + xs[3] + xs[4]
    tape = optimize(flatten(y), ["sum", "dce"])
    assert ops_of(tape).count(Op.SUM) == 1 and Op.ADD not in ops_of(tape)


def test_neuron_becomes_one_dot():
    """micrograd's neuron, Σ wᵢ·xᵢ + b written with + and *, becomes one DOT slot."""
    xs = [Value(float(i)) for i in range(4)]
    ws = [Value(0.5 * i) for i in range(4)]
    b = Value(0.1)
    act = sum((w * x for w, x in zip(ws, xs)), b)
    tape = optimize(flatten(act.relu()), ["sum", "dot", "dce"])
    assert ops_of(tape).count(Op.DOT) == 1
    assert Op.MUL not in ops_of(tape) and Op.ADD not in ops_of(tape)


def test_a_shared_product_is_not_swallowed():
    x, w = Value(1.0), Value(2.0)
    p = x * w
    y = (p + x) * p  # p is read twice: it must stay its own slot
    tape = optimize(flatten(y))
    assert Op.MUL in ops_of(tape)
    compiled = microgradx.compile(y, inputs=[x])
    assert compiled.forward([3.0]) == pytest.approx((6 + 3) * 6)


def test_dead_code_is_dropped_but_leaves_stay():
    x, unused = Value(1.0), Value(2.0)
    y = x * 2
    tape = flatten([y, unused * 3])
    small = optimize(tape, ["dce"])
    assert len(small) == len(tape)  # both outputs are needed
    ir_tape = optimize(flatten(y), ["fold", "dce"])
    assert all(n is not None for n in (ir_tape.nodes[s] for s in ir_tape.leaves))


def test_unknown_pass_is_named():
    with pytest.raises(ValueError, match="unknown pass"):
        optimize(flatten(Value(1.0) * 2), ["fold", "magic"])


def moons_loss():
    from microgradx.nn import MLP

    model = MLP(2, [8, 8, 1], seed=3)
    xs = [Value(0.0), Value(0.0)]
    y = Value(0.0)
    loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
    return model, xs + [y], loss


@pytest.mark.parametrize("switched_off", [None, *PASSES])
def test_values_and_gradients_agree_with_and_without_passes(switched_off):
    model, inputs, loss = moons_loss()
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=(50, 2)), rng.choice([-1.0, 1.0], size=50)])
    passes = [p for p in PASSES if p != switched_off]
    plain = microgradx.compile(loss, inputs=inputs, optimize=False)
    fast = microgradx.compile(loss, inputs=inputs, optimize=passes)
    if switched_off != "dce":  # without dce the absorbed slots stay, dead
        assert len(fast.tape) < len(plain.tape)
    np.testing.assert_allclose(fast.forward(X), plain.forward(X), rtol=1e-12, atol=1e-15)
    model.zero_grad()
    gx_plain = plain.backward()
    g_plain = np.array([p.grad for p in model.parameters()])
    model.zero_grad()
    gx_fast = fast.backward()
    g_fast = np.array([p.grad for p in model.parameters()])
    np.testing.assert_allclose(g_fast, g_plain, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gx_fast, gx_plain, rtol=1e-12, atol=1e-15)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=2, max_size=6), st.integers(0, 3))
def test_optimized_scalar_sweep_matches_plain(values, seed):
    rng = np.random.default_rng(seed)
    leaves = [Value(v) for v in values]
    terms = [leaves[rng.integers(len(leaves))] * leaves[rng.integers(len(leaves))] for _ in range(5)]
    y = (sum(terms, Value.const(0.5)) * 2 + leaves[0]).tanh()
    plain, fast = flatten(y), optimize(flatten(y))
    sweep(plain)
    sweep(fast)
    assert fast.data[fast.outputs[0]] == pytest.approx(plain.data[plain.outputs[0]], rel=1e-12, abs=1e-14)
    for node, s in zip([plain.nodes[s] for s in plain.leaves], plain.leaves):
        s_fast = next(t for t in fast.leaves if fast.nodes[t] is node)
        assert fast.grad[s_fast] == pytest.approx(plain.grad[s], rel=1e-12, abs=1e-14)
