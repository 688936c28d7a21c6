"""Training the way people train: epochs of shuffled mini-batches, a validation set, a history.

    history = step.fit(rows, optimizer, epochs=60, batch_size=128, seed=0,
                       validation=(val_rows, val_labels), model=model)
    history.plot()                      # or plt.plot(history.loss), plt.plot(history.val_accuracy)

`Compiled.fit` is `fit` here (as a method: `self` is the compiled graph): with steps it
runs full-batch steps (steps.py's fit_steps), with epochs it lands in `fit_epochs`. Each
epoch draws a permutation of x's rows (`np.random.default_rng(seed)`, one draw an epoch;
shuffle=False keeps x's order) and runs its ceil(rows / batch_size) steps in one compiled
call, each step gathering its batch's rows into the lanes inside the kernel
(kernels/calls.py's train_batches).
The last batch of an epoch takes the rows left, as PyTorch's DataLoader does by
default (drop_last=False): its loss and gradient are the mean over its own rows, so
every row counts the same in an epoch. Between epochs, outside the compiled call,
the validation rows are scored, the progress bar moves and the callback runs.

Validation. The graph is a loss whose inputs include the targets (the digits demo:
the pixels, then the class's one-hot weights), so the validation rows are given as
the graph takes them, Xv, with the same columns as x: the validation loss is the
graph's mean output on them, the very quantity the training loss is. Its accuracy
needs the class scores, which the model gives, not the loss: pass the model (any
`Module`; its parameters must be the graph's) and the rows' classes yv, and fit
scores the first model.nin columns of Xv (`metrics.predict`: the largest of k
scores, or one score against its threshold), as `compile(loss, inputs=xs + ys)`
with `xs` the model's inputs lays them out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import numpy as np

from .. import metrics
from ..compiler.checks import finite, flag, whole_number
from ..compiler.graph import Graph
from ..core.real import real_array
from ..nn import Module
from ..optim import Optimizer
from ..serialize import writable_folder
from .notebook import shown_once
from .progress import progress_bar, shown_by_default
from .steps import fit_batches, fit_steps, learning_rates, optimizer_checked


@dataclass
class History:
    """What an epoch fit did, one entry an epoch (NumPy arrays, ready for `plt.plot`).

    loss: the mean training loss over each epoch's rows, shape (epochs,). val_loss and
    val_accuracy: the validation rows' mean loss and accuracy after each epoch, (epochs,),
    or None when not asked for. step_loss: each step's mean loss, (epochs · steps an
    epoch,). seconds: each epoch's compiled call (its steps, without the validation).
    """

    loss: np.ndarray
    val_loss: np.ndarray | None
    val_accuracy: np.ndarray | None
    step_loss: np.ndarray
    seconds: np.ndarray

    @property
    def epoch(self) -> np.ndarray:
        """1, 2, …, epochs: the x axis of the curves."""
        return np.arange(1, self.loss.size + 1)

    def __len__(self) -> int:
        return self.loss.size

    def plot(self, path: object = None):
        """The loss curves (training, and validation if any) and the validation accuracy, in one
        figure; saved to `path` if given (its missing folders made). Returns the matplotlib Figure
        (drawn once in a notebook, as a cell's last value too). Needs matplotlib."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("History.plot needs matplotlib: pip install 'microgradx[plot]'") from None
        if path is not None:  # its folder made (as draw and model.save make theirs), before the drawing
            writable_folder(Path(os.fspath(path)).parent, f"not saving to {os.fspath(path)}")
        panels = 1 if self.val_accuracy is None else 2
        fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.2), squeeze=False)
        left = axes[0, 0]
        dot = "o" if len(self) == 1 else None  # one epoch is one point: a line alone would not show it
        left.plot(self.epoch, self.loss, marker=dot, label="training")
        if self.val_loss is not None:
            left.plot(self.epoch, self.val_loss, marker=dot, label="validation")
        curves = [c for c in (self.loss, self.val_loss) if c is not None]
        positive = all(np.all(c > 0) for c in curves)  # a log scale, unless a loss reaches 0 or below
        left.set(xlabel="epoch", ylabel="loss", yscale="log" if positive else "linear")
        left.legend()
        if self.val_accuracy is not None:
            right = axes[0, 1]
            right.plot(self.epoch, 100 * self.val_accuracy, marker=dot, color="C1")
            right.set(xlabel="epoch", ylabel="validation accuracy (%)")
        for ax in axes.ravel():
            ax.grid(alpha=0.3)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return shown_once(fig)  # a notebook cell ending in history.plot() draws it once, not twice

    def __repr__(self) -> str:
        if not len(self):
            return "History(0 epochs)"
        epochs = f"{len(self)} epoch{'s' if len(self) > 1 else ''}"
        text = f"History({epochs}: loss {self.loss[0]:.4g} → {self.loss[-1]:.4g}"
        if self.val_loss is not None:
            text += f", validation loss {self.val_loss[-1]:.4g}"
        if self.val_accuracy is not None:
            text += f", accuracy {self.val_accuracy[-1]:.1%}"
        return text + ")"

    def upto(self, epochs: int) -> History:
        """The first `epochs` epochs (views, not copies): the history so far, for callbacks."""
        cut = lambda a, n=epochs: None if a is None else a[:n]  # noqa: E731
        per_epoch = self.step_loss.size // max(len(self), 1)
        return History(
            self.loss[:epochs], cut(self.val_loss), cut(self.val_accuracy),
            self.step_loss[: epochs * per_epoch], self.seconds[:epochs],
        )  # fmt: skip


def fit(
    self: Graph,
    x: object,
    optimizer: Optimizer,
    steps: int | None = None,
    lr: float | Sequence[float] | Callable[[int], float] | None = None,
    every: int = 0,
    callback: Callable[..., object] | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation: object = None,
    model: object = None,
    verbose: bool | None = None,
) -> np.ndarray | History:
    """Train on x: `steps` full-batch steps, or `epochs` of shuffled mini-batches.

    fit(x, optimizer, steps): `steps` training steps on the whole batch x, in as few
    compiled calls as possible. lr: the optimizer's lr (None), or one per step (a
    sequence, or a function of the step number). Every `every` steps (0: only at the
    end) callback(step, losses so far) is called, for progress reports. Returns each
    step's mean loss, shape (steps,).

    fit(x, optimizer, epochs=E, batch_size=B, shuffle=True, seed=None, validation=None,
    model=None, verbose=None): E epochs, each one compiled call of ceil(rows / B)
    steps on mini-batches of x's rows (all rows if B is None), gathered inside the
    kernel; the last batch of an epoch takes the rows left (PyTorch's drop_last=False).
    The order is a new permutation each epoch from np.random.default_rng(seed)
    (shuffle=False: x's own order). validation: rows as this graph takes them, Xv,
    for the validation loss, or (Xv, yv) with yv their classes, for the accuracy
    too, which needs `model` (the Module whose outputs are the class scores; it
    reads the first model.nin columns of Xv). A progress bar per epoch on stderr, or
    live in a notebook's cell (verbose=None: on a terminal or in a notebook);
    callback(epoch, history so far) after each epoch. Returns a `History`.
    """
    if epochs is not None or steps is None:
        return fit_epochs(
            self, x, optimizer, steps, lr, every, callback, epochs, batch_size, shuffle, seed, validation,
            model, verbose,
        )  # fmt: skip
    for name, value in (("batch_size", batch_size), ("seed", seed), ("validation", validation),
                        ("model", model), ("verbose", verbose)):  # fmt: skip
        if value is not None:
            raise TypeError(
                f"fit(x, optimizer, steps, {name}=...): {name} goes with epochs; steps are full-batch "
                f"steps on x. For mini-batches write fit(x, optimizer, epochs=..., batch_size=...)"
            )
    if shuffle is not True:
        raise TypeError("fit(x, optimizer, steps, shuffle=...): shuffle goes with epochs=...")
    return fit_steps(self, x, optimizer, steps, lr, every, callback)


def _validation(
    graph: Graph, validation: object, model: object
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """fit's validation and model checked: the rows as the graph takes them, their classes (or
    None) and the model's columns of the rows (or None)."""
    if validation is None:
        if model is not None:
            raise ValueError(
                "fit(model=...): the model scores the validation rows for their accuracy; give them as "
                "validation=(Xv, yv), Xv the rows as this graph takes them and yv their classes"
            )
        return None, None, None
    n = graph.in_slots.size
    Xv, yv = validation if isinstance(validation, tuple) and len(validation) == 2 else (validation, None)
    Xv = real_array(Xv, "fit(validation)", "Xv")
    if Xv.ndim != 2 or Xv.shape[1] != n or Xv.shape[0] == 0:
        raise ValueError(
            f"fit(validation=Xv or (Xv, yv)): Xv has shape {Xv.shape}; give the validation rows as this "
            f"graph takes them, shape (rows, {n}), the same columns as x (targets included)"
        )
    Xv = finite(np.ascontiguousarray(Xv), "fit(validation)", "Xv", "the validation loss would be nan")
    if yv is None:
        if model is not None:
            raise ValueError(
                "fit(model=...) scores the validation rows against their classes: give validation=(Xv, yv)"
            )
        return Xv, None, None
    yv = np.asarray(yv)
    whole = yv.dtype != bool and np.issubdtype(yv.dtype, np.number) and np.all(yv == np.round(yv))
    if yv.shape != (Xv.shape[0],) or not whole:
        raise ValueError(
            f"fit(validation=(Xv, yv)): yv must hold the class (0, 1, …) of each of Xv's {Xv.shape[0]} "
            f"rows, shape ({Xv.shape[0]},); got shape {yv.shape}, dtype {yv.dtype}"
        )
    if np.any(yv < 0):
        raise ValueError(
            f"fit(validation=(Xv, yv)): yv holds {yv[yv < 0][0]:g}, and classes are 0, 1, …; for targets of "
            "±1 (a hinge loss), give (yv > 0) as the classes: class 1 where the model's one score is above 0"
        )
    if not isinstance(model, Module):
        raise ValueError(
            "fit(validation=(Xv, yv)): the accuracy needs the class scores, which the model gives, not "
            f"the loss: pass model=your MLP (it reads the first model.nin columns of Xv); got model={model!r}"
        )
    ours = {id(p) for p in graph.parameters}
    if not all(id(p) in ours for p in model.parameters()):
        raise ValueError(f"fit(model={model!r}): the model's parameters are not this graph's: pass the model "
                         "whose outputs the loss was built on")  # fmt: skip
    architecture = model.architecture()
    if "nin" not in architecture:
        raise ValueError(f"fit(model={model!r}): cannot tell how many inputs the model takes (no nin)")
    nin = int(architecture["nin"])
    if nin > n:
        raise ValueError(f"fit(model={model!r}): the model takes {nin} inputs, more than this graph's {n}")
    return Xv, yv.astype(np.int64), np.ascontiguousarray(Xv[:, :nin])


def fit_epochs(
    graph: Graph,
    x: object,
    optimizer: Optimizer,
    steps: object,
    lr: float | Sequence[float] | Callable[[int], float] | None,
    every: object,
    callback: Callable[[int, History], object] | None,
    epochs: object,
    batch_size: object,
    shuffle: object,
    seed: object,
    validation: object,
    model: object,
    verbose: object,
) -> History:
    """fit with epochs=: see the module doc and fit."""
    if epochs is None:
        raise TypeError(
            "fit(x, optimizer) needs how long to train: steps (full-batch steps, fit(x, optimizer, 100)) "
            "or epochs of mini-batches (fit(x, optimizer, epochs=60, batch_size=128))"
        )
    if steps is not None:
        raise TypeError(
            f"fit(x, optimizer, {steps!r}, epochs={epochs!r}): give steps (full-batch steps) or epochs "
            "(of mini-batches), not both"
        )
    if not (type(every) is int and every == 0):
        raise TypeError(
            f"fit(every={every!r}) goes with steps; with epochs the callback runs after each epoch"
        )
    if callback is not None and not callable(callback):
        raise TypeError(
            f"fit(callback={callback!r}): callback must be a function of (epoch, history), or None"
        )
    optimizer_checked(optimizer, "fit")
    epochs = whole_number(epochs, "fit(epochs)")
    if batch_size is not None:
        if isinstance(batch_size, Integral) and not isinstance(batch_size, bool) and batch_size < 1:
            raise ValueError(
                f"fit(batch_size={batch_size}): a batch needs one row at least; None takes all the rows"
            )
        batch_size = whole_number(batch_size, "fit(batch_size)", low=1)
    shuffle = flag(shuffle, "fit(shuffle)")
    if seed is not None:
        seed = whole_number(seed, "fit(seed)")
    if verbose is not None:
        verbose = flag(verbose, "fit(verbose)")
    rows, _ = graph.rows(x, "fit")
    Xv, yv, Xm = _validation(graph, validation, model)
    n = rows.shape[0]
    if n == 0:
        raise ValueError("fit(x): x has no rows; a training step's loss is the mean over the batch's rows")
    batch = n if batch_size is None else min(batch_size, n)
    per_epoch = -(-n // batch)  # the last batch takes the rows left
    sizes = np.full(per_epoch, batch, dtype=np.float64)
    sizes[-1] = n - (per_epoch - 1) * batch
    lrs = learning_rates(lr, optimizer, epochs * per_epoch)

    loss, step_loss, seconds = np.empty(epochs), np.empty(epochs * per_epoch), np.empty(epochs)
    val_loss = None if Xv is None else np.empty(epochs)
    val_accuracy = None if yv is None else np.empty(epochs)
    history = History(loss, val_loss, val_accuracy, step_loss, seconds)
    show = verbose if verbose is not None else shown_by_default()
    bar = progress_bar(epochs) if show and epochs else None
    rng = np.random.default_rng(seed)
    for e in range(epochs):
        order = (rng.permutation(n) if shuffle else np.arange(n)).astype(np.int64, copy=False)  # compiled for
        now, here = time.perf_counter(), slice(e * per_epoch, (e + 1) * per_epoch)
        step_loss[here] = fit_batches(graph, rows, optimizer, order, batch, lrs[here])
        seconds[e] = time.perf_counter() - now
        loss[e] = step_loss[here] @ sizes / n  # the mean over the epoch's rows
        if val_loss is not None:
            val_loss[e] = float(np.mean(graph.forward(Xv)))
        if val_accuracy is not None:
            val_accuracy[e] = metrics.accuracy(yv, metrics.predict(model, Xm))
        if bar is not None:
            bar(e, loss[e], None if val_accuracy is None else val_accuracy[e],
                None if val_loss is None else val_loss[e])  # fmt: skip
        if callback is not None:
            callback(e + 1, history.upto(e + 1))
    if lrs.size:
        optimizer.lr = float(lrs[-1])
    return history
