"""The moons loss's Hessian (337 × 337) and one Hessian-vector product: microgradx vs torch.func.

The loss is micrograd's moons demo's, as in benchmarks/train_moons.py: MLP(2, [16, 16, 1])
(relu hidden layers, linear output, 337 parameters), mean hinge max(0, 1 − y·score) over
100 rows + 1e-4·Σθ², at the demo's initial weights. The contestants:

- microgradx: the loss of one row compiled once (`microgradx.compile`, the rows as
  inputs, the weights as parameters), then `Compiled.hessian(rows)` (the gradient graph
  compiled once, one forward of the rows and a reverse sweep per gradient entry, each a
  row of H: its docstring says how and why) and `Compiled.hvp(rows, v)` (one tangent
  sweep over the gradient graph, forward over reverse, the 100 rows as lanes). Their
  first call builds and compiles those graphs: timed apart, as "first call".
- PyTorch, float64, one thread: `torch.func.hessian` (forward over reverse, vmapped),
  and for the product `torch.func.jvp(torch.func.grad(f), (θ,), (v,))` (forward over
  reverse) and `torch.autograd.functional.hvp` (reverse over reverse, as its docs say).

Every result is checked before any timing: each against microgradx's `Compiled.hessian`
to 1e-9 relative (to the largest entry), and that one against the Hessian
`microgradx.hessian` takes from the whole batch's graph of Values and against central
differences of the compiled gradient (to 1e-6; no relu kink within the step). Timings are
interleaved: each round times every contestant once; reported are medians and ratios to
microgradx, from one run. PyTorch is measured where installed (a line says when it is not).

    python benchmarks/hessian.py           # about half a minute
    python benchmarks/hessian.py --quick   # a few rounds
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("MICROGRADX_JIT", "foreground")  # time the numba kernels, compiled at first use
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value  # noqa: E402
from microgradx.datasets import make_moons  # noqa: E402
from microgradx.nn import MLP  # noqa: E402

ROWS, ALPHA = 100, 1e-4
SIZES = (2, 16, 16, 1)
AGREE = 1e-9  # relative to the largest entry: every contestant against microgradx's Compiled.hessian
HESSIAN, HVP = "Hessian 337×337", "Hessian-vector product"
OURS = {HESSIAN: "microgradx Compiled.hessian", HVP: "microgradx Compiled.hvp"}


class Unavailable(Exception):
    """A contestant that cannot run here (a package missing)."""


class Problem:
    """The moons data, the model at the demo's initial weights, and a direction v."""

    def __init__(self, rows: int = ROWS) -> None:
        X, labels = make_moons(rows, noise=0.1, seed=1337)
        self.X, self.Y = X, labels * 2.0 - 1.0
        self.model = MLP(2, list(SIZES[1:]), seed=1337, init="micrograd")
        self.params = self.model.parameters()
        self.theta = np.array([p.data for p in self.params])
        self.v = np.random.default_rng(0).standard_normal(self.theta.size)
        xs, y = [Value(0.0, label="x1"), Value(0.0, label="x2")], Value(0.0, label="y")
        loss = (1 - y * self.model(xs)).relu() + ALPHA * Value.sum([p * p for p in self.params])
        self.step = microgradx.compile(loss, inputs=xs + [y])  # the README's moons graph
        self.rows = np.column_stack([X, self.Y])

    def batch_loss(self) -> Value:
        """The same loss on the whole batch as one graph of Values (for microgradx.hessian)."""
        scores = [self.model([float(a), float(b)]) for a, b in self.X]
        hinges = [(1 - float(y) * s).relu() for y, s in zip(self.Y, scores)]
        return Value.sum(hinges) * (1.0 / len(hinges)) + ALPHA * Value.sum([p * p for p in self.params])

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """∇L at θ from the compiled graph (the model's weights are restored after)."""
        for p, t in zip(self.params, theta):
            p.data = float(t)
        self.model.zero_grad()
        self.step.forward(self.rows)
        self.step.backward()
        g = np.array([p.grad for p in self.params])
        for p, t in zip(self.params, self.theta):
            p.data = float(t)
        return g


Run = Callable[[], np.ndarray]


def microgradx_runs(pb: Problem) -> dict[str, dict[str, Run]]:
    """Compiled.hessian and Compiled.hvp, in the model's order (wrt=model.parameters())."""
    return {
        HESSIAN: {OURS[HESSIAN]: lambda: pb.step.hessian(pb.rows, wrt=pb.params)},
        HVP: {OURS[HVP]: lambda: pb.step.hvp(pb.rows, pb.v, wrt=pb.params)},
    }


def torch_runs(pb: Problem) -> dict[str, dict[str, Run]]:
    """torch.func's Hessian and products, float64, one thread, on the same loss and weights."""
    try:
        import torch
    except ImportError as e:
        raise Unavailable(f"{e.name or 'torch'} not installed") from None
    torch.set_num_threads(1)
    x, y = torch.tensor(pb.X), torch.tensor(pb.Y)
    theta, v = torch.tensor(pb.theta), torch.tensor(pb.v)

    def loss(flat: torch.Tensor) -> torch.Tensor:
        """The loss of θ in microgradx's order: neuron by neuron, its weights then its bias."""
        h, start = x, 0
        for i, (nin, nout) in enumerate(zip(SIZES[:-1], SIZES[1:])):
            block = flat[start : start + nout * (nin + 1)].reshape(nout, nin + 1)
            start += nout * (nin + 1)
            h = h @ block[:, :nin].T + block[:, nin]
            if i < len(SIZES) - 2:
                h = torch.relu(h)
        return torch.relu(1 - y * h[:, 0]).mean() + ALPHA * (flat * flat).sum()

    hessian, grad = torch.func.hessian(loss), torch.func.grad(loss)
    return {
        HESSIAN: {"torch.func.hessian": lambda: hessian(theta).numpy()},
        HVP: {
            "torch.func.jvp(torch.func.grad(f))": lambda: torch.func.jvp(grad, (theta,), (v,))[1].numpy(),
            "torch.autograd.functional.hvp": lambda: torch.autograd.functional.hvp(loss, theta, v)[1].numpy(),
        },
    }


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def check(
    pb: Problem, runs: dict[str, dict[str, Run]]
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Run every contestant once (its first call: it builds and compiles what it needs) and check
    it against Compiled.hessian; that against microgradx.hessian and central differences.
    Returns the first calls' seconds, and the largest relative differences found."""
    first: dict[str, dict[str, float]] = {task: {} for task in runs}
    results: dict[str, dict[str, np.ndarray]] = {task: {} for task in runs}
    for task, contestants in runs.items():
        for name, run in contestants.items():
            t0 = time.perf_counter()
            results[task][name] = run()
            first[task][name] = time.perf_counter() - t0
    H = results[HESSIAN][OURS[HESSIAN]]
    expected, worst = {HESSIAN: H, HVP: H @ pb.v}, 0.0
    for task, found in results.items():
        for name, value in found.items():
            diff = relative(value, expected[task])
            assert diff < AGREE, f"{name} differs from microgradx's Hessian by {diff:.1e} (relative)"
            worst = max(worst, diff)
    by_values = relative(H, microgradx.hessian(pb.batch_loss(), pb.params))
    h = 1e-6
    columns = [
        (pb.gradient(pb.theta + h * e) - pb.gradient(pb.theta - h * e)) / (2 * h) for e in np.eye(H.shape[0])
    ]
    by_differences = relative(H, np.array(columns).T)
    assert by_values < AGREE, f"Compiled.hessian differs from microgradx.hessian by {by_values:.1e}"
    assert by_differences < 1e-6, f"Compiled.hessian differs from central differences by {by_differences:.1e}"
    return first, {"worst": worst, "by_values": by_values, "by_differences": by_differences}


def measure(
    runs: dict[str, dict[str, Run]], rounds: int, sample_seconds: float
) -> dict[str, dict[str, float]]:
    """Round-robin over every contestant of every task, each sample about sample_seconds long:
    the median seconds a call."""
    flat = {(task, name): run for task, contestants in runs.items() for name, run in contestants.items()}
    inner = {}
    for key, run in flat.items():
        t0 = time.perf_counter()
        run()
        inner[key] = max(1, int(sample_seconds / (time.perf_counter() - t0)))
    times: dict[tuple[str, str], list[float]] = {key: [] for key in flat}
    for _ in range(rounds):
        for key, run in flat.items():
            t0 = time.perf_counter()
            for _ in range(inner[key]):
                run()
            times[key].append((time.perf_counter() - t0) / inner[key])
    medians: dict[str, dict[str, float]] = {task: {} for task in runs}
    for (task, name), samples in times.items():
        medians[task][name] = float(np.median(samples))
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 short rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds (default 11; quick 3)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 11)
    sample = 0.02 if args.quick else 0.2
    pb = Problem()
    print(
        f"moons loss: MLP(2, [16, 16, 1]) relu, {pb.theta.size} parameters, mean hinge over {ROWS} rows "
        f"+ {ALPHA:g}·Σθ², float64; numba {numba.__version__}, numpy {np.__version__}"
    )
    runs = microgradx_runs(pb)
    try:
        for task, contestants in torch_runs(pb).items():
            runs[task].update(contestants)
        import torch

        print(f"  torch {torch.__version__}, {torch.get_num_threads()} thread")
    except Unavailable as e:
        print(f"  PyTorch: skipped ({e})")
    first, diff = check(pb, runs)
    print(
        f"  check passed: every result agrees with microgradx's Compiled.hessian (largest difference "
        f"{diff['worst']:.1e} relative), which agrees with microgradx.hessian on the batch's graph "
        f"({diff['by_values']:.1e}) and with central differences of the gradient "
        f"({diff['by_differences']:.1e})"
    )
    medians = measure(runs, rounds, sample)
    print(f"\n{'':<42}{'median':>12}{'× microgradx':>14}{'first call':>12}")
    for task, found in medians.items():
        print(task)
        for name, seconds in sorted(found.items(), key=lambda kv: kv[1]):
            ratio = seconds / found[OURS[task]]
            print(f"  {name:<40}{seconds * 1e3:>9.3f} ms{ratio:>13.2f}×{first[task][name]:>10.2f} s")
    print(
        f"\n{rounds} rounds, medians; 'first call' builds and compiles a graph (numba's kernels in the cache)"
    )


if __name__ == "__main__":
    main()
