"""Where splitting the rows over threads starts to pay: fit's µs per step, serial vs parallel.

A compiled graph cuts a batch into blocks of `Compiled.block_rows` rows; from
`Compiled.parallel_rows` rows on, the blocks run on all of numba's threads (prange).
This script times both ways in one run, interleaved, for a range of batch sizes,
and prints the ratio and the smallest batch where the threads win.

    python benchmarks/parallel.py [--width 16] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np

import microgradx
from microgradx import Value
from microgradx.datasets import make_moons
from microgradx.nn import MLP
from microgradx.optim import SGD


def contestant(rows: int, width: int, parallel: bool):
    """A compiled moons step on `rows` rows, with the threads forced on or off."""
    X, labels = make_moons(rows, noise=0.1, seed=1)
    XY = np.column_stack([X, labels * 2.0 - 1.0])
    model = MLP(2, [width, width, 1], seed=0)
    xs = [Value(0.0), Value(0.0)]
    y = Value(0.0)
    loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
    step = microgradx.compile(loss, inputs=xs + [y])
    step.parallel_rows = 1 if parallel else 10**12
    opt = SGD(model.parameters(), lr=1e-3)
    step.fit(XY, opt, 2)  # compile, and make the workspace
    return lambda steps: step.fit(XY, opt, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [64, 256, 1024, 4096] if args.quick else [32, 64, 100, 128, 256, 512, 1024, 4096, 16384]
    rounds = 3 if args.quick else 7
    block = microgradx.Compiled.block_rows
    print(f"numba threads: {numba.get_num_threads()}, width {args.width}, block {block} rows")
    print(f"{'rows':>8} {'serial µs':>12} {'parallel µs':>12} {'parallel/serial':>16}")
    crossover = None
    for rows in sizes:
        runs = {flag: contestant(rows, args.width, flag) for flag in (False, True)}
        steps = max(2, int(2e5 / (rows * args.width / 16)))
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(rounds):
            for flag, run in runs.items():  # interleaved: a busy machine slows both alike
                t = time.perf_counter()
                run(steps)
                times[flag].append((time.perf_counter() - t) / steps * 1e6)
        serial, parallel = statistics.median(times[False]), statistics.median(times[True])
        if crossover is None and parallel < serial:
            crossover = rows
        print(f"{rows:>8} {serial:>12.1f} {parallel:>12.1f} {parallel / serial:>16.2f}")
    print(f"threads pay from about {crossover} rows" if crossover else "threads never paid here")
    print(f"(Compiled.parallel_rows is {microgradx.Compiled.parallel_rows})")


if __name__ == "__main__":
    main()
