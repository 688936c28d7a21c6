"""examples/lecture.ipynb runs from top to bottom in a fresh kernel, so it cannot go stale.

Executed with nbclient (the `dev` extra installs it, nbformat and ipykernel), in a folder of
its own; every code cell must run without an error, and the numbers it prints must be the
lecture's and the landscape's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "lecture.ipynb"


def test_the_lecture_notebook_runs_and_shows_its_pictures(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # kept clean
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    pictures = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert "f = 20;  ∂f/∂u = 4, ∂f/∂v = 4, ∂f/∂w = 5" in text
    engine, by_hand = re.search(r"engine : (\[.*\])\nby hand: (\[.*\])", text).groups()
    assert engine == by_hand
    eig, lanczos = re.search(r"eigvalsh: \[(.*)\]\nlargest three, Lanczos: +\[(.*)\]", text).groups()
    assert [float(x) for x in eig.split()] == pytest.approx([float(x) for x in lanczos.split()], rel=1e-6)
    assert "-2   along (0, 1): f curves down" in text and "a saddle point" in text
    logistic, mlp = (float(s) for s in re.findall(r"solution spread ([\d.e+-]+)", text))
    assert logistic * 1000 < mlp
    assert len(pictures) == 6
