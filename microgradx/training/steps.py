"""Training steps in one compiled call: forward, zero the gradients, backward, the update.

`Compiled.train_step` and `Compiled.fit`'s steps (these functions, as methods: `self` is
the compiled graph). The steps run inside the kernels (kernels/calls.py: train_steps, and
train_batches for mini-batches), the optimizer's update rule among them
(kernels/updates.py), so a step runs no Python between its parts. train_step keeps the
kernel's arguments of its last call, per thread, and its next call goes straight to the
kernel while the optimizer, the batch's shape and the store hold.

Equals: `forward(x); zero_grad(); backward(); optimizer.step()` called one by one, and so
the scalar sweeps row by row: tests/test_fused.py (test_fit_equals_the_python_loop,
test_train_step_is_one_step_of_the_loop).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
import weakref
from collections.abc import Callable, Sequence

import numpy as np

from ..compiler.checks import F64, finite, whole_number
from ..compiler.graph import Graph
from ..compiler.workspace import CallState, Ready, Workspace
from ..core.real import real, real_array
from ..kernels import calls, jit
from ..optim import Optimizer

NO_OPTIMIZER = (None, -1, np.zeros((1, 0), dtype=np.uint32))  # optimizer_slots: none made yet


def optimizer_checked(optimizer: object, caller: str) -> Optimizer:
    """optimizer, if it is one of microgradx.optim's; else an error naming `caller`."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{caller} needs an optimizer from microgradx.optim, like SGD(model.parameters(), lr=0.1); "
            f"got {optimizer!r} ({type(optimizer).__name__})"
        )
    return optimizer


def train_step(self: Graph, x: object, optimizer: Optimizer) -> float:
    """One training step in one compiled call: forward, zero grads, backward (mean), update.

    Returns the mean output (the batch loss) before the update: the same as
    `forward(x).mean(); zero_grad(); backward(); optimizer.step()`, without the
    Python in between. Raises ValueError, changing nothing, if x holds nan or inf.
    """
    # The kernel's arguments from this thread's last step, while its optimizer, workspace and
    # store hold (a forward in another workspace, or of one row, drops them: see Graph.workspace and
    # forward); the optimizer's settings are read from its arrays, so they may change between steps.
    opt, ws, args, lr, loss, acquire, release = self.per_thread.state.ready
    if (
        opt is not optimizer
        or type(x) is not np.ndarray
        or x.dtype is not F64  # (NumPy's one float64 dtype; any other goes the long way)
        or x.shape != ws.shape
        or not x.flags.carray  # C order, aligned, writeable: what the kernels were compiled for
        or self.store.version != self.version
    ):  # the first step, or anything new: fit checks everything (and makes ready)
        return float(fit_steps(self, x, optimizer, 1, caller="train_step")[0])
    acquire()  # the store's lock (the step writes the parameters and their gradients), the cheap way
    try:
        jit.kernels_now().train_steps(*args, x, lr, optimizer.t, loss)
        value = loss.item()
        if not math.isfinite(value):  # the kernel takes no step on rows holding nan or inf:
            finite(x, "train_step")  # named here
        optimizer.t += 1
    finally:
        release()
    if not math.isfinite(value):
        warn_nonfinite(self, loss, optimizer.t - 1, "train_step")
    return value


def optimizer_slots(self: Graph, store_idx: np.ndarray) -> np.ndarray:
    """The optimizer's parameters for the fused steps: their store indices, and under them
    each one's uniform slot if all are this graph's parameters (the steps then update them
    where the graph reads them); shape (2, n), or (1, n) without the slots."""
    idx_then, version_then, opt_slots = self.opt_slots
    if idx_then is not store_idx or version_then != self.version:
        where = dict(zip(self.p_idx.tolist(), self.p_uslots.tolist()))
        slots = [where.get(i, -1) for i in store_idx.tolist()]
        rows = [store_idx] if -1 in slots else [store_idx, slots]
        opt_slots = np.array(rows, dtype=np.uint32).reshape(len(rows), len(slots))  # unsigned: see
        self.opt_slots = (store_idx, self.version, opt_slots)  # kernels/layout.py's program_parts
    return opt_slots


def step_args(self: Graph, ws: Workspace, state: CallState, optimizer: Optimizer) -> tuple:
    """The fused steps' arguments before the rows (see kernels/calls.py's train_steps)."""
    _, idx = optimizer.binding()
    return (
        *self.kernel_args(ws, state), optimizer.rule, optimizer_slots(self, idx),
        optimizer.settings, optimizer.state,
    )  # fmt: skip


def trainer(
    self: Graph, x: object, optimizer: Optimizer, caller: str, batch: int | None = None
) -> tuple[np.ndarray, Workspace, tuple]:
    """What training steps need, checked: x as rows, the workspace (for `batch` rows, or all
    of x's) and the kernels' arguments; train_step's fast path made ready for them."""
    optimizer_checked(optimizer, caller)
    rows = finite(self.rows(x, caller)[0], caller)
    if rows.shape[0] == 0:
        raise ValueError(
            f"{caller}(x): x has no rows; a training step's loss is the mean over the batch's rows, "
            "so it needs one row at least"
        )
    if self.out_refs.size != 1:
        raise ValueError(
            f"{caller} trains a graph with one output, the loss; this one has {self.out_refs.size}: "
            "compile the loss alone (for several, their sum or mean as one Value, loss = sum(outputs))"
        )
    if self.store.version != self.version:
        self.bind()
    if optimizer.binding()[0] is not self.store:
        raise ValueError(
            "the optimizer's parameters and this graph's are in different stores: "
            "build the optimizer on the graph's parameters (for example model.parameters())"
        )
    state = self.per_thread.state
    ws = self.workspace(state, rows.shape[0] if batch is None else batch)
    state.single = False
    state.ran = True
    args = step_args(self, ws, state, optimizer)
    if not self.check:
        lock, lr_now = self.writer_locks(ws), optimizer.settings[:1]  # train_step's fast path:
        state.ready = tuple(Ready(optimizer, ws, args, lr_now, state.one_loss, lock.acquire, lock.release))
    return rows, ws, args


def fit_steps(
    self: Graph,
    x: object,
    optimizer: Optimizer,
    steps: int,
    lr: float | Sequence[float] | Callable[[int], float] | None = None,
    every: int = 0,
    callback: Callable[[int, np.ndarray], object] | None = None,
    caller: str = "fit",
) -> np.ndarray:
    """fit's full-batch steps, with its errors naming `caller` (fit, or train_step's first step).
    Returns each step's mean loss, shape (steps,)."""
    optimizer_checked(optimizer, caller)
    steps = whole_number(steps, f"{caller}(steps)")
    every = whole_number(every, f"{caller}(every)")
    if callback is not None and not callable(callback):
        raise TypeError(
            f"{caller}(callback={callback!r}): callback must be a function of (step, losses so far) or None"
        )
    lrs = learning_rates(lr, optimizer, steps)
    rows, ws, args = trainer(self, x, optimizer, caller)
    state = self.per_thread.state
    losses = np.empty(steps)
    chunk = every if every > 0 else max(steps, 1)
    if self.check:
        chunk = 1  # check each step's values and gradients before the next step
    for start in range(0, steps, chunk):
        stop = min(start + chunk, steps)
        with self.writer_locks(ws):  # the steps write the parameters, gradients, optimizer's state
            saved = checked_before(self, optimizer)
            run_steps(args, rows, lrs[start:stop], optimizer.t, losses[start:stop])
            optimizer.t += stop - start
            checked_after(self, ws, state, optimizer, saved)
        warn_nonfinite(self, losses[start:stop], optimizer.t - (stop - start), caller)
        if callback is not None:
            callback(stop, losses[:stop])
    if steps:
        optimizer.lr = float(lrs[-1])
    return losses


def fit_batches(
    self: Graph, rows: np.ndarray, optimizer: Optimizer, order: np.ndarray, batch: int, lrs: np.ndarray
) -> np.ndarray:
    """Steps on mini-batches of rows (a checked (n, inputs) float64 array): step k on the rows
    order[k·batch : (k + 1)·batch], the last on what is left (kernels/calls.py's train_batches); one
    compiled call (one a step with check=True). Returns each step's mean loss. An epoch of fit."""
    _, ws, args = trainer(self, rows, optimizer, "fit", batch)
    losses = np.empty(lrs.size)
    state = self.per_thread.state
    every = 1 if self.check else lrs.size  # check=True: each step's values and gradients
    for start in range(0, lrs.size, every):
        stop = min(start + every, lrs.size)
        part = order[start * batch : stop * batch]
        with self.writer_locks(ws):  # the steps write the parameters, gradients, optimizer's state
            saved = checked_before(self, optimizer)
            run_batches(args, rows, part, batch, lrs[start:stop], optimizer.t, losses[start:stop])
            optimizer.t += stop - start
            checked_after(self, ws, state, optimizer, saved)
    warn_nonfinite(self, losses, optimizer.t - lrs.size, "fit")
    return losses


WARNED: weakref.WeakSet[Graph] = weakref.WeakSet()  # the graphs warn_nonfinite has warned about


def warn_nonfinite(self: Graph, losses: np.ndarray, t: int, caller: str) -> None:
    """A RuntimeWarning, once a graph, when a step's loss is nan or inf: without check=True,
    that step went on to update the parameters from it. losses: the steps t + 1 on. The
    warning names the user's line (the first frame outside the package, however deep fit's
    calls went), and does not blame the step whose loss it was: an update before it may
    have made the parameters nan or inf."""
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size and self not in WARNED:
        WARNED.add(self)
        k = int(bad[0])
        warnings.warn(
            f"{caller}: the loss was {losses[k]} at step {t + k + 1}: an op in it overflowed or took "
            "log(0), or an update before it left the parameters nan or inf (a learning rate too "
            "large?), and steps went on from there; compile(..., check=True) stops at the first "
            "such step, undoes it and names the op",
            RuntimeWarning,
            stacklevel=users_level(),
        )


# microgradx/, as frames name their files: not resolved through symlinks, as kernels/cache.py's is
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def users_level() -> int:
    """The stacklevel, for a warnings.warn in the function that calls this, of the first frame
    outside the package: the user's line that called train_step or fit (however deep fit went)."""
    frame, level = sys._getframe(2), 2  # (stacklevel 1 is that function, 2 its caller, ...)
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def checked_before(self: Graph, optimizer: Optimizer) -> tuple | None:
    """With check=True, what a step may write (the store's values, the optimizer's state and
    count), kept to undo a step that made a nan or inf; None without check."""
    if not self.check:
        return None
    return self.store.data.copy(), optimizer.state.copy(), optimizer.t


def checked_after(
    self: Graph, ws: Workspace, state: CallState, optimizer: Optimizer, saved: tuple | None
) -> None:
    """With check=True, the step's values and gradients checked against the parameters it read:
    the update wrote the new ones where the sweeps read them, and a nan it wrote would be blamed
    on a parameter. A step that made a nan or inf is undone before the error names where it first
    appeared (check_values, check_grads)."""
    if saved is None:
        return
    data, opt_state, t = saved
    uvals, slots = state.uniform[0], self.p_uslots
    stepped = uvals[slots]
    uvals[slots] = data[self.p_idx]  # the parameters the step's forward and backward read
    ws.grads[:, self.in_rows] = 0.0  # the inputs' gradients: the steps leave them (chunks.py's inputs_first)
    try:
        self.check_values(ws, state)
        self.check_grads(ws, state)
    except FloatingPointError as e:
        self.store.data[:] = data
        optimizer.state[...] = opt_state
        optimizer.t = t
        raise FloatingPointError(
            f"{e}; in training step {t + 1}, which was undone (the parameters and the optimizer's state "
            "are as before it; values that grew step after step ask for a smaller learning rate)"
        ) from None
    uvals[slots] = stepped


def run_steps(args: tuple, rows: np.ndarray, lrs: np.ndarray, t: int, losses: np.ndarray) -> None:
    """len(lrs) steps, the optimizer's steps t + 1 on, in one call of the kernels; on the NumPy
    tier a few at a time, so that a long fit moves to the numba kernels as soon as they are
    compiled (kernels/jit.py)."""
    start, stop = 0, lrs.size
    while start < stop:
        run = jit.kernels_now()
        end = stop if run is calls else min(stop, start + 20)
        run.train_steps(*args, rows, lrs[start:end], t + start, losses[start:end])
        start = end


def run_batches(
    args: tuple,
    rows: np.ndarray,
    order: np.ndarray,
    batch: int,
    lrs: np.ndarray,
    t: int,
    losses: np.ndarray,
) -> None:
    """run_steps for mini-batches (kernels/calls.py's train_batches): on the NumPy tier 20 at a time."""
    start, stop = 0, lrs.size
    while start < stop:
        run = jit.kernels_now()
        end = stop if run is calls else min(stop, start + 20)
        part = order[start * batch : end * batch]
        run.train_batches(*args, rows, part, batch, lrs[start:end], t + start, losses[start:end])
        start = end


def learning_rates(lr: object, optimizer: Optimizer, steps: int) -> np.ndarray:
    """fit's lr checked: one finite learning rate >= 0 per step (None: the optimizer's)."""
    if lr is None:
        lrs = np.full(steps, optimizer.lr)
    else:
        try:  # numbers by real.py's rule, the one Value(data) follows
            if callable(lr):
                lrs = np.array([real(lr(k), f"lr({k})") for k in range(steps)], dtype=np.float64)
            elif isinstance(lr, (list, tuple, np.ndarray)):
                # a copy, contiguous as the kernels were compiled for (a strided one: numba compiles anew)
                lrs = np.array(real_array(lr, "fit(lr)", "lr")).reshape(-1)
            else:
                lrs = np.full(steps, real(lr, "fit(lr)"))
        except TypeError as e:
            raise TypeError(
                f"fit(lr={lr!r}): lr must be a number, a list of one number per step, a function of the "
                f"step number, or None for the optimizer's lr ({e})"
            ) from None
    if lrs.shape != (steps,):
        raise ValueError(f"fit: got {lrs.size} learning rates for {steps} steps")
    bad = np.flatnonzero(~np.isfinite(lrs) | (lrs < 0))
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"fit: the learning rate of step {k} is {lrs[k]}; each must be a finite number, 0 or more "
            f"({bad.size} of {steps} are not)"
        )
    return lrs
