"""Saddle points, seen: the lecture's x² − y², the critical points of a tiny network, and the
curvature along a training run.

1. f(x, y) = x² − y², the lecture's saddle: its surface and gradient field; at the origin
   the engine gives the gradient 0 (`microgradx.grad`) and the Hessian [[2, 0], [0, −2]]
   (`microgradx.hessian`), eigenvalues −2 and 2: up along x, down along y.
2. The critical points of a tiny network, MLP(2, [3, 1]) tanh (13 parameters) with the
   squared error + 1e-3·Σθ² on 12 points of two moons: from many random starts, Newton's
   method on ∇L(θ) = 0 (Levenberg–Marquardt steps θ ← θ − (H² + μI)⁻¹·H·∇L, a Newton method
   on ½‖∇L‖² that goes to the nearest critical point of any kind, minima and saddles alike:
   Dauphin et al. 2014's point about Newton). Each point found (‖∇L‖ < 1e-9) is placed by
   its loss and its index, the fraction of the Hessian's eigenvalues that are negative
   (`landscape.spectrum`, `landscape.index`): Dauphin et al.'s Figure 1, measured here. In
   their networks, and usually here, the higher the loss of a critical point, the more
   directions lead down from it: the minima are the low points; the saddles sit above.
3. The Hessian's extreme eigenvalues along gradient descent on the moons (MLP(2, [8, 8, 1])
   tanh, squared error, 100 rows), by Lanczos on Hessian-vector products
   (`landscape.top_eigenvalues`, largest and most negative) every few steps.

Pictures in out/: saddle.png, critical_points.png, curvature.png.

    python examples/saddles.py           # about half a minute
    python examples/saddles.py --quick   # a few seconds
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import microgradx
from microgradx import Value, landscape
from microgradx.datasets import make_moons
from microgradx.nn import MLP
from microgradx.optim import SGD

CRITICAL = 1e-9  # ‖∇L‖ below this: a critical point
DECAY = 1e-3  # L = mean squared error + DECAY·Σθ²: minima at finite weights, and no flat directions


def saddle() -> tuple[np.ndarray, np.ndarray]:
    """The gradient and the Hessian's eigenvalues of x² − y² at the origin, from the engine."""
    x, y = Value(0.0, label="x"), Value(0.0, label="y")
    f = x**2 - y**2
    gradient = np.array(microgradx.grad(f, [x, y]))
    eigenvalues = np.linalg.eigvalsh(microgradx.hessian(f, [x, y]))
    return gradient, eigenvalues


class Loss:
    """A compiled loss of one row, its rows and parameters, and L, ∇L and H at any θ."""

    def __init__(self, model: MLP, X: np.ndarray, y: np.ndarray) -> None:
        self.model, self.params = model, model.parameters()
        xs, target = [Value(0.0, label=f"x{k + 1}") for k in range(X.shape[1])], Value(0.0, label="y")
        penalty = DECAY * Value.sum([p * p for p in self.params])
        self.step = microgradx.compile((model(xs) - target) ** 2 + penalty, inputs=[*xs, target])
        self.rows = np.column_stack([X, y])

    def set(self, theta: np.ndarray) -> None:
        for p, t in zip(self.params, theta):
            p.data = float(t)

    def at(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """L (the mean over the rows), ∇L and the Hessian at θ; the model's parameters are left at θ."""
        self.set(theta)
        self.model.zero_grad()
        loss = float(self.step.forward(self.rows).mean())
        self.step.backward()
        gradient = np.array([p.grad for p in self.params])
        return loss, gradient, self.step.hessian(self.rows, wrt=self.params)


def critical_point(f: Loss, theta: np.ndarray, budget: int = 500) -> np.ndarray | None:
    """From θ, Levenberg–Marquardt on ∇L = 0 (see the top) to a point where ‖∇L‖ < CRITICAL, or None."""
    mu = 1e-3
    _, g, H = f.at(theta)
    for _ in range(budget):
        if np.linalg.norm(g) < CRITICAL:
            return theta
        step = np.linalg.solve(H @ H + mu * np.eye(theta.size), H @ g)
        _, g_new, H_new = f.at(theta - step)
        if np.isfinite(g_new).all() and np.linalg.norm(g_new) < np.linalg.norm(g):
            theta, g, H, mu = theta - step, g_new, H_new, max(mu / 3, 1e-12)
        else:
            mu *= 4
            if mu > 1e8:
                return None
    return None


def critical_points(starts: int, seed: int = 0) -> tuple[Loss, list[tuple[float, float, float]]]:
    """(loss, index, ‖∇L‖) of each distinct critical point found from `starts` random starts: from
    every other start straight away (Newton finds the saddles near it), from the others after a
    random number of gradient descent steps (which lead towards minima first)."""
    X, labels = make_moons(12, noise=0.1, seed=3)
    f = Loss(MLP(2, [3, 1], activation="tanh", seed=seed), X, labels * 2.0 - 1.0)
    rng = np.random.default_rng(seed)
    found: list[tuple[float, float, float]] = []
    for s in range(starts):
        theta = rng.normal(0.0, 1.5, len(f.params))
        if s % 2:
            f.set(theta)
            f.step.fit(f.rows, SGD(f.params, lr=0.3), int(rng.integers(1, 3000)))
            theta = np.array([p.data for p in f.params])
        theta = critical_point(f, theta)
        if theta is None:
            continue
        loss, g, _ = f.at(theta)
        eigenvalues = landscape.spectrum(f.step, f.rows, wrt=f.params)
        point = (loss, landscape.index(eigenvalues), float(np.linalg.norm(g)))
        if not any(abs(point[0] - q[0]) < 1e-9 * q[0] and point[1] == q[1] for q in found):  # up to symmetry
            found.append(point)
    return f, found


def curvature_during_training(steps: int, every: int, lr: float) -> dict[str, np.ndarray]:
    """Gradient descent on the moons; every `every` steps the loss and the Hessian's largest and most
    negative eigenvalues (Lanczos)."""
    X, labels = make_moons(100, noise=0.1, seed=1337)
    f = Loss(MLP(2, [8, 8, 1], activation="tanh", seed=0), X, labels * 2.0 - 1.0)
    opt = SGD(f.params, lr=lr)
    record: dict[str, list[float]] = {"step": [], "loss": [], "largest": [], "smallest": []}

    def measure(step: int, losses: np.ndarray | None) -> None:
        record["step"].append(step)
        record["loss"].append(float(f.step.forward(f.rows).mean()))
        record["largest"].append(landscape.top_eigenvalues(f.step, f.rows)[0])
        record["smallest"].append(landscape.top_eigenvalues(f.step, f.rows, smallest=True)[0])

    measure(0, None)
    f.step.fit(f.rows, opt, steps, every=every, callback=measure)
    return {k: np.array(v) for k, v in record.items()}


def plot_saddle(out: Path, eigenvalues: np.ndarray) -> None:
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 4.2))
    s = np.linspace(-1.5, 1.5, 61)
    X, Y = np.meshgrid(s, s)
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    ax.plot_surface(X, Y, X**2 - Y**2, cmap="coolwarm", linewidth=0, alpha=0.9)
    ax.scatter([0], [0], [0], color="k", s=30)
    ax.set(xlabel="x", ylabel="y", zlabel="f", title="f(x, y) = x² − y²")
    right = fig.add_subplot(1, 2, 2)
    right.contour(X, Y, X**2 - Y**2, levels=15, cmap="coolwarm")
    q = np.linspace(-1.5, 1.5, 13)
    QX, QY = np.meshgrid(q, q)
    right.quiver(QX, QY, -2 * QX, 2 * QY, color="0.3", angles="xy")  # −∇f = (−2x, 2y): the way down
    right.plot([0], [0], "ko")
    lo, hi = eigenvalues
    right.set(xlabel="x", ylabel="y", aspect="equal",
              title=f"−∇f; at 0: ∇f = 0, eigenvalues {lo:g} (along y), {hi:g} (along x)")  # fmt: skip
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_critical_points(out: Path, found: list[tuple[float, float, float]], n: int) -> None:
    import matplotlib.pyplot as plt

    loss, index = np.array([p[0] for p in found]), np.array([p[1] for p in found])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(index, loss, c=np.where(index == 0, "C2", "C3"), s=22)
    ax.set(xlabel=f"index (fraction of the {n} Hessian eigenvalues < 0)", ylabel="loss",
           title="critical points of MLP(2, [3, 1]) tanh\ngreen: minima, red: saddle points")  # fmt: skip
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_curvature(out: Path, run: dict[str, np.ndarray], lr: float) -> None:
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 5.5), sharex=True)
    top.plot(run["step"], run["loss"], color="C0")
    top.set(ylabel="loss", yscale="log")
    bottom.plot(run["step"], run["largest"], label="largest eigenvalue", color="C1")
    bottom.plot(run["step"], run["smallest"], label="most negative eigenvalue", color="C3")
    bottom.axhline(2 / lr, color="0.5", ls="--", lw=1, label=f"2/lr = {2 / lr:g}: gradient descent's limit")
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set(xlabel="gradient descent step", ylabel="Hessian eigenvalue")
    bottom.legend(fontsize=8)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer starts and steps: a few seconds")
    parser.add_argument("--out", type=Path, default=Path("out"), help="the pictures' folder (default out/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    gradient, eigenvalues = saddle()
    print(f"x² − y² at the origin: gradient ({gradient[0]:g}, {gradient[1]:g}), Hessian eigenvalues "
          f"({eigenvalues[0]:g}, {eigenvalues[1]:g}): a saddle point")  # fmt: skip

    starts = 40 if args.quick else 400
    f, found = critical_points(starts)
    n = len(f.params)
    minima = [p for p in found if p[1] == 0]
    print(f"{len(found)} distinct critical points of MLP(2, [3, 1]) tanh ({n} parameters) from {starts} "
          "starts: "
          f"{len(minima)} minima, {len(found) - len(minima)} saddle points (largest ‖∇L‖ "
          f"{max(p[2] for p in found):.1e})")  # fmt: skip
    print(f"{'loss':>10}  index")
    for loss, index, _ in sorted(found):
        print(f"{loss:>10.5f}  {index:.3f} ({round(index * n)} of {n} negative)")
    if len(found) > 2:
        r = np.corrcoef([p[0] for p in found], [p[1] for p in found])[0, 1]
        print(f"correlation of loss and index over the critical points: {r:+.2f}")

    steps, every, lr = (60, 5, 0.2) if args.quick else (600, 10, 0.2)
    run = curvature_during_training(steps, every, lr)
    print(f"gradient descent on the moons, lr {lr}: loss {run['loss'][0]:.4f} -> {run['loss'][-1]:.4f}; "
          f"largest eigenvalue {run['largest'][0]:.3f} -> {run['largest'][-1]:.3f}, most negative "
          f"{run['smallest'][0]:.3f} -> {run['smallest'][-1]:.3f}")  # fmt: skip

    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print("(no pictures: matplotlib is not installed; pip install 'microgradx[plot]')")
        return
    plot_saddle(args.out / "saddle.png", eigenvalues)
    plot_critical_points(args.out / "critical_points.png", found, n)
    plot_curvature(args.out / "curvature.png", run, lr)
    print(
        f"wrote {args.out / 'saddle.png'}, {args.out / 'critical_points.png'}, {args.out / 'curvature.png'}"
    )


if __name__ == "__main__":
    main()
