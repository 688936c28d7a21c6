"""Whether splitting the rows over threads pays, on an idle machine and on a busy one.

A compiled graph cuts a batch into blocks of `Compiled.block_rows` rows; compiled with
`threads=True`, from `Compiled.parallel_rows` rows on, the blocks run on all of numba's
threads (prange). This script is why one thread is the default: on this project's
2-core machines two threads gained at most 1.8 times on an idle machine, from about
256 rows, and lost at every size, up to hundreds of times, with two other busy
processes on the machine.
This script trains the moons MLP with `fit(XY, opt, steps)`, `steps` chosen so
that one call takes about 2 ms, and times many calls of three contestants:

    serial     the rows' blocks one after the other, on the calling thread
    parallel   the blocks over all numba's threads
    1 thread   the same parallel graph, under numba.set_num_threads(1) for the call

Calls are interleaved in short bursts (a busy machine slows every contestant
alike), and each call's µs per step is kept: the tables give the median, the
mean, the 90th percentile and the worst call, since on a busy machine threads can
lose in the tail (a numba thread waiting for a core) while the median looks fine.

It runs twice: idle (no load of ours; the load average printed shows the rest),
then under load (N busy background processes that this script starts and ends;
each also ends by itself after a few minutes, or when this script dies). Each
time it also runs serial and parallel in fresh processes with another threading
layer (NUMBA_THREADING_LAYER must be set before numba starts its threads), or
with OpenMP's idle threads sleeping at once instead of spinning
(OMP_WAIT_POLICY=passive) or spinning briefly (GOMP_SPINCOUNT). A verdict table
ends the run.

    python benchmarks/parallel.py [--width 16] [--quick] [--load 2] [--no-layers]

--load 0 runs the idle part only. A full run takes a few minutes, --quick about one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

os.environ.setdefault("MICROGRADX_JIT", "foreground")  # time the numba kernels, never the NumPy stand-ins

import numba  # noqa: E402
import numpy as np  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value  # noqa: E402
from microgradx.datasets import make_moons  # noqa: E402
from microgradx.nn import MLP  # noqa: E402
from microgradx.optim import SGD  # noqa: E402

CALL_US = 2000  # one timed call: about this many µs of serial work
BURST = 5  # calls in a row for one contestant before the next one's turn

# A busy background process: pure Python, ends after argv[1] seconds or when its parent is gone.
BUSY = """
import os, sys, time
parent, end = os.getppid(), time.monotonic() + float(sys.argv[1])
while time.monotonic() < end and os.getppid() == parent:
    for _ in range(100_000):
        pass
"""

# The threading variants tried in fresh processes: a label and the environment it runs in.
LAYERS = [
    ("omp", {"NUMBA_THREADING_LAYER": "omp"}),
    ("omp, OMP_WAIT_POLICY=passive", {"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "passive"}),
    ("omp, GOMP_SPINCOUNT=10000", {"NUMBA_THREADING_LAYER": "omp", "GOMP_SPINCOUNT": "10000"}),
    ("workqueue", {"NUMBA_THREADING_LAYER": "workqueue"}),
]


def contestant(rows: int, width: int, parallel: bool):
    """A compiled moons step on `rows` rows, with the threads forced on or off."""
    X, labels = make_moons(rows, noise=0.1, seed=1)
    XY = np.column_stack([X, labels * 2.0 - 1.0])
    model = MLP(2, [width, width, 1], seed=0)
    xs = [Value(0.0), Value(0.0)]
    y = Value(0.0)
    loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
    step = microgradx.compile(loss, inputs=xs + [y], threads=parallel)
    step.parallel_rows = 1 if parallel else 10**12
    opt = SGD(model.parameters(), lr=1e-3)
    step.fit(XY, opt, 2)  # compile, and make the workspace
    return lambda steps: step.fit(XY, opt, steps)


def on_one_thread(run):
    """run, with numba's threads set to one for the call (the same compiled graph and workspace)."""
    threads = numba.get_num_threads()

    def run_one(steps: int):
        numba.set_num_threads(1)
        try:
            return run(steps)
        finally:
            numba.set_num_threads(threads)

    return run_one


def contestants(rows: int, width: int, names: tuple[str, ...]) -> dict:
    parallel = contestant(rows, width, True)
    runs = {"serial": contestant(rows, width, False), "parallel": parallel}
    runs["1 thread"] = on_one_thread(parallel)
    return {name: runs[name] for name in names}


def call_us(run, steps: int) -> float:
    t = time.perf_counter()
    run(steps)
    return (time.perf_counter() - t) * 1e6


def steps_for(run) -> int:
    """Steps for one call of about CALL_US µs, from the best of a few short serial calls."""
    per_step = min(call_us(run, 10) for _ in range(5)) / 10
    return max(1, round(CALL_US / per_step))


def measure(runs: dict, steps: int, calls: int, budget: float) -> dict[str, np.ndarray]:
    """µs per step of each call: `calls` calls per contestant, fewer once `budget` seconds are spent
    (but at least BURST each: a slow contestant's calls can take seconds)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    end = time.perf_counter() + budget
    turn = 0
    while min(len(t) for t in times.values()) < calls:
        for name in names[turn % len(names) :] + names[: turn % len(names)]:  # each goes first in turn
            for _ in range(BURST):
                if len(times[name]) >= BURST and time.perf_counter() > end:
                    break
                times[name].append(call_us(runs[name], steps) / steps)
        if time.perf_counter() > end:
            break
        turn += 1
    return {name: np.array(t) for name, t in times.items()}


def spread(t: np.ndarray) -> tuple[float, float, float, float]:
    """(median, mean, 90th percentile, worst)."""
    return float(np.median(t)), float(t.mean()), float(np.percentile(t, 90)), float(t.max())


def table(sizes: list[int], args, names: tuple[str, ...]) -> dict:
    """Time the contestants at each size, a line each; returns {rows: {name: µs per step of each call}}."""
    calls = 100 if args.quick else 200
    budget = 6.0 if args.quick else 8.0  # seconds per size, if the calls are slow
    print(
        f"{'rows':>6} {'steps':>5} {'calls':>5}  {'':<9} {'median':>8} {'mean':>8} {'p90':>8} {'worst':>8}"
        "   ÷ serial: median  worst"
    )
    results = {}
    for rows in sizes:
        runs = contestants(rows, args.width, names)
        steps = steps_for(runs["serial"])
        times = results[rows] = measure(runs, steps, calls, budget)
        base = spread(times["serial"])
        for k, name in enumerate(names):
            stats = spread(times[name])
            first = f"{rows:>6} {steps:>5}" if k == 0 else " " * 12
            first += f" {len(times[name]):>5}"
            line = f"{first}  {name:<9}" + "".join(f" {v:>8.1f}" for v in stats)
            if name != "serial":
                line += f"   {'':<9} {stats[0] / base[0]:>6.2f} {stats[3] / base[3]:>6.2f}"
            print(line, flush=True)
    return results


@contextlib.contextmanager
def busy(n: int, seconds: float):
    """n busy background processes, for at most `seconds` (ended sooner on leaving the block)."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY, str(seconds)]) for _ in range(n)]
    try:
        time.sleep(0.5)  # let them start
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def layer_tables(args, phase: str) -> None:
    """Serial and parallel in each of LAYERS, each in a fresh process (under our load, if any)."""
    print(f"\nthreading layers, {phase}; each in a fresh process, serial and parallel:")
    for label, env in LAYERS:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", label, "--width", str(args.width)]
        timeout = 60 if args.quick else 90
        try:
            out = subprocess.run(
                cmd + (["--quick"] if args.quick else []),
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:  # numba's cache was cleared meanwhile, and it compiles under load
            print(f"{label}: no answer in {timeout} s (compiling?)", flush=True)
            continue
        print(out.stdout, end="", flush=True)
        if out.returncode:
            print(f"{label}: failed: {out.stderr.strip().splitlines()[-1:]}")


def child(args) -> None:
    """For --child: serial and parallel in this process's threading layer, at a few sizes."""
    contestant(64, args.width, True)  # a parallel run, so that numba has chosen its threading layer
    print(f"{args.child} (numba's threading layer: {numba.threading_layer()})")
    table([1024] if args.quick else [1024, 4096], args, ("serial", "parallel"))


def verdict(idle: dict, loaded: dict | None, load: int) -> None:
    """Per size: parallel (and 1 thread) over serial, idle and loaded, median and tail."""

    def ratio(results: dict, rows: int, name: str, k: int) -> float:
        return spread(results[rows][name])[k] / spread(results[rows]["serial"])[k]

    print(f"\nverdict: time ÷ serial's (below 1: faster than serial); load: {load} busy processes")
    heads = ["parallel idle: median"]
    if loaded:
        heads += ["load: median", "mean", "p90", "worst", "1 thread load: median", "worst"]
    print(f"{'rows':>6}" + "".join(f" {h:>{max(len(h), 7)}}" for h in heads))
    crossover = None
    for rows in idle:
        cells = [ratio(idle, rows, "parallel", 0)]
        if loaded:
            cells += [ratio(loaded, rows, "parallel", k) for k in range(4)]
            cells += [ratio(loaded, rows, "1 thread", k) for k in (0, 3)]
        print(f"{rows:>6}" + "".join(f" {c:>{max(len(h), 7)}.2f}" for c, h in zip(cells, heads)))
        if crossover is None and cells[0] < 1:
            crossover = rows
    print(f"idle, threads pay from about {crossover} rows" if crossover else "idle, threads never paid here")
    print(f"(Compiled.parallel_rows is {microgradx.Compiled.parallel_rows})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--load", type=int, default=2, help="busy background processes for the loaded run")
    parser.add_argument("--no-layers", action="store_true", help="skip the threading layers' processes")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the layers' processes
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sizes = [64, 256, 1024, 4096] if args.quick else [32, 64, 100, 128, 256, 512, 1024, 4096, 16384]
    names = ("serial", "parallel", "1 thread")
    contestant(64, args.width, True)  # a parallel run, so that numba has chosen its threading layer
    print(
        f"numba {numba.__version__}: threading layer {numba.threading_layer()}, "
        f"{numba.get_num_threads()} threads; {os.cpu_count()} cores; width {args.width}, "
        f"block {microgradx.Compiled.block_rows} rows; one call ≈ {CALL_US} µs of serial work"
    )
    print(f"\nidle (load average {os.getloadavg()[0]:.1f}): µs per step of each call")
    idle = table(sizes, args, names)
    if not args.no_layers:
        layer_tables(args, "idle")
    loaded = None
    if args.load > 0:
        with busy(args.load, seconds=480):
            print(f"\nunder load: {args.load} busy processes (load average {os.getloadavg()[0]:.1f})")
            loaded = table(sizes, args, names)
            if not args.no_layers:
                layer_tables(args, f"under the same load of {args.load}")
    verdict(idle, loaded, args.load)


if __name__ == "__main__":
    main()
