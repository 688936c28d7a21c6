"""Per-node costs of the engine: build, flatten, sweeps (scalar and batched), memory, start-up.

Run: python benchmarks/engine.py [--nodes 1000000] [--quick]
Everything is measured in this one run, as medians of repeats; where micrograd is
installed its backward runs on the same graph and the table gives the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np

import microgradx
from microgradx import Value, kernels
from microgradx.tape import flatten


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000, help="size of the big graph")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller graphs")
    args = parser.parse_args()
    n = 100_000 if args.quick else args.nodes
    reps = 3 if args.quick else 5
    rows: list[tuple[str, float, str, str]] = []

    startup_seconds()  # warm numba's cache on disk
    rows.append(("import + first backward, new process", startup_seconds() * 1e3, "ms", "<= 1000 ms"))

    t = time.perf_counter()
    x, w, out = mixed_chain(n)
    build = time.perf_counter() - t
    tape = flatten(out)
    N = len(tape)
    rows.append(("build graph (Python operators)", build / N * 1e9, "ns/node", ""))
    rows.append(("flatten to tape", median_time(lambda: flatten(out), reps) / N * 1e9, "ns/node", "<= 1000"))

    vals = tape.initial_values()
    grads = np.zeros(N)
    code = (tape.op, tape.a, tape.b, tape.args)

    def scalar_sweeps() -> None:
        kernels.forward(*code, vals)
        grads.fill(0.0)
        grads[tape.outputs[0]] = 1.0
        kernels.backward(*code, vals, grads)

    scalar_sweeps()
    rows.append(("scalar forward + backward", median_time(scalar_sweeps, reps) / N * 1e9, "ns/node", "<= 5"))
    rows.append(
        ("tape + sweep arrays, scalar", (tape.nbytes + vals.nbytes + grads.nbytes) / N, "B/node", "<= 40")
    )
    rows.append(
        ("Value.backward() (flatten+sweep+write)", median_time(out.backward, 3) / N * 1e9, "ns/node", "")
    )

    # Batched: 100 lanes on a graph that fits in cache, as a training step's graph does.
    bx, bw, bout = mixed_chain(4_000)
    step = microgradx.compile(bout, inputs=[bx])
    B = 100
    X = np.linspace(-1, 1, B)[:, None]
    bn = len(step.tape)

    def batched() -> None:
        step.forward(X)
        step.backward()

    batched()
    per = median_time(batched, 20) / (bn * B) * 1e9
    rows.append((f"batched forward + backward, B={B}, {bn} slots", per, "ns/node-row", "<= 2"))
    checked = microgradx.compile(bout, inputs=[bx], check=True)

    def batched_checked() -> None:
        checked.forward(X)
        checked.backward()

    batched_checked()
    per_checked = median_time(batched_checked, 20) / (bn * B) * 1e9
    rows.append(("  the same with check=True (nan/inf tracing)", per_checked, "ns/node-row",
                 f"cost {per_checked / per:.2f}x"))  # fmt: skip

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
    ours = mlp_graph(Value)
    m = len(flatten(ours))
    t_ours = median_time(ours.backward, reps) / m * 1e9
    rows.append((f"backward of an MLP graph ({m} nodes), microgradx", t_ours, "ns/node", ""))
    if MicroValue is not None:
        theirs = mlp_graph(MicroValue)
        t_theirs = median_time(theirs.backward, reps) / m * 1e9
        rows.append(("  same graph, micrograd", t_theirs, "ns/node", f"ratio {t_theirs / t_ours:.1f}x"))
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        a = MicroValue(1.0)
        keep_m = [a * 1.5 for _ in range(20_000)]
        per_m = (tracemalloc.get_traced_memory()[0] - before) / (2 * len(keep_m))
        tracemalloc.stop()
        rows.append(("  Python memory per Value, micrograd", per_m, "B", f"ratio {per_m / per_value:.1f}x"))
    else:
        rows.append(("  micrograd", float("nan"), "", "not installed (pip install micrograd)"))

    print(f"microgradx {microgradx.__version__}, numpy {np.__version__}, big graph {N} nodes")
    print(f"{'measure':<48} {'value':>12}  {'unit':<12} floor / ratio")
    for name, value, unit, note in rows:
        print(f"{name:<48} {value:>12.2f}  {unit:<12} {note}")


if __name__ == "__main__":
    main()
