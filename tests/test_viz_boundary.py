"""The pictures' public calls check what they are given where they are called.

draw, draw_tape, explore, render and pipe each refuse a wrong argument at the call, with a
TypeError or ValueError that names the argument, what it got and what it takes, before
anything deep inside (flatten, pathlib, graphviz) trips on it; nothing is written for a
refused call, and a folder that cannot be made is named before any work. An explicit
grad_beside=True is honoured on a small network too.
"""

from __future__ import annotations

import importlib

import pytest

from microgradx import Value, flatten
from microgradx.losses import mse
from microgradx.nn import MLP, Neuron
from microgradx.viz import draw, draw_tape, explore, pipe, render

explore_module = importlib.import_module("microgradx.viz.explore")  # (viz.explore is the function)


def lecture() -> tuple[Value, Value, Value, Value]:
    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    f = (u + v) * w
    f.label = "f"
    return f, u, v, w


F, U, V, W = lecture()

# (call, error, what the message must say): each names the call's argument and what it got
REFUSED = {
    "draw a number": (
        lambda: draw(3.0),
        TypeError,
        r"draw\(root\): root must be a Value.*got 3\.0 \(float\)",
    ),
    "draw a string": (lambda: draw("f"), TypeError, r"draw\(root\).*'f' \(str\)"),
    "draw a list holding a number": (lambda: draw([F, 2.0]), TypeError, r"root\[1\] is 2\.0 \(float\)"),
    "draw a dict of numbers": (lambda: draw({"a": 1.0}), TypeError, r"root\['a'\] is 1\.0 \(float\)"),
    "draw nothing": (lambda: draw([]), ValueError, r"draw\(root\): nothing to draw"),
    "draw an empty dict": (lambda: draw({}), ValueError, r"nothing to draw"),
    "inputs a number": (
        lambda: draw(F, inputs=1.0),
        TypeError,
        r"draw\(inputs\): inputs must be a list of Values.*got 1\.0 \(float\)",
    ),
    "inputs of numbers": (lambda: draw(F, inputs=[1.0]), TypeError, r"inputs\[0\] is 1\.0 \(float\)"),
    "parameters a string": (lambda: draw(F, parameters="w"), TypeError, r"parameters.*'w' \(str\)"),
    "a leaf both input and parameter": (
        lambda: draw(F, inputs=[U], parameters=[U, W]),
        ValueError,
        r"u is in both inputs and parameters",
    ),
    "original a number": (lambda: draw(F, original=1.0), TypeError, r"original.*1\.0 \(float\)"),
    "original empty": (lambda: draw(F, original=[]), ValueError, r"original.*empty"),
    "limit a string": (lambda: draw(F, limit="5"), TypeError, r"limit.*'5' \(str\)"),
    "limit a bool": (lambda: draw(F, limit=True), TypeError, r"limit.*True \(bool\)"),
    "limit negative": (lambda: draw(F, limit=-1), ValueError, r"limit.*>= 1, got -1"),
    "limit zero": (lambda: draw(F, limit=0), ValueError, r"limit.*>= 1, got 0"),
    "shade a string": (lambda: draw(F, shade="no"), TypeError, r"shade must be True or False, got 'no'"),
    "show_grad None": (lambda: draw(F, show_grad=None), TypeError, r"show_grad must be True or False"),
    "wrt a number": (lambda: draw(F, wrt=2.0), TypeError, r"draw\(wrt\).*a leaf.*2\.0 \(float\)"),
    "draw_tape a string": (
        lambda: draw_tape("x"),
        TypeError,
        r"draw_tape\(tape\): tape must be a Tape \(tape = flatten\(f\)\).*got 'x' \(str\)",
    ),
    "draw_tape None": (lambda: draw_tape(None), TypeError, r"draw_tape\(tape\).*None"),
    "draw a format no one knows": (lambda: draw(F, format="docx"), ValueError, r"draw\(format\): 'docx'"),
    "draw_tape a format not text": (lambda: draw_tape(F, format=None), TypeError, r"format.*None"),
    "render a Value": (lambda: render(F, "f.svg"), TypeError, r"render\(draw\(f\), path\).*a Value"),
    "render no path": (lambda: render(draw(F), None), TypeError, r"render\(picture, path\).*None"),
    "pipe a picture": (lambda: pipe(draw(F)), TypeError, r"pipe\(source\).*DOT text.*\.source"),
    "pipe a format not text": (lambda: pipe("digraph {}", 3), TypeError, r"pipe\(source, fmt\).*3 \(int\)"),
    "explore a number": (lambda: explore(3.0, "x.html"), TypeError, r"explore\(root\).*3\.0 \(float\)"),
    "explore a dict": (lambda: explore({"f": F}, "x.html"), TypeError, r"explore\(root\).*dict"),
    "explore nothing": (lambda: explore([], "x.html"), ValueError, r"explore\(root\): nothing to"),
    "explore no path": (lambda: explore(F, None), TypeError, r"explore\(root, path\).*None"),
    "explore into an svg": (
        lambda: explore(F, "x.svg"),
        ValueError,
        r"explore\(root, path\).*\.html.*not 'x\.svg'",
    ),
    "explore a title not text": (lambda: explore(F, "x.html", title=3), TypeError, r"title.*3 \(int\)"),
    "explore inputs of numbers": (
        lambda: explore(F, "x.html", inputs=[2.0]),
        TypeError,
        r"explore\(inputs\): inputs\[0\] is 2\.0",
    ),
    "explore a leaf both input and parameter": (
        lambda: explore(F, "x.html", inputs=[V], parameters=[V]),
        ValueError,
        r"v is in both inputs and parameters",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_wrong_argument_is_refused_at_the_call_naming_it(case, tmp_path, monkeypatch):
    call, error, message = REFUSED[case]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message) as refused:
        call()
    here = refused.traceback[-1].path.as_posix()  # viz's own checks, or compile's for numbers and flags
    assert "/microgradx/viz/" in here or here.endswith("/compiler/checks.py"), f"raised in {here}"
    assert not list(tmp_path.iterdir()), "a refused call wrote something"


def test_the_lecture_calls_still_work(tmp_path):
    """The checks take what the calls always took: a Value, lists, a dict, a Module, an optimizer,
    a Tape, a Path."""
    neuron = Neuron(2, activation="tanh", seed=0)
    out = neuron([Value(1.0, label="x1"), Value(2.0, label="x2")])
    assert "the graph of f: 5 values" in repr(draw(F))
    assert "7 values" in repr(draw((F, U * 2)))
    assert "∂" in draw({"∂f/∂f": F}).source
    assert "parameter" in draw(out, parameters=neuron).source
    assert "8 values" in repr(draw(out, inputs=[], parameters=neuron))
    assert "5 slots" in repr(draw_tape(flatten(F))) and "5 slots" in repr(draw_tape(F))
    assert explore(F, tmp_path / "p.htm").is_file()
    assert explore([F, U * 2], str(tmp_path / "two.html")).is_file()
    assert render(draw(F).source, tmp_path / "f.dot").read_text().startswith("digraph")


def test_grad_beside_on_a_small_network_draws_its_tables_with_grad_w_beside_w():
    """An explicit grad_beside=True is honoured under draw's limit too: the layers as tables, ∇W
    beside W, as a network over the limit draws them."""
    net = MLP(2, [2, 1], seed=0)
    loss = mse(net([Value(1.0, label="x1"), Value(2.0, label="x2")]), 1.0)
    assert len(flatten(loss)) < 60
    plain, beside = draw(loss).source, draw(loss, grad_beside=True).source
    assert "then their" not in plain
    assert "then their" in beside and ">grad w1<" in beside and ">grad b<" in beside
    assert "L1</b>: 2 relu neurons" in beside and "L2</b>: 1 linear neuron" in beside


def test_grad_beside_on_a_graph_without_layers_says_it_has_none():
    with pytest.raises(ValueError, match=r"grad_beside=True.*no layer of neurons"):
        draw(F, grad_beside=True)


@pytest.mark.parametrize(
    "write",
    [
        lambda folder: render(draw(F), folder / "f.svg"),
        lambda folder: draw(F).render("f", directory=folder, format="svg"),
        lambda folder: explore(F, folder / "f.html"),
    ],
    ids=["render", "Picture.render", "explore"],
)
def test_a_folder_that_cannot_be_made_is_named_before_the_work(write, tmp_path, monkeypatch):
    """A folder under a file: the error names that file as not a folder, before anything is
    rendered (it came as the system's bare errno text, once the picture was drawn)."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    render_module = importlib.import_module("microgradx.viz.render")

    def no_work(*args, **kwargs):
        raise AssertionError("rendered before the folder was checked")

    monkeypatch.setattr(render_module, "pipe", no_work)
    monkeypatch.setattr(explore_module, "page_data", no_work)
    with pytest.raises(NotADirectoryError, match=r"not writing .*notes\.txt.* is a file, not a folder"):
        write(blocker / "pictures")
    assert blocker.read_text() == "a file, not a folder"
