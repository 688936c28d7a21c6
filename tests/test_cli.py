"""The `microgradx` command itself: help, version, command names, and what it prints to a terminal."""

from __future__ import annotations

import subprocess
import sys

import numba
import numpy as np
import pytest

import microgradx
from microgradx.app.cli import main

COMMANDS = ("demo", "draw", "explain", "warmup")


def test_a_bare_command_prints_its_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: microgradx")
    for command in COMMANDS:
        assert command in out
    for command in ("draw", "explain"):  # they need an expression: without one, their help
        assert main([command]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: microgradx {command}") and "NAME=VALUE" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"microgradx {microgradx.__version__} ") and f"numba {numba.__version__}" in out


@pytest.mark.parametrize("typo, command", [("explian", "explain"), ("drwa", "draw"), ("warm-up", "warmup")])
def test_a_misspelt_command_gets_a_suggestion(typo, command, capsys):
    with pytest.raises(SystemExit) as done:
        main([typo, "u", "u=1"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"unknown command '{typo}': did you mean {command}?" in err
    assert all(c in err for c in COMMANDS)


@pytest.mark.parametrize(
    "expression, bindings, gradient",
    [
        ("-x", ["x=2"], "∂f/∂x = -1"),
        ("-h*x", ["x=2", "h=3"], "∂f/∂x = -3"),  # not -h, the help option
        ("-out*x", ["x=2", "out=5"], "∂f/∂x = -5"),  # not -o with the file ut*x
        ("-tanh(x)", ["x=2"], "∂f/∂x = -0.0706508"),
        ("-2*x", ["x=2"], "∂f/∂x = -2"),
    ],
)
def test_an_expression_that_starts_with_a_dash_is_an_expression(expression, bindings, gradient, capsys):
    first_line = f"f = {expression}  at {', '.join(bindings)}"
    assert main(["explain", expression, *bindings]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == first_line and gradient in out
    assert main(["explain", "--", expression, *bindings]) == 0  # the old way still works
    assert capsys.readouterr().out == out


def test_a_dash_expression_among_options(tmp_path, capsys):
    out = tmp_path / "neg.svg"
    assert main(["draw", "-o", str(out), "-x", "x=2", "--rankdir", "TB", "--no-grad"]) == 0
    assert out.read_bytes().lstrip().startswith((b"<?xml", b"<svg"))
    assert main(["draw", "-x", "x=2", f"--output={tmp_path / 'neg.dot'}"]) == 0
    assert "digraph" in (tmp_path / "neg.dot").read_text()
    with pytest.raises(SystemExit) as done:
        main(["draw", "-h"])
    assert done.value.code == 0 and "usage: microgradx draw" in capsys.readouterr().out  # still the help


CONTROLS = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if chr(c) not in "\n\t")
BIDI = "\u202e\u2066\u200f"


def assert_no_control_characters(text: str) -> None:
    hidden = [c for c in text if c in CONTROLS + BIDI]
    assert hidden == [], f"raw control characters in the output: {hidden!r}"


def test_no_raw_control_characters_reach_the_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    in_a_comment = CONTROLS.replace("\x00", "").replace("\r", "")  # the two a comment cannot hold
    comment = f"u * 2  # \x1b[2J\x1b]0;owned\x07{in_a_comment}{BIDI}"
    assert main(["explain", comment, "u=3"]) == 0
    out = capsys.readouterr().out
    assert_no_control_characters(out)
    assert "\\x1b[2J" in out and "\\u202e" in out and "∂f/∂u = 2" in out

    assert main(["draw", "u * 2", "u=3", "-o", "\x1b[31mred\x1b[0m.svg"]) == 0  # the file is written ...
    out = capsys.readouterr().out
    assert_no_control_characters(out)  # ... and named with escapes
    assert out == "wrote \\x1b[31mred\\x1b[0m.svg\n" and (tmp_path / "\x1b[31mred\x1b[0m.svg").exists()

    for argv in (  # errors: ours, and argparse's own
        ["explain", "u +", "u=1", "x\x1b[31m=1"],
        ["explain", "tanh(u) \x1b[31m", "u=1"],
        ["explain", "u +\r  u", "u=1"],
        ["draw", "u", "u=1", "-o", "a.\x1b[31mpdf"],
        ["demo", "\x1b[31m"],
        ["draw", "u", "u=1", "--rankdir", "\x1b[31m"],
        ["\x1b[31m"],
    ):
        try:
            assert main(argv) == 2
        except SystemExit as e:
            assert e.code == 2
        err = capsys.readouterr().err
        assert err and "Traceback" not in err
        assert_no_control_characters(err)


@pytest.mark.parametrize("expression", ["u * 1if u else 2", "0x1for + u", '"\\d" * u'])
def test_no_stray_python_warnings_on_stderr(expression):
    """Only the error line: Python's SyntaxWarnings about dubious literals are not printed as well."""
    done = subprocess.run(
        [sys.executable, "-W", "default", "-m", "microgradx", "explain", expression, "u=2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("microgradx explain: not an expression")


def test_explain_hessian_shows_the_lecture_saddle(capsys):
    """f(x, y) = x² − y² at the origin: gradient 0, H = [[2, 0], [0, −2]], eigenvalues −2 along y
    and 2 along x, so a saddle point of index 1/2."""
    assert main(["explain", "x**2 - y**2", "x=0", "y=0", "--hessian"]) == 0
    out = capsys.readouterr().out
    hessian = out[out.index("second derivatives") :].splitlines()
    assert [line.split() for line in hessian[2:5]] == [["x", "y"], ["x", "2", "0"], ["y", "0", "-2"]]
    assert "-2   along (0, 1): f curves down" in out and " 2   along (1, 0): f curves up" in out
    assert "gradient: ∂f/∂x = 0, ∂f/∂y = 0" in out
    assert "a saddle point, neither a minimum nor a maximum (index 1/2" in " ".join(out.split())


@pytest.mark.parametrize(
    "expression, bindings, verdict",
    [
        ("x**2 + 3*y**2", ["x=0", "y=0"], "every eigenvalue > 0: a minimum"),
        ("-x**2 - y**2 - x*y", ["x=0", "y=0"], "every eigenvalue < 0: a maximum"),
        ("x**2 + x*y", ["x=1", "y=0"], "the gradient is not 0: no critical point"),
        ("x**4 + y**2", ["x=0", "y=0"], "an eigenvalue 0: the second derivatives alone cannot tell"),
    ],
)
def test_explain_hessian_tells_minima_maxima_and_degenerate_points(expression, bindings, verdict, capsys):
    assert main(["explain", expression, *bindings, "--hessian"]) == 0
    assert verdict in capsys.readouterr().out


def test_explain_hessian_columns_are_the_engine_hessian():
    """Each column (one tangent sweep of the reference) against microgradx.hessian (compiled)."""
    from microgradx import Value
    from microgradx.viz.curvature import hessian_of

    u, v, w = Value(0.7), Value(-1.3), Value(0.4)
    f = (u * v).tanh() + u**3 * w + (v * w).exp() / (1 + u * u)
    np.testing.assert_allclose(hessian_of(f, [u, v, w]), microgradx.hessian(f, [u, v, w]), rtol=1e-12)
