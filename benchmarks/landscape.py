"""The landscape's costs: a 41 × 41 plane of the moons loss, and the Hessian's top eigenvalue by
Lanczos against the whole spectrum.

1. `landscape.plane` on the moons loss of benchmarks/hessian.py (MLP(2, [16, 16, 1]), relu,
   hinge + 1e-4·Σθ², 100 rows, 337 parameters): 41 × 41 points, warm (the sweeps' graph is
   built at the first call, timed apart), against the same grid point by point (set the
   parameters, `forward`, mean) and its floor, 1 s; `landscape.line` (51 points) too. The
   grids are checked against the point-by-point losses (1e-12 relative) before timing.
2. `top_eigenvalues(k=1)` (Lanczos on `Compiled.hvp`) against `spectrum` (`Compiled.hessian`
   and `numpy.linalg.eigvalsh`) on the moons network (checked to 1e-6 relative, largest and
   most negative) and on a network of about 4,000 parameters (MLP(2, [62, 60, 1]), tanh, the
   same loss; floor: Lanczos at least 5 times faster). Each time is one warm call (the
   derived graphs are compiled at a first call, timed apart); the spectrum of 4,000
   parameters takes about 40 s here.

    python benchmarks/landscape.py           # about two minutes
    python benchmarks/landscape.py --quick   # a few seconds: the big network is MLP(2, [20, 20, 1])
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MICROGRADX_JIT", "foreground")  # time the numba kernels, compiled at first use
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value, landscape  # noqa: E402
from microgradx.compiled import Compiled  # noqa: E402
from microgradx.datasets import make_moons  # noqa: E402
from microgradx.nn import MLP  # noqa: E402

ALPHA = 1e-4
PLANE_FLOOR = 1.0  # seconds for 41 × 41 points of the moons loss, warm
SPEEDUP_FLOOR = 5.0  # spectrum's time over top_eigenvalues' on ~4,000 parameters


def moons(hidden: tuple[int, ...], activation: str = "relu") -> tuple[MLP, Compiled, np.ndarray]:
    """The moons loss of one row compiled (hinge + ALPHA·Σθ²), its model and its 100 rows."""
    X, labels = make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [*hidden, 1], activation=activation, seed=1337, init="micrograd")
    params = model.parameters()
    xs, y = [Value(0.0, label="x1"), Value(0.0, label="x2")], Value(0.0, label="y")
    loss = (1 - y * model(xs)).relu() + ALPHA * Value.sum([p * p for p in params])
    return model, microgradx.compile(loss, inputs=xs + [y]), np.column_stack([X, labels * 2.0 - 1.0])


def timed(run, repeats: int = 1) -> tuple[float, object]:
    """The median seconds of `repeats` calls, and the last call's result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def pointwise(step: Compiled, rows: np.ndarray, params: list[Value], thetas: np.ndarray) -> np.ndarray:
    """The loss at each parameter vector, one forward call each (the parameters restored after)."""
    before = [p.data for p in params]
    out = np.empty(len(thetas))
    for i, theta in enumerate(thetas):
        for p, t in zip(params, theta):
            p.data = float(t)
        out[i] = step.forward(rows).mean()
    for p, t in zip(params, before):
        p.data = t
    return out


def profiles(repeats: int) -> None:
    model, step, rows = moons((16, 16))
    params = model.parameters()
    theta = np.array([p.data for p in params])
    first, _ = timed(lambda: landscape.plane(step, rows, wrt=params))
    seconds, plane = timed(lambda: landscape.plane(step, rows, wrt=params), repeats)
    d1, d2 = plane.directions
    A, B = np.meshgrid(plane.alpha, plane.beta, indexing="ij")
    thetas = theta + A.reshape(-1, 1) * d1 + B.reshape(-1, 1) * d2
    loop, expected = timed(lambda: pointwise(step, rows, params, thetas))
    worst = np.abs(plane.loss.ravel() - expected).max() / np.abs(expected).max()
    assert worst < 1e-12, f"the plane differs from the point-by-point loss by {worst:.1e}"
    end = theta + d1
    line_seconds, line = timed(lambda: landscape.line(step, rows, theta, end, n=51, wrt=params), repeats)
    floor = "met" if seconds <= PLANE_FLOOR else "NOT MET"
    print(f"moons loss, {len(params)} parameters, {rows.shape[0]} rows:")
    print(f"  {'plane 41×41, first call (builds the sweeps graph)':<52}{first:8.3f} s")
    print(
        f"  {f'plane 41×41, warm (median of {repeats})':<52}{seconds:8.3f} s   floor {PLANE_FLOOR:g} s: "
        f"{floor}"
    )
    print(
        f"  {'the same 1,681 points by a loop of forward calls':<52}{loop:8.3f} s   "
        f"({loop / seconds:.1f}× slower)"
    )
    print(f"  {'line of 51 points, warm':<52}{line_seconds:8.3f} s")
    print(
        f"  plane = point by point to {worst:.1e} relative; line: {line.loss[0]:.4g} to {line.loss[-1]:.4g}"
    )


def curvature(hidden: tuple[int, ...], activation: str, check: bool) -> float:
    """top_eigenvalues(k=1) against spectrum; returns spectrum's time over Lanczos'."""
    model, step, rows = moons(hidden, activation)
    n = len(step.parameters)
    first_top, _ = timed(lambda: landscape.top_eigenvalues(step, rows))
    top_seconds, top = timed(lambda: landscape.top_eigenvalues(step, rows))
    first_spectrum, _ = timed(lambda: step.hessian(rows[:1]))  # compiles the gradient graph
    spectrum_seconds, every = timed(lambda: landscape.spectrum(step, rows))
    agree = abs(top[0] - every[-1]) / abs(every[-1])
    line = (
        f"  largest eigenvalue {top[0]:.10g} by Lanczos, {every[-1]:.10g} by eigvalsh: {agree:.1e} relative"
    )
    if check:
        low = landscape.top_eigenvalues(step, rows, smallest=True)
        low_agree = abs(low[0] - every[0]) / abs(every[0])
        assert max(agree, low_agree) < 1e-6, f"Lanczos differs from eigvalsh by {max(agree, low_agree):.1e}"
        line += f"; most negative {low[0]:.10g}, {every[0]:.10g}: {low_agree:.1e}"
    assert agree < 1e-6, f"Lanczos differs from eigvalsh by {agree:.1e}"
    print(f"MLP(2, {[*hidden, 1]}) {activation}, {n:,} parameters:")
    print(f"  top_eigenvalues(k=1), Lanczos on hvp   {top_seconds:8.3f} s   (first call {first_top:.3f} s)")
    print(f"  spectrum, hessian + eigvalsh           {spectrum_seconds:8.3f} s   (first call compiled "
          f"in {first_spectrum:.3f} s)")  # fmt: skip
    print(line)
    return spectrum_seconds / top_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small 'big' network, fewer repeats")
    args = parser.parse_args()
    profiles(3 if args.quick else 11)
    print()
    curvature((16, 16), "relu", check=True)
    print()
    big = (20, 20) if args.quick else (62, 60)
    ratio = curvature(big, "tanh", check=False)
    verdict = "met" if ratio >= SPEEDUP_FLOOR else "NOT MET"
    print(f"  Lanczos is {ratio:.1f}× faster than the whole spectrum (floor {SPEEDUP_FLOOR:g}× at ~4,000 "
          f"parameters: {verdict if not args.quick else 'not measured in --quick'})")  # fmt: skip


if __name__ == "__main__":
    main()
