"""Every script in examples/ runs to the end and reports what it set out to show."""

from __future__ import annotations

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
