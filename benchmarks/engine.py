"""Per-node costs of the engine: build, flatten, sweeps (scalar and batched), memory, start-up.

Run: python benchmarks/engine.py [--width 290] [--quick]
Everything is measured in this one run, as medians of repeats; where micrograd is
installed its backward runs on the same graph and the table gives the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc

os.environ.setdefault("MICROGRADX_JIT", "foreground")  # time the numba kernels, compiled at first use

import numba  # noqa: E402
import numpy as np  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value  # noqa: E402
from microgradx.backprop import kernel_code  # noqa: E402
from microgradx.core.tape import flatten  # noqa: E402
from microgradx.kernels import scalar  # noqa: E402


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def mixed_chain(n_nodes: int, value_cls=Value):
    """A deep graph of about n_nodes nodes mixing the common ops (mul, add, tanh, relu)."""
    x = value_cls(0.5)
    w = value_cls(0.9)
    v = x
    for i in range(n_nodes // 4):
        u = v * w + x  # 2 nodes
        v = u.tanh() if i % 2 else u.relu()  # 1 node
        v = v * 0.5 if i % 3 == 0 else v + w  # 1 node (+1 constant)
    return x, w, v


def mlp_graph(value_cls, width: int = 16, depth: int = 3, inputs: int = 2):
    """A micrograd-style MLP on one row (+, *, relu): the same graph in both engines."""
    rng = np.random.default_rng(0)
    xs = [value_cls(float(v)) for v in rng.uniform(-1, 1, inputs)]
    h = xs
    for _ in range(depth):
        layer = []
        for _ in range(width):
            act = value_cls(0.0)
            for x in h:
                act = act + value_cls(float(rng.uniform(-1, 1))) * x
            layer.append(act.relu())
        h = layer
    return sum(h[1:], h[0])


def first_backward(value_cls, repeats: int) -> float:
    """Seconds of the first backward() on a freshly built small MLP graph (median)."""
    times = []
    for _ in range(repeats):
        out = mlp_graph(value_cls)
        t = time.perf_counter()
        out.backward()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def startup_seconds() -> float:
    """A fresh process: import microgradx and run the first compiled backward (numba's disk cache)."""
    code = textwrap.dedent(
        """
        import time
        t = time.perf_counter()
        import microgradx
        from microgradx import Value
        x = Value(2.0); y = (x * x + 1).tanh()
        y.backward()
        print(time.perf_counter() - t)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def scalar_sweep_cost(out, reps: int) -> tuple[int, float, float]:
    """(nodes, flatten ns/node, scalar forward + backward ns/node) for the graph below out."""
    tape = flatten(out)
    n = len(tape)
    flat = median_time(lambda: flatten(out), reps) / n * 1e9
    vals = tape.initial_values()
    grads = np.zeros(n)
    code = kernel_code(tape)

    def sweeps() -> None:
        scalar.forward(*code, vals, np.int32(0))
        grads.fill(0.0)
        grads[tape.outputs[0]] = 1.0
        scalar.backward(*code, vals, grads, np.int32(0))

    sweeps()
    return n, flat, median_time(sweeps, reps) / n * 1e9


def batched_cost(out, inputs, rows: int, optimize: bool, check: bool = False) -> float:
    """ns per (original node × row) of a compiled forward + backward on `rows` rows."""
    step = microgradx.compile(out, inputs=inputs, optimize=optimize, check=check)
    X = np.random.default_rng(0).uniform(-1, 1, size=(rows, len(inputs)))

    def run() -> None:
        step.forward(X)
        step.backward()

    run()
    return median_time(run, 20) / (len(flatten(out)) * rows) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=290, help="width of the big MLP graph (290: ~1M nodes)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller graphs")
    args = parser.parse_args()
    width = 90 if args.quick else args.width
    reps = 3 if args.quick else 5
    rows: list[tuple[str, float, str, str]] = []

    startup_seconds()  # warm numba's cache on disk
    rows.append(("import + first backward, new process", startup_seconds() * 1e3, "ms", "<= 1000 ms"))

    t = time.perf_counter()
    big = mlp_graph(Value, width=width, depth=4, inputs=width)
    build = time.perf_counter() - t
    n, flat, sweep_ns = scalar_sweep_cost(big, reps)
    rows.append((f"MLP graph, micrograd-style (+, *, relu): {n} nodes", float(n), "nodes", ""))
    rows.append(("  build (Python operators)", build / n * 1e9, "ns/node", ""))
    rows.append(("  flatten to tape", flat, "ns/node", "<= 1000"))
    rows.append(("  scalar forward + backward", sweep_ns, "ns/node", "<= 5"))
    tape = flatten(big)
    tape_bytes = (tape.nbytes + 16 * len(tape)) / len(tape)  # + the data and grad arrays of a sweep
    rows.append(("  tape + sweep arrays, scalar", tape_bytes, "B/node", "<= 40"))
    t = time.perf_counter()
    big.backward()
    first = (time.perf_counter() - t) / n * 1e9
    rows.append(("  Value.backward(), first call", first, "ns/node", "flatten + sweep + write"))
    again = median_time(big.backward, 3) / n * 1e9
    rows.append(("  Value.backward(), again (tape kept)", again, "ns/node", "sweep + write"))
    del tape, big

    x, w, chain = mixed_chain(n)
    n_chain, flat_chain, sweep_chain = scalar_sweep_cost(chain, reps)
    rows.append((f"deep chain (mul, add, relu, tanh): {n_chain} nodes", float(n_chain), "nodes", ""))
    rows.append(("  flatten to tape", flat_chain, "ns/node", "<= 1000"))
    rows.append(("  scalar forward + backward", sweep_chain, "ns/node", "latency-bound; tanh ~25 ns"))
    del chain

    small = mlp_graph(Value, width=40, depth=4, inputs=40)
    inputs = [v for v in (flatten(small).nodes[s] for s in flatten(small).leaves)][:40]
    B = 100
    plain = batched_cost(small, inputs, B, optimize=False)
    rows.append((f"batched, B={B}, MLP graph of {len(flatten(small))} nodes", plain, "ns/node-row", "<= 2"))
    fast = batched_cost(small, inputs, B, optimize=True)
    rows.append(
        ("  with the tape passes (per original node-row)", fast, "ns/node-row", f"{plain / fast:.1f}x")
    )
    checked = batched_cost(small, inputs, B, optimize=False, check=True)
    rows.append(("  check=True (nan/inf tracing)", checked, "ns/node-row", f"cost {checked / plain:.2f}x"))

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = [w * 1.5 for _ in range(20_000)]
    per_value = (tracemalloc.get_traced_memory()[0] - before) / (2 * len(keep))
    tracemalloc.stop()
    rows.append(("Python memory per Value", per_value, "B", "<= 200"))

    try:
        from micrograd.engine import Value as MicroValue
    except ImportError:
        MicroValue = None
    m = len(flatten(mlp_graph(Value)))
    ours_first = first_backward(Value, reps) / m * 1e9
    ours = mlp_graph(Value)
    ours_again = median_time(ours.backward, reps) / m * 1e9
    rows.append(
        (f"backward of a small MLP graph ({m} nodes), microgradx", ours_first, "ns/node", "first call")
    )
    rows.append(("  again on the same graph", ours_again, "ns/node", ""))
    if MicroValue is not None:
        theirs_first = first_backward(MicroValue, reps) / m * 1e9
        theirs = mlp_graph(MicroValue)
        theirs_again = median_time(theirs.backward, reps) / m * 1e9
        ratio = f"ratio {theirs_first / ours_first:.1f}x"
        rows.append(("  same graph, micrograd, first call", theirs_first, "ns/node", ratio))
        rows.append(("  micrograd again", theirs_again, "ns/node", f"ratio {theirs_again / ours_again:.1f}x"))
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        a = MicroValue(1.0)
        keep_m = [a * 1.5 for _ in range(20_000)]
        per_m = (tracemalloc.get_traced_memory()[0] - before) / (2 * len(keep_m))
        tracemalloc.stop()
        rows.append(("  Python memory per Value, micrograd", per_m, "B", f"ratio {per_m / per_value:.1f}x"))
    else:
        rows.append(("  micrograd", float("nan"), "", "not installed (pip install micrograd)"))

    print(f"microgradx {microgradx.__version__}, numpy {np.__version__}, numba {numba.__version__}")
    print(f"{'measure':<52} {'value':>12}  {'unit':<12} floor / ratio")
    for name, value, unit, note in rows:
        print(f"{name:<52} {value:>12.2f}  {unit:<12} {note}")


if __name__ == "__main__":
    main()
