"""The landscape backprop descends: loss profiles, curvature, saddle points.

A compiled loss graph `step` (one output, the loss of one row) and its rows `X` make a
function of the parameters, L(θ) = the mean over X's rows of step's output (as
`Compiled.hessian`'s default reduction). This module looks at L around a point:

- `line(step, X, start, end)`: L along the segment from `start` to `end`, as Goodfellow,
  Vinyals & Saxe (Qualitatively characterizing neural network optimization problems,
  ICLR 2015) draw it from the initialisation to the trained weights.
- `plane(step, X)`: L on a plane through `center` spanned by two directions, by default
  random and filter-normalised (Li, Xu, Taylor, Studer & Goldstein, Visualizing the Loss
  Landscape of Neural Nets, NeurIPS 2018): each neuron's part of a direction scaled to the
  norm of that neuron's parameters, so that a plane shows the same relative change for a
  neuron of small weights as for one of large weights.
- `spectrum(step, X)`: all the Hessian's eigenvalues; `top_eigenvalues(step, X, k)`: the
  extreme ones by Lanczos on Hessian-vector products (PyHessian's way: Yao, Gholami,
  Keutzer & Mahoney, PyHessian: Neural Networks Through the Lens of the Hessian, 2020), for
  networks too large for a whole Hessian; `index(eigenvalues)`: the fraction negative, the
  place of a critical point in Dauphin et al.'s picture (Identifying and attacking the
  saddle point problem in high-dimensional non-convex optimization, NeurIPS 2014).

Parameter vectors are in the order of `step.parameters`, or of `wrt` (a list of the
graph's parameters, like `model.parameters()`) as in `Compiled.hessian`; parameters not
in `wrt` stay at their current values. No function here writes a parameter: the grids
run on a graph of their own (see `Sweeps`), the curvature on `Compiled.hessian` and
`Compiled.hvp`, which work on copies.

The grids are evaluated by compiled sweeps, not point by point: the loss graph is rebuilt
once with every parameter θ_k replaced by c_k + α·d1_k + β·d2_k (c, d1, d2 parameters of
the new graph; α and β two more input columns), so one forward call takes many grid
points at once, each point's rows as lanes. 41 × 41 points of the moons loss (100 rows,
337 parameters) took 0.04-0.12 s warm on a shared 2-core machine (benchmarks/landscape.py).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from os import PathLike
from pathlib import Path

import numpy as np

from .compiled import Compiled
from .compiled import compile as compile_graph
from .compiler import checks
from .compiler.checks import flag, random_seed, whole_number
from .compiler.second_order import topological_leaves
from .core.engine import Value
from .core.graph_sweeps import substituted
from .core.real import first_nonfinite, real, real_array, shown
from .serialize import writable_folder

__all__ = ["Line", "Plane", "line", "plane", "spectrum", "top_eigenvalues", "index", "neurons"]

LANES = 2048  # rows × grid points per forward call, at most (see Sweeps)
MEMORY = 32 * 2**20  # bytes of the lanes' arrays a call, at most: a large network takes fewer lanes
NEURON = re.compile(r"^(?:(.*)\.)?(?:w\d+|b)$")  # nn's labels: L2.n3.w1, L2.n3.b (neuron L2.n3)


# -- checking what the public functions take ------------------------------------------------


def _loss_graph(step: object, caller: str) -> Compiled:
    """step, if it is a compiled graph of one output (the loss of a row) with parameters."""
    if not isinstance(step, Compiled):
        raise TypeError(
            f"{caller}(step): step must be a compiled loss graph, microgradx.compile(loss, inputs=[...]); "
            f"got {shown(step)} ({type(step).__name__})"
        )
    if len(step.outputs) != 1:
        raise ValueError(
            f"{caller}(step): the graph has {len(step.outputs)} outputs; the landscape is that of a scalar "
            "loss: compile the loss of one row alone, like compile(loss, inputs=xs + [y])"
        )
    if not step.parameters:
        raise ValueError(f"{caller}(step): the graph has no parameters, so there is no landscape to see")
    return step


def _rows(step: Compiled, X: object, caller: str) -> np.ndarray:
    """X as (rows, n_inputs) float64, finite, one row at least."""
    n = len(step.inputs)
    if X is None and n == 0:
        return np.zeros((1, 0))
    arr = real_array(X, f"{caller}(X)", "X")
    if arr.ndim != 2 or arr.shape[1] != n or arr.shape[0] == 0:
        raise ValueError(
            f"{caller}(X): X has shape {arr.shape}; it must hold the rows the graph takes, shape "
            f"(rows, {n}), one row at least: the loss is the mean over X's rows"
        )
    k, count = first_nonfinite(arr)
    if count:
        r = k // n
        raise ValueError(f"{caller}(X): row {r} of X is not finite ({arr[r]}): the loss there would be nan")
    return np.ascontiguousarray(arr)


def _positions(step: Compiled, wrt: object, caller: str) -> np.ndarray:
    """Where each parameter of wrt sits in step.parameters (all, in their order, for None)."""
    return checks.positions(step.parameters, wrt, caller)


def _current(step: Compiled, caller: str) -> np.ndarray:
    """The parameters' current values, all finite (else an error naming the first that is not)."""
    theta = np.array([p.data for p in step.parameters])
    k, count = first_nonfinite(theta)
    if count:
        p = step.parameters[k]
        raise ValueError(
            f"{caller}: the parameter {p.label or f'step.parameters[{k}]'} is {theta[k]} ("
            f"{count} of {theta.size} are not finite): a landscape around it is nan; load or train "
            "finite weights first"
        )
    return theta


def _vector(v: object, size: int, caller: str, name: str) -> np.ndarray:
    """v as one finite number per parameter of wrt."""
    arr = real_array(v, f"{caller}({name})", name)
    if arr.shape != (size,):
        raise ValueError(
            f"{caller}({name}): {name} has shape {arr.shape}; it must hold one number per parameter, "
            f"({size},), in the order of wrt (or of step.parameters without wrt)"
        )
    k, count = first_nonfinite(arr)
    if count:
        raise ValueError(f"{caller}({name}): {name}[{k}] is {arr[k]}; a parameter vector must be finite")
    return arr


def _points(n: object, caller: str) -> int:
    """The points of a line (n), or of each side of a plane's n × n grid: a whole number >= 2."""
    what = "points along the segment (its two ends at least)" if caller == "line" else "points a side"
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, Integral):
        raise TypeError(f"{caller}(n={n!r}): n is the number of {what}, a whole number >= 2")
    if n < 2:
        raise ValueError(f"{caller}(n={n}): n is the number of {what}: n >= 2")
    return int(n)


# -- the compiled sweeps ---------------------------------------------------------------------


class Sweeps:
    """step's loss graph rebuilt with each parameter θ_k = c_k + α·d1_k + β·d2_k, compiled once.

    c, d1 and d2 are parameters of the new graph (its own Store: the model's parameters are
    never written); the inputs are step's, then α and β. A forward of rows whose α and β
    columns hold a grid point's coordinates gives the loss of that point's rows: many grid
    points go in one call, up to LANES rows at a time (the lanes' arrays are rows × the graph's
    varying slots × 16 bytes: ~380 slots for the moons loss, 12 MB for 2,048 lanes; a larger
    network takes fewer lanes a call, to stay within MEMORY). On the moons loss, 41 × 41 points
    took 45 ms at 2,000 lanes a call, 49-55 ms at 500-1,000 and 4,100, and 90-100 ms at 8,200.

    Exactness: each lane computes c_k + α·d1_k + β·d2_k as NumPy computes center + α·d1 + β·d2,
    then the same tape as step; tests/test_landscape.py holds the grids to the point-by-point
    loss (set the parameters, forward, mean) to 1e-12 relative.
    """

    def __init__(self, step: Compiled) -> None:
        alpha, beta = Value(0.0, label="α"), Value(0.0, label="β")
        kept = {id(x) for x in step.inputs}
        params = set(step.parameters)
        replace: dict[Value, Value] = {}
        self.c = [Value(p.data, label=p.label) for p in step.parameters]
        self.d1 = [Value(0.0) for _ in step.parameters]
        self.d2 = [Value(0.0) for _ in step.parameters]
        for p, c, d1, d2 in zip(step.parameters, self.c, self.d1, self.d2):
            replace[p] = c + alpha * d1 + beta * d2
        # leaves the tape passes took out of step (the loss does not depend on them): copies, at their values
        others = [v for v in topological_leaves(step.outputs) if id(v) not in kept and v not in params]
        replace.update({v: Value(v.data) for v in others})
        rebuilt = substituted(step.outputs, replace)
        self.graph = compile_graph(rebuilt[step.outputs[0]], inputs=[*step.inputs, alpha, beta])
        where = {id(v): int(i) for v, i in zip(self.graph.parameters, self.graph.p_idx)}
        self.index = [np.array([where.get(id(v), -1) for v in vs]) for vs in (self.c, self.d1, self.d2)]
        # lanes a call: at most LANES, and at most MEMORY bytes of values and gradients (8 + 8 a slot a lane)
        self.lanes = max(1, min(LANES, MEMORY // (16 * self.graph.split.vcode.shape[0])))
        self.lock = threading.Lock()  # the graph's store is shared by the threads' calls

    def losses(
        self, rows: np.ndarray, center: np.ndarray, d1: np.ndarray, d2: np.ndarray, points: np.ndarray
    ) -> np.ndarray:
        """The loss (mean over rows) at center + a·d1 + b·d2 for each (a, b) of points, shape (m,)."""
        m, r, n_in = points.shape[0], rows.shape[0], rows.shape[1]
        per = max(1, self.lanes // r)  # grid points per call
        out = np.empty(m)
        batch = np.empty((min(per, m) * r, n_in + 2))
        batch[:, :n_in] = np.tile(rows, (min(per, m), 1))
        with self.lock:
            data = self.graph.store.data
            for idx, values in zip(self.index, (center, d1, d2)):
                used = idx >= 0
                data[idx[used]] = values[used]
            for start in range(0, m, per):
                k = min(per, m - start)
                part = batch[: k * r]
                part[:, n_in:] = np.repeat(points[start : start + k], r, axis=0)
                out[start : start + k] = self.graph.forward(part).reshape(k, r).mean(axis=1)
        return out


_SWEEPS: weakref.WeakKeyDictionary[Compiled, Sweeps] = weakref.WeakKeyDictionary()
_SWEEPS_LOCK = threading.Lock()


def _sweeps(step: Compiled) -> Sweeps:
    """step's Sweeps, built at the first call for it and kept while step lives."""
    with _SWEEPS_LOCK:
        sweeps = _SWEEPS.get(step)
        if sweeps is None:
            sweeps = _SWEEPS[step] = Sweeps(step)
        return sweeps


def _full(step: Compiled, k: np.ndarray, theta: np.ndarray, v: np.ndarray, fill: float) -> np.ndarray:
    """A vector of wrt's parameters (at k) as one of all step.parameters, `fill` times theta elsewhere."""
    full = fill * theta
    full[k] = v
    return full


# -- profiles -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Line:
    """The loss along a segment: loss[i] at start + t[i]·(end − start); t (n,) from 0 to 1, loss (n,)."""

    t: np.ndarray
    loss: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def plot(self, path: str | PathLike | None = None, labels: tuple[str, str] = ("start", "end")):
        """The profile, loss against t, the ends named by `labels`; saved to `path` if given (its
        missing folders made). Returns the matplotlib Figure. Needs matplotlib."""
        plt = _pyplot("Line.plot", path)
        fig, ax = plt.subplots(figsize=(5, 3.4))
        ax.plot(self.t, self.loss, color="C0")
        ax.scatter([0, 1], [self.loss[0], self.loss[-1]], color="C3", zorder=3)
        for t, loss, name in zip((0, 1), (self.loss[0], self.loss[-1]), labels):
            ax.annotate(name, (t, loss), textcoords="offset points", xytext=(4, 6))
        ax.set(xlabel="t   (θ = start + t·(end − start))", ylabel="loss")
        ax.grid(alpha=0.3)
        return _saved(fig, path)


@dataclass(frozen=True, eq=False)
class Plane:
    """The loss on a plane: loss[i, j] at center + alpha[i]·d1 + beta[j]·d2; alpha, beta (n,),
    loss (n, n), directions (d1, d2), center (each of the parameters' length)."""

    alpha: np.ndarray
    beta: np.ndarray
    loss: np.ndarray
    directions: tuple[np.ndarray, np.ndarray]
    center: np.ndarray

    def coordinates(self, thetas: object) -> np.ndarray:
        """Parameter vectors (k, n) placed on the plane: their (α, β) by least squares, shape (k, 2)
        (the point of the plane nearest each, for directions that are not orthogonal too)."""
        thetas = np.atleast_2d(real_array(thetas, "Plane.coordinates(thetas)", "thetas"))
        if thetas.ndim != 2 or thetas.shape[1] != self.center.size:
            raise ValueError(
                f"Plane.coordinates: give parameter vectors of {self.center.size} numbers each, "
                f"shape (k, {self.center.size}); got {thetas.shape}"
            )
        basis = np.column_stack(self.directions)
        return np.linalg.lstsq(basis, (thetas - self.center).T, rcond=None)[0].T

    def plot(self, path: str | PathLike | None = None, trajectory: object = None, levels: int = 30):
        """Contour lines and surface of the loss; `trajectory`, parameter vectors (k, n) of a training
        run, drawn on the contours where they project onto the plane. Saved to `path` if given (its
        missing folders made). Returns the matplotlib Figure. Needs matplotlib."""
        plt = _pyplot("Plane.plot", path)
        fig = plt.figure(figsize=(10, 4.2))
        left = fig.add_subplot(1, 2, 1)
        A, B = np.meshgrid(self.alpha, self.beta, indexing="ij")
        shown_loss = np.log10(self.loss - self.loss.min() + 1e-12 * max(1.0, abs(self.loss.min())) + 1e-3)
        contours = left.contour(A, B, shown_loss, levels=levels, cmap="viridis")
        fig.colorbar(contours, ax=left, label="log10(loss − min + 10⁻³)")
        left.plot([0], [0], "k+", markersize=10, label="center")
        if trajectory is not None:
            ab = self.coordinates(trajectory)
            left.plot(ab[:, 0], ab[:, 1], ".-", color="C3", markersize=3, label="training path")
            left.plot(ab[-1, 0], ab[-1, 1], "o", color="C3")
        left.set(xlabel="α (along d1)", ylabel="β (along d2)", aspect="equal")
        left.legend(loc="upper right", fontsize=8)
        right = fig.add_subplot(1, 2, 2, projection="3d")
        right.plot_surface(A, B, self.loss, cmap="viridis", linewidth=0, antialiased=True)
        right.set(xlabel="α", ylabel="β", zlabel="loss")
        fig.tight_layout()
        return _saved(fig, path)


def _pyplot(caller: str, path: str | PathLike | None):
    """matplotlib's pyplot, once the folder of `path` (if given) is made and takes a file: before
    the drawing, so that a folder that cannot be made is said before the work, as model.save says it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(f"{caller} needs matplotlib: pip install 'microgradx[plot]'") from None
    if path is not None:
        writable_folder(Path(path).parent, f"not saving to {path}")
    return plt


def _saved(fig, path: str | PathLike | None):
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def line(
    step: Compiled,
    X: object,
    start: object,
    end: object,
    n: int = 51,
    wrt: Sequence[Value] | None = None,
) -> Line:
    """The loss at n evenly spaced points of the segment from `start` to `end` (parameter vectors).

    Returns a Line: t (n,) from 0 to 1 and loss (n,), loss[i] = L(start + t[i]·(end − start)),
    L the mean over X's rows (shape (rows, n_inputs)) of step's output. start and end are in the
    order of wrt (default step.parameters); parameters outside wrt stay at their values. All the
    points in a few compiled calls (see Sweeps); no parameter is written. ValueError for vectors
    of the wrong length or not finite, n < 2, a graph of several outputs, non-finite parameters.
    """
    step = _loss_graph(step, "line")
    rows = _rows(step, X, "line")
    n = _points(n, "line")
    k = _positions(step, wrt, "line")
    theta = _current(step, "line")
    start = _vector(start, k.size, "line", "start")
    end = _vector(end, k.size, "line", "end")
    t = np.linspace(0.0, 1.0, n)
    c, d = _full(step, k, theta, start, 1.0), _full(step, k, theta, end - start, 0.0)
    points = np.column_stack([t, np.zeros(n)])
    loss = _sweeps(step).losses(rows, c, d, np.zeros_like(d), points)
    return Line(t, loss, start, end)


def neurons(parameters: Sequence[Value]) -> list[np.ndarray]:
    """The parameters grouped by neuron, as positions in the list: nn labels a neuron's weights and
    bias `L2.n3.w1` … `L2.n3.b` (neuron `L2.n3`); a parameter labelled otherwise is a group alone."""
    groups: dict[object, list[int]] = {}
    for k, p in enumerate(parameters):
        m = NEURON.match(p.label or "")
        groups.setdefault((m.group(1) or "") if m else ("alone", k), []).append(k)
    return [np.array(g) for g in groups.values()]


def filter_normalized(direction: np.ndarray, theta: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """direction with each group's part scaled to the norm of theta's part there (Li et al. 2018,
    §4: a neuron's weights and bias together are its filter); a part of norm 0 stays 0."""
    out = np.zeros_like(direction)
    for g in groups:
        size = np.linalg.norm(direction[g])
        if size > 0:
            out[g] = direction[g] * (np.linalg.norm(theta[g]) / size)
    return out


def plane(
    step: Compiled,
    X: object,
    center: object = None,
    directions: object = None,
    span: float = 1.0,
    n: int = 41,
    seed: int | np.random.Generator | None = 0,
    wrt: Sequence[Value] | None = None,
) -> Plane:
    """The loss on an n × n grid of the plane through `center` spanned by two directions.

    Returns a Plane: alpha and beta (n,), both from −span to span, and loss (n, n) with
    loss[i, j] = L(center + alpha[i]·d1 + beta[j]·d2), L the mean over X's rows of step's
    output. center: a parameter vector (default: the current parameters); directions: (d1, d2),
    two vectors, default two random ones (standard normal, drawn from `seed`) filter-normalised
    around center (each neuron's part scaled to the norm of its weights and bias: `neurons`).
    Vectors in the order of wrt (default step.parameters). The whole grid in a few compiled
    calls (see Sweeps); no parameter is written. ValueError for vectors of the wrong length or
    not finite, n < 2, a graph of several outputs, non-finite parameters; a seed that is not
    None, a NumPy Generator or a whole number >= 0 is refused naming `seed`.
    """
    step = _loss_graph(step, "plane")
    rows = _rows(step, X, "plane")
    n = _points(n, "plane")
    span = real(span, "plane(span)")
    if not (np.isfinite(span) and span > 0):
        raise ValueError(f"plane(span={span}): span must be a finite number > 0 (the grid is ±span)")
    k = _positions(step, wrt, "plane")
    theta = _current(step, "plane")
    c = theta[k] if center is None else _vector(center, k.size, "plane", "center")
    seed = random_seed(seed, "plane(seed)")
    if directions is None:
        rng = np.random.default_rng(seed)
        groups = neurons([step.parameters[i] for i in k])
        d1, d2 = (filter_normalized(rng.standard_normal(k.size), c, groups) for _ in range(2))
    else:
        if isinstance(directions, np.ndarray) and directions.ndim == 2:
            directions = list(directions)
        if not isinstance(directions, (list, tuple)) or len(directions) != 2:
            raise ValueError(
                f"plane(directions): give two directions (d1, d2), each one number per parameter; got "
                f"{shown(directions)}"
            )
        d1, d2 = (_vector(d, k.size, "plane", f"directions[{j}]") for j, d in enumerate(directions))
    alpha = np.linspace(-span, span, n)
    beta = alpha.copy()
    A, B = np.meshgrid(alpha, beta, indexing="ij")
    points = np.column_stack([A.ravel(), B.ravel()])
    full = [_full(step, k, theta, c, 1.0), _full(step, k, theta, d1, 0.0), _full(step, k, theta, d2, 0.0)]
    loss = _sweeps(step).losses(rows, *full, points).reshape(n, n)
    return Plane(alpha, beta, loss, (d1, d2), c)


# -- curvature ----------------------------------------------------------------------------------


def spectrum(step: Compiled, X: object, wrt: Sequence[Value] | None = None) -> np.ndarray:
    """All the eigenvalues of the loss's Hessian w.r.t. wrt (default step.parameters), ascending.

    The compiled Hessian (`Compiled.hessian`, mean over X's rows), symmetrised ((H + Hᵀ)/2:
    it is symmetric up to rounding), then `numpy.linalg.eigvalsh`. Shape (n,).
    Costs n reverse sweeps and an O(n³) eigensolver: for large networks, `top_eigenvalues`.
    """
    step = _loss_graph(step, "spectrum")
    rows = _rows(step, X, "spectrum")
    _positions(step, wrt, "spectrum")
    _current(step, "spectrum")
    H = step.hessian(rows, wrt=wrt)
    if not np.all(np.isfinite(H)):
        raise ValueError("spectrum: the Hessian has nan or inf entries (a second derivative overflowed)")
    return np.linalg.eigvalsh((H + H.T) / 2)


def top_eigenvalues(
    step: Compiled,
    X: object,
    k: int = 1,
    wrt: Sequence[Value] | None = None,
    smallest: bool = False,
    *,
    tol: float = 1e-10,
    seed: int = 0,
) -> np.ndarray:
    """The k largest eigenvalues of the loss's Hessian (smallest=True: the k most negative), by Lanczos.

    Lanczos iteration (in blocks of k vectors, with full reorthogonalisation) on Hessian-vector
    products (`Compiled.hvp`: one forward of X's rows each, forward over reverse), from a random
    start (`seed`), as PyHessian does (Yao et al. 2020; Golub & Van Loan, Matrix Computations,
    4th ed., §10.1 and §10.3.6). It stops when each wanted Ritz pair (θ, y) has residual
    ‖H·y − θ·y‖ ≤ tol·max|θ|, which bounds θ's error by the same amount (and, once converged, by
    its square over the gap to the next eigenvalue): usually a few dozen products, against the n
    sweeps and O(n³) of `spectrum`. Returns shape (k,), largest first (smallest=True: most
    negative first). With n parameters it takes at most n products, and is then exact to rounding.
    tol: a finite number > 0; seed: a whole number >= 0, a NumPy Generator or None (else an error
    naming the argument, as for k from 1 to n and smallest True or False).
    """
    step = _loss_graph(step, "top_eigenvalues")
    rows = _rows(step, X, "top_eigenvalues")
    positions = _positions(step, wrt, "top_eigenvalues")
    _current(step, "top_eigenvalues")
    n = positions.size
    if isinstance(k, Integral) and not isinstance(k, bool) and not 1 <= k <= n:
        raise ValueError(f"top_eigenvalues(k={k}): k must be from 1 to the number of parameters ({n})")
    k = whole_number(k, "top_eigenvalues(k)", low=1)
    smallest = flag(smallest, "top_eigenvalues(smallest)")
    tol = real(tol, "top_eigenvalues(tol)")
    if not 0 < tol < np.inf:
        raise ValueError(f"top_eigenvalues(tol={tol}): tol must be a finite number > 0")
    seed = random_seed(seed, "top_eigenvalues(seed)")

    def product(v: np.ndarray) -> np.ndarray:
        return step.hvp(rows, v, wrt=wrt)

    sign = -1.0 if smallest else 1.0
    values = sign * _lanczos(lambda v: sign * product(v), n, k, tol, np.random.default_rng(seed))
    return values


def _lanczos(product, n: int, k: int, tol: float, rng: np.random.Generator) -> np.ndarray:
    """The k largest eigenvalues of the symmetric operator `product` (n × n), largest first.

    Block Lanczos, blocks of k vectors (an eigenvalue repeated up to k times is found as often as
    it is repeated: one start vector's Krylov space holds one direction of each eigenspace), with
    full reorthogonalisation and the Ritz values of the whole basis Q: eig(Qᵀ·H·Q). A new vector
    that falls into the space found so far (an invariant subspace) is replaced by a random one.
    """
    Q, HQ = np.zeros((n, 0)), np.zeros((n, 0))
    block = rng.standard_normal((n, k))
    while True:
        block = _orthonormal_to(block[:, : n - Q.shape[1]], Q, rng)
        products = np.column_stack([product(v) for v in block.T])
        Q, HQ = np.hstack([Q, block]), np.hstack([HQ, products])
        T = Q.T @ HQ
        theta, S = np.linalg.eigh((T + T.T) / 2)
        values, vectors = theta[::-1][:k], S[:, ::-1][:, :k]
        residuals = np.linalg.norm(HQ @ vectors - (Q @ vectors) * values, axis=0)
        if Q.shape[1] == n or np.all(residuals <= tol * max(np.abs(theta).max(), np.finfo(float).tiny)):
            return values
        block = products


def _orthonormal_to(V: np.ndarray, Q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """V's columns made orthonormal and orthogonal to Q's (Gram-Schmidt twice, Golub & Van Loan
    §5.2.8); a column with nothing left (within 1e-10 of its size) becomes a new random one."""
    out = np.zeros_like(V)
    for j in range(V.shape[1]):
        v = V[:, j]
        for _attempt in range(10):
            size = np.linalg.norm(v)
            for _ in range(2):
                v = v - Q @ (Q.T @ v) - out[:, :j] @ (out[:, :j].T @ v)
            if np.linalg.norm(v) > 1e-10 * size:
                break
            v = rng.standard_normal(V.shape[0])
        out[:, j] = v / np.linalg.norm(v)
    return out


def index(eigenvalues: object, tol: float | None = None) -> float:
    """The fraction of the eigenvalues that are negative: 0 at a minimum, 1 at a maximum, between at a
    saddle point (Dauphin et al. 2014's index). eigenvalues: shape (n,), finite. tol >= 0: the
    eigenvalues below −tol count; None takes n·ε·max|λ| (what rounding leaves on an eigenvalue 0, so
    that a flat direction is not counted). ValueError for any other shape, or a negative tol."""
    lam = real_array(eigenvalues, "index(eigenvalues)", "eigenvalues")
    if lam.ndim != 1:
        raise ValueError(
            f"index(eigenvalues): give a 1-D array of eigenvalues; got shape {lam.shape} (for a Hessian H, "
            "give spectrum's result or np.linalg.eigvalsh(H), not H)"
        )
    if lam.size == 0:
        raise ValueError("index(eigenvalues): no eigenvalues")
    if not np.all(np.isfinite(lam)):
        raise ValueError("index(eigenvalues): the eigenvalues must be finite")
    if tol is None:
        tol = lam.size * np.finfo(float).eps * np.abs(lam).max()
    tol = real(tol, "index(tol)")
    if not 0 <= tol < np.inf:
        raise ValueError(
            f"index(tol={tol}): tol must be a finite number >= 0 (the eigenvalues below −tol count as "
            "negative), or None"
        )
    return float(np.mean(lam < -tol))
