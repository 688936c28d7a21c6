"""The benchmarks' hand-written numba reference does the same step as microgradx; the Hessian
benchmark checks what it times.

The reference is the limit line issue 5's speed floors are measured against, so it must
compute the same training step (and not a cheaper one): here its loss, gradients and
updated weights are checked against a compiled microgradx graph, itself checked against
the Python sweep elsewhere, on batches of one block and of several (the last one short).

benchmarks/train_digits.py checks its own contestants against microgradx before timing:
here that check runs (and is shown to catch a different step), and the script runs in
its quick mode.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.datasets import make_moons
from microgradx.nn import MLP
from microgradx.optim import SGD

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from reference_numba import Reference  # noqa: E402


@pytest.mark.parametrize("rows, width", [(100, 16), (3, 4), (600, 6)])
def test_the_reference_step_is_microgradx_step(rows, width):
    lr, alpha = 0.3, 1e-3
    X, labels = make_moons(rows, noise=0.1, seed=7)
    Y = labels * 2.0 - 1.0
    model = MLP(2, [width, width, 1], seed=3)
    init = np.array([p.data for p in model.parameters()])
    ref = Reference(init, X, Y, (width, width), lr, alpha)

    xs, y = [Value(0.0), Value(0.0)], Value(0.0)
    step = microgradx.compile((1 - y * model(xs)).relu() + alpha * sum(p * p for p in model.parameters()),
                              inputs=xs + [y])  # fmt: skip
    opt = SGD(model.parameters(), lr=lr)
    for _ in range(3):
        before = ref.params.copy()
        expected = step.train_step(np.column_stack([X, Y]), opt)
        assert ref.step() == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(ref.params, [p.data for p in model.parameters()], rtol=1e-12, atol=1e-14)
        # the reference's grad is the data loss's; it adds the penalty's 2·alpha·p in its update
        np.testing.assert_allclose(
            ref.grad + 2 * alpha * before, [p.grad for p in model.parameters()], rtol=1e-10, atol=1e-14
        )


HESSIAN = Path(__file__).resolve().parents[1] / "benchmarks" / "hessian.py"
WITHOUT_TORCH = (  # the benchmark as CI runs it: `import torch` fails
    "import runpy, sys; sys.modules['torch'] = None; sys.argv = [sys.argv[1], '--quick', '--rounds', '1']; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def test_the_hessian_benchmark_checks_microgradx_without_torch():
    """benchmarks/hessian.py in quick mode with no PyTorch: it says so, checks microgradx's
    Hessian (against the batch graph's and central differences) and times it."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, str(HESSIAN)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PyTorch: skipped (torch not installed)" in done.stdout
    assert "check passed: every result agrees with microgradx's Compiled.hessian" in done.stdout
    assert re.search(r"microgradx Compiled\.hessian\s+[\d.]+ ms\s+1\.00×", done.stdout), done.stdout
    assert re.search(r"microgradx Compiled\.hvp\s+[\d.]+ ms\s+1\.00×", done.stdout), done.stdout


def test_the_hessian_benchmark_agrees_with_torch_func():
    pytest.importorskip("torch")
    done = subprocess.run(
        [sys.executable, str(HESSIAN), "--quick", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "check passed" in done.stdout
    for name in ("torch.func.hessian", "torch.func.jvp(torch.func.grad(f))", "torch.autograd.functional.hvp"):
        assert re.search(rf"{re.escape(name)}\s+[\d.]+ ms\s+[\d.]+×", done.stdout), done.stdout


@pytest.fixture(scope="module")
def train_digits():
    """benchmarks/train_digits.py as a module, without the thread settings it leaves in os.environ."""
    saved = dict(os.environ)
    import train_digits

    os.environ.clear()
    os.environ.update(saved)
    return train_digits


def test_the_digits_contestants_take_the_same_first_step(train_digits, monkeypatch, capsys):
    td = train_digits
    monkeypatch.setattr(td, "LEFT_OUT", {"jax"})  # (PyTorch takes part where it is installed)
    pb = td.digits(8)
    built = td.setup(pb)  # asserts the first steps agree
    assert {td.TRAIN_STEP, td.FIT, td.NUMPY} <= set(built.steps)
    assert "first step agrees with train_step's" in capsys.readouterr().out
    # a NumPy step on another batch than microgradx's first: the check says so
    numpy_elsewhere = lambda _: td.numpy_by_hand(pb._replace(batches=pb.batches[1:]))
    monkeypatch.setattr(td, "CONTESTANTS", {td.TRAIN_STEP: td.mgx_train_step, td.NUMPY: numpy_elsewhere})
    with pytest.raises(AssertionError, match="NumPy by hand disagrees with train_step"):
        td.setup(pb)


def test_train_digits_runs_quick_without_torch_or_jax(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "train_digits.py"), "--quick", "--skip", "torch", "jax"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "first step agrees with train_step's" in out
    assert "PyTorch eager (1 thread): skipped (left out (--skip torch))" in out
    # one core for every contestant (benchmarks/cores.py): the cores column, CPU time over wall
    # time, is at most 1 for each (a library's own threads share the core)
    assert "one core (every thread pinned to CPU" in out.splitlines()[0]
    for name in ("microgradx train_step", "microgradx fit (per step, one batch)", "NumPy by hand"):
        row = re.search(rf"^{re.escape(name)}\s+\d+\.\d\s+\d+\.\d\d.*\s(\d+\.\d\d)$", out, re.M)
        assert row, name
        assert float(row[1]) <= 1.05, row[0]
