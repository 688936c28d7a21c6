"""Every script in examples/ runs to the end and reports what it set out to show."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXPECTED = {  # a line each script must print: what it achieved
    "lecture.py": "df/du = 4   df/dv = 4   df/dw = 5",
    "moons.py": "accuracy 100%",
    "spirals.py": "accuracy",
    "regression.py": "sin(3x)",
    "two_layer.py": "R(x)",
    "iris.py": "flowers never trained on",
    "breast_cancer.py": "patients never trained on",
    "sweep.py": "18 configurations in",
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
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert EXPECTED[name] in done.stdout
    if name in FLOORS:
        assert float(re.search(r"test accuracy (\d+\.\d)%", done.stdout).group(1)) >= FLOORS[name]


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
