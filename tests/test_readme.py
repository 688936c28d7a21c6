"""The README stays true: CI runs its test command, and its Python examples run."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from code import InteractiveConsole
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def fenced() -> list[tuple[str, str]]:
    """The README's fenced code blocks, as (language, text), in order."""
    found, lang, lines = [], None, []
    for line in README.splitlines(keepends=True):
        if line.startswith("```"):
            if lang is None:
                lang, lines = line[3:].strip(), []
            else:
                found.append((lang, "".join(lines)))
                lang = None
        elif lang is not None:
            lines.append(line)
    return found


def blocks(lang: str) -> list[str]:
    return [text for kind, text in fenced() if kind == lang]


def test_ci_runs_exactly_the_readme_test_command():
    commands = [b.strip() for b in blocks("bash")]
    test_command = next(c for c in commands if "pytest" in c)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_readme_demo_command_runs_the_demo():
    commands = [b.strip() for b in blocks("bash")]
    assert any(c.endswith("microgradx demo") for c in commands)


def test_readme_python_examples_run_in_order(tmp_path, monkeypatch, capsys):
    """Each Python block runs after the ones above it, as a reader would run them."""
    monkeypatch.chdir(tmp_path)  # the save/load example writes a file
    namespace: dict = {"__name__": "__main__"}  # as a script runs them
    for code in blocks("python"):
        exec(compile(code, "README.md", "exec"), namespace)  # the README's own code, nothing else
        if "f" in namespace and "u" in namespace and "w" in namespace and "model" not in namespace:
            assert namespace["f"].data == 20.0 and namespace["u"].grad == 4.0
    assert namespace["batch_loss"] < 0.1  # the moons loss after 100 steps
    assert namespace["losses"][-1] < 0.1  # 100 more steps, fused, still trained
    assert len(namespace["worker_losses"]) == 100  # the block under the script's guard ran
    same = namespace["same"]
    assert [p.data for p in same.parameters()] == [p.data for p in namespace["model"].parameters()]
    resumed, opt = namespace["resumed"], namespace["opt"]  # the optimizer saved and taken back
    assert resumed.t == opt.t == 201 and resumed.lr == opt.lr and np.array_equal(resumed.state, opt.state)
    assert namespace["scores"].shape == (450, 10)  # the digits' test rows, scored in one call
    assert (namespace["predicted"] == namespace["y_test"]).mean() > 0.9
    eigenvalues, top = namespace["eigenvalues"], namespace["top"]  # the landscape: what its comment says
    assert namespace["profile"].loss[0] > 10 * namespace["profile"].loss[-1]
    assert np.allclose(top, eigenvalues[::-1][:2], rtol=1e-6)  # Lanczos finds the spectrum's top two
    assert eigenvalues[-1] > 1e3 * 2e-4  # the data's curvature, not the penalty's 2·1e-4 alone
    assert 0.0 < namespace["negative"] < 0.5  # some directions still curve down: not yet a minimum
    printed = capsys.readouterr().out
    assert "25 " in printed  # the progress callback printed
    shown_tape = next(b for b in blocks("") if b.startswith("u = leaf"))
    assert shown_tape in printed  # the tape the README shows is the one its code prints


def python(folder: Path, *args: str, typed: str | None = None) -> subprocess.CompletedProcess:
    """A fresh interpreter run in `folder` with `args`, `typed` on its stdin; no kernels needed
    (MICROGRADX_JIT=off: the reference sweep)."""
    return subprocess.run(
        [sys.executable, *args],
        input=typed,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MICROGRADX_JIT": "off"},
        check=False,
    )


def test_readme_drawing_lines_run_in_a_fresh_interpreter(tmp_path):
    """As a reader runs them: the lecture's example, then `import microgradx` and
    `microgradx.viz.explore(...)`, with nothing importing microgradx.viz before."""
    lecture = blocks("python")[0]
    drawing = next(b for b in blocks("python") if "microgradx.viz.explore(" in b)
    done = python(tmp_path, "-c", lecture + drawing)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<svg" in (tmp_path / "backprop.html").read_text()
    assert "data 20.0000" in (tmp_path / "f.svg").read_text()


class Pasted(InteractiveConsole):
    """Python's own REPL reading pasted lines, compiling each statement as it would, running none:
    what it refused (a SyntaxError), and the statements it took, as their source."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []
        self.taken: list[str] = []

    def runsource(self, source: str, filename: str = "<input>", symbol: str = "single") -> bool:
        refused = len(self.refused)
        more = super().runsource(source, filename, symbol)
        if not more and len(self.refused) == refused:
            self.taken.append(source)
        return more

    def runcode(self, code: object) -> None:
        pass

    def showsyntaxerror(self, filename: str | None = None, **kwargs: object) -> None:
        self.refused.append(str(sys.exc_info()[1]))


def test_every_python_block_pastes_into_the_plain_repl():
    """A block statement (def, for, with) needs a blank line after it in Python's REPL, and none inside."""
    for block in blocks("python"):
        console = Pasted()
        for line in block.splitlines():
            console.push(line)
        console.push("")
        assert console.refused == [], f"pasted into the REPL, this block is refused:\n{block}"
        taken = ast.parse("\n".join(console.taken))
        assert ast.dump(taken) == ast.dump(ast.parse(block))  # every statement reached the REPL, whole


def test_the_micrograd_block_runs_in_python_interactive(tmp_path):
    """The lecture's example and micrograd's backprop by hand, pasted into `python -i` line by line."""
    lecture = blocks("python")[0]
    by_hand = next(b for b in blocks("python") if "build_topo" in b)
    done = python(tmp_path, "-i", "-q", typed=lecture + by_hand)
    assert "Error" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "20.0 4.0 4.0 5.0" in done.stdout and "[-1.5, 1.0, 0.5, 0.0]" in done.stdout, done.stdout
