"""Every script in examples/ runs to the end and reports what it set out to show."""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXPECTED = {  # a line each script must print: what it achieved
    "lecture.py": "df/du = 4   df/dv = 4   df/dw = 5",
    "moons.py": "accuracy 100%",
    "spirals.py": "accuracy",
    "regression.py": "sin(3x)",
    "two_layer.py": "R(x)",
    "layers.py": "check passed: the scalar graph and the matrix recursion agree",
    "iris.py": "flowers never trained on",
    "breast_cancer.py": "patients never trained on",
    "modes.py": "check passed: both modes give the same Jacobians",
    "newton.py": "check passed: the engine's Hessian equals the hand-derived one",
    "sweep.py": "18 configurations in",
    "saddles.py": "x² − y² at the origin: gradient (0, 0), Hessian eigenvalues (-2, 2): a saddle point",
    "convexity.py": "check passed: the convex models' spreads are at least 1,000× smaller than the MLP's",
}
ARGS = {  # the scripts that take long in full run in their quick mode here
    "modes.py": ["--quick"],
    "newton.py": ["--quick", "--out", "paths/newton.png"],
    "saddles.py": ["--quick"],
    "convexity.py": ["--quick"],
}
PICTURES = {  # what a script must have drawn, in the folder it ran in
    "saddles.py": ["out/saddle.png", "out/critical_points.png", "out/curvature.png"],
    "convexity.py": ["out/convexity.png"],
}
FLOORS = {  # the least test accuracy (%) a script on a real data set must print
    "iris.py": 90.0,
    "breast_cancer.py": 93.0,
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name, tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *ARGS.get(name, [])],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert EXPECTED[name] in done.stdout
    if name in FLOORS:
        assert float(re.search(r"test accuracy (\d+\.\d)%", done.stdout).group(1)) >= FLOORS[name]
    for picture in PICTURES.get(name, []):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture


def test_modes_table_counts_the_sweeps(tmp_path):
    """modes.py's table: (337, 1) takes 337 forward sweeps or 1 reverse, (1, 337) the other way, each way."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "modes.py"), "--quick"], capture_output=True, text=True, timeout=300
    )
    time = r"[\d.e+]+ (?:s|ms|µs)"
    rows = re.findall(
        rf"^\((\d+), (\d+)\)\s+(.+?)\s+(\d+)\s+{time}\s+(\d+)\s+{time}", done.stdout, re.MULTILINE
    )
    assert len(rows) == 6, done.stdout
    for n, m, _way, forward_sweeps, reverse_sweeps in rows:
        assert (forward_sweeps, reverse_sweeps) == (n, m)
    assert {(n, m) for n, m, *_ in rows} == {("337", "1"), ("1", "337")}


def test_newton_converges_and_draws(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "newton.py"), "--quick", "--out", str(tmp_path / "p.png")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    newton = re.search(r"Newton\s+converged after\s+(\d+) steps at \(([-\d.]+), ([-\d.]+)\)", done.stdout)
    assert newton, done.stdout
    assert int(newton.group(1)) <= 10  # pure Newton from (-1.2, 1): 7 steps
    assert float(newton.group(2)) == pytest.approx(1.0, abs=1e-9) and float(newton.group(3)) == pytest.approx(
        1.0
    )
    assert "gradient descent  stopped at its budget after  2,000 steps" in done.stdout
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_newton_takes_rosenbrocks_hessian_from_the_engine():
    """The engine's gradient and Hessian of f = (1 - x)² + 100 (y - x²)² against the hand-derived
    ones: ∂f/∂x = -2(1 - x) - 400x(y - x²), ∂f/∂y = 200(y - x²); ∂²f/∂x² = 2 - 400y + 1200x²,
    ∂²f/∂x∂y = -400x, ∂²f/∂y² = 200."""
    newton = load_example("newton.py")
    rng = np.random.default_rng(0)
    for x, y in [(-1.2, 1.0), (1.0, 1.0), (0.0, 0.0)] + [tuple(p) for p in rng.uniform(-2, 2, (20, 2))]:
        f, g, H = newton.derivatives(np.array([x, y]))
        assert f == pytest.approx((1 - x) ** 2 + 100 * (y - x**2) ** 2, rel=1e-14, abs=1e-14)
        np.testing.assert_allclose(
            g, [-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], rtol=1e-13, atol=1e-12
        )
        exact = np.array([[2 - 400 * y + 1200 * x**2, -400 * x], [-400 * x, 200]])
        np.testing.assert_allclose(H, exact, rtol=1e-13, atol=1e-11)


def test_newton_step_at_the_start_is_the_hand_computed_one():
    """From (-1.2, 1): ∇f = (-215.6, -88), H = [[1330, 480], [480, 200]], so the step
    H⁻¹∇f lands at (-1.1752809..., 1.3806741...), the classic first Newton iterate."""
    newton = load_example("newton.py")
    path, _, _ = newton.newton((-1.2, 1.0), budget=1)
    np.testing.assert_allclose(path[1], [-1.1752808988764043, 1.3806741573033703], rtol=1e-12)


def test_sweep_trains_each_configuration_in_a_worker_process(monkeypatch):
    """examples/sweep.py: 4 configurations on 2 local processes (joblib's loky) give what the
    same configurations give trained here, in this process, and come back best first."""
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the workers import train_one from it too
    import sweep

    lrs, widths, seeds, epochs = [0.01, 0.03], [8, 16], [3], 4
    results = sweep.sweep(lrs, widths, seeds, epochs=epochs, n_jobs=2)
    assert sorted((r.lr, r.width, r.seed) for r in results) == sorted(itertools.product(lrs, widths, seeds))
    order = [(-r.test_accuracy, r.loss) for r in results]
    assert order == sorted(order)
    workers = {r.worker for r in results}
    assert os.getpid() not in workers and len(workers) <= 2
    for r in results:
        here = sweep.train_one(r.lr, r.width, r.seed, epochs)
        assert here.worker == os.getpid()
        assert here.test_accuracy == r.test_accuracy and here.train_accuracy == r.train_accuracy
        assert here.loss == pytest.approx(r.loss, rel=1e-12, abs=0)
        assert here.kernels == r.kernels == "numba"
    assert len({r.loss for r in results}) == 4  # four models, not one four times


def test_sweep_refuses_an_empty_grid(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import sweep

    with pytest.raises(ValueError, match="an empty grid"):
        sweep.sweep([0.01], [], [0])


def test_saddles_finds_minima_below_saddle_points():
    """examples/saddles.py: every point found is critical (‖∇L‖ < 1e-9), its index the fraction of
    spectrum's negative eigenvalues; there are minima (index 0) and saddles, the minima lowest."""
    saddles = load_example("saddles.py")
    gradient, eigenvalues = saddles.saddle()
    assert gradient.tolist() == [0.0, 0.0] and eigenvalues.tolist() == [-2.0, 2.0]
    f, found = saddles.critical_points(12)
    assert len(found) >= 3
    for _, index, gradient_norm in found:
        assert gradient_norm < saddles.CRITICAL and 0 <= index <= 1
    minima = [loss for loss, index, _ in found if index == 0]
    saddle_points = [loss for loss, index, _ in found if index > 0]
    assert minima and saddle_points and max(minima) < min(saddle_points)


def test_convexity_trains_in_worker_processes_what_it_trains_here(monkeypatch):
    """examples/convexity.py: a start trained in a joblib worker equals the same start trained here."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import convexity

    runs = convexity.train_all(2, quick=True, n_jobs=2)
    for model, results in runs.items():
        assert [r.seed for r in results] == [0, 1]
        for r in results:
            here = convexity.train_one(model, r.seed, quick=True)
            assert here.worker == os.getpid() != r.worker
            np.testing.assert_array_equal(here.theta, r.theta)
    loss_spread, solution_spread = convexity.spreads(runs["least squares"])
    assert loss_spread < 1e-12 and solution_spread < 1e-6
