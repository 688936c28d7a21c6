"""What a new user tripped on (issue 21, items 3 and 4): the small mistakes and the long printouts.

fit((X, Y), ...) is told to join the columns; `explain` lists the leaves in tape order and
writes a square's derivative as 2·x; the README's micrograd block pastes into Python's own
REPL; print(tape) of a long tape elides its middle, as NumPy does, and tape.format(full=True)
prints every slot.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import tanh_chain

import microgradx
from microgradx import Value
from microgradx.nn import MLP
from microgradx.optim import SGD


def regression() -> tuple[microgradx.Compiled, SGD, np.ndarray, np.ndarray]:
    """A squared error whose graph takes two inputs and then the target: (rows, 3)."""
    model = MLP(2, [4, 1], seed=0)
    xs, y = [Value(0.0), Value(0.0)], Value(0.0)
    step = microgradx.compile((model(xs) - y) ** 2, inputs=xs + [y])
    X = np.random.default_rng(0).normal(size=(10, 2))
    return step, SGD(model.parameters(), lr=0.05), X, X[:, 0] - X[:, 1]


@pytest.mark.parametrize(
    "joined", [lambda X, Y: (X, Y), lambda X, Y: [X, Y[:, None]]], ids=["(X, Y)", "[X, Y]"]
)
def test_inputs_and_targets_given_apart_are_told_to_be_joined(joined):
    step, opt, X, Y = regression()
    message = (
        r"fit\(x\): x is a (tuple|list) of 2 arrays \(shapes \(10, 2\), \(10,( 1)?\)\); "
        r"this graph takes one array of rows, shape \(rows, 3\).*"
        r"join the inputs and targets column-wise, np\.column_stack\(\(X, Y\)\)"
    )
    with pytest.raises(TypeError, match=message):
        step.fit(joined(X, Y), opt, 5)
    with pytest.raises(TypeError, match=r"forward\(x\): x is a .*np\.column_stack"):
        step.forward(joined(X, Y))
    losses = step.fit(np.column_stack((X, Y)), opt, 5)  # the fix it names works
    assert losses.shape == (5,) and losses[-1] < losses[0]
    rows = [np.array([0.5, -0.5, 1.0]), np.array([1.0, 0.0, 1.0])]  # a list of rows is still rows
    assert step.forward(rows).shape == (2,)


def test_explain_lists_the_leaves_in_tape_order_and_works_out_a_square():
    from microgradx.app.commands import build, explain

    root, inputs, _ = build("(x - y)**2 * w + x**3 + x**0.5", ["w=3", "y=1", "x=2"])
    inputs["z"] = Value(5.0, label="z")  # f does not read z: the command line refuses it, explain shows it
    text = explain(root, inputs, "(x - y)**2 * w")
    assert text.splitlines()[0] == "f = (x - y)**2 * w  at w=3, y=1, x=2, z=5"  # as given
    gradients = text.split("gradients:\n")[1].splitlines()
    # the leaves as the sweeps meet them (z, which f does not read, last)
    assert gradients == ["  ∂f/∂x = 18.3536", "  ∂f/∂y = -6", "  ∂f/∂w = 1", "  ∂f/∂z = 0"]
    rules = [line.split("    ")[-1].strip() for line in text.splitlines() if "^δ +=" in line]
    assert "t1^δ += t2^δ · 2·t1" in rules  # (t1²)′ = 2·t1, not 2·t1^(2 − 1)
    assert "x^δ += t4^δ · 3·x^2" in rules and "x^δ += t6^δ · 0.5·x^(-0.5)" in rules
    assert not [r for r in rules if "− 1)" in r]
    # the page writes the same: 2·t1, and 3·x with a superscript 2
    from microgradx.viz.explore import page_data

    html = [s["html"] for s in page_data(root)["steps"]]
    assert any("= 2·t1 · 3 = 2 · 3 = 6" in h for h in html) and any("3·x<sup>2</sup>" in h for h in html)


def test_print_of_a_long_tape_elides_its_middle_and_format_full_prints_all():
    from microgradx import flatten
    from microgradx.core.tape import SHOWN_SLOTS

    tape = flatten(tanh_chain(12_502))
    lines = str(tape).splitlines()
    assert len(lines) == SHOWN_SLOTS + 2  # the first and last 100 slots, the gap, the outputs
    half = SHOWN_SLOTS // 2
    assert lines[0] == "x = leaf" and lines[half - 1] == f"t{half - 1} = tanh t{half - 2}"
    assert lines[half] == "… 12,302 more slots (print(tape.format(full=True)) shows every one) …"
    assert lines[half + 1] == f"t{12_502 - half} = tanh t{12_502 - half - 1}"
    assert lines[-2:] == ["f = tanh t12500", "out f"]
    full = tape.format(full=True).splitlines()
    assert len(full) == 12_503 and full[5000] == "t5000 = tanh t4999"
    short = flatten(tanh_chain(SHOWN_SLOTS))  # up to SHOWN_SLOTS slots: every line, as before
    assert str(short) == short.format(full=True) and len(str(short).splitlines()) == SHOWN_SLOTS + 1
