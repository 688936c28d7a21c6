"""Pickling and copying at any depth (issue 14, item 6): graphs, models, compiled graphs, optimizers.

A graph travels as its nodes in topological order (engine.Value.__reduce_ex__), so a
100,000-op chain pickles and deep-copies as easily as the lecture's graph, nodes shared
by several others stay one node, and a model, its compiled graph and its optimizer sent
together keep sharing their parameters. The last test sends them to another process
(spawn, as on macOS and Windows) and trains there.
"""

from __future__ import annotations

import concurrent.futures
import copy
import multiprocessing
import pickle

import numpy as np
import pytest

import microgradx
from microgradx import Value, flatten
from microgradx.nn import MLP
from microgradx.optim import SGD, Adam

TRAVEL = {"pickle": lambda obj: pickle.loads(pickle.dumps(obj)), "deepcopy": copy.deepcopy}


def chain(n: int) -> tuple[Value, Value, Value, Value]:
    """n computed nodes: (t·w).tanh() + b repeated; returns (out, x, w, b)."""
    x, w, b = Value(0.5, label="x"), Value(0.9, label="w"), Value(0.01, label="b")
    t = x
    for i in range(n):
        k = i % 3
        t = t * w if k == 0 else (t.tanh() if k == 1 else t + b)
    return t, x, w, b


@pytest.mark.parametrize("travel", TRAVEL)
def test_a_100000_op_chain_travels_with_equal_data_and_gradients(travel):
    out, x, w, b = chain(100_000)
    out2, x2, w2, b2 = TRAVEL[travel]((out, x, w, b))
    assert out2 is not out and x2 is not x
    assert out2.data == out.data and (x2.label, w2.label, b2.label) == ("x", "w", "b")
    assert {v for v in flatten(out2).nodes if v.op == microgradx.Op.LEAF} == {x2, w2, b2}  # its own leaves
    out.backward()
    out2.backward()
    assert (x2.grad, w2.grad, b2.grad) == (x.grad, w.grad, b.grad)
    assert out2.data == out.data
    w2.data = 0.5  # the copy is a graph of its own: the original does not move
    out2.backward()
    assert out2.data != out.data and w.data == 0.9


@pytest.mark.parametrize("travel", TRAVEL)
def test_a_deep_value_alone_travels(travel):
    out, *_ = chain(5_000)
    out2 = TRAVEL[travel](out)  # before any backward (whose plan, a tape, would be a way to travel)
    assert out2.data == out.data and out2.op == out.op
    out.backward()
    out3 = TRAVEL[travel](out)  # a root keeps backward's plan: it stays behind, the copy makes its own
    assert out3._plan is None
    out3.backward()
    assert out3.grad == 1.0 and out3.data == out.data


@pytest.mark.parametrize("travel", TRAVEL)
def test_the_nodes_of_a_deep_chain_travel_one_by_one(travel):
    """A list of a deep graph's nodes, each sent alone, in order (the lecture's topo list): in linear
    time; then graphs that reuse those nodes, in new picklings, still whole."""
    out, x, w, b = chain(100_000)
    nodes = flatten(out).nodes
    nodes2 = TRAVEL[travel](nodes)
    assert [v.data for v in nodes2[-5:]] == [v.data for v in nodes[-5:]]
    assert nodes2[-1]._a is nodes2[-2] and nodes2[0]._store is None
    y2 = TRAVEL[travel](out * 2)  # out was sent before, by another pickling: it goes whole again
    assert y2.data == 2 * out.data and y2._a.data == out.data
    back = TRAVEL[travel](nodes[::-1])  # the root first: its graph, then the rest, all in the memo
    assert back[0].data == out.data and back[0]._a is back[1]
    back[0].backward()
    out.backward()
    assert back[-1].grad == x.grad  # nodes[0] is x: the first leaf placed


@pytest.mark.parametrize("travel", TRAVEL)
def test_shared_nodes_stay_shared(travel):
    x = Value(2.0, label="x")
    a = x * 3  # a diamond: a and b both read x, y reads both, z reads y and a again
    b = x + 1
    y = a * b
    z = y + a
    a2, y2, z2, x2 = TRAVEL[travel]((a, y, z, x))
    assert z2._a is y2 and z2._b is a2 and y2._a is a2
    assert a2._a is x2 and y2._b._a is x2
    z.backward()
    z2.backward()
    assert (x2.grad, a2.grad, y2.grad) == (x.grad, a.grad, y.grad)
    assert x2.grad == 18.0  # z = 3x(x + 1) + 3x: 6x + 6 at x = 2


@pytest.mark.parametrize("travel", TRAVEL)
def test_attributes_labels_and_n_ary_nodes_travel(travel):
    xs = [Value(float(k), label=f"x{k}") for k in range(3)]
    ws = [Value(0.5 * k) for k in range(3)]
    s = Value.dot(xs, ws) + Value.sum(xs) ** 2
    s.note = {"made by": "the test"}
    s2 = TRAVEL[travel](s)
    assert s2.note == {"made by": "the test"} and s2.data == s.data
    assert [v.label for v in flatten(s2).nodes if v.label] == [v.label for v in flatten(s).nodes if v.label]
    s.backward()
    s2.backward()
    grads = [v.grad for v in flatten(s).nodes]
    assert [v.grad for v in flatten(s2).nodes] == grads


def test_copy_copy_is_a_new_node_on_the_same_operands():
    u, v = Value(2.0), Value(3.0)
    f = u * v
    g = copy.copy(f)
    assert g is not f and g._a is u and g._b is v and g.data == f.data


@pytest.mark.parametrize("travel", TRAVEL)
def test_an_mlp_travels(travel):
    model = MLP(3, [8, 8, 1], seed=0)
    x = [0.5, -1.0, 2.0]
    model2 = TRAVEL[travel](model)
    assert [p.data for p in model2.parameters()] == [p.data for p in model.parameters()]
    assert [p.label for p in model2.parameters()] == [p.label for p in model.parameters()]
    assert model2(x).data == model(x).data
    model2.zero_grad()
    model(x).backward()
    model2(x).backward()
    assert [p.grad for p in model2.parameters()] == [p.grad for p in model.parameters()]
    model2.parameters()[0].data += 1.0  # its own parameters, in its own store
    assert model2.parameters()[0].data != model.parameters()[0].data


def compiled_mlp(seed: int = 0):
    model = MLP(2, [16, 16, 1], seed=seed)
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    return model, xs, microgradx.compile(model(xs), inputs=xs)


@pytest.mark.parametrize("travel", TRAVEL)
def test_a_compiled_graph_travels_forward_then_backward(travel):
    _, _, step = compiled_mlp()
    X = np.random.default_rng(1).normal(size=(40, 2))
    step2 = TRAVEL[travel](step)
    assert np.array_equal(step2.forward(X), step.forward(X))
    assert np.array_equal(step2.backward(), step.backward())
    assert [p.grad for p in step2.parameters] == [p.grad for p in step.parameters]


@pytest.mark.parametrize("travel", TRAVEL)
def test_a_deep_compiled_graph_travels(travel):
    out, x, w, b = chain(20_000)
    step = microgradx.compile(out, inputs=[x], optimize=False)
    step2 = TRAVEL[travel](step)
    X = np.array([[0.5], [0.2]])
    assert np.array_equal(step2.forward(X), step.forward(X))
    assert np.array_equal(step2.backward(), step.backward())


def adam_steps(*pairs: tuple[MLP, Adam], steps: int = 1) -> None:
    """Each model's gradient at one input, then its optimizer's step, `steps` times."""
    for _ in range(steps):
        for model, opt in pairs:
            model.zero_grad()
            model([1.0, 2.0]).backward()
            opt.step()


def trained_adam() -> tuple[MLP, Adam]:
    """A small MLP and its Adam after three steps: moments that are not zero."""
    model = MLP(2, [4, 1], seed=0)
    opt = Adam(model.parameters(), lr=0.01)
    adam_steps((model, opt), steps=3)
    return model, opt


@pytest.mark.parametrize("travel", TRAVEL)
def test_an_optimizer_travels_with_its_state(travel):
    model, opt = trained_adam()
    model2, opt2 = TRAVEL[travel]((model, opt))
    assert opt2.t == 3 and (opt2.lr, opt2.beta1, opt2.beta2) == (opt.lr, opt.beta1, opt.beta2)
    assert np.array_equal(opt2.m, opt.m) and np.array_equal(opt2.v, opt.v)
    assert opt2.params == model2.parameters()  # the same Values: its parameters are the model's
    adam_steps((model, opt), (model2, opt2))
    assert [p.data for p in model2.parameters()] == [p.data for p in model.parameters()]


def test_an_adam_pickled_with_its_moments_in_two_rows_steps_as_before():
    """Adam's state was two rows, m then v; it is now one row, each parameter's m and v side by
    side (kernels/updates.py). An optimizer pickled the old way comes back laid out the new way:
    the same m and v, and a step equal to the unpickled original's (read as it was, the kernel
    would read v past the row's end)."""
    model, opt = trained_adam()
    m, v = opt.m.copy(), opt.v.copy()
    now, opt.state = opt.state, np.stack([m, v])  # pickled as the layout before held it
    model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
    opt.state = now
    assert opt2.state.shape == (1, 2 * m.size)
    assert np.array_equal(opt2.m, m) and np.array_equal(opt2.v, v)
    adam_steps((model, opt), (model2, opt2))
    assert [p.data for p in model2.parameters()] == [p.data for p in model.parameters()]


@pytest.mark.parametrize("travel", TRAVEL)
def test_parameters_shared_by_a_model_and_its_compiled_graph_stay_shared(travel):
    model, xs, step = compiled_mlp()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    model2, step2, opt2 = TRAVEL[travel]((model, step, opt))
    params = model2.parameters()
    assert all(any(p is q for q in params) for p in step2.parameters)
    assert step2.store is params[0]._store and opt2.binding()[0] is step2.store
    X = np.random.default_rng(2).normal(size=(32, 2))
    losses = step.fit(X, opt, 5)
    losses2 = step2.fit(X, opt2, 5)
    assert np.array_equal(losses2, losses)
    assert [p.data for p in params] == [p.data for p in model.parameters()]  # the model saw its graph's steps


def test_a_model_trains_in_another_process():
    """The model, its compiled step and its optimizer go to a spawned process, train there, and
    come back: the same losses and parameters as training here."""
    model, xs, step = compiled_mlp(seed=3)
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    X = np.random.default_rng(4).normal(size=(64, 2))
    here = copy.deepcopy((model, step, opt))
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        losses = pool.submit(step.fit, X, opt, 20).result(timeout=600)  # trains the sent copies
        model_back, step_back, opt_back = pool.submit(pickle.loads, pickle.dumps((model, step, opt))).result()
    local_losses = here[1].fit(X, here[2], 20)
    assert np.array_equal(losses, local_losses)
    assert [p.data for p in model_back.parameters()] == [p.data for p in model.parameters()]  # untrained here
    assert np.array_equal(step_back.fit(X, opt_back, 20), local_losses)  # and it trains once back
    assert [p.data for p in model_back.parameters()] == [p.data for p in here[0].parameters()]
