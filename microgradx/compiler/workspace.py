"""What a compiled graph's calls work in: the lanes' arrays of a batch, and each thread's own.

A Workspace holds one batch size's arrays, in the one buffer kernels/layout.py lays out
(and the kernels cut back the same way). A CallState is one thread's: its workspace, its
uniform values and gradients, and what its last call left for the next (the packed
arguments, train_step's fast path). PerThread gives each thread its CallState, so a
thread's forward, backward and training steps never touch another thread's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..kernels import cache
from ..kernels.layout import LINE, TMP_ROWS, new_workspace, workspace_parts
from .program import scratch_rows


class Workspace:
    """The lanes' arrays for one batch: rows cut into chunks that fit in cache, run on
    several threads if its graph was compiled with threads=True and the batch is large.

    vals and grads have shape (chunks, varying slots, L'): chunk c holds rows
    c·L … c·L + counts[c] - 1, lanes contiguous; from 32 rows a chunk on, each slot's
    lanes start on a cache line (L' is L rounded up to a whole line). The lanes past
    counts[c] are padding, which only the kernels' tiles and matrix products touch (see
    kernels/tiles.py). Past the slots, vals and grads have TMP_ROWS rows of scratch (the lane
    sweeps' uniform operands as rows), and each chunk the rows the matrix groups of the
    program `vcode` pack their operands in (program.scratch_rows).
    """

    def __init__(
        self,
        n_varying: int,
        n_uniform: int,
        rows: int,
        block: int,
        parallel: bool,
        n_inputs: int,
        vcode: np.ndarray | None = None,
    ) -> None:
        chunks = max(1, -(-rows // block))  # ceil
        L = -(-rows // chunks)  # rows spread evenly: no chunk much shorter than the others
        self.rows = rows
        self.shape = (rows, n_inputs)  # the batch of inputs it takes
        self.parallel = parallel and chunks > 1
        # Each slot's lanes start on a cache line (whole-vector loads), except for small batches,
        # where the padding would cost more memory than it saves time.
        stride = -(-L // LINE) * LINE if L >= 4 * LINE else L
        counts = [max(0, min(L, rows - c * L)) for c in range(chunks)]
        # One buffer for all (the kernels take it whole), cut into vals, grads, scratch rows and
        # the chunks' uniform gradients by the function the kernels cut it with
        scratch = scratch_rows(vcode, stride) if vcode is not None else 0
        self.layout, self.work = new_workspace(counts, n_varying + TMP_ROWS, stride, n_uniform, scratch)
        cut = cache.python_function(workspace_parts)
        self.vals, self.grads, self.tmp, _, self.counts = cut(self.layout, self.work)
        self.threads = True if self.parallel else None  # the kernels' argument (see kernels/chunks.py)

    def chunks(self, arrays: np.ndarray | None = None):
        """(chunk's (slots, lanes) array, its first row) for each chunk of vals (or of `arrays`)."""
        arrays = self.vals if arrays is None else arrays
        for c, n in enumerate(self.counts):
            yield arrays[c, :, :n], c * int(self.counts[0])


class Ready(NamedTuple):
    """What train_step's fast path (training/steps.py) keeps from a thread's last step: its next
    step goes straight to the kernel while the optimizer, the workspace and the store hold.
    Kept as a plain tuple (`tuple(Ready(...))`): the fast path unpacks it every step, 20 ns
    for a tuple against 50 for a NamedTuple."""

    optimizer: object  # the optimizer it steps
    ws: Workspace | None  # the workspace it runs in (its batch's shape)
    args: tuple  # the kernel's arguments before the rows
    lr: np.ndarray | None  # the optimizer's lr, a view of its settings (read at each step)
    loss: np.ndarray | None  # where the kernel writes the step's loss
    acquire: Callable[[], object] | None  # the store's lock (and PARALLEL_CALLS), taken the cheap way
    release: Callable[[], object] | None


NOT_READY = tuple(Ready(None, None, (), None, None, None, None))  # not made yet, or dropped


class CallState:
    """What a compiled graph's calls work in, one of each per thread (see PerThread): a
    thread's forward, backward and training steps never touch another thread's.

    Made from `uniform`, the graph's uniform values (its constants filled in) and
    gradients, which it copies.
    """

    def __init__(self, uniform: np.ndarray) -> None:
        self.uniform = uniform.copy()  # values and gradients, one array for the kernels
        self.ws: Workspace | None = None  # the lanes' arrays of this thread's last forward
        self.ran = False  # whether a forward (or a training step) has run in this thread
        self.single = False  # whether that forward was one row
        self.args: tuple = (None, None, ())  # see Graph.kernel_args
        self.ready: tuple = NOT_READY  # a Ready: see training/steps.py's train_step
        self.one_loss = np.zeros(1)  # train_step's loss, without a new array each step


class PerThread(threading.local):
    """A CallState for each thread, made at the thread's first call. (Held in a plain object:
    reading an attribute of a threading.local costs four times a plain one's.)"""

    def __init__(self, uniform: np.ndarray) -> None:
        self.state = CallState(uniform)
