"""What microgradx shows differently in a Jupyter notebook: a live progress bar, figures once.

`in_notebook()` tells a Jupyter kernel from a terminal or a script (IPython's kernel is
running this process, as ipykernel's own `get_ipython().kernel` says). There, fit's
progress is an HTML bar redrawn in place through a display handle (`HtmlBar`: the
`<progress>` element and the status line a terminal shows), since the kernel's stderr is
no terminal and a text bar would print nothing by default. It needs no package beyond
IPython, which every kernel has, and it stays in the saved notebook as its last state
(tqdm's notebook bar is a widget: it needs ipywidgets, and a saved or converted notebook
shows it as `HBox(...)` text).

`shown_once(fig)` marks a pyplot figure that a function returns: in a notebook, pyplot's
inline backend draws every open figure at the end of the cell, and IPython draws the
cell's last value too, so `history.plot()` as a cell's last line drew its figure twice.

Nothing here imports IPython or matplotlib unless a notebook or a figure is already there.
"""

from __future__ import annotations

import sys
import time
from html import escape
from typing import Any


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's kernel app runs it), not a terminal or a script."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class HtmlBar:
    """A progress bar in a notebook's output: an HTML `<progress>` and a status line, updated in place.

    `show(done, line)` redraws it with `done` of the `steps` done and `line` beside it, at most
    every `every` seconds (a message to the browser each time) but always at the last step.
    """

    def __init__(self, steps: int, every: float = 0.1) -> None:
        from IPython.display import HTML, display

        self.steps, self.every, self.html = steps, every, HTML
        self.last = -float("inf")
        self.handle = display(HTML(self.markup(0, f"0/{steps}")), display_id=True)

    def markup(self, done: int, line: str) -> str:
        return (
            f'<div class="microgradx-progress"><progress value="{done}" max="{self.steps}" '
            f'style="width: 16em; vertical-align: middle"></progress> '
            f'<code style="white-space: pre">{escape(line)}</code></div>'
        )

    def show(self, done: int, line: str) -> None:
        now = time.monotonic()
        if done == self.steps or now - self.last >= self.every:
            self.last = now
            self.handle.update(self.html(self.markup(done, line)))


class ShownOnce:
    """A figure's `_ipython_display_`: shown as a cell's last value under pyplot's inline backend, it
    takes the place of the drawing that backend makes of every open figure at the end of the cell
    (it closes the figure in pyplot). Elsewhere (a window of its own, a terminal) it displays as before."""

    def __init__(self, figure: Any) -> None:
        self.figure = figure

    def __call__(self) -> None:
        import matplotlib
        import matplotlib.pyplot as plt
        from IPython.display import display

        del self.figure._ipython_display_  # from here on the figure displays as any other
        if "inline" in matplotlib.get_backend():
            plt.close(self.figure)  # drawn here, as the cell's value: not again at the end of the cell
        display(self.figure)


def shown_once(figure: Any) -> Any:
    """`figure`, drawn once in a notebook when it is a cell's last value (see ShownOnce)."""
    figure._ipython_display_ = ShownOnce(figure)
    return figure
