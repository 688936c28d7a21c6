"""The `microgradx` command itself: help, version, command names, and what it prints to a terminal."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

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


# -- every argument checked before any work or output, every error naming its option --------


def outcome(argv: list[str], capsys) -> tuple[int, str, str]:
    """main(argv)'s exit status (argparse's SystemExit too), stdout and stderr."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


PROC = Path("/proc/self").is_dir()  # Linux's /proc: no file or folder can be made in it, not even by root


@pytest.mark.parametrize(
    "argv, said",
    [
        (["explain", "--matrix", "--seed", "-1"], "argument --seed: must be a whole number >= 0, got '-1'"),
        (["demo", "--steps", "0"], "argument --steps: must be a whole number >= 1, got '0'"),
        (["demo", "--steps", "2.5"], "argument --steps: must be a whole number >= 1, got '2.5'"),
        (["demo", "--samples", "0"], "argument --samples: must be a whole number >= 2, got '0'"),
        (["demo", "--seed", "-1"], "argument --seed: must be a whole number >= 0"),
        (["demo", "--lr", "-1"], "argument --lr: must be a finite number >= 0, got '-1'"),
        (["demo", "--lr", "nan"], "argument --lr: must be a finite number >= 0, got 'nan'"),
        (["demo", "--noise", "inf"], "argument --noise: must be a finite number >= 0, got 'inf'"),
        (["demo", "--data", "iris", "--epochs", "0"], "argument --epochs: must be a whole number >= 1"),
        (["demo", "--data", "iris", "--batch-size", "0"], "argument --batch-size: must be a whole number"),
        (["demo", "--data", "iris", "--seed", "-1"], "argument --seed: must be a whole number >= 0"),
        (
            ["demo", "--data", "blobs", "--loss", "bce"],
            "the bce loss is for two classes; blobs has 3: use --loss",
        ),
        (["demo", "--data", "spirals", "--samples", "2"], "--samples 2: too few rows for spirals"),
    ],
)
def test_an_options_error_names_the_option_before_any_output(argv, said, capsys):
    """`demo --steps 0` printed "training on 100 moons rows" first; `--seed -1` said "expected
    non-negative integer" (NumPy's words), naming no option."""
    code, out, err = outcome(argv, capsys)
    assert code == 2 and out == ""
    assert said in err


def test_an_output_folder_that_cannot_be_made_is_named_before_the_training(tmp_path, capsys):
    """`demo -o /proc/xx` trained fully, then failed on "[Errno 2] No such file or directory"."""
    notes = tmp_path / "notes.txt"
    notes.write_text("a file, not a folder")
    code, out, err = outcome(["demo", "--steps", "1", "-o", str(notes / "pictures")], capsys)
    assert code == 2 and out == ""  # nothing trained, nothing said but the error
    assert f"microgradx demo: -o {notes / 'pictures'}: {notes} is a file, not a folder" in err
    code, out, err = outcome(["draw", "u * 2", "u=3", "-o", str(notes / "f.svg")], capsys)
    assert code == 2 and out == "" and f"{notes} is a file, not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    if PROC:
        code, out, err = outcome(["demo", "--steps", "1", "-o", "/proc/microgradx-pictures"], capsys)
        assert code == 2 and out == ""
        assert "the folder /proc/microgradx-pictures cannot be made (No such file or directory)" in err


def test_a_folder_that_can_be_made_is_made_only_when_the_pictures_are_written(tmp_path, capsys):
    """Checking -o before training leaves nothing behind: a refused run makes no folder."""
    refused = ["demo", "--data", "blobs", "--loss", "bce", "-o", str(tmp_path / "a" / "b")]
    assert outcome(refused, capsys)[0] == 2 and list(tmp_path.iterdir()) == []
    assert main(["demo", "--steps", "2", "-o", str(tmp_path / "a" / "b")]) == 0
    assert (tmp_path / "a" / "b" / "moons_curves.png").is_file()


@pytest.mark.parametrize(
    "argv, said",
    [
        (["draw", "u * v", "u=1", "v=2", "--ouput", "f.svg"], "--ouput (did you mean --output?)"),
        (["explain", "--matrx"], "--matrx (did you mean --matrix?)"),
        (["demo", "--stesp", "5", "--dta=moons"], "--stesp 5 --dta=moons (--stesp: did you mean --steps? "
         "--dta: did you mean --data?)"),
    ],
)  # fmt: skip
def test_a_misspelt_option_gets_its_commands_usage_and_a_suggestion(argv, said, capsys):
    """`draw … --ouput f.svg` gave the top-level usage and "unrecognized arguments: --ouput"."""
    code, out, err = outcome(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"usage: microgradx {argv[0]}")
    assert err.strip().splitlines()[-1] == f"microgradx {argv[0]}: error: unrecognized arguments: {said}"


@pytest.mark.parametrize("binding", ["w=1e400", "w=-1e400"])
def test_a_binding_too_large_for_a_float64_is_refused_naming_it(binding, capsys):
    """`w=1e400` became inf, where `Value(10**400)` is refused; inf and nan written as such stay
    (explain says where they go)."""
    code, out, err = outcome(["explain", "w * 2", binding], capsys)
    assert code == 2 and out == ""
    assert f"{binding}: too large for a float64 (at most ±1.8e+308)" in err
    assert main(["explain", "w * 2", "w=inf"]) == 0 and "w = inf" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["explain", "draw"])
def test_a_binding_the_expression_does_not_read_is_refused_naming_it(command, capsys):
    """`z=5` showed ∂f/∂z = 0 with no word that z is not in the expression (a misspelt name?)."""
    code, out, err = outcome([command, "(u + v) * w", "u=2", "v=3", "w=4", "z=5", "zz=1"], capsys)
    assert code == 2 and out == ""
    assert "(u + v) * w does not read z, zz: leave z=5, zz=1 out, or fix the expression" in err
    bindings = ["(u + v) * w", "u=2", "v=3", "w=4", "z=5"]
    if command == "draw":  # (draw cannot go along an input f does not read)
        code, out, err = outcome([command, *bindings, "--wrt", "z"], capsys)
        assert code == 2 and "does not read z: leave z=5 out" in err
        return
    # explain's forward mode along it is asked on purpose: every tangent 0, said so
    code, out, err = outcome([command, *bindings, "zz=1", "--wrt", "z"], capsys)
    assert code == 2 and "does not read zz: leave zz=1 out" in err
    code, out, err = outcome([command, *bindings, "--wrt", "z"], capsys)
    assert code == 0 and "(f does not read z: every tangent is 0)" in out


@pytest.mark.parametrize(
    "argv, both",
    [
        (["explain", "--matrix", "--hessian"], ("--matrix", "--hessian")),
        (["explain", "u * v", "u=1", "v=2", "--sizes", "3,3"], ("--sizes", "--matrix")),
        (["explain", "u * v", "u=1", "v=2", "--seed", "3"], ("--seed", "--matrix")),
        (["explain", "u * v", "u=1", "v=2", "--bias"], ("--bias", "--matrix")),
        (["draw", "u * v", "u=1", "v=2", "--tape", "--shade"], ("--tape", "--shade")),
        (["draw", "u * v", "u=1", "v=2", "--tape", "--rankdir", "TB"], ("--tape", "--rankdir")),
        (["draw", "u * v", "u=1", "v=2", "-o", "f.html", "--no-grad"], (".html", "--no-grad")),
        (["demo", "--no-pictures", "-o", "pictures"], ("--no-pictures", "-o")),
    ],
)
def test_options_that_do_not_go_together_are_refused_naming_both(argv, both, tmp_path, capsys, monkeypatch):
    """`explain --matrix --hessian` printed what `explain --matrix` prints, --hessian silently left out."""
    monkeypatch.chdir(tmp_path)
    code, out, err = outcome(argv, capsys)
    assert code == 2 and out == "" and all(option in err for option in both), err
    assert list(tmp_path.iterdir()) == []


def test_a_run_whose_loss_became_nan_says_the_learning_rate_is_too_large(capsys):
    """`demo --lr 1e6` ended on Python's RuntimeWarning (a file path, and advice to use
    compile(check=True), which the command line cannot), "final loss nan" and exit status 0."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = outcome(["demo", "--lr", "1e6", "--steps", "20", "--no-pictures"], capsys)
    assert [str(w.message) for w in caught] == []
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(
        r"microgradx demo: the loss became (nan|inf) at step \d+ of 20: the learning rate --lr 1e\+06 is too "
        r"large \(the steps overshoot, the loss grows until it overflows\); try a smaller one, like the "
        r"default 1",
        last,
    ), last
    assert "check=True" not in err and "Warning" not in err


def test_warmup_on_a_full_cache_says_so_first(monkeypatch, capsys):
    """It printed "compiling what is not yet cached" and two progress bars, then "all kernels were
    compiled and cached already"."""
    from microgradx.app import warmup
    from microgradx.kernels import jit

    monkeypatch.setattr(warmup, "STEPS", [("nothing", lambda: None)])
    monkeypatch.setattr(jit, "mark_ready", lambda: None)  # nothing compiled here: leave the stamp alone
    monkeypatch.setattr(jit.State, "numba", jit.State.numba)  # what warmup() sets, put back after
    monkeypatch.setattr(jit.CompileNotice, "quiet", jit.CompileNotice.quiet)
    for ready, first in ((True, "cached already in"), (False, "compiling what is not yet cached in")):
        monkeypatch.setattr(jit, "stamp_ready", lambda ready=ready: ready)
        assert main(["warmup"]) == 0
        err = capsys.readouterr().err
        assert first in err.splitlines()[0], err
