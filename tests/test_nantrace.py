"""NaN/inf tracing: check=True names the slot, op, operands, nearest label and row of the first non-finite."""

from __future__ import annotations

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.datasets import make_moons
from microgradx.nn import MLP
from microgradx.optim import SGD


def log_graph():
    x, w = Value(0.0, label="x"), Value(1.0, label="w")
    h = (x * w).log()
    h.label = "h"
    loss = h * 2 + 1
    loss.label = "loss"
    return x, w, loss


def test_eager_backward_names_the_log_of_zero():
    x, w, loss = log_graph()
    with pytest.raises(FloatingPointError, match=r"-inf first appeared at h, slot \d+ \(log\).*= 0.*'h'"):
        loss.backward(check=True)
    assert w.grad == 0.0  # nothing was written


def test_without_check_nan_and_inf_pass_silently():
    x, w, loss = log_graph()
    loss.backward()
    assert loss.data == -np.inf


def test_compiled_forward_names_the_row():
    x, w, loss = log_graph()
    step = microgradx.compile(loss, inputs=[x], check=True)
    assert step.forward(np.array([[1.0], [2.0]])).shape == (2,)
    with pytest.raises(FloatingPointError, match=r"nan first appeared .*\(log\) on row 1: .*= -2"):
        step.forward(np.array([[1.0], [-2.0], [3.0]]))


def test_nan_in_the_inputs_is_traced_to_the_input_leaf():
    x, w, loss = log_graph()
    step = microgradx.compile(loss, inputs=[x], check=True)
    with pytest.raises(FloatingPointError, match=r"nan first appeared at x, slot \d+ \(leaf\) on row 2.*'x'"):
        step.forward(np.array([[1.0], [1.0], [np.nan]]))


def test_non_finite_gradient_is_reported_after_backward():
    x, w = Value(0.0, label="x"), Value(1.0, label="w")
    y = (x * x).sqrt() * w  # √(x²) has no derivative at 0: the sweep makes inf·0
    step = microgradx.compile(y, inputs=[x], check=True)
    step.forward(np.array([[0.0]]))
    with pytest.raises(FloatingPointError, match="non-finite gradient .* local derivatives of .*sqrt"):
        step.backward()


def test_a_uniform_slot_is_reported_without_a_row():
    x, w = Value(1.0, label="x"), Value(-1.0, label="w")
    y = x * w.sqrt()
    step = microgradx.compile(y, inputs=[x], check=True)
    with pytest.raises(FloatingPointError, match=r"\(sqrt\): t\d+ = sqrt of w = -1") as info:
        step.forward(np.array([[1.0], [2.0]]))
    assert "on row" not in str(info.value)


def test_fit_with_check_stops_at_the_step_that_blew_up():
    model = MLP(2, [4, 1], seed=0)
    xs = [Value(0.0), Value(0.0)]
    y = Value(0.0)
    loss = (model(xs) - y) ** 2
    X, labels = make_moons(20, seed=0)
    step = microgradx.compile(loss, inputs=xs + [y], check=True)
    opt = SGD(model.parameters(), lr=1e6)  # diverges: squares overflow to inf within a few steps
    with pytest.raises(FloatingPointError, match="non-finite"):
        step.fit(np.column_stack([X, labels]), opt, 50)


@pytest.mark.parametrize("block_rows", [256, 40])
def test_large_batches_in_padded_blocks_are_traced_too(block_rows):
    """From 32 rows a block on, each slot's lanes are padded to a cache line: the scan must
    read only the rows' own lanes, and still find the bad one (and its row, in any block)."""
    x, w, loss = log_graph()
    step = microgradx.compile(loss, inputs=[x], check=True)
    step.block_rows = block_rows
    X = np.linspace(1.0, 2.0, 100)[:, None]
    assert step.forward(X).shape == (100,)
    step.backward()
    X[57, 0] = -1.0
    with pytest.raises(FloatingPointError, match=r"\(log\) on row 57"):
        step.forward(X)


def test_a_long_dot_is_shown_by_its_largest_terms():
    """A neuron's DOT has a term per input: the error listed every operand (a 16-input neuron
    made 1,000 characters, its bias's 1 unexplained); it names the term count and the largest
    terms, the one that overflowed first."""
    from microgradx.nn import Neuron

    xs = [Value(0.0, label=f"x{i}") for i in range(12)]
    neuron = Neuron(12, "linear", seed=0)
    step = microgradx.compile(neuron(xs), inputs=xs, check=True)
    row = np.ones(12)
    row[7] = 1e308  # its term, w8 · x7, is inf (|w8| > 1) or near it: the largest
    neuron.w[7].data = 2.0
    with pytest.raises(FloatingPointError) as caught:
        step.forward(row)
    message = str(caught.value)
    assert "dot of 13 terms, the largest w8 = 2 · x7 = 1e+308; " in message and len(message) < 400, message


@pytest.mark.parametrize("how", ["fit", "fit in batches", "train_step"])
def test_without_check_a_loss_gone_nan_or_inf_warns_once_a_graph(how, recwarn):
    """Without check=True a diverging fit returned losses up to nan and left the parameters
    nan, without a word (a newcomer found it): one RuntimeWarning names the step and check=True."""
    model = MLP(2, [4, 1], seed=0)
    xs, y = [Value(0.0), Value(0.0)], Value(0.0)
    step = microgradx.compile((model(xs) - y) ** 2, inputs=xs + [y])
    X, labels = make_moons(20, seed=0)
    rows = np.column_stack([X, labels])
    opt = SGD(model.parameters(), lr=1e6)  # diverges: squares overflow to inf within a few steps
    train = {
        "fit": lambda: step.fit(rows, opt, 30),
        "fit in batches": lambda: step.fit(rows, opt, epochs=10, batch_size=5, seed=0),
        "train_step": lambda: [step.train_step(rows, opt) for _ in range(30)],
    }[how]
    with pytest.warns(RuntimeWarning, match=r"the loss was (nan|inf) at step \d+.*check=True") as caught:
        train()
    warned = [w for w in caught if "the loss was" in str(w.message)]
    assert len(warned) == 1
    # it names the user's line, however deep fit's calls went (it named training/epochs.py)
    assert warned[0].filename == __file__, warned[0].filename
    train()  # nan on: the graph has warned already
    assert not [w for w in recwarn if "the loss was" in str(w.message)]
