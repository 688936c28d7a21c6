"""µs per Adam step on the digits (MLP 64-w-10, batches of 128) and on MNIST-shaped 784-128-10,
784-256-10 and 784-512-256-10. The digits come from scikit-learn: pip install -e ".[data]".

One step = gather the batch's 128 rows from the data by index, forward, softmax
cross-entropy mean over the rows + 3e-4·Σp², backward, Adam update (lr 0.01): the
digits demo's step (microgradx/app/demo_real.py). Contestants: microgradx `train_step`
(the batch gathered by NumPy, then one compiled call) and `fit` (many steps a call:
for now on one fixed batch, timed per step), NumPy by hand, PyTorch eager (float64,
one thread, torch.optim.Adam) and JAX (float64, the whole step, the gather included,
under one jit: each step waiting for its loss, as the others do, and apart, queued).
Every contestant starts from the same weights and batches; before any timing, its
first step's loss and updated weights are checked against microgradx `train_step`'s
(1e-12 within microgradx, 1e-9 for the others). Timings are interleaved (each round
times every contestant once, so a busy machine slows them all alike); reported: the
median per step, and the ratio to `train_step`.

Points: the digits (all 1,797 rows, standardised) at hidden widths 32, 128 and 512,
and 784 inputs of random data through hidden layers of 128, 256, and 512 then 256 units to
10 classes (MNIST's shape). For each, the time to get a step ready: microgradx's graph
build + `compile`, JAX's trace + XLA compile, then every contestant's first step; and
the step's achieved GFLOP/s (its matrix products' multiply-adds, 2 flops each: forward
h W, backward hᵀ g and g Wᵀ but into the inputs) beside NumPy's `@` on the same products
alone, one thread: the single-core matrix-product peak the step is measured against; and
microgradx's own matrix-product kernel (matmul.product, packing included) on them alone.
Then the floors of issues 15 and 24.

    python benchmarks/train_digits.py                            # about a minute
    python benchmarks/train_digits.py --quick --skip torch jax   # a few seconds: width 32

PyTorch and JAX are measured only where installed (`--skip` leaves them out);
PyTorch, JAX and NumPy's BLAS are told to use one thread, as microgradx does, and the
process is pinned to one core (cores.py: JAX's runtime kept a second core busy all the
same); the `cores` column says how many each kept busy. `--all-cores` frees them.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
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
import matmul_kernels  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
from train_moons import Unavailable, check, flat, measure, medians, model_params, repeated, weights  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value  # noqa: E402
from microgradx.datasets import load_digits, one_hot  # noqa: E402
from microgradx.losses import l2, softmax_cross_entropy  # noqa: E402
from microgradx.nn import MLP  # noqa: E402
from microgradx.optim import Adam  # noqa: E402

BATCH, LR, ALPHA = 128, 0.01, 3e-4  # the digits demo's
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # Adam's defaults, everywhere
SEED = 1337
TRAIN_STEP, FIT = "microgradx train_step", "microgradx fit (per step, one batch)"
EPOCH_FIT = "microgradx fit (per step, epochs)"
NUMPY, TORCH = "NumPy by hand", "PyTorch eager (1 thread)"
JAX, JAX_QUEUED = "JAX jit", "JAX jit, steps queued (async dispatch)"
LEFT_OUT: set[str] = set()  # packages left out by --skip


class Problem(NamedTuple):
    """The data, the batches and the initial model every contestant starts from."""

    name: str
    X: np.ndarray  # (rows, features), standardised
    labels: np.ndarray  # (rows,), classes 0..9
    rows: np.ndarray  # (rows, features + 10): X then the one-hot labels, microgradx's inputs
    batches: np.ndarray  # (k, BATCH): each step's rows, epoch after epoch (whole batches only)
    per_epoch: int  # whole batches in an epoch
    init: MLP  # MLP(features, [*hidden, 10]), seeded
    model_seconds: float  # the time MLP(...) took to draw it (apart from the graph build)

    @property
    def Y(self) -> np.ndarray:
        return self.rows[:, self.X.shape[1] :]


class Step(NamedTuple):
    """A contestant, built: run(n) takes n training steps and returns the first one's loss;
    params() gives the current weights flattened in microgradx's order; ready is the seconds
    it took to get a step ready (a graph built and compiled), None where nothing is compiled;
    per_call: run(n) takes a multiple of it (whole epochs)."""

    run: Callable[[int], float]
    params: Callable[[], np.ndarray]
    ready: float | None = None
    per_call: int = 1


def problem(name: str, X: np.ndarray, labels: np.ndarray, hidden: list[int], epochs: int = 5) -> Problem:
    """Shuffled whole batches of BATCH rows for `epochs` epochs, and the seeded initial model."""
    rng = np.random.default_rng(SEED)
    per_epoch = len(X) // BATCH
    batches = np.concatenate(
        [rng.permutation(len(X))[: per_epoch * BATCH].reshape(per_epoch, BATCH) for _ in range(epochs)]
    )
    rows = np.column_stack([X, one_hot(labels, 10)])
    t0 = time.perf_counter()
    init = MLP(X.shape[1], [*hidden, 10], seed=SEED)
    return Problem(name, X, labels, rows, batches, per_epoch, init, time.perf_counter() - t0)


def digits(width: int) -> Problem:
    """The 1,797 digits, each pixel standardised (a pixel that is always 0 stays 0)."""
    X, labels = load_digits()
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return problem(f"digits, MLP 64-{width}-10", X, labels, [width])


def mnist_shaped(hidden: tuple[int, ...] = (128,), rows: int = 1024) -> Problem:
    """Random data of MNIST's shape: 784 standard normal inputs, 10 classes, hidden relu layers."""
    rng = np.random.default_rng(SEED)
    name = "random data, MLP " + "-".join(map(str, (784, *hidden, 10)))
    return problem(name, rng.standard_normal((rows, 784)), rng.integers(0, 10, rows), list(hidden))


def sizes(pb: Problem) -> list[int]:
    """The network's layer sizes, inputs first: [784, 128, 10]."""
    return [pb.X.shape[1]] + [len(layer.neurons) for layer in pb.init.layers]


def peaks(pb: Problem) -> tuple[float, float, float]:
    """The step's matrix-product flops, NumPy's `@` GFLOP/s on those products alone (one thread:
    the single-core peak) and microgradx's matmul.product's on them as the step runs them
    (benchmarks/matmul_kernels.py's `ours`: per layer the forward and ∇W, a first layer's
    reading the batch's rows, a deeper one's with its packing of hᵀ, and ∇h but into the
    inputs). Each product the best of nine timings, NumPy's and ours in turn."""
    rng = np.random.default_rng(0)
    flops, t_numpy, t_ours = 0.0, 0.0, 0.0
    for k, (d_in, d_out) in enumerate(zip(sizes(pb), sizes(pb)[1:])):
        _, forward, weights_, rows = matmul_kernels.ours(d_out, d_in, BATCH, rng, first=k == 0)
        mine = (forward, weights_, rows) if k else (forward, weights_)  # ∇h: nobody wants the inputs'
        shapes = [(BATCH, d_in, d_out), (d_in, BATCH, d_out), (BATCH, d_out, d_in)]  # h W, hᵀ g, g Wᵀ
        for (m, n, p), run in zip(shapes, mine, strict=False):  # (m × n)·(n × p)
            a, b = rng.standard_normal((m, n)), rng.standard_normal((n, p))
            t_np, t_mine = matmul_kernels.best_of_each([lambda a=a, b=b: a @ b, run], repeat=9)
            flops, t_numpy, t_ours = flops + 2.0 * m * n * p, t_numpy + t_np, t_ours + t_mine
    return flops, flops / t_numpy / 1e9, flops / t_ours / 1e9


# -- the contestants: each builds its step from the same data, batches and weights ----------


def compiled_mlp(pb: Problem) -> tuple[MLP, microgradx.Compiled, Adam, float]:
    """The digits demo's graph: one row's softmax cross-entropy + ALPHA·Σp², compiled; its Adam,
    and the seconds the graph build and compile took (the model's own construction apart)."""
    features = pb.X.shape[1]
    model = MLP(features, sizes(pb)[1:], seed=SEED)  # the same draw as pb.init
    t0 = time.perf_counter()
    xs, ys = [Value(0.0) for _ in range(features)], [Value(0.0) for _ in range(10)]
    loss = softmax_cross_entropy(model(xs), ys) + l2(model.parameters(), ALPHA)
    step = microgradx.compile(loss, inputs=xs + ys)
    seconds = time.perf_counter() - t0
    return model, step, Adam(model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS), seconds


def mgx_train_step(pb: Problem) -> Step:
    """step.train_step(rows[batch], opt): NumPy gathers the batch, one compiled call steps."""
    model, step, opt, ready = compiled_mlp(pb)
    rows, batches = pb.rows, itertools.cycle(pb.batches)
    return Step(repeated(lambda: step.train_step(rows[next(batches)], opt)), model_params(model), ready)


def mgx_fit(pb: Problem) -> Step:
    """step.fit(batch, opt, n): n steps in one call, all on the first batch (timed per step)."""
    model, step, opt, ready = compiled_mlp(pb)
    batch = pb.rows[pb.batches[0]]
    return Step(lambda n: float(step.fit(batch, opt, n)[0]), model_params(model), ready)


def mgx_epoch_fit(pb: Problem) -> Step:
    """fit(X, opt, epochs=, batch_size=, shuffle=, seed=): whole epochs of shuffled batches in one
    call, the rows gathered inside the kernel (fit_digits.py holds its floor).

    Its first step (run(1)) is one unshuffled epoch of the first batch alone, so that the
    check sees the step every contestant takes; then run(n) is n / per_epoch epochs of the
    data's whole batches (per_call)."""
    model, step, opt, ready = compiled_mlp(pb)
    if "epochs" not in inspect.signature(step.fit).parameters:
        raise Unavailable("fit(X, opt, epochs=...) is not in this microgradx")
    data = pb.rows[pb.batches[: pb.per_epoch].ravel()]  # whole batches: every step takes BATCH rows
    seeds = itertools.count()

    def run(n: int) -> float:
        if n == 1:
            history = step.fit(pb.rows[pb.batches[0]], opt, epochs=1, batch_size=BATCH, shuffle=False,
                               verbose=False)  # fmt: skip
        else:
            history = step.fit(data, opt, epochs=n // pb.per_epoch, batch_size=BATCH, shuffle=True,
                               seed=next(seeds), verbose=False)  # fmt: skip
        return float(history.step_loss[0])

    return Step(run, model_params(model), ready, per_call=pb.per_epoch)


def numpy_by_hand(pb: Problem) -> Step:
    """Forward, backward and Adam written out on matrices for this MLP (hidden relu layers)."""
    layers = [(W.copy(), b.copy()) for W, b in weights(pb.init)]
    params = [p for layer in layers for p in layer]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    X, Y, batches, t = pb.X, pb.Y, itertools.cycle(pb.batches), itertools.count(1)

    def one() -> float:
        idx = next(batches)
        x, y = X[idx], Y[idx]
        hs, pre = [x], []  # each layer's input, and each hidden layer's pre-activation
        for W, b in layers[:-1]:
            pre.append(hs[-1] @ W + b)
            hs.append(np.maximum(pre[-1], 0.0))
        z = hs[-1] @ layers[-1][0] + layers[-1][1]
        zmax = z.max(axis=1, keepdims=True)
        e = np.exp(z - zmax)
        total = e.sum(axis=1, keepdims=True)
        lse = (zmax + np.log(total))[:, 0]  # log Σ e^z, stabilised
        loss = np.mean(lse - (y * z).sum(axis=1)) + ALPHA * sum((p * p).sum() for p in params)
        d = (e / total - y) / len(idx)  # ∂L/∂z = (softmax − one-hot) / B
        grads: list[np.ndarray] = []
        for k in range(len(layers) - 1, -1, -1):
            grads[:0] = [hs[k].T @ d, d.sum(axis=0)]
            if k:
                d = (d @ layers[k][0].T) * (pre[k - 1] > 0)  # relu' = 1[a > 0]
        k = next(t)
        c1, c2 = 1.0 - BETA1**k, 1.0 - BETA2**k
        for p, g, (m, v) in zip(params, grads, moments, strict=True):
            g += 2 * ALPHA * p  # d(α p²) = 2αp
            m *= BETA1
            m += (1 - BETA1) * g
            v *= BETA2
            v += (1 - BETA2) * g * g
            p -= LR * (m / c1) / (np.sqrt(v / c2) + EPS)
        return float(loss)

    return Step(repeated(one), lambda: flat(layers))


def torch_eager(pb: Problem) -> Step:
    """PyTorch eager, float64, one thread: X[idx] @ W + b, F.cross_entropy, torch.optim.Adam
    (fused=True, its fastest on a CPU: about 12 % faster a step than its default here)."""
    if "torch" in LEFT_OUT:
        raise Unavailable("left out (--skip torch)")
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        raise Unavailable(f"{e.name} not installed") from None

    torch.set_num_threads(1)
    layers = [
        (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
        for W, b in weights(pb.init)
    ]
    params = [a for layer in layers for a in layer]
    X, labels = torch.from_numpy(pb.X), torch.from_numpy(pb.labels)
    batches = itertools.cycle([torch.from_numpy(b) for b in pb.batches])
    opt = torch.optim.Adam(params, lr=LR, betas=(BETA1, BETA2), eps=EPS, fused=True)

    def one() -> float:
        idx = next(batches)
        z = X[idx]
        for k, (W, b) in enumerate(layers):
            z = z @ W + b if k == len(layers) - 1 else torch.relu(z @ W + b)
        loss = F.cross_entropy(z, labels[idx]) + ALPHA * sum((p * p).sum() for p in params)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return Step(repeated(one), lambda: flat([(W.detach().numpy(), b.detach().numpy()) for W, b in layers]))


def jax_jit(pb: Problem, wait: bool = True) -> Step:
    """JAX, float64: gather, value_and_grad and Adam in one jitted step (compiled ahead, timed).

    wait: each step waits for its loss, as every other contestant's call returns with its
    step done; else steps are queued (JAX's asynchronous dispatch) and run(n) waits for the
    last: Python dispatches the next step while XLA runs this one, on a second core."""
    if "jax" in LEFT_OUT:
        raise Unavailable("left out (--skip jax)")
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        raise Unavailable(f"{e.name} not installed") from None

    jax.config.update("jax_enable_x64", True)
    tree_map = jax.tree_util.tree_map

    def loss_fn(params, x, y):
        z = x
        for k, (W, b) in enumerate(params):
            z = z @ W + b if k == len(params) - 1 else jax.nn.relu(z @ W + b)
        penalty = sum(jnp.sum(p * p) for p in jax.tree_util.tree_leaves(params))
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - jnp.sum(y * z, axis=1)) + ALPHA * penalty

    def update(params, m, v, t, X, Y, idx):
        loss, grads = jax.value_and_grad(loss_fn)(params, X[idx], Y[idx])
        t = t + 1
        c1, c2 = 1 - BETA1**t, 1 - BETA2**t
        m = tree_map(lambda m, g: BETA1 * m + (1 - BETA1) * g, m, grads)
        v = tree_map(lambda v, g: BETA2 * v + (1 - BETA2) * g * g, v, grads)
        params = tree_map(lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + EPS), params, m, v)
        return params, m, v, t, loss

    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights(pb.init)]
    zeros = tree_map(jnp.zeros_like, params)
    data = jnp.asarray(pb.X), jnp.asarray(pb.Y)
    ids = [jnp.asarray(b) for b in pb.batches]
    state = [params, zeros, zeros, jnp.asarray(0.0)]
    t0 = time.perf_counter()
    step = jax.jit(update).lower(*state, *data, ids[0]).compile()
    ready = time.perf_counter() - t0
    batches = itertools.cycle(ids)

    def run(n: int) -> float:
        first = None
        for _ in range(n):
            *state[:], loss = step(*state, *data, next(batches))  # params, m, v, t; the loss
            if wait:
                loss.block_until_ready()
            first = loss if first is None else first
        loss.block_until_ready()
        return float(first)

    return Step(run, lambda: flat([(np.asarray(W), np.asarray(b)) for W, b in state[0]]), ready)


Make = Callable[[Problem], Step]
CONTESTANTS: dict[str, Make] = {
    TRAIN_STEP: mgx_train_step,
    FIT: mgx_fit,
    EPOCH_FIT: mgx_epoch_fit,
    NUMPY: numpy_by_hand,
    TORCH: torch_eager,
    JAX: jax_jit,
    JAX_QUEUED: lambda pb: jax_jit(pb, wait=False),
}


# -- checking and timing --------------------------------------------------------------


class Built(NamedTuple):
    steps: dict[str, Step]
    first_step: dict[str, float]  # seconds of each contestant's first step


def setup(pb: Problem) -> Built:
    """Build every available contestant and take its first step (warming any JIT); check that every
    first-step loss and updated weight agrees with train_step's: 1e-12 within microgradx (relative
    to the values' size), 1e-9 for everyone else (train_moons.check)."""
    steps, first, after, seconds = {}, {}, {}, {}
    for name, make in CONTESTANTS.items():
        try:
            step = make(pb)
        except Unavailable as e:
            print(f"  {name}: skipped ({e})")
            continue
        t0 = time.perf_counter()
        first[name] = step.run(1)
        seconds[name] = time.perf_counter() - t0
        after[name] = step.params()
        steps[name] = step
    check(first, after, TRAIN_STEP, "train_step's")
    return Built(steps, seconds)


class Point(NamedTuple):
    """One network's results: median µs per step, the seconds to get ready and to take a first step,
    the step's matrix-product flops and NumPy's `@` GFLOP/s on them alone."""

    name: str
    us: dict[str, float]
    cores: dict[str, float]  # median CPU time over wall time: the cores a contestant kept busy
    samples: int
    ready: dict[str, float | None]
    first_step: dict[str, float]
    model_seconds: float  # MLP(...) drawing the weights
    parameters: int
    flops: float
    peak: float
    kernels: float  # matmul.product's GFLOP/s on the same products alone


def run_point(pb: Problem, rounds: int, sample: float) -> Point:
    t0 = time.perf_counter()
    print(f"{pb.name}:")
    built = setup(pb)
    busy: dict[str, list[float]] = {}
    us = medians(measure(built.steps, rounds, sample, busy))
    flops, peak, kernels = peaks(pb)
    print(f"  measured in {time.perf_counter() - t0:.1f} s")
    ready = {name: step.ready for name, step in built.steps.items()}
    kept_busy = {name: float(np.median(b)) for name, b in busy.items()}
    return Point(
        pb.name, us, kept_busy, rounds, ready, built.first_step, pb.model_seconds, len(pb.init.parameters()),
        flops, peak, kernels,
    )  # fmt: skip


# -- reports ----------------------------------------------------------------------------


def point_table(pt: Point) -> None:
    ref = pt.us[TRAIN_STEP]
    print(f"\n{pt.name}, batches of {BATCH}, Adam lr {LR:g} ({pt.samples} samples each):")
    print(
        f"{'implementation':<40}{'µs / step':>11}{'× train_step':>14}{'ready (s)':>11}{'1st step (ms)':>15}"
        f"{'cores':>7}"
    )
    for name, us in sorted(pt.us.items(), key=lambda kv: kv[1]):
        ready = pt.ready[name]
        cell = f"{ready:>11.2f}" if ready is not None else f"{'—':>11}"
        print(
            f"{name:<40}{us:>11.1f}{us / ref:>14.2f}{cell}{pt.first_step[name] * 1e3:>15.1f}"
            f"{pt.cores[name]:>7.2f}"
        )
    achieved = pt.flops / ref / 1e3
    print(
        f"train_step: {pt.flops / 1e6:.1f} MFLOP of matrix products a step, {achieved:.1f} GFLOP/s achieved; "
        f"NumPy's @ on those products alone (one thread): {pt.peak:.1f} GFLOP/s "
        f"({achieved / pt.peak:.0%} of it); microgradx's matmul.product on them alone: "
        f"{pt.kernels:.1f} GFLOP/s ({pt.kernels / pt.peak:.0%} of @'s)"
    )


def sweep_table(points: list[Point]) -> None:
    """One row per contestant, one column per network: median µs per step (× train_step's)."""
    print(f"\nall networks: µs per step (× microgradx train_step's), batches of {BATCH}")
    labels = [pt.name.split("MLP ")[-1] for pt in points]
    print(f"{'implementation':<40}" + "".join(f"{label:>20}" for label in labels))
    for name in CONTESTANTS:
        if not any(name in pt.us for pt in points):
            continue
        cells = [
            f"{pt.us[name]:>11.1f} ({pt.us[name] / pt.us[TRAIN_STEP]:>5.2f})"
            if name in pt.us
            else f"{'—':>19}"
            for pt in points
        ]
        print(f"{name:<40}" + "".join(f"{c:>20}" for c in cells))


def faster(pt: Point, fast: str, slow: str, needed: float) -> None:
    """Floor: `fast` is at least `needed` × faster than `slow`."""
    if slow not in pt.us or fast not in pt.us:
        print(f"  ----  {pt.name}: {fast} vs {slow}: one of them not measured, not checked")
        return
    ratio = pt.us[slow] / pt.us[fast]
    verdict = "PASS" if ratio >= needed else "FAIL"
    print(f"  {verdict}  {pt.name}: {fast} is {ratio:.2f}× faster than {slow} (floor >= {needed:g}×)")


def floors(points: dict[str, Point], where: str) -> None:
    print(f"\nfloors (784-128-10 and the digits' 64-32-10, layers as matrix products), on {where}:")
    w32, big = points.get("digits 32"), points.get("784")
    for pt, slow, needed in ((big, JAX, 1.0), (big, TORCH, 1.5), (w32, JAX, 2.0), (w32, TORCH, 4.0)):
        if pt is None:
            print(f"  ----  {TRAIN_STEP} vs {slow}: that network was not measured, not checked")
            continue
        faster(pt, TRAIN_STEP, slow, needed)
    if big is not None:
        share = big.kernels / big.peak
        verdict = "PASS" if share >= 0.8 else "FAIL"
        print(
            f"  {verdict}  {big.name}: its matrix products by matmul.product alone at {share:.0%} of "
            f"NumPy's one-thread @ on the same shapes ({big.kernels:.1f} against {big.peak:.1f} GFLOP/s; "
            "floor >= 80%)"
        )
    print("\nfloors (the digits' fused steps):")
    w32, w128, big = points.get("digits 32"), points.get("digits 128"), points.get("784")
    for pt, slow, needed in ((w32, TORCH, 4.0), (w32, JAX, 2.0), (w128, TORCH, 2.0)):
        if pt is None:
            print(f"  ----  {TRAIN_STEP} vs {slow}: that network was not measured, not checked")
            continue
        faster(pt, TRAIN_STEP, slow, needed)
    if w32 is not None and JAX_QUEUED in w32.us:
        ratio = w32.us[JAX_QUEUED] / w32.us[TRAIN_STEP]
        print(f"  info  {w32.name}: {TRAIN_STEP} is {ratio:.2f}× faster than {JAX_QUEUED}, on {where}")
    if big is None:
        print("  ----  784-128-10: not measured (--quick), not checked")
        return
    ready = big.ready[TRAIN_STEP]
    verdict = "PASS" if ready <= 3.0 else "FAIL"
    print(
        f"  {verdict}  {big.name}: graph build + compile {ready:.2f} s (floor <= 3 s); "
        f"drawing the MLP's {big.parameters:,} weights before it, {big.model_seconds:.2f} s"
    )
    for ours in (TRAIN_STEP, FIT):
        if TORCH in big.us and ours in big.us:
            print(
                f"  info  {big.name}: {ours} takes {big.us[ours] / big.us[TORCH]:.2f}× PyTorch eager's time"
            )


def versions() -> str:
    found = [f"numba {numba.__version__}", f"numpy {np.__version__}"]
    for package in ("torch", "jax"):
        if package in LEFT_OUT:
            continue
        try:
            found.append(f"{package} {__import__(package).__version__}")
        except ImportError:
            pass
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few short rounds, width 32 only")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds (default 11; quick 3)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["torch", "jax"], help="leave these out")
    parser.add_argument("--all-cores", action="store_true", help=cores.HELP)
    args = parser.parse_args()
    LEFT_OUT.update(args.skip)
    rounds = args.rounds or (3 if args.quick else 11)
    sample = 0.005 if args.quick else 0.05
    where = cores.pin(args.all_cores)
    print(
        f"MLP relu, softmax cross-entropy + {ALPHA:g}·Σp², Adam lr {LR:g}, batches of {BATCH}, float64; "
        f"{versions()}; {where}"
    )
    t0 = time.perf_counter()
    problems = {"digits 32": lambda: digits(32)}
    if not args.quick:
        problems |= {
            "digits 128": lambda: digits(128),
            "digits 512": lambda: digits(512),
            "784": mnist_shaped,
            "784-256": lambda: mnist_shaped((256,)),
            "784-512-256": lambda: mnist_shaped((512, 256)),
        }
    points = {key: run_point(make(), rounds, sample) for key, make in problems.items()}
    for pt in points.values():
        point_table(pt)
    sweep_table(list(points.values()))
    floors(points, where.split(" (")[0])
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
