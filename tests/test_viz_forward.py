"""Forward mode as `explain --mode forward` prints it and the page steps through it: the tangent sweep's
numbers against hand values, against the reverse sweep's gradient for every input, and against central
finite differences on random graphs."""

from __future__ import annotations

import math
import re
import unicodedata

import pytest
from hypothesis import given, settings
from oracles import KINKS
from test_random_graphs import graphs

import microgradx
from microgradx import Value
from microgradx.app.cli import main
from microgradx.backprop import sweep
from microgradx.core import reference
from microgradx.core.tape import flatten
from microgradx.viz.steps import direction, dotted, tangent_steps

LECTURE = ["(u + v) * w", "u=2", "v=3", "w=4"]


def nfc(text: str) -> str:
    """Text in Unicode's composed form, as the steps write it (ṫ one character, u̇ two)."""
    return unicodedata.normalize("NFC", text)


def lecture() -> tuple[Value, list[Value]]:
    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    f = (u + v) * w
    f.label = "f"
    return f, [u, v, w]


def tangents_along(root: Value, x: Value) -> dict[str, float]:
    """Each slot's tangent along x, by name, as the steps give it."""
    tape = flatten(root)
    names = tape.names()
    return {names[s.target]: s.value for s in tangent_steps(tape, direction(tape, x))}


def printed_number(text: str) -> float:
    """The number a step's text ends with: `… = 1·1 + 1·0 = 1` → 1."""
    return float(text.rsplit("= ", 1)[1])


def test_the_lecture_graph_along_each_input_by_hand():
    f, (u, v, w) = lecture()
    # along u: u̇ = 1, v̇ = ẇ = 0; ṫ1 = 1·u̇ + 1·v̇ = 1; ḟ = w·ṫ1 + t1·ẇ = 4·1 + 5·0 = 4 = ∂f/∂u
    assert tangents_along(f, u) == {"u": 1.0, "v": 0.0, "t1": 1.0, "w": 0.0, "f": 4.0}
    assert tangents_along(f, v) == {"u": 0.0, "v": 1.0, "t1": 1.0, "w": 0.0, "f": 4.0}
    assert tangents_along(f, w) == {"u": 0.0, "v": 0.0, "t1": 0.0, "w": 1.0, "f": 5.0}  # ḟ = t1·ẇ


def test_each_step_shows_the_chain_rule_sum_with_its_numbers():
    f, (u, _, _) = lecture()
    tape = flatten(f)
    steps = {s.target: s for s in tangent_steps(tape, direction(tape, u))}
    assert steps[2].text == nfc("ṫ1 = ∂t1/∂u·u̇ + ∂t1/∂v·v̇ = 1·1 + 1·0 = 1")
    assert steps[2].rule == nfc("ṫ1 = 1·u̇ + 1·v̇")
    assert steps[4].text == nfc("ḟ = ∂f/∂t1·ṫ1 + ∂f/∂w·ẇ = 4·1 + 5·0 = 4")
    assert steps[4].rule == nfc("ḟ = w·ṫ1 + t1·ẇ")
    assert steps[0].text == nfc("u̇ = 1") and steps[0].rule == "the seed: ∂u/∂u"
    assert steps[1].text == nfc("v̇ = 0") and steps[3].text == nfc("ẇ = 0")
    for s in steps.values():
        assert printed_number(s.text) == s.value  # the number printed is the tangent carried on


def test_explain_mode_forward_prints_the_sweep_along_the_first_input(capsys):
    assert main(["explain", *LECTURE, "--mode", "forward"]) == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0] == "f = (u + v) * w  at u=2, v=3, w=4"
    assert nfc("forward-mode sweep along u: seed u̇ = 1 and every other input's tangent 0,") in lines
    expected = [
        "u = 2",
        nfc("u̇ = 1"),
        "v = 3",
        nfc("v̇ = 0"),
        "t1 = u + v = 5",
        nfc("ṫ1 = ∂t1/∂u·u̇ + ∂t1/∂v·v̇ = 1·1 + 1·0 = 1"),
        "w = 4",
        nfc("ẇ = 0"),
        "f = t1 * w = 20",
        nfc("ḟ = ∂f/∂t1·ṫ1 + ∂f/∂w·ẇ = 4·1 + 5·0 = 4"),
    ]
    at = [next(k for k, line in enumerate(lines) if line.startswith(nfc(e))) for e in expected]
    assert at == sorted(at)  # each value, then its tangent, slot by slot
    assert nfc("∂f/∂u = ḟ = 4") in lines
    cost = " ".join(lines[lines.index(nfc("∂f/∂u = ḟ = 4")) + 1 :])
    assert "one forward-mode sweep gives every output's derivative along one input direction" in cost
    assert "one reverse sweep gives one output's derivative by every input" in cost
    assert "backward sweep" not in out  # reverse mode's steps are not printed


def test_explain_wrt_chooses_the_input_and_says_it(capsys):
    assert main(["explain", *LECTURE, "--mode", "forward", "--wrt", "w"]) == 0
    out = capsys.readouterr().out
    assert nfc("forward-mode sweep along w: seed ẇ = 1") in out
    assert nfc("ḟ = ∂f/∂t1·ṫ1 + ∂f/∂w·ẇ = 4·0 + 5·1 = 5") in out and nfc("∂f/∂w = ḟ = 5") in out
    assert main(["explain", *LECTURE, "--wrt", "v"]) == 0  # --wrt alone means forward mode
    assert nfc("∂f/∂v = ḟ = 4") in capsys.readouterr().out
    assert main(["explain", "x * 3", "x=2", "y=1", "--wrt", "y"]) == 0  # an input f does not read
    out = capsys.readouterr().out
    assert "(f does not read y: every tangent is 0)" in out and nfc("∂f/∂y = ḟ = 0") in out


def test_explain_reverse_stays_the_default(capsys):
    assert main(["explain", *LECTURE]) == 0
    default = capsys.readouterr().out
    assert main(["explain", *LECTURE, "--mode", "reverse"]) == 0
    assert capsys.readouterr().out == default
    assert "backward sweep" in default and "\u0307" not in default


@pytest.mark.parametrize(
    "argv, error",
    [
        (
            ["--mode", "forwrd"],
            "argument --mode: unknown mode 'forwrd': did you mean forward? choose reverse or forward",
        ),
        (["--mode", "sideways"], "argument --mode: unknown mode 'sideways': choose reverse or forward"),
        (["--wrt", "uu"], "--wrt 'uu' is not an input: did you mean u? choose one of u, v, w"),
        (["--mode", "reverse", "--wrt", "u"], "--wrt chooses the input of forward mode"),
    ],
)
def test_a_bad_mode_or_input_is_refused_with_the_fix(argv, error, capsys):
    try:
        code = main(["explain", *LECTURE, *argv])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert error in err and "Traceback" not in err


def test_the_help_says_what_each_mode_does(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--mode {reverse,forward}" in shown and "--wrt NAME" in shown
    assert "forward: one sweep carrying each value's tangent" in shown


def test_forward_along_each_input_equals_the_reverse_gradient_on_a_neuron():
    from microgradx.nn import Neuron

    xs = [Value(2.0, label="x1"), Value(-1.0, label="x2")]
    o = Neuron(2, activation="tanh", seed=0)(xs)
    tape = flatten(o)
    sweep(tape, "python")
    for s in tape.leaves.tolist():  # inputs and parameters alike
        along = tangent_steps(tape, {s: 1.0})
        assert along[-1].target == tape.outputs[0]
        assert along[-1].value == pytest.approx(tape.grad[s], rel=1e-12, abs=1e-15)


def test_a_dead_relu_passes_no_tangent_as_the_sweeps_do():
    x = Value(-1.0, label="x")
    f = x.relu() * 3
    tape = flatten(f)
    steps = tangent_steps(tape, direction(tape, x))
    dead = next(s for s in steps if s.slot == 1)
    assert dead.value == 0.0 and dead.text == nfc("ṫ1 = 0") and dead.rule == "relu is off: nothing passes"


def test_where_a_tangent_becomes_inf_the_step_says_why():
    x = Value(0.0, label="x")
    f = x.sqrt()
    f.label = "f"
    tape = flatten(f)
    (_, root) = tangent_steps(tape, direction(tape, x))
    assert root.value == math.inf
    assert root.note.startswith("inf from the local derivative ∂(sqrt(x))/∂x = 1/(2·f), which is inf")


def test_names_are_dotted_in_newtons_notation():
    assert [dotted(n) for n in ("u", "t1", "x12", "L1.n1.w1", "ŷ")] == [
        "u\u0307",
        "\u1e6b1",  # ṫ, composed
        "\u1e8b12",  # ẋ
        "(L1.n1.w1)˙",
        "(ŷ)˙",
    ]


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_on_random_graphs_forward_equals_reverse_and_finite_differences(graph):
    """Along each leaf: the output's tangent is the reverse sweep's gradient entry, and every slot's
    tangent is the central finite difference of that slot's value (an oracle outside the engine)."""
    leaves, out = graph
    tape = flatten(out)
    sweep(tape, "python")
    gradient = tape.grad.copy()
    names = tape.names()
    start = [v.data for v in leaves]

    def slot_values(xs: list[float]) -> list[float]:
        for v, x in zip(leaves, xs, strict=True):
            v.data = x
        sweep(tape, "python")
        return tape.data.tolist()

    values = tape.data.tolist()
    kinks = any(  # relu, abs, step or sign within a difference's step of its kink: there the two differ
        tape.op[k] in KINKS and abs(values[int(tape.a[k])]) < 1e-4 for k in range(len(tape))
    )
    for i, x in enumerate(leaves):
        steps = tangent_steps(tape, direction(tape, x))
        carried = {s.target: s.value for s in steps}
        leaf = next(s for s in tape.leaves.tolist() if tape.nodes[s] is x)
        root = int(tape.outputs[0])
        assert carried[root] == pytest.approx(gradient[leaf], rel=1e-9, abs=1e-12), names[root]
        assert carried[root] == microgradx.jvp(out, {x: 1.0})[1]  # the engine's forward mode, exactly
        swept = [0.0] * len(tape)
        swept[leaf] = 1.0
        code = tape.op.tolist(), tape.a.tolist(), tape.b.tolist(), tape.args.tolist()
        reference.tangents(*code, tape.data.tolist(), swept)  # the tangent sweep, every slot
        assert all(carried[k] == swept[k] for k in carried), names
        if not kinks:  # every slot's tangent: (φ_k(x + h eᵢ) − φ_k(x − h eᵢ)) / 2h
            h = 1e-6
            up = slot_values([x0 + h * (j == i) for j, x0 in enumerate(start)])
            down = slot_values([x0 - h * (j == i) for j, x0 in enumerate(start)])
            slot_values(start)
            for k, tangent in carried.items():
                assert (up[k] - down[k]) / (2 * h) == pytest.approx(tangent, rel=1e-4, abs=1e-5), names[k]
        for s in steps:
            if math.isfinite(s.value):
                assert printed_number(s.text) == pytest.approx(s.value, rel=1e-5, abs=1e-9)


# -- the picture and the step-through page in forward mode -------------------------------------------------


def test_draw_in_forward_mode_shows_each_nodes_tangent():
    from test_viz import node_texts

    from microgradx.viz import draw

    f, (u, v, w) = lecture()
    nodes = node_texts(draw(f, mode="forward").pipe(format="svg"))  # along the first input, u
    assert [nodes[f"n{k}"][2] for k in range(5)] == [f"tangent {t:.4f}" for t in (1, 0, 1, 0, 4)]
    nodes = node_texts(draw(f, wrt=w).pipe(format="svg"))  # wrt alone means forward mode
    assert [nodes[f"n{k}"][2] for k in range(5)] == [f"tangent {t:.4f}" for t in (0, 0, 0, 1, 5)]
    assert "tangent: ∂node/∂w (forward mode)" in draw(f, wrt=w).source  # the key says what a tangent is
    with pytest.raises(ValueError, match="mode must be reverse or forward, not 'forwards'"):
        draw(f, mode="forwards")
    with pytest.raises(ValueError, match="wrt chooses the leaf of forward mode"):
        draw(f, mode="reverse", wrt=u)
    with pytest.raises(ValueError, match="wrt must be a leaf of the graph"):
        draw(f, wrt=Value(1.0))


def test_the_forward_page_alternates_each_value_and_its_tangent():
    from test_explore_browser import as_text

    from microgradx.viz.explore import page_data

    f, (u, v, w) = lecture()
    data = page_data(f, mode="forward")
    assert data["mode"] == "forward" and data["wrt"] == "u" and data["line"] == "tangent"
    assert [s["phase"] for s in data["steps"]] == ["forward", "tangent"] * 5
    assert [s["target"] for s in data["steps"]] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    shown = [nfc(as_text(s["html"])) for s in data["steps"]]
    assert shown[5] == nfc("ṫ1 = ∂t1/∂u · u̇ + ∂t1/∂v · v̇ = 1 · 1 + 1 · 0 = 1")
    assert shown[9] == nfc("ḟ = ∂f/∂t1 · ṫ1 + ∂f/∂w · ẇ = w · 1 + t1 · 0 = 4 · 1 + 5 · 0 = 4")
    assert shown[1] == nfc("u̇ = 1 (the seed: ∂u/∂u)")
    assert data["steps"][-1]["value"] == 4.0
    assert page_data(f, wrt=w)["steps"][-1]["value"] == 5.0
    assert page_data(f)["mode"] == "reverse"  # the default stays backprop


def test_draw_html_with_mode_forward_writes_the_forward_page(tmp_path, capsys):
    import json

    out = tmp_path / "f.html"
    assert main(["draw", *LECTURE, "--wrt", "w", "-o", str(out)]) == 0
    page = out.read_text()
    assert "<title>forward mode through (u + v) * w along w</title>" in page
    blob = json.loads(re.search(r'id="microgradx-steps">(.*?)</script>', page, re.S).group(1))
    assert blob["wrt"] == "w" and blob["steps"][-1]["value"] == 5.0
    assert "tangent 0.0000" in page  # the picture carries tangents, not gradients
    assert main(["draw", *LECTURE, "--mode", "forward"]) == 0
    assert "tangent 4.0000" in capsys.readouterr().out  # the DOT source, along u


def test_a_tangent_of_zero_passes_nothing_as_the_tangent_sweep_does():
    """∂√y/∂y is inf at y = 0, but along x, ẏ = 0: the step passes nothing (not inf · 0 = nan),
    as reference.tangents and jvp do (and PyTorch)."""
    x, y = Value(1.0, label="x"), Value(0.0, label="y")
    g = x * y.sqrt()
    g.label = "g"
    tape = flatten(g)
    steps = {s.target: s for s in tangent_steps(tape, direction(tape, x))}
    root = steps[int(tape.outputs[0])]
    assert root.value == 0.0 == microgradx.jvp(g, {x: 1.0})[1]
    sqrt = steps[2]
    assert sqrt.value == 0.0 and sqrt.text == nfc("ṫ1 = ∂t1/∂y·ẏ = 0 = 0")
    assert sqrt.note == "a tangent of 0 passes nothing: not inf · 0 = nan (as in PyTorch)"


def test_explain_forward_says_where_a_tangent_became_inf(capsys):
    assert main(["explain", "sqrt(x) * y", "x=0", "y=2", "--mode", "forward"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    at = next(k for k, line in enumerate(lines) if line.startswith(nfc("ṫ1 = ∂t1/∂x·ẋ = inf·1 = inf ")))
    assert lines[at].endswith(nfc("ṫ1 = 1/(2·t1)·ẋ"))
    assert lines[at + 1] == "↳ inf from the local derivative ∂(sqrt(x))/∂x = 1/(2·t1), which is inf at x = 0"
    assert "∂f/∂x = ḟ = inf" in [nfc(line) for line in lines]
