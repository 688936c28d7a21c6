"""µs per training step on micrograd's moons demo: microgradx, a hand-written numba limit line, the rest.

One step = forward + backward + SGD update over the batch, for MLP(2, [w, w, 1])
(relu hidden layers, linear output) with hinge loss mean over rows + 1e-4·Σp².
Every contestant starts from the same weights and data, and after its first step
its loss and updated weights are checked against the hand-written numba reference
(benchmarks/reference_numba.py), which must agree with microgradx to 1e-12.
Timings are interleaved: each round times every contestant once, so a busy machine
slows them all alike. Reported: the median per step and the ratio to the reference, and
the cores each kept busy: the process is pinned to one core (cores.py; --all-cores frees it).

Tables: the main one (100 rows, width 16, every contestant, micrograd included),
a batch sweep (100, 1,000, 10,000 rows at width 16) and a width sweep (16, 64, 256
hidden units at 100 rows, and 16, 64 at 10,000 rows), then the floors of issues 3 and 5.

    python benchmarks/train_moons.py           # about two minutes (micrograd is ~1.5 s a step)
    python benchmarks/train_moons.py --quick   # a few seconds; no micrograd

micrograd, PyTorch and JAX are measured only where installed. PyTorch, JAX and
NumPy's BLAS are told to use one thread, as the numba reference does, and all run on one core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

os.environ.setdefault("MICROGRADX_JIT", "foreground")  # time the numba kernels, compiled at first use
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cores  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
from reference_numba import Reference  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value  # noqa: E402
from microgradx.datasets import make_moons  # noqa: E402
from microgradx.losses import l2  # noqa: E402
from microgradx.nn import MLP  # noqa: E402
from microgradx.optim import SGD  # noqa: E402

ALPHA, LR = 1e-4, 0.1
REFERENCE = "numba by hand (reference)"
# microgradx's three ways to train (see the README): forward, zero_grad, backward and opt.step
# as four calls from Python; train_step, the same in one compiled call; fit, many steps a call.
PY_LOOP, FUSED, FIT = "microgradx Python loop", "microgradx train_step", "microgradx fit (per step)"


class Problem(NamedTuple):
    """The data and the initial model every contestant starts from."""

    X: np.ndarray  # (rows, 2)
    Y: np.ndarray  # (rows,), labels in {-1, +1}
    init: MLP  # MLP(2, [width, width, 1]), seeded
    width: int


class Step(NamedTuple):
    """A contestant, built: run(n) takes n training steps and returns the first one's loss;
    params() gives the current weights flattened in microgradx's order (None: not checked)."""

    run: Callable[[int], float]
    params: Callable[[], np.ndarray] | None


class Unavailable(Exception):
    """A contestant that cannot run here (a package or an API missing)."""


def problem(rows: int, width: int) -> Problem:
    X, y = make_moons(rows, noise=0.1, seed=1337)
    return Problem(X, (y * 2 - 1).astype(np.float64), MLP(2, [width, width, 1], seed=1337), width)


def weights(model: MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    """The model's parameters as (W, b) per layer, W of shape (inputs, outputs)."""
    return [
        (
            np.array([[w.data for w in n.w] for n in layer.neurons]).T,
            np.array([n.b.data for n in layer.neurons]),
        )
        for layer in model.layers
    ]


def flat(layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """(W, b) per layer back to one array in microgradx's order: neuron by neuron, weights then bias."""
    return np.concatenate([np.column_stack([np.asarray(W).T, np.asarray(b)]).ravel() for W, b in layers])


def repeated(one: Callable[[], float]) -> Callable[[int], float]:
    """run(n) for a contestant whose step is one call: n calls, the first one's loss."""

    def run(n: int) -> float:
        first = one()
        for _ in range(n - 1):
            one()
        return first

    return run


# -- the contestants: each builds its step from the same data and weights ----------------


def copy_model(pb: Problem) -> MLP:
    model = MLP(2, [pb.width, pb.width, 1], seed=0)
    for p, q in zip(model.parameters(), pb.init.parameters(), strict=True):
        p.data = q.data
    return model


def compiled_moons(pb: Problem, dot_l2: bool = False):
    """The README's graph: one row's hinge loss + L2, compiled once; a fresh model, SGD and rows."""
    model = copy_model(pb)
    xs, y = [Value(0.0), Value(0.0)], Value(0.0)
    penalty = l2(model.parameters(), ALPHA) if dot_l2 else ALPHA * sum(p * p for p in model.parameters())
    step = microgradx.compile((1 - y * model(xs)).relu() + penalty, inputs=xs + [y])
    return model, step, SGD(model.parameters(), lr=LR), np.column_stack([pb.X, pb.Y])


def model_params(model: MLP) -> Callable[[], np.ndarray]:
    return lambda: np.array([p.data for p in model.parameters()])


def mgx_python_loop(pb: Problem, dot_l2: bool = False) -> Step:
    """micrograd's loop on a compiled graph: forward on the batch, zero_grad, backward (mean), opt.step()."""
    model, step, opt, rows = compiled_moons(pb, dot_l2)

    def one() -> float:
        loss = step.forward(rows).mean()
        model.zero_grad()
        step.backward()
        opt.step()
        return float(loss)

    return Step(repeated(one), model_params(model))


def mgx_fused(pb: Problem) -> Step:
    """step.train_step(rows, opt): forward, zero grads, backward and update in one compiled call."""
    model, step, opt, rows = compiled_moons(pb)
    if not hasattr(step, "train_step"):
        raise Unavailable("Compiled.train_step is not in this microgradx")
    return Step(repeated(lambda: step.train_step(rows, opt)), model_params(model))


def mgx_fit(pb: Problem) -> Step:
    """step.fit(rows, opt, n): n whole training steps in one call (timed per step)."""
    model, step, opt, rows = compiled_moons(pb)
    if not hasattr(step, "fit"):
        raise Unavailable("Compiled.fit is not in this microgradx")
    return Step(lambda n: float(step.fit(rows, opt, n)[0]), model_params(model))


def mgx_eager(pb: Problem) -> Step:
    """micrograd's way with microgradx Values: rebuild the batch's graph, Value.backward()."""
    model = copy_model(pb)
    opt = SGD(model.parameters(), lr=LR)
    rows = [[float(a), float(b)] for a, b in pb.X]
    labels = pb.Y.tolist()

    def one() -> float:
        scores = [model(r) for r in rows]
        data_loss = Value.sum((1 - yi * s).relu() for yi, s in zip(labels, scores, strict=True))
        loss = data_loss * (1 / len(rows)) + ALPHA * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        opt.step()
        return loss.data

    return Step(repeated(one), model_params(model))


def micrograd(pb: Problem) -> Step:
    """micrograd 0.1.0 from PyPI, its demo's step."""
    try:
        from micrograd.engine import Value as MValue
        from micrograd.nn import MLP as MMLP
    except ImportError as e:
        raise Unavailable(f"{e.name} not installed") from None

    model = MMLP(2, [pb.width, pb.width, 1])
    params = model.parameters()
    for p, q in zip(params, pb.init.parameters(), strict=True):
        p.data = q.data
    rows = [[MValue(float(a)), MValue(float(b))] for a, b in pb.X]
    labels = pb.Y.tolist()

    def one() -> float:
        losses = [(1 + -yi * model(r)).relu() for yi, r in zip(labels, rows, strict=True)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss.data

    return Step(repeated(one), lambda: np.array([p.data for p in params]))


def torch_eager(pb: Problem) -> Step:
    """PyTorch eager, float64, one thread, torch.optim.SGD."""
    try:
        import torch
    except ImportError as e:
        raise Unavailable(f"{e.name} not installed") from None

    torch.set_num_threads(1)
    tensor = lambda a: torch.tensor(a, requires_grad=True)
    layers = [(tensor(W), tensor(b)) for W, b in weights(pb.init)]
    params = [a for layer in layers for a in layer]
    x, y = torch.tensor(pb.X), torch.tensor(pb.Y)
    opt = torch.optim.SGD(params, lr=LR)

    def one() -> float:
        h = x
        for i, (W, b) in enumerate(layers):
            h = h @ W + b
            if i + 1 < len(layers):
                h = torch.relu(h)
        loss = torch.relu(1 - y * h[:, 0]).mean() + ALPHA * sum((p * p).sum() for p in params)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return Step(repeated(one), lambda: flat([(W.detach().numpy(), b.detach().numpy()) for W, b in layers]))


def jax_jit(pb: Problem) -> Step:
    """JAX, float64, the whole step (value_and_grad + update) under one jit."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        raise Unavailable(f"{e.name} not installed") from None

    jax.config.update("jax_enable_x64", True)

    def loss_fn(params, x, y):
        h = x
        for i, (W, b) in enumerate(params):
            h = h @ W + b
            if i + 1 < len(params):
                h = jax.nn.relu(h)
        penalty = sum(jnp.sum(W * W) + jnp.sum(b * b) for W, b in params)
        return jnp.mean(jax.nn.relu(1 - y * h[:, 0])) + ALPHA * penalty

    @jax.jit
    def update(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads), loss

    state = {"params": [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights(pb.init)]}
    x, y = jnp.asarray(pb.X), jnp.asarray(pb.Y)

    def one() -> float:
        state["params"], loss = update(state["params"], x, y)
        return float(loss.block_until_ready())

    return Step(repeated(one), lambda: flat([(np.asarray(W), np.asarray(b)) for W, b in state["params"]]))


def numpy_batched(pb: Problem) -> Step:
    """Backprop written by hand on matrices: the lecture's algorithm, batched."""
    layers = [(W.copy(), b.copy()) for W, b in weights(pb.init)]
    X, Y, n = pb.X, pb.Y, len(pb.Y)

    def one() -> float:
        (W1, b1), (W2, b2), (W3, b3) = layers
        a1 = X @ W1 + b1
        h1 = np.maximum(a1, 0.0)
        a2 = h1 @ W2 + b2
        h2 = np.maximum(a2, 0.0)
        s = (h2 @ W3 + b3)[:, 0]
        margin = 1 - Y * s
        loss = np.maximum(margin, 0.0).mean() + ALPHA * sum((W * W).sum() + (b * b).sum() for W, b in layers)
        g = np.where(margin > 0, -Y / n, 0.0)[:, None]  # ∂L/∂s: hinge' = -y inside the margin
        g3 = (h2.T @ g, g.sum(axis=0))
        g = (g @ W3.T) * (a2 > 0)  # relu' = 1[a > 0]
        g2 = (h1.T @ g, g.sum(axis=0))
        g = (g @ W2.T) * (a1 > 0)
        g1 = (X.T @ g, g.sum(axis=0))
        for (W, b), (gW, gb) in zip(layers, (g1, g2, g3), strict=True):
            W -= LR * (gW + 2 * ALPHA * W)
            b -= LR * (gb + 2 * ALPHA * b)
        return float(loss)

    return Step(repeated(one), lambda: flat(layers))


def numba_reference(pb: Problem) -> Step:
    """Forward, backward and SGD written by hand for this one network in one numba call:
    a layer at a time, rows as SIMD lanes (see reference_numba.py). The limit line."""
    init = np.array([p.data for p in pb.init.parameters()])
    ref = Reference(init, pb.X, pb.Y, (pb.width, pb.width), LR, ALPHA)
    return Step(repeated(ref.step), lambda: ref.params.copy())


Make = Callable[[Problem], Step]
SWEEP: dict[str, Make] = {
    REFERENCE: numba_reference,
    PY_LOOP: mgx_python_loop,
    FUSED: mgx_fused,
    FIT: mgx_fit,
    "NumPy by hand": numpy_batched,
    "PyTorch eager (1 thread)": torch_eager,
    "JAX jit": jax_jit,
}
MAIN: dict[str, Make] = {
    **SWEEP,
    "microgradx Python loop, l2() as a DOT": lambda pb: mgx_python_loop(pb, dot_l2=True),
    "microgradx eager (graph rebuilt)": mgx_eager,
    "micrograd 0.1.0": micrograd,
}


# -- checking and timing --------------------------------------------------------------


def setup(pb: Problem, contestants: dict[str, Make]) -> dict[str, Step]:
    """Build every available contestant and take its first step (warming any JIT); check that
    every first-step loss and updated weight agrees with the reference's."""
    steps, first, after = {}, {}, {}
    for name, make in contestants.items():
        try:
            step = make(pb)
        except Unavailable as e:
            print(f"  {name}: skipped ({e})")
            continue
        first[name] = step.run(1)
        after[name] = step.params() if step.params is not None else None
        steps[name] = step
    check(first, after)
    return steps


def check(
    first: dict[str, float],
    after: dict[str, np.ndarray | None],
    reference: str = REFERENCE,
    label: str = "the reference",
) -> None:
    """Assert the first step did the same math everywhere: 1e-12 between microgradx and the
    reference (relative to the values' size), 1e-9 for everyone else."""
    loss0, p0 = first[reference], after[reference]
    scale = max(1.0, abs(loss0)), max(1.0, float(np.abs(p0).max()))
    worst_loss = worst_param = 0.0
    for name, loss in first.items():
        dl = abs(loss - loss0) / scale[0]
        dp = float(np.abs(after[name] - p0).max()) / scale[1] if after[name] is not None else 0.0
        tol = 1e-12 if name.startswith("microgradx") else 1e-9
        assert dl < tol and dp < tol, f"{name} disagrees with {label}: loss {dl:.1e}, weights {dp:.1e}"
        worst_loss, worst_param = max(worst_loss, dl), max(worst_param, dp)
    print(
        f"  first step agrees with {label}: loss {loss0:.12f}, "
        f"largest relative difference {worst_loss:.1e} (loss), {worst_param:.1e} (updated weights)"
    )


def measure(
    steps: dict[str, Step], rounds: int, sample_seconds: float, cores: dict[str, list[float]] | None = None
) -> dict[str, list[float]]:
    """Round-robin: each round times n steps of every contestant (n chosen so a sample takes
    about sample_seconds, a multiple of its per_call where it has one: whole epochs); returns
    seconds per step, one sample per round. cores, if given, gets each sample's CPU time over
    its wall time: the cores the contestant kept busy (cores.py)."""
    inner = {}
    for name, step in steps.items():
        per_call = getattr(step, "per_call", 1)
        t0 = time.perf_counter()
        step.run(per_call)
        inner[name] = per_call * max(1, int(sample_seconds / (time.perf_counter() - t0)))
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            n = inner[name]
            t0, cpu0 = time.perf_counter(), time.process_time()
            step.run(n)
            wall = time.perf_counter() - t0
            times[name].append(wall / n)
            if cores is not None:
                cores.setdefault(name, []).append((time.process_time() - cpu0) / wall)
    return times


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    """Median µs per step."""
    return {name: float(np.median(t)) * 1e6 for name, t in times.items()}


def run_point(
    rows: int, width: int, contestants: dict[str, Make], rounds: int, sample: float
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds per step of each contestant, one sample a round, and the cores each sample kept busy."""
    t0 = time.perf_counter()
    print(f"{rows:,} rows, width {width}:")
    pb = problem(rows, width)
    busy: dict[str, list[float]] = {}
    times = measure(setup(pb, contestants), rounds, sample, busy)
    print(f"  measured in {time.perf_counter() - t0:.1f} s")
    return times, busy


# -- reports ----------------------------------------------------------------------------


def main_table(times: dict[str, list[float]], busy: dict[str, list[float]]) -> None:
    """Median µs per step, its ratio to the reference's, the samples and the cores kept busy (median)."""
    med = medians(times)
    ref = med[REFERENCE]
    print(f"\n{'implementation':<40}{'µs / step':>12}{'× reference':>13}{'samples':>9}{'cores':>7}")
    for name, us in sorted(med.items(), key=lambda kv: kv[1]):
        print(f"{name:<40}{us:>12.1f}{us / ref:>13.2f}{len(times[name]):>9}{np.median(busy[name]):>7.2f}")


def sweep_table(title: str, points: dict[str, dict[str, float]]) -> None:
    """One row per contestant, one column per point: median µs per step (× the reference)."""
    print(f"\n{title}: µs per step (× numba reference)")
    names = [n for n in SWEEP if any(n in med for med in points.values())]
    print(f"{'implementation':<28}" + "".join(f"{label:>22}" for label in points))
    for name in names:
        cells = []
        for med in points.values():
            if name in med:
                cells.append(f"{med[name]:>13.1f} ({med[name] / med[REFERENCE]:>5.2f})")
            else:
                cells.append(f"{'—':>21}")
        print(f"{name:<28}" + "".join(f"{c:>22}" for c in cells))


def within(med: dict[str, float], ours: str, limit: float, where: str) -> None:
    """Floor: `ours` takes at most `limit` × the reference's time."""
    if ours not in med:
        print(f"  ----  {ours} not available, not checked")
        return
    ratio = med[ours] / med[REFERENCE]
    verdict = "PASS" if ratio <= limit else "FAIL"
    print(f"  {verdict}  {where}: {ours} takes {ratio:.2f}× the numba reference (floor <= {limit:g}×)")


def faster(med: dict[str, float], fast: str, slow: str, needed: float, where: str) -> None:
    """Floor: `fast` is at least `needed` × faster than `slow`."""
    if slow not in med or fast not in med:
        print(f"  ----  {where}: {fast} vs {slow}: one of them not available, not checked")
        return
    ratio = med[slow] / med[fast]
    verdict = "PASS" if ratio >= needed else "FAIL"
    print(f"  {verdict}  {where}: {fast} is {ratio:.1f}× faster than {slow} (floor >= {needed:g}×)")


def floors(main: dict[str, float], big: dict[str, float] | None) -> None:
    print("\nfloors (100 rows, width 16 unless said):")
    for ours in (FUSED, FIT):  # the compiled step: forward, backward and update in one call
        within(main, ours, 1.5, "moons")
    if PY_LOOP in main and REFERENCE in main:
        print(
            f"  info  moons: {PY_LOOP} takes {main[PY_LOOP] / main[REFERENCE]:.2f}× the numba reference "
            "(three compiled calls, np.mean and the Python between them, each step)"
        )
    for ours in (PY_LOOP, FUSED):
        faster(main, ours, "PyTorch eager (1 thread)", 10.0, "moons")
        faster(main, ours, "JAX jit", 5.0, "moons")
    for ours in (PY_LOOP, FUSED, FIT):
        if big is None:
            print(f"  ----  10,000 rows, width 64: not measured, {ours} not checked")
        else:
            within(big, ours, 2.0, "10,000 rows, width 64")
    print("floors (the Python loop, and graphs rebuilt each step):")
    faster(main, PY_LOOP, "PyTorch eager (1 thread)", 3.0, "moons")
    faster(main, "microgradx eager (graph rebuilt)", "micrograd 0.1.0", 15.0, "moons")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few short rounds; no micrograd, no width sweep")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds (default 11; quick 3)")
    parser.add_argument("--all-cores", action="store_true", help=cores.HELP)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 11)
    sample = 0.005 if args.quick else 0.04
    where = cores.pin(args.all_cores)
    print(
        f"MLP(2, [w, w, 1]) relu, hinge + {ALPHA:g}·Σp², SGD lr {LR:g}; "
        f"numba {numba.__version__}, numpy {np.__version__}; {where}"
    )
    main_set = {k: v for k, v in MAIN.items() if not (args.quick and k == "micrograd 0.1.0")}
    sweep = [(1000, 16), (10000, 16)] + ([] if args.quick else [(100, 64), (100, 256), (10000, 64)])
    t0 = time.perf_counter()
    times, busy = run_point(100, 16, main_set, rounds, sample)
    med = {(100, 16): medians(times)}
    for rows, width in sweep:
        med[rows, width] = medians(run_point(rows, width, SWEEP, rounds, sample)[0])

    print("\nmoons, 100 rows, MLP(2, [16, 16, 1]), every contestant:")
    main_table(times, busy)
    sweep_table("batch sweep, width 16", {f"{r:,} rows": med[r, 16] for r in (100, 1000, 10000)})
    if not args.quick:
        sweep_table("width sweep, 100 rows", {f"width {w}": med[100, w] for w in (16, 64, 256)})
        sweep_table("width sweep, 10,000 rows", {f"width {w}": med[10000, w] for w in (16, 64)})
        print("  10,000 rows at width 256 is not measured: about 0.25 s a step for the reference alone.")
    floors(med[100, 16], med.get((10000, 64)))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
