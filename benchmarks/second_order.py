"""Forward over reverse or reverse over reverse: which way a compiled Hessian-vector product goes.

The moons MLP(2, [16, 16, 1]) of examples/moons.py, its hinge loss + L2 on 100 rows, 337
parameters. Each contestant computes H·v of the mean loss w.r.t. the parameters (and the
whole 337 × 337 Hessian), all on the package's existing kernels:

    for           forward over reverse, what Compiled.hvp does: the tangent graph of the
                  gradient graph (modes.tangent_graph over modes.adjoint_graph), v as input
                  columns; the Hessian as n such calls, v = e₁ … eₙ
    for, rows     the same graph, the Hessian's n directions as rows (x's rows repeated once
                  per direction), in blocks of 124 directions (32 MB of output a forward)
    rev, graph    reverse over reverse as a graph: the gradient graph of g·v (Value.dot of
                  the gradient graph and v), v as input columns, run forward
    rev, kernel   reverse over reverse with the kernels' own reverse sweep: g·v compiled, its
                  forward and backward(mean) put H·v in the parameters' gradients (the
                  Hessian: one forward and backward per direction)
    gradient      the Hessian only, what Compiled.hessian does: the gradient graph compiled
                  with n outputs (on copies of the parameters), one backward(output=k) per
                  row k of H, its parameters' gradients summed over the rows in the kernel

Each is checked against the first; the table gives the tape slots of the compiled graph
and the median time of a call (ratios within one run are what count).

    python benchmarks/second_order.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import microgradx
from microgradx import Value
from microgradx.compiler.second_order import derived_graph
from microgradx.datasets import make_moons
from microgradx.modes import adjoint_graph
from microgradx.nn import MLP


def moons():
    X, y = make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], seed=1337, init="micrograd")
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    target = Value(0.0, label="y")
    loss = (1 - target * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
    return np.column_stack([X, y * 2.0 - 1.0]), xs + [target], loss


def median_time(f, repeat: int) -> float:
    f()  # the first call compiles the derived graph
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rows, inputs, loss = moons()
    step = microgradx.compile(loss, inputs=inputs)
    params = step.parameters
    n, m = len(params), rows.shape[0]
    v = np.random.default_rng(0).normal(size=n)
    grads = adjoint_graph(loss, params)
    g = [grads[p] for p in params]
    vs = [Value(0.0, label=f"v{k}") for k in range(n)]
    s = Value.dot(g, vs)  # g·v, one row's

    # rev, graph
    second = adjoint_graph(s, params)
    rev_graph = microgradx.compile([second[p] for p in params], inputs=inputs + vs)
    # rev, kernel
    rev_kernel = microgradx.compile(s, inputs=inputs + vs)
    # for, rows: Compiled.hvp's graph, its directions as rows
    derived = derived_graph(step, "hvp")
    assert derived.dir_cols.size == n and derived.in_cols.size == len(inputs)

    def rows_hessian(block=124):
        H = np.zeros((n, n))
        for start in range(0, n, block):
            k = min(block, n - start)
            X = np.hstack([np.tile(rows, (k, 1)), np.repeat(np.eye(n)[start : start + k], m, axis=0)])
            H[start : start + k] = derived.graph.forward(X).reshape(k, m, n).mean(axis=1)
        return H

    def with_v(direction):
        return np.hstack([rows, np.tile(direction, (m, 1))])

    def kernel_hvp(direction):
        saved = step.store.grad.copy()
        step.store.grad[:] = 0.0
        rev_kernel.forward(with_v(direction))
        rev_kernel.backward()
        out = step.store.grad[step.p_idx].copy()
        step.store.grad[:] = saved
        return out

    def kernel_hessian():
        return np.array([kernel_hvp(e) for e in np.eye(n)])

    hvps = {
        "for": lambda: step.hvp(rows, v),
        "rev, graph": lambda: rev_graph.forward(with_v(v)).mean(axis=0),
        "rev, kernel": lambda: kernel_hvp(v),
    }
    hessians = {
        "for": lambda: np.array([step.hvp(rows, e) for e in np.eye(n)]),
        "for, rows": rows_hessian,
        "rev, kernel": kernel_hessian,
        "gradient": lambda: step.hessian(rows),
    }
    want = step.hvp(rows, v)
    H = step.hessian(rows)
    slots = {
        "for": len(derived.graph.tape),
        "for, rows": len(derived.graph.tape),
        "rev, graph": len(rev_graph.tape),
        "rev, kernel": len(rev_kernel.tape),
        "gradient": len(derived_graph(step, "hessian").graph.tape),
    }
    print(f"moons MLP(2, [16, 16, 1]), {m} rows, {n} parameters; loss tape {len(step.tape)} slots")
    print(f"{'H·v':<14}{'slots':>8}{'ms':>10}   max |error|")
    for name, f in hvps.items():
        err = np.abs(f() - want).max()
        print(f"{name:<14}{slots[name]:>8}{median_time(f, args.repeat) * 1e3:>10.2f}   {err:.1e}")
    print(f"{'Hessian':<14}{'slots':>8}{'ms':>10}   max |error|")
    for name, f in hessians.items():
        err = np.abs(f() - H).max()
        print(
            f"{name:<14}{slots[name]:>8}{median_time(f, max(3, args.repeat // 5)) * 1e3:>10.1f}   {err:.1e}"
        )


if __name__ == "__main__":
    main()
