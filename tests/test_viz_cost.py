"""explore's and explain's work grows with the graph, not with a neuron's fan-in squared.

Each name is made once a sweep (not once for every step that shows it), each node's formula
once (not once for each of its operands), and a chain-rule step through a long sum writes its
first and last terms, so that every step has a bounded length. No test here is timed: the
work is counted (calls, lengths). benchmarks/draw.py times explore on three networks. A graph
too big to step through in a page is refused at once, with its size and what to do instead.
"""

from __future__ import annotations

import importlib

import pytest

from microgradx import Value, flatten
from microgradx.core.tape import Tape
from microgradx.nn import Neuron
from microgradx.viz import draw, explore, steps

explore_module = importlib.import_module("microgradx.viz.explore")  # (viz.explore is the function)


def neuron_graph(fan_in: int) -> Value:
    neuron = Neuron(fan_in, activation="tanh", seed=0)
    return neuron([Value(0.01 * k) for k in range(fan_in)])


def counted(monkeypatch, module, name: str) -> list[int]:
    """Count the calls of module.name from now on."""
    calls = [0]
    original = getattr(module, name)

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_explore_makes_each_name_once_whatever_a_neurons_fan_in(monkeypatch):
    """A neuron of n inputs makes 2n chain-rule steps; each used to rebuild the markup of all 2n
    names of its Σ (4n² names): 200 inputs, 160,000. Now each slot's name is made once."""
    made = counted(monkeypatch, steps, "visible")  # name_html: every name on the page goes through it
    sizes = {}
    for fan_in in (25, 200):
        made[0] = 0
        root = neuron_graph(fan_in)
        explore_module.page_data(root)
        sizes[fan_in] = (len(flatten(root)), made[0])
    (small_slots, small), (big_slots, big) = sizes[25], sizes[200]
    assert big <= 4 * big_slots, sizes  # a name per slot for the table, the forward and reverse sweeps
    assert big / small <= 1.25 * big_slots / small_slots, sizes


def test_explain_and_the_page_write_each_step_in_a_bounded_length(monkeypatch):
    """A step of the reverse sweep through a neuron's Σ of 200 terms writes the Σ with its first
    and last terms, as the page does, not all 200 of them in each of its 400 steps."""
    tape = flatten(neuron_graph(200))
    longest = max(len(s.text) + len(s.html) + len(s.rule) for s in steps.backward_steps(tape))
    assert longest < 1500


def test_the_tapes_names_are_made_as_often_however_far_a_nan_runs(monkeypatch):
    """value_note asked the tape for all its names again at every slot a nan passed through: the
    work grew as the graph's length squared. Now the names are made a few times a page, whatever
    its length."""
    made = counted(monkeypatch, Tape, "names")
    counts = []
    for length in (20, 200):
        node = Value(-1.0, label="x").log()  # nan, and so every sum after it
        for k in range(length):
            node = node + Value(float(k))
        made[0] = 0
        data = explore_module.page_data(node)
        assert sum(1 for s in data["steps"] if s["phase"] == "forward" and s["value"] == "nan") > length
        counts.append(made[0])
    assert counts[0] == counts[1] <= 5, counts


def test_a_graph_too_big_for_a_page_is_refused_with_its_size_and_what_to_do(tmp_path, monkeypatch):
    """Past PAGE_LIMIT values explore refuses at once, before any step is made, naming the size and
    the calls that do show such a graph (draw summarises it)."""
    monkeypatch.setattr(explore_module, "PAGE_LIMIT", 500)
    made = counted(monkeypatch, explore_module, "page_data")
    root = neuron_graph(300)
    size = f"{len(flatten(root)):,} values"
    with pytest.raises(ValueError, match=rf"{size}.*500.*draw\(root\)") as refused:
        explore(root, tmp_path / "big.html")
    assert "/microgradx/viz/" in refused.traceback[-1].path.as_posix()
    assert made[0] == 0 and not list(tmp_path.iterdir())
    assert "summarised" in repr(draw(root))  # what it says to do works
