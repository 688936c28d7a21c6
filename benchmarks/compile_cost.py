"""Seconds numba spends compiling the lane sweeps, forward_lanes and backward_lanes, for the
README's moons graph: each run a fresh process on an empty numba cache (NUMBA_CACHE_DIR in a
temporary folder) that builds the graph and calls forward, then backward, once.

The seconds are numba's "numba:compile" events, nested as in coldstart.py's Table C: a
kernel's time includes the helpers it calls and compiles (not those inlined into it,
which are part of its own body). Compile times on a shared machine vary by a few seconds:
take the median of a few runs, and compare two source trees back to back
(PYTHONPATH=... picks the tree to measure).

    python benchmarks/compile_cost.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

KERNELS = ("run_forward", "forward_lanes", "run_backward", "backward_lanes")


def child() -> None:
    """In this fresh process: the moons graph's first forward and backward; JSON of compile seconds."""
    from numba.core import event

    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    stack: list[tuple[str, float]] = []

    class CompileLog(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            stack.append((ev.data["dispatcher"].py_func.__name__, time.perf_counter()))

        def on_end(self, ev: event.Event) -> None:
            name, start = stack.pop()
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
            counts[name] = counts.get(name, 0) + 1

    event.register("numba:compile", CompileLog())
    import numpy as np

    import microgradx
    from microgradx import Value
    from microgradx.datasets import make_moons
    from microgradx.nn import MLP

    X, labels = make_moons(100, noise=0.1, seed=1)
    model = MLP(2, [16, 16, 1], seed=0)
    xs, y = [Value(0.0), Value(0.0)], Value(0.0)
    loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
    step = microgradx.compile(loss, inputs=xs + [y])
    step.forward(np.column_stack([X, labels * 2.0 - 1.0]))
    step.backward()
    ours = {  # every numba function of the package: they all live in microgradx/kernels/
        name for module in list(sys.modules.values()) if module.__name__.startswith("microgradx.kernels.")
        for name, f in vars(module).items() if hasattr(f, "py_func")
    }  # fmt: skip
    again = {name: n for name, n in counts.items() if n > 1 and name in ours}
    print(json.dumps({"seconds": {k: seconds.get(k, 0.0) for k in KERNELS}, "again": again}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes (default 3)")
    repeat = parser.parse_args().repeat
    runs = []
    for k in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            env = dict(os.environ, NUMBA_CACHE_DIR=folder, MICROGRADX_JIT="foreground")
            done = subprocess.run(
                [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True
            )
        if done.returncode:
            sys.exit(f"run {k + 1} failed:\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append(report["seconds"])
        line = ", ".join(f"{name} {s:.1f}" for name, s in report["seconds"].items())
        print(
            f"run {k + 1}: {line} s"
            + (f"; compiled more than once: {report['again']}" if report["again"] else "")
        )
    print(f"median of {repeat} (s):")
    for name in KERNELS:
        print(f"  {name:15} {statistics.median(r[name] for r in runs):5.1f}")


if __name__ == "__main__":
    child() if "--child" in sys.argv else main()
