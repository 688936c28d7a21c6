"""Why reverse mode: a whole Jacobian by n forward sweeps or by m reverse sweeps, measured.

A forward (tangent) sweep gives one column of the Jacobian of f: Rⁿ → Rᵐ, the derivative
of every output along one input direction; a reverse (adjoint) sweep gives one row, the
gradient of one output. Each costs a small multiple of evaluating f, so the Jacobian
takes n forward sweeps or m reverse sweeps (Griewank & Walther, Evaluating Derivatives,
2nd ed., ch. 3). Two functions built from the moons demo's network, MLP(2, [16, 16, 1])
as in examples/moons.py, on 100 rows:

- (n, m) = (337, 1): the training loss L(θ), mean hinge + 1e-4·Σθ², as a function of
  its 337 parameters. Its Jacobian is the gradient: 337 forward sweeps, or 1 reverse
  sweep. This is why networks are trained by backprop.
- (n, m) = (1, 337): the gradient along the gradient-descent line, g(t) = ∇L(θ − t·∇L(θ)),
  as a function of the step size t: its Jacobian at t = 0 is the Hessian times the
  descent direction, −H·∇L. One forward sweep over the gradient graph (built with
  `microgradx.grad(..., create_graph=True)`), or 337 reverse sweeps over it: why a
  Hessian-vector product is computed forward over reverse.

Each is measured three ways, both modes on the same footing: the plain-Python sweeps
(`microgradx.core.reference`: values once, then one tangent or adjoint sweep per column or
row); a compiled graph called once per sweep (`Compiled.jvp` on one direction, against
`forward` and `backward(output=k)` for one output); and a compiled graph running all the
sweeps as lanes of one call (`Compiled.jvp` on n rows of directions, against `backward`
of a graph w·f(x) on m rows of cotangents w = eₖ: m vector-Jacobian products). A compiled
Jacobian's time is the median of 5 samples, each as many Jacobians as take about 50 ms; a
Python Jacobian takes up to a minute and a half, so its time is the values sweep + the
sweeps × the median sweep (of all its sweeps, or of 5). Every Jacobian, of either mode
and any way, must equal the others to 1e-10, and be the gradient `microgradx.grad` gives
or the product `microgradx.hvp` gives.

    python examples/modes.py            # one to three minutes: 337 Python reverse sweeps over
                                        # the 82,000 slots of the gradient graph take most
    python examples/modes.py --quick    # 5 rows, one repeat: the checks, in seconds
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence

os.environ.setdefault("MICROGRADX_JIT", "foreground")  # time numba's kernels, not NumPy's while they compile

import numpy as np  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value  # noqa: E402
from microgradx.core import reference  # noqa: E402
from microgradx.datasets import make_moons  # noqa: E402
from microgradx.nn import MLP  # noqa: E402

ALPHA = 1e-4  # the moons demo's L2 penalty
TOLERANCE = 1e-10  # the largest difference allowed between two Jacobians, relative to the largest entry

Jacobian = Callable[[], np.ndarray]  # computes the (m, n) Jacobian once


def network(weights: Sequence[Value], x: Sequence[float]) -> Value:
    """MLP(2, [16, 16, 1]) with relu hidden layers on one row, from its 337 weights in
    microgradx's order (neuron by neuron, weights then bias): the network as f(θ, x)."""
    it = iter(weights)
    for nin, nout, relu in ((2, 16, True), (16, 16, True), (16, 1, False)):
        sums = [Value.dot([next(it) for _ in range(nin)], x) + next(it) for _ in range(nout)]
        x = [s.relu() for s in sums] if relu else sums
    return x[0]


def loss(weights: Sequence[Value], X: np.ndarray, Y: np.ndarray) -> Value:
    """The moons demo's loss on the batch: mean hinge max(0, 1 − y·score) + 1e-4·Σθ²."""
    hinges = [(1 - float(y) * network(weights, [float(a), float(b)])).relu() for (a, b), y in zip(X, Y)]
    return Value.sum(hinges) * (1.0 / len(hinges)) + ALPHA * Value.sum([w * w for w in weights])


class Function:
    """f: Rⁿ → Rᵐ as a graph: its input leaves (at their current data) and output Values."""

    def __init__(self, name: str, inputs: list[Value], outputs: list[Value]) -> None:
        self.name, self.inputs, self.outputs = name, inputs, outputs
        self.x = np.array([v.data for v in inputs])
        self.n, self.m = len(inputs), len(outputs)


# -- the Jacobian by sweeps, three ways -------------------------------------------------------


class PythonSweeps:
    """The lesson's sweeps on one tape: values once, then a tangent sweep per input (a column)
    or an adjoint sweep per output (a row). Each sweep is timed: see `seconds`."""

    def __init__(self, f: Function) -> None:
        self.f, self.tape = f, microgradx.flatten(f.outputs)
        tape = self.tape
        self.code = tape.op.tolist(), tape.a.tolist(), tape.b.tolist(), tape.args.tolist()
        slot = {id(tape.nodes[s]): int(s) for s in tape.leaves}
        self.ins, self.outs = [slot[id(x)] for x in f.inputs], tape.outputs.tolist()
        self.times: list[float] = []  # seconds of each sweep of the last Jacobian, the values' first

    def values(self) -> list[float]:
        t0 = time.perf_counter()
        vals = self.tape.initial_values().tolist()
        reference.forward(*self.code, vals)
        self.times = [time.perf_counter() - t0]
        return vals

    def by_forward(self) -> np.ndarray:
        f, vals = self.f, self.values()
        J = np.empty((f.m, f.n))
        for i, s in enumerate(self.ins):
            t0 = time.perf_counter()
            tans = [0.0] * len(self.tape)
            tans[s] = 1.0  # the direction eᵢ
            reference.tangents(*self.code, vals, tans)
            J[:, i] = [tans[o] for o in self.outs]
            self.times.append(time.perf_counter() - t0)
        return J

    def by_reverse(self) -> np.ndarray:
        f, vals = self.f, self.values()
        J = np.empty((f.m, f.n))
        for k, o in enumerate(self.outs):
            t0 = time.perf_counter()
            grads = [0.0] * len(self.tape)
            grads[o] = 1.0  # the seed ∂f_k/∂f_k
            reference.backward(*self.code, vals, grads)
            J[k] = [grads[s] for s in self.ins]
            self.times.append(time.perf_counter() - t0)
        return J

    def seconds(self, run: Jacobian, samples: int) -> tuple[float, np.ndarray]:
        """The Jacobian, and its time as the median values sweep + sweeps × the median sweep,
        from at least `samples` timed sweeps (the whole Jacobian again until there are): a
        Python Jacobian takes up to a minute, so its sweeps, not whole runs, are the repeats."""
        J = run()
        values, sweeps = [self.times[0]], self.times[1:]
        while len(sweeps) < samples:
            run()
            values.append(self.times[0])
            sweeps += self.times[1:]
        return float(np.median(values) + (len(self.times) - 1) * np.median(sweeps)), J


def compiled_calls(f: Function) -> tuple[Jacobian, Jacobian]:
    """One compiled call a sweep: `jvp` along eᵢ, or `forward` and `backward(output=k)`
    (each call computes the values and one derivative sweep)."""
    c = microgradx.compile(f.outputs, inputs=f.inputs)
    eye = np.eye(f.n)

    def by_forward() -> np.ndarray:
        J = np.empty((f.m, f.n))
        for i in range(f.n):
            J[:, i] = c.jvp(f.x, eye[i])[1]
        return J

    def by_reverse() -> np.ndarray:
        J = np.empty((f.m, f.n))
        for k in range(f.m):
            c.forward(f.x)
            J[k] = c.backward(reduction="sum", output=k)
        return J

    return by_forward, by_reverse


def compiled_lanes(f: Function) -> tuple[Jacobian, Jacobian]:
    """All the sweeps in one compiled call, one lane each: `jvp` on n rows of directions, or
    `backward` of w·f(x) on m rows of cotangents w = eₖ (each row's ∂(w·f)/∂x is row k)."""
    c = microgradx.compile(f.outputs, inputs=f.inputs)
    w = [Value(0.0, label=f"w{k}") for k in range(f.m)]
    vjp = microgradx.compile(Value.dot(w, f.outputs), inputs=f.inputs + w)
    directions = np.tile(f.x, (f.n, 1)), np.eye(f.n)
    cotangents = np.hstack([np.tile(f.x, (f.m, 1)), np.eye(f.m)])

    def by_forward() -> np.ndarray:
        tangents = c.jvp(*directions)[1]  # (n, m) for several outputs; (n,) for one
        return np.asarray(tangents).reshape(f.n, f.m).T

    def by_reverse() -> np.ndarray:
        vjp.forward(cotangents)
        return vjp.backward(reduction="sum")[:, : f.n]

    return by_forward, by_reverse


def median_seconds(run: Jacobian, repeats: int, sample_seconds: float = 0.05) -> tuple[float, np.ndarray]:
    """The Jacobian, and the median seconds a run over `repeats` samples, after one untimed run
    (which compiles); a sample runs it often enough to last about sample_seconds."""
    t0 = time.perf_counter()
    J = run()
    inner = max(1, int(sample_seconds / (time.perf_counter() - t0)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            run()
        times.append((time.perf_counter() - t0) / inner)
    return float(np.median(times)), J


def python_way(f: Function) -> tuple[Jacobian, Jacobian, Timer]:
    sweeps = PythonSweeps(f)
    return sweeps.by_forward, sweeps.by_reverse, sweeps.seconds


Timer = Callable[[Jacobian, int], tuple[float, np.ndarray]]
WAYS: dict[str, Callable[[Function], tuple[Jacobian, Jacobian, Timer]]] = {
    "Python sweeps": python_way,
    "compiled, a call a sweep": lambda f: (*compiled_calls(f), median_seconds),
    "compiled, sweeps as lanes": lambda f: (*compiled_lanes(f), median_seconds),
}


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference between two Jacobians, relative to b's largest entry."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def measure(f: Function, repeats: dict[str, int]) -> tuple[list[tuple[str, float, float]], np.ndarray, float]:
    """(way, forward seconds, reverse seconds) for each way; the first way's reverse Jacobian;
    and the largest difference between that and any Jacobian of any way, either mode."""
    rows, jacobians = [], []
    for way, make in WAYS.items():
        by_forward, by_reverse, timer = make(f)
        t_fwd, J_fwd = timer(by_forward, repeats[way])
        t_rev, J_rev = timer(by_reverse, repeats[way])
        rows.append((way, t_fwd, t_rev))
        jacobians += [J_fwd, J_rev]
    J = jacobians[1]
    return rows, J, max(difference(other, J) for other in jacobians)


def shown(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3g} s"
    return f"{seconds * 1e3:.3g} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.3g} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rows, one repeat: checks the Jacobians agree")
    parser.add_argument("--rows", type=int, default=None, help="moons rows (default 100; quick 5)")
    args = parser.parse_args()
    rows = args.rows or (5 if args.quick else 100)
    repeats = {way: 1 for way in WAYS} if args.quick else {way: 5 for way in WAYS}

    X, labels = make_moons(rows, noise=0.1, seed=1337)
    Y = labels * 2.0 - 1.0
    model = MLP(2, [16, 16, 1], seed=1337, init="micrograd")  # examples/moons.py's start
    theta = model.parameters()
    if abs(network(theta, list(X[0])).data - model(list(X[0])).data) > 1e-12:
        raise SystemExit("FAILED: network(θ, x) is not the MLP it copies")
    L = loss(theta, X, Y)

    # g(t) = ∇L(θ − t·∇L(θ)): the weights as Values moved along the descent direction by one leaf t
    descent = -np.array(microgradx.grad(L, theta))
    t = Value(0.0, label="t")
    moved = [p.data + t * d for p, d in zip(theta, descent)]
    g = microgradx.grad(loss(moved, X, Y), moved, create_graph=True)
    functions = [
        Function("the loss L(θ) of its 337 parameters", theta, [L]),
        Function("the gradient ∇L(θ − t·∇L) of the step t", [t], g),
    ]
    print(
        f"MLP(2, [16, 16, 1]) on {rows} moons rows, hinge + {ALPHA:g}·Σθ²; "
        f"medians of {max(repeats.values())} (Python: of the sweeps)"
    )
    print(f"\n{'(n, m)':<11}{'way':<27}{'forward sweeps':>23}{'reverse sweeps':>23}   faster")
    worst, found = 0.0, []
    for f in functions:
        rows_f, J, diff = measure(f, repeats)
        for way, t_fwd, t_rev in rows_f:
            cells = f"{f.n:>4} {shown(t_fwd):>14}", f"{f.m:>4} {shown(t_rev):>14}"
            faster = f"reverse, {t_fwd / t_rev:.0f}×" if t_rev < t_fwd else f"forward, {t_rev / t_fwd:.0f}×"
            print(f"{f'({f.n}, {f.m})':<11}{way:<27}{cells[0]:>23}{cells[1]:>23}   {faster}")
        worst = max(worst, diff)
        found.append(J)
    print(f"\n  (337, 1): {functions[0].name}; (1, 337): {functions[1].name}, at t = 0")

    # the first Jacobian is ∇L, found above by microgradx.grad; the second H·(−∇L), microgradx.hvp's
    by_grad = difference(found[0][0], -descent)
    by_hvp = difference(found[1][:, 0], microgradx.hvp(L, theta, descent)[1])
    if max(worst, by_grad, by_hvp) > TOLERANCE:
        raise SystemExit(
            f"FAILED: the Jacobians differ by {worst:.1e} between modes or ways, from microgradx.grad "
            f"by {by_grad:.1e}, from microgradx.hvp by {by_hvp:.1e} (relative; allowed {TOLERANCE:g})"
        )
    print(
        f"check passed: both modes give the same Jacobians, every way (largest difference {worst:.1e}, "
        f"relative); they are microgradx.grad(L, θ) ({by_grad:.1e}) and microgradx.hvp(L, θ, −∇L) "
        f"({by_hvp:.1e})"
    )


if __name__ == "__main__":
    main()
