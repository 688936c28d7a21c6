"""`microgradx draw` and `explain`: files written, the lecture's numbers printed, bad input refused."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from microgradx import Value
from microgradx.app.cli import main

LECTURE = ["(u + v) * w", "u=2", "v=3", "w=4"]


def texts(svg: bytes) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def test_explain_prints_the_lecture_sweeps(capsys):
    assert main(["explain", *LECTURE]) == 0
    out = capsys.readouterr().out
    for line in (
        "t1 = u + v = 5",
        "f = t1 * w = 20",
        "∂f/∂f = 1",
        "∂f/∂w += ∂f/∂f · ∂(t1 * w)/∂w = 1 · 5 = 5",
        "∂f/∂t1 += ∂f/∂f · ∂(t1 * w)/∂t1 = 1 · 4 = 4",
        "∂f/∂u += ∂f/∂t1 · ∂(u + v)/∂u = 4 · 1 = 4",
        "w^δ += f^δ · t1",
        "∂f/∂u = 4",
        "∂f/∂v = 4",
        "∂f/∂w = 5",
    ):
        assert line in out
    assert out.index("f = t1 * w = 20") < out.index("∂f/∂f = 1") < out.index("gradients:")


def test_explain_shows_accumulation_and_activations(capsys):
    assert main(["explain", "tanh(u * u)", "u=0.5"]) == 0
    out = capsys.readouterr().out
    assert "(total " in out  # u's gradient arrives twice
    assert "t1^δ += f^δ · (1 − f²)" in out  # a_k^δ = φ_k^δ · f′(a_k), with tanh′ = 1 − tanh²


def test_draw_writes_a_valid_svg(tmp_path, capsys):
    out = tmp_path / "f.svg"
    assert main(["draw", *LECTURE, "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    shown = texts(out.read_bytes())
    for t in ("u", "v", "w", "f", "data 20.0000", "grad 4.0000", "grad 5.0000"):
        assert t in shown


def test_draw_png_dot_tape_and_stdout(tmp_path, capsys):
    assert main(["draw", *LECTURE, "-o", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert main(["draw", *LECTURE, "-o", str(tmp_path / "f.dot")]) == 0
    assert (
        "<b>w</b></td></tr><hr/><tr><td>data 4.0000</td></tr><tr><td>grad 5.0000</td>"
        in (tmp_path / "f.dot").read_text()
    )
    assert main(["draw", *LECTURE, "--tape", "-o", str(tmp_path / "tape.svg")]) == 0
    assert "2 add" in texts((tmp_path / "tape.svg").read_bytes())
    capsys.readouterr()
    assert main(["draw", *LECTURE, "--no-grad"]) == 0
    src = capsys.readouterr().out
    assert (
        src.startswith("digraph") and "<b>f</b></td></tr><hr/><tr><td>data 20.0000</td></tr></table>" in src
    )


def test_draw_html_writes_the_step_through_page(tmp_path):
    out = tmp_path / "f.html"
    assert main(["draw", *LECTURE, "-o", str(out)]) == 0
    page = out.read_text()
    assert "<svg" in page and 'id="next"' in page
    steps = json.loads(re.search(r'id="microgradx-steps">(.*?)</script>', page, re.S).group(1))["steps"]
    assert "<span>∂</span><span>∂w</span></span> (t1 · w)" in steps[7]["html"]  # ∂/∂w (t1 · w)
    assert "<script src" not in page and "<link" not in page  # self-contained


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "__import__('os').system('touch pwned')",
        "u.__class__",
        "u.__class__.__bases__",
        "(lambda: 1)()",
        "[x for x in ()]",
        "open('f')",
        "u ** 10**10",
        "9**9**9",
        "u * " * 30_000 + "u",
        '"a"',
        "u[0]",
        "exec('1')",
        "eval('u')",
        "import os",
        "globals()",
        "u.data",
        "nope * u",
    ],
)
def test_malicious_expressions_are_refused(expression, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ("draw", "explain"):
        assert main([command, expression, "u=2", "-o", "x.svg"][: 5 if command == "draw" else 3]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"microgradx {command}: ") and "Traceback" not in err
        assert len(err) < 400
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing run


def test_bad_bindings_and_formats_exit_2(tmp_path, capsys):
    assert main(["draw", "u * 2", "u=abc"]) == 2
    assert "not a number" in capsys.readouterr().err
    assert main(["draw", *LECTURE, "-o", str(tmp_path / "f.pdf")]) == 2
    assert "end it with one of" in capsys.readouterr().err


# What each format's file starts with: every format draw -o writes is listed, and written.
MAGIC = {
    ".svg": b"<svg",
    ".png": b"\x89PNG",
    ".jpg": b"\xff\xd8\xff",
    ".dot": b"digraph",
    ".html": b"<!DOCTYPE html>",
}
MAGIC.update({".jpeg": MAGIC[".jpg"], ".gv": MAGIC[".dot"], ".htm": MAGIC[".html"]})


def test_every_format_is_listed_in_the_help_and_the_error_and_written(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["draw", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert main(["draw", *LECTURE, "-o", str(tmp_path / "f.pdf")]) == 2
    error = capsys.readouterr().err
    assert not (tmp_path / "f.pdf").exists()
    for suffix, magic in MAGIC.items():
        assert suffix in shown and suffix in error, suffix
        out = tmp_path / f"f{suffix}"
        assert main(["draw", *LECTURE, "-o", str(out)]) == 0
        assert magic in out.read_bytes()[:300], suffix
    assert set(MAGIC) == {f.suffix for f in tmp_path.iterdir()}


@pytest.mark.parametrize("name", ["f.svg", "f.png", "f.dot", "f.html"])
def test_missing_folders_are_made(name, tmp_path, capsys):
    out = tmp_path / "out" / "sub" / name
    assert main(["draw", *LECTURE, "-o", str(out)]) == 0
    assert out.stat().st_size > 0 and f"wrote {out}" in capsys.readouterr().out


def test_a_refused_format_makes_no_folders(tmp_path):
    assert main(["draw", *LECTURE, "-o", str(tmp_path / "new" / "f.pdf")]) == 2
    assert list(tmp_path.iterdir()) == []


def explained(capsys, *argv: str) -> list[str]:
    assert main(["explain", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def note_under(lines: list[str], step: str) -> str:
    """The ↳ line right under the step that starts with `step`."""
    at = next(k for k, line in enumerate(lines) if line.strip().startswith(step))
    assert lines[at + 1].strip().startswith("↳"), f"no note under {lines[at]!r}"
    return lines[at + 1].strip()[2:]


def test_explain_says_where_a_nan_came_from_as_check_does(capsys):
    lines = explained(capsys, "log(x) * 2", "x=-1")
    note = note_under(lines, "t1 = log(x) = nan")
    assert note == "nan first appeared here: t1 = log of x = -1"
    x = Value(-1.0, label="x")
    with pytest.raises(FloatingPointError) as e:
        (x.log() * 2).backward(check=True)
    assert note.split(": ", 1)[1] in str(e.value)  # the words of check=True
    assert sum("↳" in line for line in lines) == 1  # f = t1 * 2 = nan only carries it on


def test_explain_says_where_an_inf_came_from(capsys):
    lines = explained(capsys, "1 / x", "x=0")
    assert note_under(lines, "f = 1 / x = inf") == "inf first appeared here: f = div of 1, x = 0"
    gradient = note_under(lines, "∂f/∂x += ")
    assert gradient == "-inf from the local derivative ∂(1 / x)/∂x = −f/x, which is -inf at x = 0"


@pytest.mark.parametrize(
    "argv, step, note",
    [
        (
            ["sqrt(x)", "x=0"],
            "∂f/∂x += ",
            "inf from the local derivative ∂(sqrt(x))/∂x = 1/(2·f), which is inf",
        ),
        (["x * 2", "x=nan"], "x = nan", "nan first appeared here: a leaf (an input or parameter) holds it"),
        (["x * log(-1)", "x=2"], "f = x * nan = nan", "nan came in with the constant nan"),
        (
            ["(x * 1e200) * x", "x=1e200"],
            "∂f/∂x += ∂f/∂t1",
            "inf from an overflow: 1e+200 · 1e+200 is too large",
        ),
        (
            ["x * 1e300", "x=1e300"],
            "f = x * 1e+300 = inf",
            "inf first appeared here: f = mul of x = 1e+300, 1e+300",
        ),
    ],
)
def test_explain_says_why_for_every_kind_of_origin(argv, step, note, capsys):
    assert note_under(explained(capsys, *argv), step).startswith(note)


def test_explain_of_finite_numbers_has_no_notes(capsys):
    assert not any("↳" in line for line in explained(capsys, *LECTURE))


def test_explain_passes_nothing_through_a_dead_relu_as_the_sweeps_do():
    """relu's derivative is a mask: with an infinite gradient above a dead relu, the sweeps give
    its operand 0 (not inf · 0 = nan), and so do the steps explain prints."""
    from microgradx import Value
    from microgradx.backprop import sweep
    from microgradx.core.tape import flatten
    from microgradx.viz.steps import backward_steps

    x, y = Value(-1.0, label="x"), Value(float("inf"), label="y")
    f = x.relu() * y
    tape = flatten(f)
    sweep(tape, "python")
    steps = backward_steps(tape)
    x_slot = next(int(s) for s in tape.leaves if tape.nodes[s] is x)
    assert tape.grad[x_slot] == 0.0
    assert [s.value for s in steps if s.target == x_slot] == [0.0]
