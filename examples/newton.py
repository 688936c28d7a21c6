"""Newton's method with the engine's Hessian, beside gradient descent, on Rosenbrock's valley.

f(x, y) = (1 − x)² + 100·(y − x²)², from the classic start (−1.2, 1); the minimum is
f(1, 1) = 0 at the end of a long, curved, narrow valley. Both methods take ∇f from
`microgradx.grad` (one reverse sweep); Newton also takes the 2×2 Hessian from
`microgradx.hessian` (forward over reverse) and steps by p ← p − H⁻¹·∇f, pure Newton
with no line search. Gradient descent steps by p ← p − lr·∇f with lr = 1e-3, stable
because it is below 2/λ_max, λ_max the largest eigenvalue of the Hessian on its path
(about 1,506, so 2/λ_max ≈ 1.3e-3; the script prints it). Both stop when ‖∇f‖ < 1e-10
or at their step budget. By hand, the Hessian is

    ∂²f/∂x² = 2 − 400·y + 1200·x²,   ∂²f/∂x∂y = −400·x,   ∂²f/∂y² = 200

and the script checks the engine's against it at every point Newton visits.

    python examples/newton.py                   # writes out/newton.png (needs matplotlib: the plot extra)
    python examples/newton.py --out paths.png   # elsewhere
    python examples/newton.py --quick           # gradient descent stops at 2,000 steps
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import microgradx
from microgradx import Value

START = (-1.2, 1.0)
MINIMUM = (1.0, 1.0)
TOLERANCE = 1e-10  # stop when ‖∇f‖ is below this
LR = 1e-3  # gradient descent's step size


def rosenbrock(x, y):
    """(1 − x)² + 100·(y − x²)², for Values, floats or NumPy arrays alike."""
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def derivatives(p: np.ndarray, hessian: bool = True) -> tuple[float, np.ndarray, np.ndarray | None]:
    """f, ∇f (2,) and the Hessian (2, 2) at p, from the engine: the graph of f (7 ops) is
    built at p, its gradient taken by one reverse sweep, its Hessian forward over reverse."""
    x, y = Value(float(p[0]), label="x"), Value(float(p[1]), label="y")
    f = rosenbrock(x, y)
    g = np.array(microgradx.grad(f, [x, y]))
    return f.data, g, microgradx.hessian(f, [x, y]) if hessian else None


def hand_hessian(p: np.ndarray) -> np.ndarray:
    """Rosenbrock's Hessian derived by hand (see the module docstring)."""
    x, y = p
    return np.array([[2 - 400 * y + 1200 * x**2, -400 * x], [-400 * x, 200.0]])


def newton(start: tuple[float, float], budget: int = 100) -> tuple[np.ndarray, float, float]:
    """Pure Newton steps until ‖∇f‖ < TOLERANCE or `budget` steps.
    Returns (the points visited (k + 1, 2), ‖∇f‖ at the last, the largest relative difference
    between the engine's Hessian and the hand-derived one at the points visited)."""
    path, worst = [np.array(start)], 0.0
    for _ in range(budget + 1):
        _, g, H = derivatives(path[-1])
        exact = hand_hessian(path[-1])
        worst = max(worst, float(np.abs(H - exact).max() / np.abs(exact).max()))
        if np.linalg.norm(g) < TOLERANCE or len(path) > budget:
            break
        path.append(path[-1] - np.linalg.solve(H, g))
    return np.array(path), float(np.linalg.norm(g)), worst


def gradient_descent(start: tuple[float, float], lr: float, budget: int) -> tuple[np.ndarray, float]:
    """Steps p ← p − lr·∇f until ‖∇f‖ < TOLERANCE or `budget` steps: (points visited, last ‖∇f‖)."""
    path = [np.array(start)]
    for _ in range(budget + 1):
        _, g, _ = derivatives(path[-1], hessian=False)
        if np.linalg.norm(g) < TOLERANCE or len(path) > budget:
            break
        path.append(path[-1] - lr * g)
    return np.array(path), float(np.linalg.norm(g))


def largest_curvature(path: np.ndarray, samples: int = 50) -> float:
    """The largest eigenvalue of the engine's Hessian at `samples` points along the path."""
    picks = path[np.linspace(0, len(path) - 1, min(samples, len(path))).astype(int)]
    return max(float(np.linalg.eigvalsh(derivatives(p)[2]).max()) for p in picks)


def plot(newton_path: np.ndarray, gd_path: np.ndarray, out: Path) -> str:
    """Both paths over the contours of log₁₀ f; returns what was written, or why nothing was."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot written (pip install 'microgradx[plot]')"
    xs, ys = np.meshgrid(np.linspace(-2, 2, 400), np.linspace(-3.5, 2.5, 400))
    fig, ax = plt.subplots(figsize=(7, 6))
    levels = ax.contourf(xs, ys, np.log10(rosenbrock(xs, ys) + 1e-3), levels=30, cmap="viridis")
    fig.colorbar(levels, ax=ax, label="log₁₀ f(x, y)")
    ax.plot(
        *gd_path.T, color="orange", lw=2, label=f"gradient descent, lr {LR:g}: {len(gd_path) - 1:,} steps"
    )
    ax.plot(*newton_path.T, "o-", color="red", lw=1.5, ms=5, label=f"Newton: {len(newton_path) - 1} steps")
    for k, (x, y) in enumerate(newton_path[:5]):  # Newton's points by step (the later ones sit on (1, 1))
        ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(7, -12), color="white", weight="bold")
    ax.plot(*START, "s", color="white", ms=8, mec="black", label=f"start {START}")
    ax.plot(*MINIMUM, "*", color="white", ms=14, mec="black", label="minimum (1, 1)")
    ax.set(xlabel="x", ylabel="y", xlim=(-2, 2), ylim=(-3.5, 2.5))
    ax.set_title("Rosenbrock f = (1 − x)² + 100·(y − x²)²: Newton with the engine's Hessian")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f"wrote {out}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("out/newton.png"), help="the plot (PNG); default out/newton.png"
    )
    parser.add_argument("--quick", action="store_true", help="gradient descent stops at 2,000 steps")
    parser.add_argument("--steps", type=int, default=None, help="gradient descent's budget (default 100,000)")
    args = parser.parse_args()
    budget = args.steps or (2000 if args.quick else 100_000)

    newton_path, newton_g, worst = newton(START)
    gd_path, gd_g = gradient_descent(START, LR, budget)
    for name, path, g in (("Newton", newton_path, newton_g), ("gradient descent", gd_path, gd_g)):
        how = "converged" if g < TOLERANCE else "stopped at its budget"
        x, y = path[-1]
        print(
            f"{name:<17} {how} after {len(path) - 1:>6,} steps at ({x:.12f}, {y:.12f}), "
            f"f = {rosenbrock(x, y):.3e}, ‖∇f‖ = {g:.1e}"
        )
    lam = largest_curvature(gd_path)
    print(f"gradient descent's lr {LR:g} is below 2/λ_max = {2 / lam:.2e} (λ_max {lam:,.0f} on its path)")
    if worst > 1e-12:
        sys.exit(f"FAILED: the engine's Hessian differs from the hand-derived one by {worst:.1e} (relative)")
    print(
        f"check passed: the engine's Hessian equals the hand-derived one at every Newton point "
        f"(largest difference {worst:.1e}, relative)"
    )
    print(plot(newton_path, gd_path, args.out))


if __name__ == "__main__":
    main()
