"""A progress bar for the demos and for `Compiled.fit`'s epochs: on stderr, or live in a notebook.

On a terminal the bar is redrawn in place; in any other stream (a file, a pipe, CI's log) it
writes ten lines; in a Jupyter notebook it is an HTML bar updated in place in the cell's output
(`notebook.HtmlBar`), since the kernel's stderr is no terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from ..kernels import jit
from .notebook import HtmlBar, in_notebook


def status(done: int, steps: int, loss: float, acc: float | None, val_loss: float | None) -> str:
    """The words beside the bar: `25/60  loss 0.1234  validation loss 0.2  accuracy  93.1%`."""
    line = f"{done:>{len(str(steps))}}/{steps}  loss {loss:.4f}"
    if val_loss is not None:
        line += f"  validation loss {val_loss:.4f}"
    if acc is not None:
        line += f"  accuracy {acc:6.1%}"
    if jit.describe() != "numba":
        line += f"  (on {jit.describe()})"
    return line


def progress_bar(steps: int, stream: TextIO | None = None, width: int = 30) -> Callable[..., None]:
    """show(k, loss, accuracy=None, val_loss=None) after step (or epoch) k of `steps`, from 0: a bar
    redrawn in place on a terminal, ten lines in another stream, a live HTML bar in a notebook
    (when no stream is given); it names the NumPy tier while it runs."""
    if stream is None and in_notebook():
        bar = HtmlBar(steps)

        def update(k: int, loss: float, acc: float | None = None, val_loss: float | None = None) -> None:
            bar.show(k + 1, status(k + 1, steps, loss, acc, val_loss))

        return update
    stream = sys.stderr if stream is None else stream
    live = stream.isatty()

    def show(k: int, loss: float, acc: float | None = None, val_loss: float | None = None) -> None:
        done = k + 1
        if not live and done % max(1, steps // 10) and done != steps:
            return
        filled = width * done // steps
        line = f"[{'#' * filled}{'.' * (width - filled)}] {status(done, steps, loss, acc, val_loss)}"
        stream.write(f"\r{line}" if live else f"{line}\n")
        if live and done == steps:
            stream.write("\n")
        stream.flush()

    return show


def shown_by_default() -> bool:
    """Whether fit shows its progress when verbose=None: on a terminal, and in a notebook."""
    return getattr(sys.stderr, "isatty", lambda: False)() or in_notebook()
