"""Forward mode, gradients as graphs, Hessians (microgradx.modes) against independent oracles:
the lecture's graph by hand, finite differences, the reverse sweep, and PyTorch float64
(torch.func.jvp, torch.autograd.functional.hessian and hvp) where it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles import central_difference, random_graph, torch_function

import microgradx
from microgradx import Op, Value
from microgradx.core.graph_rules import RULES
from microgradx.core.ops import TABLE
from microgradx.datasets import make_moons
from microgradx.nn import MLP

SEEDS = range(200)


def lecture():
    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    return u, v, w, (u + v) * w


def close(ours, theirs, rtol=1e-9):
    """Equal to rtol relative to the larger array's scale (entries that are 0 in one may be 1e-17
    in the other)."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    scale = max(1.0, float(np.max(np.abs(theirs), initial=0.0)))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale)


# -- the lecture's graph, by hand ------------------------------------------------------------------


def test_lecture_jvp_by_hand():
    u, v, w, f = lecture()
    assert microgradx.jvp(f, {u: 1.0}) == (20.0, 4.0)  # ∂f/∂u = w
    assert microgradx.jvp(f, {w: 1.0}) == (20.0, 5.0)  # ∂f/∂w = u + v
    assert microgradx.jvp(f, {u: 1.0, v: 1.0, w: 2.0}) == (20.0, 4.0 + 4.0 + 2 * 5.0)
    assert microgradx.jvp([f, u * v], {v: 1.0}) == ([20.0, 6.0], [4.0, 2.0])


def test_lecture_second_derivatives_by_hand():
    u, v, w, f = lecture()
    du, dv, dw = microgradx.grad(f, [u, v, w], create_graph=True)
    assert (du.data, dv.data, dw.data) == (4.0, 4.0, 5.0)
    assert du is w and dv is w  # ∂f/∂u = w: the adjoint is the node w itself, no new node
    assert dw.op == Op.ADD and dw.operands == (u, v)  # ∂f/∂w = u + v, the graph's own node
    assert microgradx.grad(du, [u, w]) == [0.0, 1.0]  # ∂²f/∂u² = 0, ∂²f/∂u∂w = 1
    H = microgradx.hessian(f, [u, v, w])
    np.testing.assert_array_equal(H, [[0, 0, 1], [0, 0, 1], [1, 1, 0]])
    value, Hv = microgradx.hvp(f, [u, v, w], [1.0, 2.0, 3.0])
    assert value == 20.0
    np.testing.assert_array_equal(Hv, [3.0, 3.0, 3.0])
    assert (u.grad, v.grad, w.grad) == (0.0, 0.0, 0.0)  # nothing touched .grad


def test_gradient_graph_shares_nodes_and_sums_once():
    x = Value(3.0, label="x")
    g = microgradx.grad(x * x, x, create_graph=True)
    assert g.op == Op.SUM and g.operands == (x, x) and g.data == 6.0  # one SUM of the two uses
    g2 = microgradx.grad(g, x, create_graph=True)
    assert g2.data == 2.0
    y = x * x * x
    g = microgradx.grad(y, x, create_graph=True)
    assert g.data == 27.0 and microgradx.grad(g, x) == 18.0


def test_unreached_wrt_is_zero():
    x, y = Value(1.0), Value(2.0)
    f = x.tanh()
    assert microgradx.grad(f, y) == 0.0
    g = microgradx.grad(f, [x, y], create_graph=True)
    assert g[1].op == Op.CONST and g[1].data == 0.0
    np.testing.assert_array_equal(microgradx.hessian(f, [y]), [[0.0]])


def test_grad_of_an_intermediate_node_is_its_adjoint():
    x = Value(0.5)
    h = x * 3.0
    f = h.sin()
    assert microgradx.grad(f, h) == pytest.approx(math.cos(1.5), rel=1e-15)


def test_a_gradient_graph_starts_from_the_leaves_current_values():
    """A leaf set after the graph was built: grad(create_graph=True) refreshes the graph's data as
    backward() does, so the gradient's .data and its second derivative are today's, not a mix."""
    x = Value(1.0, label="x")
    f = x * x * x
    x.data = 3.0
    g = microgradx.grad(f, x, create_graph=True)
    assert g.data == pytest.approx(27.0, rel=1e-15)  # 3x², not 19 from the stale x·x = 1
    assert f.data == pytest.approx(27.0, rel=1e-15)
    assert microgradx.grad(g, x) == pytest.approx(18.0, rel=1e-15)
    assert microgradx.grad(g, x, create_graph=True).data == pytest.approx(18.0, rel=1e-15)


def test_relu_and_abs_derivatives_are_nodes_right_at_other_inputs():
    x = Value(1.5, label="x")
    f = x.relu() * x + x.abs() * 2.0  # f' = 2x·step(x) + 2 sign(x)
    g = microgradx.grad(f, x, create_graph=True)
    c = microgradx.compile(g, inputs=[x])
    for at in (-2.0, -0.5, 0.5, 3.0):
        expect = 2 * at * (at > 0) + 2 * np.sign(at)
        assert c.forward([at]) == pytest.approx(expect, rel=1e-15)


def test_graph_rules_equal_float_rules():
    rng = np.random.default_rng(0)
    for info in TABLE:
        if info.arity == 0:
            continue
        n = {1: 1, 2: 2, -1: 4}[info.arity]
        for _ in range(25):
            xs = [Value(float(x)) for x in rng.uniform(0.2, 2.0, n) * rng.choice([-1, 1], n)]
            if info.op in (Op.LOG, Op.SQRT, Op.POW, Op.POWC):
                xs[0].data = abs(xs[0].data)
            if info.op == Op.POWC:
                xs[1] = Value.const(float(rng.choice([0.0, 1.0, 2.0, 3.0, -1.5, 0.5])))
            nary = info.arity == -1
            out = Value._nary(info.op, tuple(xs)) if nary else Value._node(info.op, *(xs + [None])[:2])
            floats = info.derivative(out.data, *[x.data for x in xs])
            graphs = RULES[info.op](out, *xs)
            assert len(graphs) == len(floats)
            for d, f in zip(graphs, floats):
                assert (d.data if isinstance(d, Value) else d) == pytest.approx(f, rel=1e-14, abs=1e-15)


# -- independent oracles without PyTorch: random graphs of every op --------------------------------


def graph(seed):
    return random_graph(np.random.default_rng(seed))


def _at(out, leaves, xs):
    keep = [x.data for x in leaves]
    for x, v in zip(leaves, xs):
        x.data = v
    try:
        return microgradx.jvp(out, {})[0]
    finally:
        for x, v in zip(leaves, keep):
            x.data = v


@pytest.mark.parametrize("seed", SEEDS[:60])
def test_jvp_equals_finite_differences_and_the_reverse_gradient(seed):
    leaves, out = graph(seed)
    x0 = [x.data for x in leaves]
    direction = np.random.default_rng(seed + 1000).normal(size=len(leaves))
    value, tangent = microgradx.jvp(out, dict(zip(leaves, direction)))
    assert value == out.data
    h = 1e-6
    up = _at(out, leaves, [x + h * d for x, d in zip(x0, direction)])
    down = _at(out, leaves, [x - h * d for x, d in zip(x0, direction)])
    assert tangent == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-6)
    gradient = microgradx.grad(out, leaves)
    for i, x in enumerate(leaves):
        assert microgradx.jvp(out, {x: 1.0})[1] == pytest.approx(gradient[i], rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("seed", SEEDS[:60])
def test_hessian_equals_differences_of_the_gradient_and_is_symmetric(seed):
    leaves, out = graph(seed)
    x0 = [x.data for x in leaves]
    H = microgradx.hessian(out, leaves)

    def gradient_at(i):
        return lambda xs: _at_grad(out, leaves, xs)[i]

    fd = np.array([central_difference(gradient_at(i), x0, h=1e-5) for i in range(len(leaves))])
    np.testing.assert_allclose(H, fd, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(fd).max()))
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(H).max()))
    v = np.random.default_rng(seed).normal(size=len(leaves))
    close(microgradx.hvp(out, leaves, v)[1], H @ v, rtol=1e-12)
    g = microgradx.grad(out, leaves, create_graph=True)  # reverse over reverse: grad of a grad
    rr = np.array([microgradx.grad(gi, leaves) for gi in g])
    close(rr, H, rtol=1e-12)


def _at_grad(out, leaves, xs):
    """The reference reverse sweep's gradient at the leaves' values xs."""
    from microgradx.core import reference
    from microgradx.core.tape import flatten

    tape = flatten(out)
    slot = {id(tape.nodes[s]): int(s) for s in tape.leaves}
    vals = tape.initial_values().tolist()
    for x, v in zip(leaves, xs):
        vals[slot[id(x)]] = v
    lists = tape.op.tolist(), tape.a.tolist(), tape.b.tolist(), tape.args.tolist()
    reference.forward(*lists, vals)
    grads = [0.0] * len(tape)
    grads[int(tape.outputs[0])] = 1.0
    reference.backward(*lists, vals, grads)
    return [grads[slot[id(x)]] for x in leaves]


# -- compiled: a batch of rows ------------------------------------------------------------------


def small_net(seed=0):
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    target = Value(0.0, label="y")
    model = MLP(2, [4, 3, 1], seed=seed)
    score = model(xs)
    loss = (
        (1 - target * score).relu()
        + (score - target).tanh() ** 2
        + 1e-2 * Value.dot(model.parameters(), model.parameters())
    )
    return xs, target, model, score, loss


def test_compiled_jvp_equals_the_scalar_jvp_row_by_row():
    xs, target, model, score, loss = small_net()
    c = microgradx.compile([loss, score], inputs=xs + [target])
    rng = np.random.default_rng(1)
    X, dX = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    values, tangents = c.jvp(X, dX)
    assert values.shape == tangents.shape == (7, 2)
    for r in range(7):
        for x, v in zip(xs + [target], X[r]):
            x.data = float(v)
        vals, tans = microgradx.jvp([loss, score], dict(zip(xs + [target], dX[r])))
        close(values[r], vals, rtol=1e-12)
        close(tangents[r], tans, rtol=1e-12)
    one = microgradx.compile(loss, inputs=xs + [target])
    v1, t1 = one.jvp(X[0], dX[0])
    assert isinstance(v1, float) and v1 == pytest.approx(values[0, 0], rel=1e-13)
    assert t1 == pytest.approx(tangents[0, 0], rel=1e-12, abs=1e-14)


def test_compiled_hessian_and_hvp_equal_the_scalar_ones_on_the_mean_loss():
    xs, target, model, score, loss = small_net(seed=3)
    c = microgradx.compile(loss, inputs=xs + [target])
    params = c.parameters
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(size=(6, 2)), rng.choice([-1.0, 1.0], 6)])
    H = c.hessian(X)
    rows = []
    for r in X:  # the mean loss as one scalar graph over the rows
        row_xs = [Value(float(r[0])), Value(float(r[1]))]
        s = model(row_xs)
        t = float(r[2])
        rows.append((1 - t * s).relu() + (s - t).tanh() ** 2 + 1e-2 * Value.dot(params, params))
    mean = Value.sum(rows) / len(rows)
    close(H, microgradx.hessian(mean, params), rtol=1e-11)
    close(c.hessian(X, reduction="sum"), H * len(X), rtol=1e-12)
    v = rng.normal(size=len(params))
    close(c.hvp(X, v), H @ v, rtol=1e-11)
    close(c.hvp(X, v), microgradx.hvp(mean, params, v)[1], rtol=1e-11)
    assert all(p.grad == 0.0 for p in params)


def test_compiled_hessian_and_hvp_take_the_parameters_in_the_order_given():
    """wrt=model.parameters() puts v and H's rows and columns in the model's order, which is not
    the tape's (compiled.parameters) for an MLP: the scalar hessian in that order is the oracle.
    A part of the parameters gives that block of H, and H·v with v 0 elsewhere."""
    xs, target, model, score, loss = small_net(seed=4)
    c = microgradx.compile(loss, inputs=xs + [target])
    mine = model.parameters()
    assert [id(p) for p in c.parameters] != [id(p) for p in mine]  # else the test shows nothing
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.normal(size=(5, 2)), rng.choice([-1.0, 1.0], 5)])
    rows = []
    for r in X:
        s = model([Value(float(r[0])), Value(float(r[1]))])
        t = float(r[2])
        rows.append((1 - t * s).relu() + (s - t).tanh() ** 2 + 1e-2 * Value.dot(c.parameters, c.parameters))
    H = microgradx.hessian(Value.sum(rows) / len(rows), mine)  # in the model's order
    close(c.hessian(X, wrt=mine), H, rtol=1e-11)
    v = rng.normal(size=len(mine))
    close(c.hvp(X, v, wrt=mine), H @ v, rtol=1e-11)
    part = mine[2:6]
    close(c.hessian(X, wrt=part), H[2:6, 2:6], rtol=1e-11)
    close(c.hvp(X, v[2:6], wrt=part), H[2:6, 2:6] @ v[2:6], rtol=1e-11)
    with pytest.raises(ValueError, match=r"wrt\[0\] .* is not a parameter of this graph"):
        c.hessian(X, wrt=[xs[0]])
    with pytest.raises(ValueError, match="listed twice"):
        c.hvp(X, [1.0, 2.0], wrt=[mine[0], mine[0]])
    with pytest.raises(ValueError, match=r"one number per parameter of wrt \(4\)"):
        c.hvp(X, v, wrt=part)


def test_compiled_jvp_moves_the_parameters_too():
    """jvp(x, dx, dparams=, wrt=): the tangent along inputs and parameters at once, row by row,
    against the scalar jvp of each row's graph (leaves: the row's inputs and the parameters)."""
    xs, target, model, score, loss = small_net(seed=6)
    c = microgradx.compile(loss, inputs=xs + [target])
    mine = model.parameters()
    rng = np.random.default_rng(7)
    X = np.column_stack([rng.normal(size=(4, 2)), rng.choice([-1.0, 1.0], 4)])
    dX = rng.normal(size=X.shape)
    dp = rng.normal(size=len(mine))
    values, tangents = c.jvp(X, dX, dparams=dp, wrt=mine)
    for r in range(len(X)):
        leaves = [Value(float(a)) for a in X[r]]
        s = model(leaves[:2])
        f = (1 - leaves[2] * s).relu() + (s - leaves[2]).tanh() ** 2 + 1e-2 * Value.dot(mine, mine)
        seeds = {**dict(zip(leaves, dX[r].tolist())), **dict(zip(mine, dp.tolist()))}
        value, tangent = microgradx.jvp(f, seeds)
        close(values[r], value, rtol=1e-12)
        close(tangents[r], tangent, rtol=1e-11)
    only_params = c.jvp(X, dparams=dp, wrt=mine)[1]
    close(only_params + c.jvp(X, dX)[1], tangents, rtol=1e-11)  # linear in the direction
    part = c.jvp(X, dparams=dp[:3], wrt=mine[:3])[1]  # the other parameters held fixed
    close(part, c.jvp(X, dparams=np.r_[dp[:3], np.zeros(len(mine) - 3)], wrt=mine)[1], rtol=1e-12)
    with pytest.raises(TypeError, match=r"jvp\(wrt=...\) orders dparams: give dparams too"):
        c.jvp(X, dX, wrt=mine)
    with pytest.raises(ValueError, match=r"jvp\(dparams\): dparams must hold one number per parameter"):
        c.jvp(X, dX, dparams=dp[:2])
    with pytest.raises(TypeError, match=r"jvp\(dparams=dict\): give dparams as a list or array, one number"):
        c.jvp(X, dX, dparams=dict(zip(mine, dp)), wrt=mine)


def test_compiled_jvp_names_dx_when_dx_is_wrong():
    xs, target, model, score, loss = small_net(seed=1)
    c = microgradx.compile(loss, inputs=xs + [target])
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"jvp\(dx\): dx has shape \(4, 2\)"):
        c.jvp(X, X[:, :2])
    with pytest.raises(TypeError, match=r"jvp\(dx\)"):
        c.jvp(X, "fast")
    with pytest.raises(ValueError, match=r"jvp\(x\): x has shape \(4, 2\)"):
        c.jvp(X[:, :2], X)


# -- errors -----------------------------------------------------------------------------------------


def test_errors_name_the_problem_and_the_fix():
    u, v, w, f = lecture()
    with pytest.raises(TypeError, match="not a Value"):
        microgradx.jvp(f, {"u": 1.0})
    with pytest.raises(ValueError, match="not in the graph"):
        microgradx.jvp(f, {Value(1.0): 1.0})
    with pytest.raises(ValueError, match="computed from other Values"):
        microgradx.jvp(f, {u + v: 1.0})
    with pytest.raises(TypeError, match="not a number"):
        microgradx.jvp(f, {u: "1"})
    with pytest.raises(TypeError, match="dict"):
        microgradx.jvp(f, [u])
    with pytest.raises(ValueError, match="not a leaf"):
        microgradx.hessian(f, [u + v])
    with pytest.raises(ValueError, match="one number per wrt"):
        microgradx.hvp(f, [u, v], [1.0])
    with pytest.raises(TypeError, match="wrt must be"):
        microgradx.grad(f, "u")
    c = microgradx.compile([f, u * v], inputs=[u])
    with pytest.raises(ValueError, match="one output"):
        c.hvp([2.0], [1.0, 1.0])
    c = microgradx.compile(f, inputs=[u])
    with pytest.raises(ValueError, match="one number per parameter"):
        c.hvp([2.0], [1.0])
    with pytest.raises(ValueError, match="dx has shape"):
        c.jvp([[2.0]], [[1.0], [2.0]])


# -- PyTorch float64 --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_random_graphs_equal_pytorch(seed):
    torch = pytest.importorskip("torch")
    leaves, out = graph(seed)
    f = torch_function([out], leaves)
    x = torch.tensor([v.data for v in leaves], dtype=torch.float64)
    direction = np.random.default_rng(seed + 7).normal(size=len(leaves))
    dx = torch.tensor(direction, dtype=torch.float64)
    value, tangent = microgradx.jvp(out, dict(zip(leaves, direction)))
    tv, tt = torch.func.jvp(lambda x: f(x)[0], (x,), (dx,))
    close(value, tv.item())
    close(tangent, tt.item())
    H = torch.autograd.functional.hessian(lambda x: f(x)[0], x).numpy()
    close(microgradx.hessian(out, leaves), H)
    g = microgradx.grad(out, leaves, create_graph=True)
    close([microgradx.grad(gi, leaves) for gi in g], H)  # grad of a grad
    _, hv = torch.autograd.functional.hvp(lambda x: f(x)[0], x, dx)
    close(microgradx.hvp(out, leaves, direction)[1], hv.numpy())


def test_moons_loss_equals_pytorch():
    torch = pytest.importorskip("torch")
    X, y = make_moons(100, noise=0.1, seed=1337)
    Y = y * 2.0 - 1.0
    model = MLP(2, [16, 16, 1], seed=1337, init="micrograd")
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    target = Value(0.0, label="y")
    score = model(xs)
    loss = (1 - target * score).relu() + 1e-4 * sum(p * p for p in model.parameters())
    c = microgradx.compile(loss, inputs=xs + [target])
    params = c.parameters
    assert len(params) == 337
    given = {
        xs[0]: torch.tensor(X[:, 0]), xs[1]: torch.tensor(X[:, 1]), target: torch.tensor(Y),
    }  # fmt: skip
    f = torch_function([loss], params, given)
    p = torch.tensor([q.data for q in params], dtype=torch.float64)
    H = torch.autograd.functional.hessian(lambda p: f(p)[0].mean(), p).numpy()
    rows = np.column_stack([X, Y])
    close(c.hessian(rows), H)
    v = np.random.default_rng(0).normal(size=337)
    _, hv = torch.autograd.functional.hvp(lambda p: f(p)[0].mean(), p, torch.tensor(v))
    close(c.hvp(rows, v), hv.numpy())
    # forward mode along the inputs, row by row
    dX = np.random.default_rng(1).normal(size=rows.shape)
    values, tangents = c.jvp(rows, dX)
    g = torch_function([loss], xs + [target])
    tv, tt = torch.func.jvp(lambda z: g(z)[0], (torch.tensor(rows.T.copy()),), (torch.tensor(dX.T.copy()),))
    close(values, tv.numpy())
    close(tangents, tt.numpy())


def test_compiled_second_derivatives_of_a_loss_linear_in_a_parameter_and_after_a_step():
    x = Value(0.0, label="x")
    p, q = Value(0.5, label="p"), Value(-1.5, label="q")
    c = microgradx.compile(p * x + (q * q * q) * 0.5, inputs=[x])  # H = diag(0, 3q)
    X = np.array([[1.0], [2.0], [-4.0]])
    np.testing.assert_allclose(c.hessian(X), [[0.0, 0.0], [0.0, 3 * -1.5]], rtol=1e-15)
    np.testing.assert_allclose(c.hvp(X, [2.0, 1.0]), [0.0, 3 * -1.5], rtol=1e-15)
    q.data = 2.0  # an optimizer's step: the next call sees it
    np.testing.assert_allclose(c.hessian(X), [[0.0, 0.0], [0.0, 6.0]], rtol=1e-15)
    np.testing.assert_allclose(c.hvp(X, [0.0, 1.0], reduction="sum"), [0.0, 18.0], rtol=1e-15)
    assert p.grad == q.grad == 0.0


def test_compiled_modes_survive_pickling():
    import pickle

    xs, target, model, score, loss = small_net(seed=5)
    c = microgradx.compile(loss, inputs=xs + [target])
    X = np.random.default_rng(3).normal(size=(4, 3))
    H, jv = c.hessian(X), c.jvp(X, X)
    again = pickle.loads(pickle.dumps(c))
    close(again.hessian(X), H, rtol=1e-15)
    close(again.jvp(X, X), jv, rtol=1e-15)


def test_a_dead_relu_passes_no_tangent():
    x = Value(-1.0)
    y = (x * math.inf).relu()  # relu(-inf) = 0; the tangent inf · 0 would be nan
    assert microgradx.jvp(y, {x: 1.0}) == (0.0, 0.0)


def test_moons_loss_scalar_hvp_and_grad_of_grad_equal_pytorch():
    """The moons loss as one scalar graph over 25 of its rows: hvp (the tangent sweep over the
    gradient graph) and one row of H as a grad of a grad. (PyTorch replays the scalar graph op
    by op, slowly; test_moons_loss_equals_pytorch has all 100 rows, compiled.)"""
    torch = pytest.importorskip("torch")
    X, y = make_moons(100, noise=0.1, seed=1337)
    X, y = X[::4], y[::4]
    Y = y * 2.0 - 1.0
    model = MLP(2, [16, 16, 1], seed=1337, init="micrograd")
    params = model.parameters()
    l2 = 1e-4 * sum(p * p for p in params)
    hinge = [(1 - float(t) * model([float(a), float(b)])).relu() for (a, b), t in zip(X, Y)]
    loss = Value.sum(hinge) / len(hinge) + l2
    f = torch_function([loss], params)
    p = torch.tensor([q.data for q in params], dtype=torch.float64)
    v = np.random.default_rng(4).normal(size=len(params))
    _, hv = torch.autograd.functional.hvp(lambda p: f(p)[0], p, torch.tensor(v))
    value, ours = microgradx.hvp(loss, params, v)
    close(value, f(p)[0].item())
    close(ours, hv.numpy())
    p.requires_grad_(True)
    (dl,) = torch.autograd.grad(f(p)[0], p, create_graph=True)
    (row,) = torch.autograd.grad(dl[-1], p)  # ∂/∂p of ∂loss/∂(the output bias): H's last row
    g = microgradx.grad(loss, params[-1], create_graph=True)
    close(microgradx.grad(g, params), row.numpy())


def test_a_graph_without_parameters_has_an_empty_hessian():
    x = Value(0.0)
    c = microgradx.compile(x.sin(), inputs=[x])
    assert c.hessian([[1.0]]).shape == (0, 0) and c.hvp([[1.0]], []).shape == (0,)
    assert c.jvp([[0.0], [1.0]], [[2.0], [1.0]])[1] == pytest.approx([2.0, math.cos(1.0)], rel=1e-15)
