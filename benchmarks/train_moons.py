"""µs per training step on micrograd's moons demo, for microgradx and the usual alternatives.

One step = forward + backward + SGD update over the 100 rows, for MLP(2, [16, 16, 1])
with hinge loss + 1e-4·Σp². Every contestant starts from the same weights and
data (their first-step losses are checked to agree), and the timings are
interleaved: each round times every contestant once, so a busy machine slows them
all alike. Reported: the median per step and the ratio to microgradx compiled.

    python benchmarks/train_moons.py           # about a minute (micrograd is ~1 s a step)
    python benchmarks/train_moons.py --quick   # a few seconds of each

micrograd, PyTorch and JAX are measured only where installed.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value  # noqa: E402
from microgradx.datasets import make_moons  # noqa: E402
from microgradx.losses import l2  # noqa: E402
from microgradx.nn import MLP  # noqa: E402
from microgradx.optim import SGD  # noqa: E402

ALPHA, LR, SIZES = 1e-4, 0.1, [16, 16, 1]
Step = Callable[[], float]  # runs one training step, returns its loss


def moons() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_moons(100, noise=0.1, seed=1337)
    return X, (y * 2 - 1).astype(np.float64)


def weights(model: MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    """The model's parameters as (W, b) per layer, W of shape (inputs, outputs)."""
    return [
        (
            np.array([[w.data for w in n.w] for n in layer.neurons]).T,
            np.array([n.b.data for n in layer.neurons]),
        )
        for layer in model.layers
    ]


# -- the contestants: each builds its step from the same data and weights ----------------


def mgx_compiled(X: np.ndarray, Y: np.ndarray, init: MLP, dot_l2: bool = False) -> Step:
    """The README's loop: one row's loss compiled once, replayed on the batch."""
    model = MLP(2, SIZES, seed=0)
    for p, q in zip(model.parameters(), init.parameters(), strict=True):
        p.data = q.data
    xs, y = [Value(0.0), Value(0.0)], Value(0.0)
    penalty = l2(model.parameters(), ALPHA) if dot_l2 else ALPHA * sum(p * p for p in model.parameters())
    step = microgradx.compile((1 - y * model(xs)).relu() + penalty, inputs=xs + [y])
    opt = SGD(model.parameters(), lr=LR)
    rows = np.column_stack([X, Y])

    def run() -> float:
        loss = step.forward(rows).mean()
        model.zero_grad()
        step.backward()
        opt.step()
        return float(loss)

    return run


def mgx_eager(X: np.ndarray, Y: np.ndarray, init: MLP) -> Step:
    """micrograd's way with microgradx Values: rebuild the batch's graph, Value.backward()."""
    model = MLP(2, SIZES, seed=0)
    for p, q in zip(model.parameters(), init.parameters(), strict=True):
        p.data = q.data
    opt = SGD(model.parameters(), lr=LR)
    rows = [[float(a), float(b)] for a, b in X]

    def run() -> float:
        scores = [model(r) for r in rows]
        data_loss = Value.sum((1 - yi * s).relu() for yi, s in zip(Y.tolist(), scores, strict=True)) * (
            1 / len(rows)
        )
        loss = data_loss + ALPHA * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        opt.step()
        return loss.data

    return run


def micrograd(X: np.ndarray, Y: np.ndarray, init: MLP) -> Step:
    """micrograd 0.1.0 from PyPI, its demo's step."""
    from micrograd.engine import Value as MValue
    from micrograd.nn import MLP as MMLP

    model = MMLP(2, SIZES)
    params = model.parameters()
    for p, q in zip(params, init.parameters(), strict=True):
        p.data = q.data
    rows = [[MValue(float(a)), MValue(float(b))] for a, b in X]

    def run() -> float:
        losses = [(1 + -yi * model(r)).relu() for yi, r in zip(Y.tolist(), rows, strict=True)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in params)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= LR * p.grad
        return loss.data

    return run


def torch_eager(X: np.ndarray, Y: np.ndarray, init: MLP) -> Step:
    """PyTorch eager, float64, one thread, torch.optim.SGD."""
    import torch

    torch.set_num_threads(1)
    params = [torch.tensor(a, requires_grad=True) for layer in weights(init) for a in layer]
    x, y = torch.tensor(X), torch.tensor(Y)
    opt = torch.optim.SGD(params, lr=LR)

    def run() -> float:
        h = x
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            if k + 2 < len(params):
                h = torch.relu(h)
        loss = torch.relu(1 - y * h[:, 0]).mean() + ALPHA * sum((p * p).sum() for p in params)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return run


def jax_jit(X: np.ndarray, Y: np.ndarray, init: MLP) -> Step:
    """JAX, float64, the whole step (value_and_grad + update) under one jit."""
    import jax
    import jax.numpy as jnp

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

    state = {"params": [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights(init)]}
    x, y = jnp.asarray(X), jnp.asarray(Y)

    def run() -> float:
        state["params"], loss = update(state["params"], x, y)
        return float(loss.block_until_ready())

    return run


def numpy_batched(X: np.ndarray, Y: np.ndarray, init: MLP) -> Step:
    """Backprop written by hand on matrices: the lecture's algorithm, batched."""
    params = [a.copy() for layer in weights(init) for a in layer]
    n = len(Y)

    def run() -> float:
        W1, b1, W2, b2, W3, b3 = params
        a1 = X @ W1 + b1
        h1 = np.maximum(a1, 0.0)
        a2 = h1 @ W2 + b2
        h2 = np.maximum(a2, 0.0)
        s = (h2 @ W3 + b3)[:, 0]
        margin = 1 - Y * s
        loss = np.maximum(margin, 0.0).mean() + ALPHA * sum((p * p).sum() for p in params)
        g = np.where(margin > 0, -Y / n, 0.0)[:, None]  # ∂L/∂s: hinge' = -y inside the margin
        grads = [None] * 6
        grads[4], grads[5] = h2.T @ g, g.sum(axis=0)
        g = (g @ W3.T) * (a2 > 0)  # relu' = 1[a > 0]
        grads[2], grads[3] = h1.T @ g, g.sum(axis=0)
        g = (g @ W2.T) * (a1 > 0)
        grads[0], grads[1] = X.T @ g, g.sum(axis=0)
        for p, gp in zip(params, grads, strict=True):
            p -= LR * (gp + 2 * ALPHA * p)
        return float(loss)

    return run


CONTESTANTS: dict[str, Callable[[np.ndarray, np.ndarray, MLP], Step]] = {
    "microgradx compiled": mgx_compiled,
    "microgradx compiled, l2() as one DOT": lambda X, Y, m: mgx_compiled(X, Y, m, dot_l2=True),
    "microgradx eager (graph rebuilt)": mgx_eager,
    "micrograd 0.1.0": micrograd,
    "PyTorch eager (1 thread)": torch_eager,
    "JAX jit": jax_jit,
    "NumPy by hand": numpy_batched,
}


# -- timing ----------------------------------------------------------------------------


def setup(X: np.ndarray, Y: np.ndarray, init: MLP) -> dict[str, Step]:
    """Build every available contestant and run its first step (also warming any JIT)."""
    steps, first = {}, {}
    for name, make in CONTESTANTS.items():
        try:
            step = make(X, Y, init)
        except ImportError as e:
            print(f"  {name}: not installed ({e.name}), skipped")
            continue
        first[name] = step()
        steps[name] = step
    losses = np.array(list(first.values()))
    spread = np.max(np.abs(losses - losses[0]))
    verdict = "agree" if spread < 1e-9 else "DISAGREE"
    print(f"first-step losses {verdict}: {losses[0]:.10f} (largest difference {spread:.1e})")
    return steps


def measure(steps: dict[str, Step], rounds: int, sample_seconds: float) -> dict[str, list[float]]:
    """Round-robin: each round times `inner` steps of every contestant; returns seconds per step."""
    inner = {}
    for name, step in steps.items():
        t0 = time.perf_counter()
        step()
        inner[name] = max(1, int(sample_seconds / (time.perf_counter() - t0)))
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            n = inner[name]
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            times[name].append((time.perf_counter() - t0) / n)
    return times


def report(times: dict[str, list[float]]) -> None:
    med = {name: float(np.median(t)) * 1e6 for name, t in times.items()}
    base = med["microgradx compiled"]
    print(f"\n{'implementation':<40}{'µs / step':>12}{'× compiled':>12}{'samples':>9}")
    for name, us in med.items():
        print(f"{name:<40}{us:>12.1f}{us / base:>12.2f}{len(times[name]):>9}")
    print("\nfloors:")
    floor(med, "PyTorch eager (1 thread)", "microgradx compiled", 3.0)
    floor(med, "PyTorch eager (1 thread)", "microgradx compiled, l2() as one DOT", 3.0)
    floor(med, "micrograd 0.1.0", "microgradx eager (graph rebuilt)", 15.0)


def floor(med: dict[str, float], slow: str, fast: str, needed: float) -> None:
    if slow not in med:
        print(f"  {fast} vs {slow}: {slow} not installed, not checked")
        return
    ratio = med[slow] / med[fast]
    verdict = "PASS" if ratio >= needed else "FAIL"
    print(f"  {verdict}  {fast} is {ratio:.1f}× faster than {slow} (floor {needed:g}×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of short samples")
    parser.add_argument("--rounds", type=int, default=None, help="timing rounds (default 15; quick 3)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 15)
    sample = 0.01 if args.quick else 0.05
    X, Y = moons()
    init = MLP(2, SIZES, seed=1337)
    print(f"moons: {len(Y)} rows, {init!r}, hinge + {ALPHA:g}·Σp², SGD lr {LR:g}")
    steps = setup(X, Y, init)
    report(measure(steps, rounds, sample))


if __name__ == "__main__":
    main()
