"""A plain-text progress bar on stderr, for the demos and for `Compiled.fit`'s epochs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from ..kernels import jit


def progress_bar(steps: int, stream: TextIO | None = None, width: int = 30) -> Callable[..., None]:
    """show(k, loss, accuracy=None, val_loss=None) after step (or epoch) k of `steps`, from 0: a bar
    redrawn in place on a terminal, ten lines otherwise; it names the NumPy tier while it runs."""
    stream = sys.stderr if stream is None else stream
    live = stream.isatty()

    def show(k: int, loss: float, acc: float | None = None, val_loss: float | None = None) -> None:
        done = k + 1
        if not live and done % max(1, steps // 10) and done != steps:
            return
        filled = width * done // steps
        bar = "#" * filled + "." * (width - filled)
        line = f"[{bar}] {done:>{len(str(steps))}}/{steps}  loss {loss:.4f}"
        if val_loss is not None:
            line += f"  validation loss {val_loss:.4f}"
        if acc is not None:
            line += f"  accuracy {acc:6.1%}"
        if jit.describe() != "numba":
            line += f"  (on {jit.describe()})"
        stream.write(f"\r{line}" if live else f"{line}\n")
        if live and done == steps:
            stream.write("\n")
        stream.flush()

    return show
