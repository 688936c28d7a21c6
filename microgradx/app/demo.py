"""`microgradx demo`: micrograd's moons demo, trained through one compiled graph.

An MLP(2, [16, 16, 1]) learns 100 moons rows with a hinge loss plus 1e-4·Σp², by
SGD whose learning rate falls linearly from 1.0 to 0.1 over 100 steps, from
micrograd's initial weights (uniform in ±1, bias 0: `init="micrograd"`). The whole
batch runs through one compiled graph per step, so a step takes microseconds
where micrograd takes about a second. Options pick the data set, architecture,
loss, optimizer and number of steps; the decision boundary and the loss and
accuracy curves go to PNGs, and the graph of one neuron (alive on the row drawn)
to an SVG.

With --data digits (or iris, wine, breast_cancer: scikit-learn's), an MLP learns a
real data set on mini-batches and is tested on a held-out quarter (demo_real.py).

Why micrograd's init here, when a model's default is PyTorch's (uniform in ±1/√fan-in):
micrograd's demo tuned its lr and steps for its weights, and with 2 inputs they are
about as large as PyTorch's would be in the first layer (±0.71). From PyTorch's init,
the 16-wide layers start at ±0.25 and learn more slowly at this lr: 100 steps reached
100 % on 5 of 11 seeds (1337, 0–9; 96 % at 1337), where micrograd's reach it on 10
(99 % on the other); 200 steps, or lr 2.0, bring PyTorch's to 10 and 9 of 11.
`--init pytorch` trains from PyTorch's.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import losses
from ..backprop import sweep
from ..compiled import Compiled, compile
from ..core.engine import Value
from ..core.tape import flatten
from ..datasets import DATASETS, LOADERS, one_hot
from ..kernels import jit
from ..nn import ACTIVATIONS, INITS, MLP, Neuron
from ..optim import SGD, Adam, Optimizer
from ..serialize import writable_folder
from ..training.progress import progress_bar
from . import demo_real
from .expr import finite, together, whole

LOSSES = ("auto", "hinge", "bce", "mse", "softmax")
OPTIMIZERS = ("sgd", "adam")


def default_lr(optimizer: str, loss: str, dataset: str) -> float:
    """A starting learning rate that trains well: micrograd's 1.0 for SGD, less where that diverges."""
    if optimizer == "adam":
        return 0.05
    if loss == "mse":
        return 0.1  # the squared error's gradient grows with the error
    return 0.3 if dataset == "blobs" else 1.0  # blobs' inputs span ±5, not ±1


@dataclass
class Result:
    """What a training run produced: the model, its data and its history."""

    model: MLP
    X: np.ndarray
    y: np.ndarray
    loss: str
    score: Compiled  # the model's output(s) as a compiled graph of the inputs
    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    kernels: list[str] = field(default_factory=list)  # what ran each step: jit.describe()

    @property
    def seconds_per_step(self) -> float:
        """The median step on the kernels of the last step (the first also loads them)."""
        last = [s for s, k in zip(self.step_seconds, self.kernels) if k == self.kernels[-1]]
        return float(np.median(last)) if last else float("nan")

    @property
    def accuracy(self) -> float:
        return self.accuracies[-1] if self.accuracies else float("nan")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels (0..k−1) for the rows of X."""
        s = self.score.forward(np.asarray(X, dtype=np.float64).reshape(-1, 2))
        return np.argmax(s, axis=1) if s.ndim == 2 else (s > 0).astype(np.int64)


def _loss_for(loss: str, classes: int, dataset: str) -> str:
    """The loss to train with: "auto" is hinge for two classes, softmax cross-entropy for more;
    ValueError for a two-class loss on more classes."""
    if loss == "auto":
        return "hinge" if classes == 2 else "softmax"
    if loss != "softmax" and classes != 2:
        raise ValueError(f"the {loss} loss is for two classes; {dataset} has {classes}: use --loss softmax")
    return loss


def _loss_graph(loss: str, out: Value | list[Value], classes: int) -> tuple[Value, list[Value]]:
    """One row's data loss and the target inputs it reads (a label, or one-hot weights)."""
    if loss == "softmax":
        ys = [Value(0.0, label=f"y{k}") for k in range(classes)]
        return losses.softmax_cross_entropy(out, ys), ys
    y = Value(0.0, label="y")
    if loss == "hinge":
        return losses.hinge(out, y), [y]
    if loss == "bce":
        return losses.bce_with_logits(out, y), [y]
    return losses.mse(out, y), [y]


def _targets(loss: str, y: np.ndarray, classes: int) -> np.ndarray:
    """Labels in the form each loss wants: ±1 for hinge and mse, 0/1 for bce, one-hot for softmax."""
    if loss == "softmax":
        return one_hot(y, classes)
    return (y if loss == "bce" else y * 2 - 1).astype(np.float64).reshape(-1, 1)


def train(
    dataset: str = "moons",
    layers: Sequence[int] = (16, 16),
    activation: str = "relu",
    loss: str = "auto",
    optimizer: str = "sgd",
    steps: int = 100,
    lr: float | None = None,
    alpha: float = 1e-4,
    samples: int = 100,
    noise: float | None = None,
    seed: int = 1337,
    progress: Callable[[int, float, float], None] | None = None,
    init: str = "micrograd",
) -> Result:
    """Train an MLP on a toy data set; lr decays linearly to a tenth of its start.

    `loss="auto"` means hinge for two classes, softmax cross-entropy for more.
    `init` names how the weights are first drawn (`microgradx.nn.INITS`): micrograd's
    by default, as micrograd's demo (see the module doc).
    `progress(k, loss, accuracy)` is called after every step.
    While numba compiles the kernels (the first run on a machine: see kernels/jit.py), steps run
    on NumPy, a hundred to a few hundred times slower, and move to numba when it is done.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if noise is None:
        noise = 0.5 if dataset == "blobs" else 0.1
    X, y = DATASETS[dataset](n_samples=samples, noise=noise, seed=seed)
    classes = int(y.max()) + 1
    loss = _loss_for(loss, classes, dataset)
    outputs = classes if loss == "softmax" else 1

    # The README's training loop: one row's loss as a graph, compiled once, replayed on the batch.
    model = MLP(2, [*layers, outputs], activation=activation, seed=seed, init=init)
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    out = model(xs)
    data_loss, ys = _loss_graph(loss, out, classes)
    total = data_loss + alpha * sum(p * p for p in model.parameters())
    step = compile(total, inputs=xs + ys)
    score = compile(out, inputs=xs)
    start = default_lr(optimizer, loss, dataset) if lr is None else lr
    opt: Optimizer = (
        SGD(model.parameters(), lr=start) if optimizer == "sgd" else Adam(model.parameters(), lr=start)
    )
    rows = np.column_stack([X, _targets(loss, y, classes)])

    result = Result(model, X, y, loss, score)
    for k in range(steps):
        t0 = time.perf_counter()
        opt.lr = start * (1.0 - 0.9 * k / steps)
        batch_loss = step.train_step(rows, opt)  # forward, zero_grad, backward, opt.step: one call
        result.step_seconds.append(time.perf_counter() - t0)
        result.kernels.append(jit.describe())
        result.losses.append(batch_loss)
        result.accuracies.append(float(np.mean(result.predict(X) == y)))
        if progress is not None:
            progress(k, result.losses[-1], result.accuracies[-1])
    return result


# -- what the command shows and writes -------------------------------------------------


def plot_boundary(result: Result, path: Path) -> str:
    """Write the decision boundary and the data as a PNG; says what happened."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no decision boundary plot (pip install 'microgradx[plot]')"
    X, y = result.X, result.y
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    labels = result.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5, 5))
    k = int(max(labels.max(), y.max())) + 1
    colours = {"cmap": "Spectral", "vmin": -0.5, "vmax": k - 0.5}  # class c gets the same hue in both
    ax.contourf(gx, gy, labels, levels=np.arange(k + 1) - 0.5, alpha=0.5, **colours)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=25, edgecolors="k", linewidths=0.5, **colours)
    ax.set_title(f"{result.model!r}\naccuracy {result.accuracy:.0%}", fontsize=8)
    ax.set_aspect("equal")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return f"decision boundary: {path}"


def alive_neuron(result: Result) -> tuple[Neuron, int]:
    """The first neuron of the first layer that is alive on some row (the first such row), and that row.

    Alive: its activation passes a gradient (a relu's input is positive), so the picture
    shows the chain rule at work rather than a column of zeros. Falls back to the first
    neuron on the first row when every neuron is dead on every row.
    """
    neurons = result.model.layers[0].neurons
    for row in range(len(result.X)):
        x = [Value(float(v)) for v in result.X[row]]
        for neuron in neurons:
            tape = flatten(neuron(x))
            sweep(tape, engine="python")  # ∂out/∂b = f′(w·x + b): zero where the neuron is dead
            bias = next(s for s in tape.leaves.tolist() if tape.nodes[s] is neuron.b)
            if abs(tape.grad[bias]) > 1e-6:
                return neuron, row
    return neurons[0], 0


def draw_neuron(result: Result, path: Path) -> str:
    """Write the graph of one neuron of the first layer, on a row where it is alive, as an SVG.

    The picture's gradients are those of that neuron's output (`draw` computes them for
    the root it draws), not what training left in the parameters' `.grad`. Says what happened.
    """
    neuron, row = alive_neuron(result)
    x = [Value(float(v), label=f"x{i + 1}") for i, v in enumerate(result.X[row])]
    out = neuron(x)
    try:
        from ..viz import draw, render  # here: a demo without graphviz still trains, and says so

        render(draw(out), path)
    except Exception as e:  # drawing is an extra: report it and carry on
        return f"could not draw the neuron's graph ({type(e).__name__}: {e}); skipped {path}"
    return f"neuron {neuron.name} on row {row}, with the gradients of its output: {path}"


def plot_curves(result: Result, path: Path) -> str:
    """Write the loss and the accuracy after each step as a PNG; says what happened."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no training curves (pip install 'microgradx[plot]')"
    steps = np.arange(1, len(result.losses) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    left.plot(steps, result.losses, color="#c47a00")
    left.set_yscale("log" if min(result.losses) > 0 else "linear")
    left.set(xlabel="step", ylabel=f"{result.loss} loss (batch mean)", title="loss")
    right.plot(steps, np.asarray(result.accuracies) * 100, color="#1f6fbf")
    right.set(xlabel="step", ylabel="accuracy on the training rows (%)", title="accuracy", ylim=(0, 101))
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(f"{result.model!r}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"loss and accuracy curves: {path}"


def _layers(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layers wants sizes like 16,16; got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--layers sizes must be positive; got {text!r}")
    return sizes


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `demo` subcommand to the `microgradx` command line."""
    p = sub.add_parser(
        "demo",
        help="train a tiny network on toy data (micrograd's moons demo) or a real data set (--data digits)",
        description=__doc__,
    )
    toy, real = sorted(DATASETS), list(LOADERS)
    p.add_argument(
        "--data", "--dataset", dest="dataset", choices=toy + real, default="moons",
        help=f"a toy data set ({', '.join(toy)}; default moons) or a real one, from scikit-learn "
        f"({', '.join(real)}: pip install 'microgradx[data]')",
    )  # fmt: skip
    p.add_argument(
        "--layers", type=_layers, default=None, help="hidden layer sizes (default 16,16; real data 32)"
    )
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="relu", help="hidden activation")
    p.add_argument(
        "--loss", choices=LOSSES, default=None, help="auto (default): hinge (2 classes) or softmax"
    )
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default sgd (real data: adam)")
    p.add_argument("--steps", type=whole(1), metavar="N", help="full-batch training steps (toy data; 100)")
    p.add_argument(
        "--epochs", type=whole(1), metavar="N", help="passes over the training rows (real data; 60)"
    )
    p.add_argument("--batch-size", type=whole(1), metavar="N", help="rows per step (real data; 128)")
    p.add_argument(
        "--lr",
        type=finite(0),
        metavar="X",
        help="starting learning rate (default: sgd 1.0, adam 0.05; real data 0.01)",
    )
    p.add_argument("--samples", type=whole(2), metavar="N", help="rows of toy data (default 100)")
    p.add_argument("--noise", type=finite(0), metavar="X", help="data noise (default 0.1; blobs 0.5)")
    p.add_argument(
        "--init", choices=list(INITS), default=None,
        help="how the weights are first drawn: pytorch, uniform in ±1/√fan-in as PyTorch's nn.Linear "
        "(default for real data); micrograd, uniform in ±1 whatever the fan-in, bias 0 (default for "
        "toy data, as micrograd's demo)",
    )  # fmt: skip
    p.add_argument(
        "--seed",
        type=whole(0),
        default=1337,
        metavar="N",
        help="seeds the data or its split, and the weights",
    )
    p.add_argument(
        "-o", "--out", type=Path, help="folder for the pictures (default out/; missing folders are made)"
    )
    p.add_argument("--no-pictures", action="store_true", help="train and report only")
    p.set_defaults(run=run)
    return p


def _refuse(args: argparse.Namespace, options: list[str], what: str) -> None:
    """Raise a ValueError naming any of `options` that was given: they are for the other kind of data."""
    given = [o for o in options if getattr(args, o[2:].replace("-", "_")) is not None]
    if given:
        raise ValueError(f"{', '.join(given)}: for the {what}, not {args.dataset}")


def pictures_folder(args: argparse.Namespace, make: bool) -> Path:
    """-o's folder, checked before the training (make=False, leaving nothing behind) or made to
    write the pictures in; an OSError naming the folder that cannot be made or written in."""
    return writable_folder(args.out, f"-o {args.out}", make=make, fix="give -o a folder you can write to")


def run(args: argparse.Namespace) -> int:
    """Train as the options say, report, and write the pictures. Every option is checked before
    anything is done or said: its value (argparse), whether it goes with the others, -o's folder."""
    if args.no_pictures:
        together({"-o": args.out is not None}, "--no-pictures writes no pictures: leave out {}")
    args.out = Path("out") if args.out is None else args.out
    if args.dataset in LOADERS:
        _refuse(args, ["--loss", "--steps", "--samples", "--noise"], "toy data sets (full-batch steps)")
        if args.optimizer not in (None, "adam"):
            raise ValueError(f"the demo on {args.dataset} trains with adam, not {args.optimizer}")
        if not args.no_pictures:
            pictures_folder(args, make=False)
        return demo_real.run(args)
    _refuse(args, ["--epochs", "--batch-size"], "real data sets (mini-batches)")
    args.layers = [16, 16] if args.layers is None else args.layers
    args.optimizer = args.optimizer or "sgd"
    args.loss = args.loss or "auto"
    args.steps = 100 if args.steps is None else args.steps
    args.samples = 100 if args.samples is None else args.samples
    args.init = args.init or "micrograd"
    try:  # what train() refuses after drawing the rows: said here, before any output
        _, y = DATASETS[args.dataset](n_samples=args.samples)
    except ValueError as e:
        raise ValueError(f"--samples {args.samples}: too few rows for {args.dataset} ({e})") from None
    _loss_for(args.loss, int(y.max()) + 1, args.dataset)
    if not args.no_pictures:
        pictures_folder(args, make=False)
    hidden = ",".join(map(str, args.layers))
    print(f"training on {args.samples} {args.dataset} rows, hidden layers {hidden}", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a loss gone nan is said below, as the command can
        result = train(
            dataset=args.dataset,
            layers=args.layers,
            activation=args.activation,
            loss=args.loss,
            optimizer=args.optimizer,
            steps=args.steps,
            lr=args.lr,
            samples=args.samples,
            noise=args.noise,
            seed=args.seed,
            progress=progress_bar(args.steps),
            init=args.init,
        )
    print(f"{result.model!r}, {result.loss} loss, {args.optimizer}, {args.init} init")
    print(f"final loss {result.losses[-1]:.4f}, accuracy {result.accuracy:.1%}")
    rows = len(result.y)
    where = result.kernels[-1]
    per_step = f"{result.seconds_per_step * 1e6:.0f} µs per step on {where}"
    print(f"{per_step} (forward + backward + update, {rows} rows)")
    if where == "NumPy while numba compiles":
        print("(numba is compiling the fast kernels in the background, once per machine: a run after it "
              "has finished takes 10-15 µs a step; `microgradx warmup` waits for it)")  # fmt: skip
    gone = demo_real.diverged(
        result.losses, "step", args.lr, default_lr(args.optimizer, result.loss, args.dataset)
    )
    if gone:
        print(f"microgradx demo: {gone}", file=sys.stderr)
        return 1
    if not args.no_pictures:
        pictures_folder(args, make=True)
        print(plot_boundary(result, args.out / f"{args.dataset}_boundary.png"))
        print(plot_curves(result, args.out / f"{args.dataset}_curves.png"))
        print(draw_neuron(result, args.out / "neuron.svg"))
    return 0
