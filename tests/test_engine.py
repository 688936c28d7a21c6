"""Value: its API, its errors, accumulation, sharing, depth and memory."""

from __future__ import annotations

import gc
import sys
import tracemalloc

import numpy as np
import pytest

from microgradx import Op, Value, flatten


def test_value_basics():
    x = Value(3, label="x")
    assert x.data == 3.0 and isinstance(x.data, float)
    assert x.grad == 0.0
    assert x.label == "x"
    assert x.op == Op.LEAF and x.operands == ()
    assert "x" in repr(x) and "3" in repr(x)
    y = x * 2 + 1
    assert y.op == Op.ADD
    assert y.operands[0].op == Op.MUL
    assert y.operands[1].op == Op.CONST
    assert y.data == 7.0


def test_micrograd_compatible_attributes():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    assert c._prev == {a, b}
    assert c._op == "*"


@pytest.mark.parametrize(
    "expr,expected",
    [
        (lambda x: x + 2, 5.0),
        (lambda x: 2 + x, 5.0),
        (lambda x: x - 2, 1.0),
        (lambda x: 2 - x, -1.0),
        (lambda x: x * 2, 6.0),
        (lambda x: 2 * x, 6.0),
        (lambda x: x / 2, 1.5),
        (lambda x: 3 / x, 1.0),
        (lambda x: x**2, 9.0),
        (lambda x: 2**x, 8.0),
        (lambda x: x ** Value(2.0), 9.0),
        (lambda x: -x, -3.0),
        (lambda x: np.float64(2.0) * x, 6.0),
        (lambda x: x * np.int64(2), 6.0),
    ],
)
def test_operators_with_numbers_on_either_side(expr, expected):
    assert expr(Value(3.0)).data == expected


def test_number_exponent_gives_gradient_to_base_only():
    x = Value(3.0)
    y = x**2
    assert y.op == Op.POWC
    y.backward()
    assert x.grad == 6.0


def test_value_exponent_gives_gradient_to_both():
    x, p = Value(3.0), Value(2.0)
    y = x**p
    y.backward()
    assert x.grad == pytest.approx(6.0)
    assert p.grad == pytest.approx(9.0 * np.log(3.0))


@pytest.mark.parametrize("bad", ["abc", None, [1.0], 1 + 2j, object()])
def test_value_of_a_non_number_is_a_type_error(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


@pytest.mark.parametrize("bad", ["a", None, [1], {}])
@pytest.mark.parametrize("side", ["left", "right"])
def test_operand_that_is_not_a_number_is_named(bad, side):
    with pytest.raises(TypeError, match="not a number or a Value"):
        (Value(1.0) + bad) if side == "left" else (bad + Value(1.0))
    with pytest.raises(TypeError):
        Value(1.0) ** bad


def test_shared_subexpressions_accumulate():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0


def test_leaves_accumulate_across_backward_calls_intermediates_do_not():
    x = Value(2.0)
    y = x * x
    y.backward()
    y.backward()
    assert x.grad == 8.0  # 4 + 4: leaves accumulate, as in micrograd and PyTorch
    assert y.grad == 1.0  # an intermediate holds this call's gradient


def test_two_graphs_sharing_a_leaf_add_their_gradients():
    x = Value(2.0)
    (x * 3).backward()
    (x * x).backward()
    assert x.grad == 3.0 + 4.0


def test_backward_refreshes_values_from_current_leaves():
    x = Value(2.0)
    y = x * x + 1
    x.data = 3.0
    y.backward()
    assert y.data == 10.0
    assert x.grad == 6.0


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown engine"):
        Value(1.0).backward(engine="cuda")


def test_sum_and_dot_nodes():
    xs = [Value(float(i)) for i in range(1, 4)]
    ws = [Value(0.5), Value(-1.0), Value(2.0)]
    d = Value.dot(xs, ws)
    s = Value.sum(xs + [1.0])
    assert d.data == 0.5 - 2.0 + 6.0
    assert s.data == 7.0
    (d + s).backward()
    assert [x.grad for x in xs] == [1.5, 0.0, 3.0]
    assert [w.grad for w in ws] == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="equally long"):
        Value.dot(xs, ws[:2])
    with pytest.raises(ValueError, match="at least one"):
        Value.sum([])
    with pytest.raises(TypeError, match="str"):
        Value.sum([xs[0], "x"])


def test_million_node_chain_flattens_and_differentiates_without_recursion():
    n = 1_000_000
    x = Value(1.0, label="x")
    v = x
    for _ in range(n):
        v = v + x  # every step adds x once more: v = (n + 1) x
    assert sys.getrecursionlimit() < n
    tape = flatten(v)
    assert len(tape) == n + 1
    v.backward()
    assert v.data == n + 1
    assert x.grad == n + 1
    del v, tape  # freeing the chain must not recurse either
    gc.collect()


def test_memory_per_value_is_small():
    """A Value with its float costs under 200 bytes (micrograd's is about 680)."""
    x = Value(1.0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    nodes = [x * 1.5 for _ in range(10_000)]  # each: a result node and a constant node
    per_value = (tracemalloc.get_traced_memory()[0] - before) / (2 * len(nodes))
    tracemalloc.stop()
    assert per_value < 200, per_value


def test_values_form_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = Value(2.0)
        y = (x * 3).tanh() + x
        y.backward()
        del x, y
        assert gc.collect() == 0  # everything was freed by reference counting
    finally:
        gc.enable()


def test_repeated_backward_reuses_the_flattened_graph():
    x = Value(2.0)
    y = (x * x).tanh() + x
    y.backward()
    plan = y._plan
    assert plan is not None
    x.grad = 0.0
    x.data = 0.5
    y.backward()
    assert y._plan is plan  # not flattened again: a graph below a Value never changes shape
    assert x.grad == pytest.approx((1 - np.tanh(0.25) ** 2) * 1.0 + 1.0)
    assert y.data == pytest.approx(np.tanh(0.25) + 0.5)


def test_backward_of_a_lone_leaf():
    x = Value(3.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0
