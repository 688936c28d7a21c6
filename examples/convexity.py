"""Convex or not: three convex models reach one solution from every start, a network does not.

The lecture's first pages: least squares, logistic regression and the SVM are convex, so
every local minimum is the global one and any start leads there; a neural network is not,
and its result depends on where it started. Here each of four models is trained from 20
random initialisations on the same data (two moons, 100 points with noise 0.2, labels ±1),
each training in its own process through joblib (as examples/sweep.py runs its grid):

- least squares: a linear score w·x + b, the loss (score − y)²;
- logistic regression: log(1 + e^(−y·score));
- a linear SVM: the hinge max(0, 1 − y·score) + 0.01·‖w‖² (the hinge is not smooth: its
  subgradient steps shrink as lr₀ / (1 + t/τ), and the spread left is that schedule's);
- an MLP(2, [8, 1]) tanh with the squared error of least squares: the same loss, now of a
  network.

Each by full-batch gradient descent (`Compiled.fit`, SGD) from weights drawn N(0, 2²) (the
MLP: micrograd's ±1). Printed, for each model: the mean final loss and its spread (the
standard deviation over the starts), the spread of the solutions (the RMS over parameters
of their standard deviation over the starts) and the accuracies. The convex models' spreads
are the noise of the optimiser, the MLP's those of different solutions: the script checks
that the first are at least 1,000 times smaller. One figure (out/convexity.png): each
start's final loss per model, the spreads, and the loss along the segment between two of
the MLP's solutions (`landscape.line`): the barrier (or valley) between them, where the
segment between two logistic regression solutions is flat at the minimum.

    python examples/convexity.py           # about a minute on 2 cores
    python examples/convexity.py --quick   # 10 starts, fewer steps: a few seconds
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np

import microgradx
from microgradx import Value, landscape
from microgradx.compiled import Compiled
from microgradx.datasets import make_moons
from microgradx.kernels import jit
from microgradx.nn import MLP, Module, Neuron
from microgradx.optim import SGD

MODELS = ("least squares", "logistic regression", "linear SVM", "MLP")
CONVEX = MODELS[:3]
C = 0.01  # the SVM's weight on ‖w‖²
FLOOR = 1000.0  # the MLP's spreads over the convex models' at least


class Schedule(NamedTuple):
    """Gradient descent's settings for one model: steps, first lr, and τ of lr₀ / (1 + t/τ) (0: constant)."""

    steps: int
    lr: float
    tau: float = 0.0


SCHEDULES = {  # full runs, then --quick
    "least squares": (Schedule(2000, 0.1), Schedule(500, 0.1)),
    "logistic regression": (Schedule(5000, 1.0), Schedule(1500, 1.0)),
    "linear SVM": (Schedule(20000, 0.5, 100.0), Schedule(5000, 0.5, 50.0)),
    "MLP": (Schedule(5000, 0.1), Schedule(1500, 0.1)),
}


class Result(NamedTuple):
    """One model trained from one start."""

    model: str
    seed: int
    theta: np.ndarray  # the final parameters, in model.parameters()' order
    loss: float  # the final mean loss
    accuracy: float  # the fraction of points whose label is the sign of the score
    worker: int  # the process that trained it


def data() -> np.ndarray:
    """The rows every model trains on: x1, x2, y (±1)."""
    X, labels = make_moons(100, noise=0.2, seed=0)
    return np.column_stack([X, labels * 2.0 - 1.0])


def build(model: str, seed: int) -> tuple[Module, Compiled, Compiled]:
    """The model at its start drawn from `seed`, its compiled loss of one row, and its compiled score."""
    xs, y = [Value(0.0, label="x1"), Value(0.0, label="x2")], Value(0.0, label="y")
    if model == "MLP":
        net: Module = MLP(2, [8, 1], activation="tanh", seed=seed, init="micrograd")
    else:
        net = Neuron(2, "linear")
        for p, t in zip(net.parameters(), np.random.default_rng(seed).normal(0.0, 2.0, 3)):
            p.data = float(t)
    score = net(xs)
    if model in ("least squares", "MLP"):
        loss = (score - y) ** 2
    elif model == "logistic regression":
        loss = ((-y * score).exp() + 1).log()
    else:
        loss = (1 - y * score).relu() + C * Value.sum([w * w for w in net.w])
    return net, microgradx.compile(loss, inputs=xs + [y]), microgradx.compile(score, inputs=xs)


def train_one(model: str, seed: int, quick: bool) -> Result:
    """`model` trained from the start `seed` by full-batch gradient descent (see SCHEDULES)."""
    rows = data()
    net, step, score = build(model, seed)
    steps, lr, tau = SCHEDULES[model][quick]
    lrs = lr / (1 + np.arange(steps) / tau) if tau else None
    step.fit(rows, SGD(net.parameters(), lr=lr), steps, lr=lrs)
    accuracy = float(np.mean(np.sign(score.forward(rows[:, :2])) == rows[:, 2]))
    theta = np.array([p.data for p in net.parameters()])
    return Result(model, seed, theta, float(step.forward(rows).mean()), accuracy, os.getpid())


def train_all(starts: int, quick: bool, n_jobs: int) -> dict[str, list[Result]]:
    """Every model from starts 0 … starts − 1, in joblib's worker processes; by model, by start."""
    jobs = [joblib.delayed(train_one)(m, s, quick) for m in MODELS for s in range(starts)]
    results = joblib.Parallel(n_jobs=n_jobs)(jobs)
    return {m: sorted((r for r in results if r.model == m), key=lambda r: r.seed) for m in MODELS}


def spreads(results: list[Result]) -> tuple[float, float]:
    """(the loss's standard deviation over the starts, the RMS over parameters of theirs)."""
    thetas = np.array([r.theta for r in results])
    return float(np.std([r.loss for r in results])), float(np.sqrt(thetas.var(axis=0).mean()))


def fill_kernel_cache() -> None:
    """The numba kernels compiled into the cache once, before the workers start (see examples/sweep.py)."""
    if jit.mode() != "off" and not jit.ready():
        subprocess.run([sys.executable, "-m", "microgradx", "warmup"], check=True)


def plot(out: Path, runs: dict[str, list[Result]], table: dict[str, tuple[float, float]], profiles) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2))
    for k, m in enumerate(MODELS):
        losses = [r.loss for r in runs[m]]
        jitter = np.random.default_rng(k).uniform(-0.15, 0.15, len(losses))
        left.scatter(k + jitter, losses, s=14, color=f"C{k}")
    left.set(xticks=range(len(MODELS)), ylabel="final loss", title="each start's final loss")
    left.set_xticklabels([m.replace(" ", "\n") for m in MODELS])
    x = np.arange(len(MODELS))
    middle.bar(x - 0.2, [table[m][0] for m in MODELS], 0.4, label="loss spread")
    middle.bar(x + 0.2, [table[m][1] for m in MODELS], 0.4, label="solution spread")
    middle.set(xticks=x, yscale="log", title="spread over the starts (std)")
    middle.set_xticklabels([m.replace(" ", "\n") for m in MODELS])
    middle.legend(fontsize=8)
    for name, (profile, color) in profiles.items():
        right.plot(profile.t, profile.loss, color=color, label=name)
    right.set(
        xlabel="t   (θ = θ_a + t·(θ_b − θ_a))", ylabel="loss", title="the segment between two solutions"
    )
    right.legend(fontsize=8)
    for ax in (left, middle, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 starts and fewer steps: a few seconds")
    parser.add_argument(
        "--starts", type=int, default=None, help="random initialisations (default 20; quick 10)"
    )
    parser.add_argument("--n-jobs", type=int, default=-1, help="processes at once (-1: one per core)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="the picture's folder (default out/)")
    args = parser.parse_args(argv)
    starts = args.starts or (10 if args.quick else 20)
    fill_kernel_cache()
    began = time.perf_counter()
    runs = train_all(starts, args.quick, args.n_jobs)
    workers = len({r.worker for rs in runs.values() for r in rs})
    seconds = time.perf_counter() - began
    print(f"{len(MODELS)} models × {starts} starts in {seconds:.1f} s on {workers} worker "
          f"process{'es' * (workers != 1)}")  # fmt: skip
    print(f"{'model':<20}{'mean loss':>11}{'loss spread':>13}{'solution spread':>17}   accuracy")
    table = {m: spreads(runs[m]) for m in MODELS}
    for m in MODELS:
        acc = [r.accuracy for r in runs[m]]
        loss = np.mean([r.loss for r in runs[m]])
        print(
            f"{m:<20}{loss:>11.5f}{table[m][0]:>13.2e}{table[m][1]:>17.2e}   {min(acc):.0%} – {max(acc):.0%}"
        )
    loss_ratio = table["MLP"][0] / max(table[m][0] for m in CONVEX)
    solution_ratio = table["MLP"][1] / max(table[m][1] for m in CONVEX)
    ratios = f"loss {loss_ratio:,.0f}×, solutions {solution_ratio:,.0f}×"
    print(f"the MLP's spreads over the largest convex ones: {ratios}")
    assert min(loss_ratio, solution_ratio) >= FLOOR, f"convex spreads not {FLOOR:g}× smaller than the MLP's"
    print(f"check passed: the convex models' spreads are at least {FLOOR:,.0f}× smaller than the MLP's")

    rows = data()
    profiles = {}
    for m, color in (("MLP", "C3"), ("logistic regression", "C1")):
        by_loss = sorted(runs[m], key=lambda r: r.loss)
        a, b = by_loss[0], by_loss[-1]  # the best and the worst solution
        net, step, _ = build(m, 0)
        profile = landscape.line(step, rows, a.theta, b.theta, n=51, wrt=net.parameters())
        profiles[f"{m}: starts {a.seed} and {b.seed}"] = (profile, color)
        rise = profile.loss.max() - max(profile.loss[0], profile.loss[-1])
        print(f"{m}, the segment from start {a.seed}'s solution (loss {a.loss:.4f}) to start {b.seed}'s "
              f"({b.loss:.4f}): highest {profile.loss.max():.4f}, "
              f"{rise:+.4f} above its higher end")  # fmt: skip
    try:
        plot(args.out / "convexity.png", runs, table, profiles)
    except ImportError:
        print("(no picture: matplotlib is not installed; pip install 'microgradx[plot]')")
        return
    print(f"wrote {args.out / 'convexity.png'}")


if __name__ == "__main__":
    main()
