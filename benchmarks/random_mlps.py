"""Does the matrix path pay on networks nobody tuned it for? `train_step` on random MLPs, with
layers as matrix products (the default) and without (`Compiled.matrix_layers = False`: the
tiles of four neurons and the plain DOTs, what ran before layers were matrix products).

Each network: depth 1-4, widths drawn log-uniform from 1 to 1,000 (most small, some past
the thresholds of compiler/program.py's _kind: products both ways from 32 rows, for whole
tiles of four neurons, a first layer or a layer of 8 neurons or more),
random activations, with or without bias; a batch of 128 random rows; the loss Σ (ŷ − y)²
over the outputs + 1e-4·Σp², Adam. Both compiled graphs start from the same weights and
their first steps are checked equal (loss and updated weights, 1e-12 relative) before any
timing; then the two are timed in turn, round after round (a busy machine slows both
alike). Reported per network: its sizes, how its layers ran (M matrix products,
T tiles, - each DOT alone), the median µs per step of each, and the ratio; then the
ratios' median and range over the networks whose layers ran as matrix products.

    python benchmarks/random_mlps.py                 # 24 networks, about a minute warm
    python benchmarks/random_mlps.py --networks 8 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MICROGRADX_JIT", "foreground")  # time the numba kernels, compiled at first use

import numpy as np  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value  # noqa: E402
from microgradx.compiled import Compiled  # noqa: E402
from microgradx.compiler import program  # noqa: E402
from microgradx.kernels.codes import MEMBERS, RUNS  # noqa: E402
from microgradx.losses import l2  # noqa: E402
from microgradx.nn import ACTIVATIONS, MLP  # noqa: E402
from microgradx.optim import Adam  # noqa: E402

ROWS = 128
LETTER = {program.MATRIX: "M", program.TILES: "T", program.ALONE: "-"}


def random_sizes(rng: np.random.Generator) -> list[int]:
    """Depth 1-4, widths log-uniform in 1 … 1,000, at most 2 million weights (a step's time)."""
    while True:
        depth = int(rng.integers(1, 5))
        sizes = np.exp(rng.uniform(0, np.log(1000), depth + 1)).astype(int).clip(1, 1000).tolist()
        if sum(a * b for a, b in zip(sizes, sizes[1:])) <= 2_000_000:
            return sizes


def compiled(sizes: list[int], acts: list[str], bias: bool, seed: int, matrix: bool):
    """The network's loss graph compiled with or without layers as matrix products; its model."""
    model = MLP(sizes[0], sizes[1:], activation=acts, bias=bias, seed=seed)
    xs = [Value(0.0) for _ in range(sizes[0])]
    out = model(xs)
    out = out if isinstance(out, list) else [out]
    ys = [Value(0.0) for _ in out]
    loss = Value.sum([(o - y) ** 2 for o, y in zip(out, ys)]) + l2(model.parameters(), 1e-4)
    Compiled.matrix_layers = matrix
    try:
        step = microgradx.compile(loss, inputs=xs + ys)
    finally:
        Compiled.matrix_layers = True
    return model, step


def kinds(step: Compiled) -> str:
    """How each layer's group ran, first layer first: M, B, T or - (a layer of one neuron: -)."""
    vcode = step.split.vcode
    firsts = np.flatnonzero(vcode[:, MEMBERS] > 0)
    return "".join(LETTER[int(vcode[i, RUNS])] for i in firsts) or "-"


def network(rng: np.random.Generator, rounds: int) -> tuple[str, str, float, float]:
    sizes = random_sizes(rng)
    acts = [str(a) for a in rng.choice(list(ACTIVATIONS), len(sizes) - 1)]
    bias, seed = bool(rng.random() < 0.7), int(rng.integers(1e9))
    X = rng.uniform(-1, 1, (ROWS, sizes[0] + sizes[-1]))
    runs = []
    for matrix in (True, False):
        model, step = compiled(sizes, acts, bias, seed, matrix)
        opt = Adam(model.parameters(), lr=1e-3)
        first = step.train_step(X, opt)
        runs.append((model, step, opt, first, np.array([p.data for p in model.parameters()])))
    (_, fast, fast_opt, loss_f, w_f), (_, plain, plain_opt, loss_p, w_p) = runs
    scale = max(1.0, float(np.abs(w_p).max()))
    assert abs(loss_f - loss_p) <= 1e-12 * max(1.0, abs(loss_p)), (loss_f, loss_p)
    assert float(np.abs(w_f - w_p).max()) <= 1e-12 * scale
    n = max(1, int(0.02 / max(timed(fast, X, fast_opt, 1), 1e-6)))
    times: list[list[float]] = [[], []]
    for _ in range(rounds):
        times[0].append(timed(fast, X, fast_opt, n))
        times[1].append(timed(plain, X, plain_opt, n))
    us = [float(np.median(t)) * 1e6 for t in times]
    return "-".join(map(str, sizes)), kinds(fast), us[0], us[1]


def timed(step: Compiled, X: np.ndarray, opt: Adam, n: int) -> float:
    """Seconds per train_step over n calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        step.train_step(X, opt)
    return (time.perf_counter() - t0) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=int, default=24, help="how many random MLPs (default 24)")
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds, the median kept (default 7)")
    parser.add_argument("--seed", type=int, default=2024, help="draws the networks (default 2024)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"train_step, batches of {ROWS}, Adam; µs per step, medians of {args.rounds} rounds")
    print("layers: M matrix products, T tiles of four, - each DOT alone")
    print(f"{'network':<28}{'layers':>8}{'matrix path':>13}{'without':>10}{'× faster':>10}")
    ratios = []
    for _ in range(args.networks):
        sizes, how, fast, plain = network(rng, args.rounds)
        print(f"{sizes:<28}{how:>8}{fast:>13.1f}{plain:>10.1f}{plain / fast:>10.2f}")
        if "M" in how or "B" in how:
            ratios.append(plain / fast)
    if ratios:
        print(
            f"\n{len(ratios)} network{'s' if len(ratios) > 1 else ''} ran layers as matrix products: "
            f"the path {np.median(ratios):.2f}× "
            f"faster in the median, {min(ratios):.2f}× to {max(ratios):.2f}×"
        )


if __name__ == "__main__":
    main()
