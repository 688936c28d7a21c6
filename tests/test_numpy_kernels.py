"""The NumPy tier (kernels/numpy_calls.py) against the numba kernels and the reference sweep.

Compiled graphs run on numpy_calls until numba has compiled the kernels (kernels/jit.py), and
may move to the numba kernels between two calls: the two must compute the same
values, gradients and optimizer steps on the same packed arguments.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_random_graphs import graphs, networks

import microgradx
from microgradx import Value
from microgradx.datasets import make_moons
from microgradx.kernels import calls, jit, numpy_calls
from microgradx.nn import MLP
from microgradx.optim import SGD, Adam


def forward_backward(out, inputs, X):
    step = microgradx.compile(out, inputs=inputs)
    step.store.grad[:] = 0.0
    values = step.forward(X)
    gx = step.backward(reduction="sum")
    return values, gx, step.store.grad.copy()


def assert_same_on_both_tiers(out, inputs, rows, seed, rtol):
    """Values, inputs' and parameters' gradients of a batch: numpy_calls against calls (numba)."""
    X = np.random.default_rng(seed).uniform(-2, 2, size=(rows, len(inputs)))
    results = []
    for module in (calls, numpy_calls):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(jit, "kernels_now", lambda m=module: m)
            results.append(forward_backward(out, inputs, X))
    for fast, plain in zip(*results):
        np.testing.assert_allclose(plain, fast, rtol=rtol, atol=rtol / 100)


@settings(max_examples=60, deadline=None)
@given(graphs(), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_random_graphs_equal_on_both_tiers(graph, rows, seed):
    leaves, out = graph
    assert_same_on_both_tiers(out, leaves[: max(1, len(leaves) - 1)], rows, seed, rtol=1e-10)


@settings(max_examples=30, deadline=None)
@given(
    networks(), st.one_of(st.integers(1, 9), st.integers(33, 47), st.integers(300, 700)), st.integers(0, 99)
)
def test_random_networks_equal_on_both_tiers(net, rows, seed):
    """Layers (DOTs sharing rows, tiles, fused relus), rows × rows products, many chunks of rows."""
    xs, _, out = net
    assert_same_on_both_tiers(out, xs, rows, seed, rtol=1e-9)


def moons_step(optimizer, rows=100, width=16):
    X, labels = make_moons(rows, noise=0.1, seed=1)
    XY = np.column_stack([X, labels * 2.0 - 1.0])
    model = MLP(2, [width, width, 1], seed=0)
    xs, y = [Value(0.0), Value(0.0)], Value(0.0)
    loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
    step = microgradx.compile(loss, inputs=xs + [y])
    return step, optimizer(model.parameters()), XY, model


@pytest.mark.parametrize(
    "optimizer",
    [lambda ps: SGD(ps, lr=0.5, momentum=0.9, weight_decay=1e-3), lambda ps: Adam(ps, lr=0.01)],
    ids=["sgd", "adam"],
)
@pytest.mark.parametrize("rows", [100, 600])
def test_training_is_the_same_on_both_tiers_and_across_a_switch(optimizer, rows, monkeypatch):
    """20 steps on numba; 20 on NumPy; 10 on NumPy then 10 on numba (the move jit.py makes when
    the kernels arrive mid-run): the same losses and parameters."""
    runs = []
    for plan in ([calls] * 20, [numpy_calls] * 20, [numpy_calls] * 10 + [calls] * 10):
        step, opt, XY, model = moons_step(optimizer, rows)
        losses = []
        for module in plan:
            monkeypatch.setattr(jit, "kernels_now", lambda m=module: m)
            losses.append(step.train_step(XY, opt) if len(losses) % 2 else float(step.fit(XY, opt, 1)[0]))
        runs.append((np.array(losses), np.array([p.data for p in model.parameters()])))
    for losses, params in runs[1:]:
        np.testing.assert_allclose(losses, runs[0][0], rtol=1e-9)
        np.testing.assert_allclose(params, runs[0][1], rtol=1e-9, atol=1e-12)


def test_optimizer_step_is_the_same_on_both_tiers(monkeypatch):
    results = []
    for module in (calls, numpy_calls):
        monkeypatch.setattr(jit, "kernels_now", lambda m=module: m)
        model = MLP(3, [4, 1], seed=2)
        for opt in (SGD(model.parameters(), lr=0.1, momentum=0.5), Adam(model.parameters(), lr=0.1)):
            for k in range(3):
                for i, p in enumerate(model.parameters()):
                    p.grad = np.sin(i + k)
                opt.step()
        results.append([p.data for p in model.parameters()])
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


def test_lecture_example_on_the_numpy_tier(numpy_tier):
    """f = (u + v)·w at u=2, v=3, w=4: f = 20, ∂f/∂u = ∂f/∂v = w = 4, ∂f/∂w = u + v = 5."""
    u, v, w = Value(0.0, label="u"), Value(0.0, label="v"), Value(4.0, label="w")
    step = microgradx.compile((u + v) * w, inputs=[u, v])
    assert step.forward(np.array([2.0, 3.0])) == 20.0
    np.testing.assert_array_equal(step.backward(), [4.0, 4.0])
    assert w.grad == 5.0


def test_inputs_and_dead_relus_and_uniform_outputs_on_the_numpy_tier(numpy_tier):
    """A relu that is dead passes nothing back, not even inf·0; an output that does not depend on
    the inputs is seeded once per row."""
    x, p = Value(0.0, label="x"), Value(2.0, label="p")
    both = microgradx.compile([(x * 1e308 * 10).relu() * 0.0 + p * p, p * 3.0], inputs=[x])
    np.testing.assert_array_equal(both.forward(np.array([[-1.0], [-2.0]])), [[4.0, 6.0], [4.0, 6.0]])
    both.backward(output=1, reduction="sum")
    assert p.grad == 6.0


@pytest.mark.parametrize("rows, batch", [(100, 32), (700, 600)])
def test_epochs_of_mini_batches_are_the_same_on_both_tiers_and_across_a_switch(rows, batch, monkeypatch):
    """train_batches (fit's epochs): 3 epochs on numba; on NumPy; one on NumPy then two on numba."""
    runs = []
    for plan in ([calls] * 3, [numpy_calls] * 3, [numpy_calls] + [calls] * 2):
        step, opt, XY, model = moons_step(lambda ps: Adam(ps, lr=0.01), rows)
        losses = []
        for epoch, module in enumerate(plan):
            monkeypatch.setattr(jit, "kernels_now", lambda m=module: m)
            losses.append(step.fit(XY, opt, epochs=1, batch_size=batch, seed=epoch).step_loss)
        runs.append((np.concatenate(losses), np.array([p.data for p in model.parameters()])))
    for losses, params in runs[1:]:
        np.testing.assert_allclose(losses, runs[0][0], rtol=1e-9)
        np.testing.assert_allclose(params, runs[0][1], rtol=1e-9, atol=1e-12)
