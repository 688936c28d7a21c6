"""In a Jupyter notebook (issue 21, item 2): a notebook run by nbclient in a real kernel, as a user runs it.

fit's progress is a live bar in the cell's output by default (the kernel's stderr is no
terminal, and the bar used to show nothing there); `history.plot()` draws its figure once,
as a cell's last line and elsewhere in a cell; `explore(...)` shows the page inline and
still writes its file. Skipped when nbclient or ipykernel is not installed (the dev extra
has them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

SETUP = """\
import numpy as np
import microgradx
from microgradx import Value
from microgradx.nn import MLP
from microgradx.optim import Adam
from microgradx.viz import explore

model = MLP(2, [4, 1], seed=0)
xs, y = [Value(0.0), Value(0.0)], Value(0.0)
step = microgradx.compile((model(xs) - y) ** 2, inputs=xs + [y])
rng = np.random.default_rng(0)
X = rng.normal(size=(40, 2))
XY = np.column_stack((X, X[:, 0] - X[:, 1]))
"""

CELLS = {
    "setup": SETUP,
    "fit": "history = step.fit(XY, Adam(model.parameters(), lr=0.05), epochs=4, batch_size=8, seed=0)",
    "plot last": "history.plot()",
    "plot then more": "history.plot()\nlosses = list(history.loss)",
    "plot and print": "history.plot(); print('after the plot')",
    "explore": "u, v, w = Value(2.0, 'u'), Value(3.0, 'v'), Value(4.0, 'w')\n"
    "f = (u + v) * w\nf.label = 'f'\nexplore(f, 'pages/lecture.html')",
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[dict[str, list], Path]:
    """The notebook of CELLS run in a fresh python3 kernel, top to bottom: each cell's outputs, its folder."""
    folder = tmp_path_factory.mktemp("notebook")
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's own: the inline backend
    client = nbclient.NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=env)
    return {name: cell.outputs for name, cell in zip(CELLS, book.cells)}, folder


def pictures(outputs: list) -> int:
    return sum("image/png" in out.get("data", {}) for out in outputs)


def test_fit_shows_a_live_bar_in_the_cell_by_default(executed):
    outputs, _ = executed
    shown = outputs["fit"]
    assert [out.output_type for out in shown] == ["display_data"], shown  # one bar, nothing on stderr
    html = shown[0].data["text/html"]
    assert '<progress value="4" max="4"' in html  # updated in place to the last epoch
    assert re.search(r"4/4  loss \d\.\d{4}", html)


def test_history_plot_draws_its_figure_once(executed):
    outputs, _ = executed
    assert pictures(outputs["plot last"]) == 1  # as the cell's last line: was drawn twice
    assert pictures(outputs["plot then more"]) == 1
    assert pictures(outputs["plot and print"]) == 1
    assert any("after the plot" in out.get("text", "") for out in outputs["plot and print"])


def test_explore_shows_the_page_inline_and_writes_its_file(executed):
    outputs, folder = executed
    page = (folder / "pages" / "lecture.html").read_text()
    assert "microgradx-steps" in page
    (result,) = [out for out in outputs["explore"] if out.output_type == "execute_result"]
    html = result.data["text/html"]
    assert html.startswith("<iframe srcdoc=") and "microgradx-steps" in html
    assert "backprop through f" in html and "&lt;svg" in html  # the page itself, escaped into srcdoc
