"""micrograd's public behaviour, re-expressed as our tests: code written for micrograd runs unchanged.

Sections follow what a micrograd learner brings: its engine tests (test_engine.py),
the lecture's cells (nodes built with Value(data, _children, _op), backprop by hand
with _backward()), its trace_graph notebook (drawing from _prev and _op), its nn API
(nonlin) and its demo's training loop. The oracles are the lecture's hand-derived
numbers, central finite differences, and, where installed, PyTorch in float64 and
micrograd itself (pip install micrograd torch) running the very same code.
"""

from __future__ import annotations

import gc
import math
import random
import subprocess
import sys

import graphviz
import numpy as np
import pytest
from oracles import central_difference

from microgradx import Op, Value, flatten
from microgradx.core.ops import TABLE
from microgradx.datasets import make_moons
from microgradx.nn import MLP, Layer, Neuron


def lecture_topo(root):
    """The lecture's topological order, built by the user from _prev, recursively."""
    topo, visited = [], set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

    build_topo(root)
    return topo


def manual_backward(root):
    """The lecture's backprop by hand: seed the output, then _backward() in reverse topological order."""
    topo = lecture_topo(root)
    root.grad = 1.0
    for node in reversed(topo):
        node._backward()
    return topo


# -- micrograd's test_engine.py ----------------------------------------------------------------
#
# The same expressions, written once for any Value class (ours, micrograd's) and once for torch.


def sanity_check(V):
    x = V(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    return x, y


def more_ops(V):
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return a, b, g


def test_sanity_check_by_hand():
    """x = −4: z = 3x + 2 = −10, q = relu(z) + zx = 40, h = z² = 100, y = h + q + qx = −20;
    dy/dx = 2z·3 + (z + 3x) + (z + 3x)·x + q = −60 − 22 + 88 + 40 = 46."""
    x, y = sanity_check(Value)
    y.backward()
    assert y.data == -20.0
    assert x.grad == 46.0


def test_more_ops_against_finite_differences_and_micrograds_readme():
    a, b, g = more_ops(Value)
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"  # micrograd's README prints these three
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"
    fd = central_difference(lambda ab: _more_ops_at(*ab), [-4.0, 2.0], h=1e-5)
    assert [a.grad, b.grad] == pytest.approx(fd, rel=1e-7)


def _more_ops_at(a0: float, b0: float) -> float:
    a, b, g = more_ops(Value)
    a.data, b.data = a0, b0
    g.backward()  # refreshes g.data from the leaves
    return g.data


def test_engine_sanity_checks_against_pytorch():
    torch = pytest.importorskip("torch")
    x, y = sanity_check(Value)
    y.backward()
    xt = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    zt = 2 * xt + 2 + xt
    qt = zt.relu() + zt * xt
    ht = (zt * zt).relu()
    yt = ht + qt + qt * xt
    yt.backward()
    assert y.data == yt.item() and x.grad == xt.grad.item()

    a, b, g = more_ops(Value)
    g.backward()
    at = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    bt = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    ct = at + bt
    dt = at * bt + bt**3
    ct = ct + ct + 1
    ct = ct + 1 + ct + (-at)
    dt = dt + dt * 2 + (bt + at).relu()
    dt = dt + 3 * dt + (bt - at).relu()
    et = ct - dt
    ft = et**2
    gt = ft / 2.0
    gt = gt + 10.0 / ft
    gt.backward()
    tol = 1e-12  # micrograd's own test allows 1e-6
    assert abs(g.data - gt.item()) < tol
    assert abs(a.grad - at.grad.item()) < tol
    assert abs(b.grad - bt.grad.item()) < tol


@pytest.mark.parametrize("build", [sanity_check, more_ops])
def test_engine_checks_equal_micrograds_own_numbers(build):
    engine = pytest.importorskip("micrograd.engine")
    ours, theirs = build(Value), build(engine.Value)
    ours[-1].backward()
    theirs[-1].backward()
    assert [v.data for v in ours] == pytest.approx([v.data for v in theirs], rel=1e-14)
    assert [v.grad for v in ours] == pytest.approx([v.grad for v in theirs], rel=1e-14)


# -- the lecture's cells: nodes by hand, backprop by hand ---------------------------------------


def lecture_neuron():
    """The lecture's neuron: o = tanh(x1·w1 + x2·w2 + b), with b chosen so that n = 0.8814, o = 1/√2."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return {v.label: v for v in (x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o)}


# do/dn = 1 − o² = 1/2, and then each input's gradient is the other factor times 1/2
HAND = {"o": 1.0, "n": 0.5, "b": 0.5, "x1*w1 + x2*w2": 0.5, "x1*w1": 0.5, "x2*w2": 0.5}
HAND |= {"x1": -3.0 * 0.5, "w1": 2.0 * 0.5, "x2": 1.0 * 0.5, "w2": 0.0 * 0.5}


def test_lecture_manual_backprop_one_node_at_a_time():
    g = lecture_neuron()
    assert g["o"].data == pytest.approx(math.sqrt(0.5), rel=1e-15)
    g["o"].grad = 1.0
    for name in ["o", "n", "b", "x1*w1 + x2*w2", "x2*w2", "x1*w1"]:  # the lecture's order
        g[name]._backward()  # on the leaf b: nothing, as micrograd's lambda: None
    assert {k: v.grad for k, v in g.items()} == pytest.approx(HAND, abs=1e-15)


def test_lecture_topological_sweep_equals_backward():
    g = lecture_neuron()
    topo = manual_backward(g["o"])
    assert topo[-1] is g["o"] and len(topo) == len(g)
    manual = {k: v.grad for k, v in g.items()}
    assert manual == pytest.approx(HAND, abs=1e-15)
    fresh = lecture_neuron()
    fresh["o"].backward()
    assert {k: v.grad for k, v in fresh.items()} == pytest.approx(manual, abs=1e-15)


def test_lecture_tanh_written_with_exp_gives_the_same_gradients():
    g = lecture_neuron()
    e = (2 * g["n"]).exp()
    o = (e - 1) / (e + 1)
    o.backward()
    assert o.data == pytest.approx(g["o"].data, rel=1e-15)
    assert [g[k].grad for k in ("x1", "w1", "x2", "w2")] == pytest.approx([-1.5, 1.0, 0.5, 0.0], abs=1e-15)


def test_lecture_neuron_against_pytorch():
    torch = pytest.importorskip("torch")
    g = lecture_neuron()
    manual_backward(g["o"])
    t = {
        k: torch.tensor([g[k].data], dtype=torch.float64, requires_grad=True)
        for k in ("x1", "x2", "w1", "w2", "b")
    }
    ot = torch.tanh(t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"])
    ot.backward()
    assert g["o"].data == pytest.approx(ot.item(), rel=1e-15)
    for k, tk in t.items():
        assert g[k].grad == pytest.approx(tk.grad.item(), rel=1e-14, abs=1e-16)  # tanh's last bit differs


def test_lecture_bug_cells_accumulate():
    """The lecture's two cells that broke before gradients accumulated: b = a + a, and a reused leaf."""
    a = Value(3.0, label="a")
    b = a + a
    manual_backward(b)
    assert a.grad == 2.0
    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    d, e = a * b, a + b
    f = d * e
    manual_backward(f)
    assert (a.grad, b.grad) == (-3.0, -8.0)  # ∂(ab(a + b))/∂a = b(a + b) + ab, /∂b = a(a + b) + ab
    a.grad = b.grad = 0.0
    f.backward()
    assert (a.grad, b.grad) == (-3.0, -8.0)


def lecture_add(self, other):
    """The lecture's way of adding an op: make the node with _children and _op, attach a closure."""
    out = Value(self.data + other.data, (self, other), "+")

    def _backward():
        self.grad += 1.0 * out.grad
        other.grad += 1.0 * out.grad

    out._backward = _backward
    return out


def lecture_tanh(self):
    x = self.data
    t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def test_nodes_made_the_lectures_way_are_the_table_ops():
    x, w, b = Value(0.5, label="x"), Value(-1.5, label="w"), Value(0.25, label="b")
    o = lecture_tanh(lecture_add(x * w, b))
    assert o.op == Op.TANH and o.operands[0].op == Op.ADD
    assert o.data == pytest.approx(math.tanh(-0.5), rel=1e-15)
    manual_backward(o)  # the user's closures
    by_closures = [x.grad, w.grad, b.grad]
    for v in (x, w, b):
        v.grad = 0.0
    o.backward()  # the op table
    assert [x.grad, w.grad, b.grad] == pytest.approx(by_closures, rel=1e-14)
    d = 1 - math.tanh(-0.5) ** 2
    assert by_closures == pytest.approx([d * -1.5, d * 0.5, d], rel=1e-14)


@pytest.mark.parametrize(
    "make, op",
    [
        (lambda a, b: Value(a.data + b.data, (a, b), "+"), Op.ADD),
        (lambda a, b: Value(a.data * b.data, (a, b), "*"), Op.MUL),
        (lambda a, b: Value(a.data**2, (a,), "**2"), Op.POWC),
        (lambda a, b: Value(a.data**-1, (a,), "**-1"), Op.POWC),
        (lambda a, b: Value(math.tanh(a.data), (a,), "tanh"), Op.TANH),
        (lambda a, b: Value(math.exp(a.data), (a,), "exp"), Op.EXP),
        (lambda a, b: Value(0 if a.data < 0 else a.data, (a,), "ReLU"), Op.RELU),
        (lambda a, b: Value(a.data - b.data, (a, b), "-"), Op.SUB),
        (lambda a, b: Value(-a.data, (a,), "-"), Op.NEG),
        (lambda a, b: Value(a.data / b.data, [a, b], "div"), Op.DIV),
        (lambda a, b: Value(a.data**b.data, (a, b), "**"), Op.POW),
        (lambda a, b: Value(a.data + b.data + 1.0, (a, b, Value(1.0)), "Σ"), Op.SUM),
    ],
)
def test_constructor_node_gradients_equal_the_operators(make, op):
    """A node built with _children/_op has the op's gradients, by backward() and by hand."""
    a, b = Value(1.5), Value(0.75)
    out = make(a, b)
    assert out.op == op
    (da, db), (ma, mb) = _grads(out, a, b, backward=True), _grads(out, a, b, backward=False)
    assert (ma, mb) == (da, db)
    fd = central_difference(lambda ab: make(Value(ab[0]), Value(ab[1])).data, [1.5, 0.75])
    assert [da, db] == pytest.approx(fd, rel=1e-7, abs=1e-9)


def _grads(out, a, b, backward):
    a.grad = b.grad = 0.0
    for v in lecture_topo(out):
        v.grad = 0.0
    out.backward() if backward else manual_backward(out)
    return a.grad, b.grad


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda a, b: Value(1.0, (a,), "gelu"), r"unknown op 'gelu'.*ops\.py's TABLE.*tests/test_ops\.py"),
        (lambda a, b: Value(5.0, (a, b), "+"), r"'\+' of the operands is 2\.0, not 5\.0"),
        (lambda a, b: Value(1.0, (a,), "+"), r"'\+' takes 2 operands, got 1"),
        (lambda a, b: Value(1.0, (a, b), ""), "needs both its operands"),
        (lambda a, b: Value(1.0, (), "tanh"), "needs both its operands"),
        (lambda a, b: Value(1.0, (a,), "**two"), "'two' in '\\*\\*two' is not a number"),
        (lambda a, b: Value(1.0, (a, b), "**2"), "takes one operand"),
        (lambda a, b: Value(1.0, (a, b, a), "dot"), "even number"),
    ],
)
def test_constructor_refuses_what_it_cannot_honour(make, message):
    with pytest.raises(ValueError, match=message):
        make(Value(1.0), Value(1.0))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda a, b: Value(1.0, "a", "+"), "pass label='a'"),
        (lambda a, b: Value(1.0, "a", label="b"), "pass label='a'"),
        (lambda a, b: Value(0.0, {a, b}, "-"), "has no order.*pass a tuple"),
        (lambda a, b: Value(2.0, (a, 1.0), "+"), r"_children\[1\] is 1\.0 \(float\), not a Value"),
        (lambda a, b: Value(2.0, 7, "+"), "must be a tuple of Values"),
        (lambda a, b: Value(2.0, (a, b), 3), "_op must be a string"),
    ],
)
def test_constructor_type_errors_name_the_fix(make, message):
    with pytest.raises(TypeError, match=message):
        make(Value(1.0), Value(1.0))


def test_text_where_the_operands_go_is_the_label():
    """Value(2.0, "u"), microgradx's signature before micrograd's: text cannot be operands."""
    u = Value(2.0, "u")
    assert u.label == "u" and u.op == Op.LEAF and u._prev == set()


def test_a_set_of_children_is_fine_where_order_does_not_matter():
    a, b = Value(2.0), Value(3.0)
    c = Value(6.0, {a, b}, "*")
    c.backward()
    assert (a.grad, b.grad) == (3.0, 2.0)


# -- _op and _prev, as micrograd gives them ----------------------------------------------------


@pytest.mark.parametrize(
    "make, text",
    [
        (lambda x, y: x, ""),
        (lambda x, y: x + y, "+"),
        (lambda x, y: x * y, "*"),
        (lambda x, y: x**2, "**2"),
        (lambda x, y: x**-1, "**-1"),
        (lambda x, y: x**0.5, "**0.5"),
        (lambda x, y: x.relu(), "ReLU"),
        (lambda x, y: x.tanh(), "tanh"),
        (lambda x, y: x.exp(), "exp"),
    ],
)
def test_op_strings_are_micrograds(make, text):
    """The ops micrograd has (its engine, and tanh and exp from the lecture) carry its strings."""
    x, y = Value(2.0), Value(3.0)
    assert make(x, y)._op == text


@pytest.mark.parametrize(
    "make", [lambda V, x: x + 2.5, lambda V, x: x * x, lambda V, x: x**3, lambda V, x: x.relu()]
)
def test_op_strings_and_prev_match_micrograds_own(make):
    engine = pytest.importorskip("micrograd.engine")
    ours, theirs = make(Value, Value(1.5)), make(engine.Value, engine.Value(1.5))
    assert ours._op == theirs._op
    assert sorted(v.data for v in ours._prev) == sorted(v.data for v in theirs._prev)


def test_prev_is_the_set_of_operands_without_the_exponent():
    x, y = Value(2.0), Value(3.0)
    assert (x * y)._prev == {x, y}
    assert (x + x)._prev == {x}  # a set, as micrograd's
    assert (x**2)._prev == {x}  # the exponent is in _op
    assert (x**y)._prev == {x, y}  # a Value exponent is an operand
    assert x._prev == set()


def test_a_node_rebuilt_from_prev_and_op_is_the_same_op():
    """A fork's pattern: copy a graph from _prev and _op (commutative ops and one-operand ops)."""
    x, y = Value(0.3), Value(-1.2)
    for node in [x + y, x * y, x**3, x.tanh(), x.exp(), x.relu(), (x * y).relu()]:
        copy = Value(node.data, tuple(node._prev), node._op)
        assert copy.op == node.op and copy.data == node.data
        assert copy._prev == node._prev


# -- micrograd's trace_graph notebook -----------------------------------------------------------


def trace(root):
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(root)
    return nodes, edges


def draw_dot(root, format="svg", rankdir="LR"):
    """The notebook's function, verbatim: records for values, small nodes for ops."""
    assert rankdir in ["LR", "TB"]
    nodes, edges = trace(root)
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    for n in nodes:
        dot.node(name=str(id(n)), label="{ data %.4f | grad %.4f }" % (n.data, n.grad), shape="record")  # noqa: UP031
        if n._op:
            dot.node(name=str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot


def test_trace_graph_notebook_draws_our_graphs():
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    nodes, edges = trace(y)
    assert len(nodes) == 6 and len(edges) == 5  # x, 2, x·2, 1, x·2 + 1, relu
    assert sorted(n._op for n in nodes) == ["", "", "", "*", "+", "ReLU"]
    source = draw_dot(y).source
    assert "{ data 3.0000 | grad 1.0000 }" in source  # y
    assert "{ data 1.0000 | grad 2.0000 }" in source  # x
    assert f'"{id(y)}ReLU" [label=ReLU]' in source
    assert f'{id(x)} -> "{id(y.operands[0].operands[0])}*"' in source


def test_trace_graph_notebook_draws_a_neuron():
    n = Neuron(2, seed=0)
    x = [Value(1.0), Value(-2.0)]
    y = n(x)
    y.backward()
    nodes, edges = trace(y)
    assert {n._op for n in nodes} == {"", "·", "+", "ReLU"}  # our neuron's w·x is one dot node
    assert len(nodes) == 2 + 2 + 1 + 3 and len(edges) == 4 + 1 + 1 + 1
    draw_dot(y)


# -- nn: micrograd's nonlin --------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, nonlin",
    [
        (lambda: Neuron(2), True),
        (lambda: Neuron(2, nonlin=True), True),
        (lambda: Neuron(2, nonlin=False), False),
        (lambda: Neuron(1, False), False),
        (lambda: Neuron(1, True), True),
    ],
)
def test_neuron_nonlin_as_micrograd(make, nonlin):
    n = make()
    assert n.nonlin is nonlin
    x = [0.7, -1.3][: len(n.w)]
    n.b.data = -0.4  # below zero, so relu would show
    act = sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data
    for xs in ([0.0] * len(x), x):  # one input where relu is off
        act = sum(w.data * xi for w, xi in zip(n.w, xs)) + n.b.data
        assert n(xs).data == pytest.approx(max(act, 0.0) if nonlin else act, rel=1e-15)


def test_layer_and_mlp_nonlin_as_micrograd():
    layer = Layer(2, 3, nonlin=False)
    assert [n.nonlin for n in layer.neurons] == [False] * 3
    assert [n.nonlin for n in Layer(2, 3).neurons] == [True] * 3
    model = MLP(3, [4, 4, 1])
    assert [layer.neurons[0].nonlin for layer in model.layers] == [True, True, False]
    assert len(model.parameters()) == 41  # micrograd's count for MLP(3, [4, 4, 1])


def test_setting_nonlin_switches_the_activation():
    n = Neuron(2, activation="tanh", seed=0)
    n.nonlin = True
    assert n.activation == "tanh"  # already nonlinear: kept
    n.nonlin = False
    assert n.activation == "linear" and not n.nonlin
    n.nonlin = True
    assert n.activation == "relu"  # micrograd's nonlinearity
    with pytest.raises(ValueError, match="True .* or False"):
        n.nonlin = "tanh"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Neuron(2, "tanh", nonlin=False), "nonlin=False .* 'tanh'"),
        (lambda: Neuron(2, "linear", nonlin=True), "nonlin=True .* linear"),
        (lambda: Layer(2, 3, None, nonlin=True), "nonlin=True .* linear"),
        (lambda: Neuron(2, nonlin=1), "nonlin must be True"),
        (lambda: Neuron(2, 5), "unknown activation 5"),
    ],
)
def test_contradictory_nonlin_is_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_nonlin_neuron_is_saved_as_its_activation(tmp_path):
    n = Neuron(2, nonlin=False, seed=1)
    n.save(tmp_path / "n.npz")
    again = Neuron.from_file(tmp_path / "n.npz")
    assert not again.nonlin and [p.data for p in again.parameters()] == [p.data for p in n.parameters()]


@pytest.mark.parametrize(
    "build, nin",
    [
        (lambda nn: nn.Neuron(2, nonlin=False), 2),
        (lambda nn: nn.Neuron(1, False), 1),
        (lambda nn: nn.Neuron(2), 2),
        (lambda nn: nn.Layer(2, 3, nonlin=False), 2),
        (lambda nn: nn.Layer(2, 3), 2),
    ],
)
def test_neurons_and_layers_equal_micrograds_with_the_same_weights(build, nin):
    """The issue's examples, written once and run on micrograd's nn and on ours."""
    theirs_nn = pytest.importorskip("micrograd.nn")
    import microgradx.nn as ours_nn

    theirs, ours = build(theirs_nn), build(ours_nn)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = q.data = q.data + 0.25  # a bias that is not 0
    for x in ([0.5, -1.0][:nin], [-2.0, 0.5][:nin]):
        out, ref = ours(x), theirs(x)
        out, ref = (out, ref) if isinstance(out, list) else ([out], [ref])
        assert [o.data for o in out] == pytest.approx([r.data for r in ref], rel=1e-14)
        ours.zero_grad()
        theirs.zero_grad()
        sum(out).backward()
        sum(ref).backward()
        assert [p.grad for p in ours.parameters()] == pytest.approx([q.grad for q in theirs.parameters()])
    neurons = (ours.neurons, theirs.neurons) if isinstance(ours, Layer) else ([ours], [theirs])
    assert [n.nonlin for n in neurons[0]] == [n.nonlin for n in neurons[1]]


def test_mlp_equals_micrograds_mlp_with_the_same_weights():
    nn = pytest.importorskip("micrograd.nn")
    theirs, ours = nn.MLP(3, [4, 4, 2]), MLP(3, [4, 4, 2])
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = q.data
    x = [0.5, -1.0, 2.0]
    out, ref = ours(x), theirs(x)
    loss, ref_loss = out[0] * out[1] + out[1], ref[0] * ref[1] + ref[1]
    loss.backward()
    ref_loss.backward()
    assert [o.data for o in out] == pytest.approx([r.data for r in ref], rel=1e-14)
    assert [p.grad for p in ours.parameters()] == pytest.approx(
        [q.grad for q in theirs.parameters()], rel=1e-12
    )
    assert [n.nonlin for layer in ours.layers for n in layer.neurons] == [
        n.nonlin for layer in theirs.layers for n in layer.neurons
    ]


def demo_training(model, V, steps: int, X: np.ndarray, y: np.ndarray) -> list[float]:
    """micrograd's demo.ipynb: SVM max-margin loss + L2, SGD with a decaying rate."""
    losses = []
    for k in range(steps):
        inputs = [list(map(V, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        data_loss = sum((1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)) * (1.0 / len(y))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        losses.append(total_loss.data)
    return losses


def test_micrograds_demo_loop_trains():
    X, labels = make_moons(40, noise=0.1, seed=1)
    y = labels * 2.0 - 1.0
    model = MLP(2, [16, 16, 1], seed=0)
    losses = demo_training(model, Value, 15, X, y)
    assert losses[-1] < 0.6 * losses[0]
    accuracy = np.mean([(yi > 0) == (model(list(xi)).data > 0) for xi, yi in zip(X, y)])
    assert accuracy >= 0.75


def test_micrograds_demo_loop_equals_micrograds_own():
    nn = pytest.importorskip("micrograd.nn")
    engine = pytest.importorskip("micrograd.engine")
    X, labels = make_moons(20, noise=0.1, seed=2)
    y = labels * 2.0 - 1.0
    theirs, ours = nn.MLP(2, [8, 8, 1]), MLP(2, [8, 8, 1])
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = q.data
    ref = demo_training(theirs, engine.Value, 3, X, y)
    got = demo_training(ours, Value, 3, X, y)
    assert got == pytest.approx(ref, rel=1e-12)
    assert [p.data for p in ours.parameters()] == pytest.approx(
        [q.data for q in theirs.parameters()], rel=1e-9
    )


# -- the floor: backprop by hand equals backward() on random graphs of every op ---------------

POWC_EXPONENTS = [2, 3, 0.5, -1, 0, 1, -0.5]

# name -> f(x, y, z, c): x, y, z earlier nodes, c a number; operands kept in each op's finite domain
BUILD = {
    "add": lambda x, y, z, c: x + y,
    "sub": lambda x, y, z, c: c - x,
    "mul": lambda x, y, z, c: x * y,
    "div": lambda x, y, z, c: x / (y * y + 1.0),
    "pow": lambda x, y, z, c: (x * x + 0.5) ** y.tanh(),
    "powc": lambda x, y, z, c: (x * x + 0.5) ** POWC_EXPONENTS[int(abs(c) * 7) % 7],
    "neg": lambda x, y, z, c: -x,
    "exp": lambda x, y, z, c: x.tanh().exp(),
    "log": lambda x, y, z, c: (x * x + 1.0).log(),
    "tanh": lambda x, y, z, c: x.tanh(),
    "sigmoid": lambda x, y, z, c: x.sigmoid(),
    "relu": lambda x, y, z, c: (x + 0.3125).relu(),
    "abs": lambda x, y, z, c: abs(x + 0.3125),
    "sqrt": lambda x, y, z, c: (x * x + 0.25).sqrt(),
    "sin": lambda x, y, z, c: x.sin(),
    "cos": lambda x, y, z, c: x.cos(),
    "sum": lambda x, y, z, c: Value.sum([x, y, z, c]),
    "dot": lambda x, y, z, c: Value.dot([x, y, c], [z, x, y]),
    "step": lambda x, y, z, c: (x + 0.3125).step() * y,
    "sign": lambda x, y, z, c: (x + 0.3125).sign() * y,
    # nodes made micrograd's way, by the constructor
    "made +": lambda x, y, z, c: Value(x.data + y.data, (x, y), "+"),
    "made *": lambda x, y, z, c: Value(x.data * y.data, (x, y), "*"),
    "made **2": lambda x, y, z, c: Value(x.data**2, (x,), "**2"),
    "made ReLU": lambda x, y, z, c: Value(max(x.data, 0.0), (x,), "ReLU"),
    "made tanh": lambda x, y, z, c: Value(math.tanh(x.data), (x,), "tanh"),
}


def random_graph(rng: random.Random) -> Value:
    nodes = [Value(rng.uniform(-2, 2), label=f"x{i}") for i in range(rng.randint(1, 4))]
    for _ in range(rng.randint(1, 25)):
        x, y, z = (rng.choice(nodes) for _ in range(3))
        c = rng.uniform(-3, 3)
        if rng.random() < 0.25:
            y = Value.const(c)
        nodes.append(BUILD[rng.choice(sorted(BUILD))](x, y, z, c))
    return nodes[-1]


@pytest.mark.parametrize("engine", ["numba", "python"])
def test_manual_sweep_equals_backward_on_200_random_graphs(engine):
    rng = random.Random(13)
    seen = set()
    for _ in range(200):
        root = random_graph(rng)
        topo = manual_backward(root)
        manual = np.array([v.grad for v in topo])
        for v in topo:
            v.grad = 0.0
        root.backward(engine=engine)
        assert np.all(np.isfinite(manual))
        np.testing.assert_allclose([v.grad for v in topo], manual, rtol=1e-12, atol=1e-12)
        seen |= {int(op) for op in flatten(root).op}
    assert seen == {int(info.op) for info in TABLE}, "a new op needs a line in BUILD"


def test_manual_sweep_stops_inf_at_a_dead_relu_as_backward_does():
    """√(relu(x)) at x < 0: √ sends inf back, relu's mask stops it (no inf · 0 = nan)."""
    x = Value(-1.0)
    y = x.relu().sqrt() + x
    manual_backward(y)
    assert x.grad == 1.0
    x.grad = 0.0
    y.backward()
    assert x.grad == 1.0


def test_manual_sweep_reaches_parameters_in_a_store():
    model = MLP(2, [3, 1], seed=0)  # parameters live in one flat Store
    out = model([0.5, -0.25])
    manual_backward(out)
    manual = [p.grad for p in model.parameters()]
    assert any(g != 0.0 for g in manual)
    model.zero_grad()
    out.backward()
    assert [p.grad for p in model.parameters()] == pytest.approx(manual, rel=1e-14, abs=1e-15)


# -- comparisons by value, equality by identity ----------------------------------------------


def test_comparisons_compare_data():
    assert Value(0.0).sigmoid() < 0.6
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a and a <= Value(1.0) and a >= 1
    assert not (a > b) and not (b < 1.5)
    assert 0.5 < a and 3 > b and np.float64(1.5) < b and np.float64(0.5) <= a  # numbers on the left
    assert max([a, b]) is b and sorted([b, a]) == [a, b]
    with pytest.raises(TypeError, match="not supported"):
        _ = a < "2"
    with pytest.raises(TypeError, match="not supported"):
        _ = a < None


def test_equality_and_hashing_stay_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a
    assert len({a, b}) == 2 and {a: 1, b: 2}[a] == 1
    assert a in (a * 2)._prev and b not in (a * 2)._prev


# -- user attributes ---------------------------------------------------------------------------


def test_values_take_user_attributes():
    v = Value(2.0, label="v")
    v.foo = 1
    v.name = "a weight"
    y = v * v
    y.note = {"layer": 0}
    y.backward()
    assert (v.foo, v.name, y.note["layer"], v.label) == (1, "a weight", 0, "v")
    assert v.grad == 4.0


BYTES_PER_VALUE = """
import tracemalloc
from microgradx import Value

w = Value(0.9)
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
keep = [w * 1.5 for _ in range(20_000)]  # benchmarks/engine.py's measure: a node and a constant each
print((tracemalloc.get_traced_memory()[0] - before) / (2 * len(keep)))
"""

FIRST_THINGS_FIRST = """
from microgradx import Value

first = Value(1.0, label="first")  # a label and attributes of your own on a program's first Values
first.note, first.layer, first.seen = "mine", 0, True
second = first * 2
second.checked = True
second.backward()
"""


def bytes_per_value(setup: str = "") -> float:
    """benchmarks/engine.py's bytes per Value, in a fresh process after `setup`."""
    out = subprocess.run(
        [sys.executable, "-c", setup + BYTES_PER_VALUE], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[-1])


def test_user_attributes_keep_values_small_and_cycle_free():
    """≤ 150 bytes a Value (the issue's floor), the same whatever names a program sets first
    (CPython sizes a class's shared attribute array by the names set while it is new)."""
    plain = bytes_per_value()
    assert plain <= 150, plain
    assert bytes_per_value(FIRST_THINGS_FIRST) == pytest.approx(plain, abs=1.0)
    (Value(1.0) * 2).backward()  # anything a first backward sets up, before counting
    gc.collect()
    gc.disable()
    try:
        x = Value(2.0, label="x")
        x.note = "mine"
        y = (x * 3).tanh() + x
        y.backward()
        topo = flatten(y).nodes  # a topological order (the lecture's recursive one is itself a cycle)
        for v in reversed(topo):
            v._backward()
        del x, y, topo, v
        assert gc.collect() == 0  # freed by reference counting alone
    finally:
        gc.enable()
