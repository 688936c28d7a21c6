"""`microgradx warmup`: compile (or load) every numba kernel a user can reach, ahead of time.

Each step below calls the kernels the way the package does, on a small graph that
uses every op, so that numba compiles exactly the signatures a program will ask for
and keeps them in its cache (see jit.py). When all are there it says so in the
cache's stamp, and every later process runs the numba kernels from its first call.
For container images and CI, and run in the background by the first process that
needs the kernels.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import numpy as np

from . import jit


def _graph_of_every_op():
    """A small graph reading two inputs through every op, and a 2-4-4-1 MLP's hinge loss + L2."""
    from .engine import Value
    from .nn import MLP

    x1, x2, y = Value(0.5, label="x1"), Value(-0.25, label="x2"), Value(1.0, label="y")
    model = MLP(2, [4, 4, 1], seed=0)
    p = model.parameters()[0]
    z = (x1 * p + x2 / (1.5 + p * p)) ** 2 - ((x1 * x1 + 0.5) ** p).log() + x2.exp().tanh()
    z = z + (x1 - x2).sigmoid() + x1.relu() + (x2 * x2 + 1.0).sqrt() + x1.sin() * x2.cos() + (-x1).abs()
    loss = (1 - y * model([x1, x2])).relu() + 1e-4 * sum(q * q for q in model.parameters()) + 1e-3 * z
    return [x1, x2, y], model, loss


def _scalar_sweeps() -> None:
    inputs, _, loss = _graph_of_every_op()
    loss.backward(engine="numba")
    loss.backward(engine="numba", check=True)


def _compiled_graph(check: bool) -> Callable[[], None]:
    def run() -> None:
        from .compiled import Compiled, compile
        from .optim import SGD, Adam

        inputs, model, loss = _graph_of_every_op()
        rng = np.random.default_rng(0)
        for rows in (1, 100, 2 * Compiled.parallel_rows):  # one row, a block, and threads
            X = rng.uniform(-1, 1, (rows, len(inputs)))
            step = compile(loss, inputs=inputs, check=check)
            step.forward(X)
            step.backward()
            for opt in (SGD(model.parameters(), lr=1e-3, momentum=0.9), Adam(model.parameters(), lr=1e-3)):
                step.train_step(X, opt)
                step.fit(X, opt, 2)
                opt.step()

    return run


STEPS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("scalar sweeps (Value.backward)", _scalar_sweeps),
    ("compiled graphs: forward, backward, train_step, fit, optimizers", _compiled_graph(check=False)),
    ("compiled graphs with check=True", _compiled_graph(check=True)),
)


def warmup(stream=sys.stderr) -> float:
    """Compile or load every kernel, saying each step on `stream`; returns the seconds taken.

    Marks the cache ready (jit.py) when all are there; raises what numba raised if not.
    """
    jit.State.numba = True  # this process runs the numba kernels, whatever MICROGRADX_JIT says
    jit.CompileNotice.quiet = True
    start = time.perf_counter()
    with jit.Lock():
        try:
            for k, (name, step) in enumerate(STEPS, 1):
                t = time.perf_counter()
                print(f"[{k}/{len(STEPS)}] {name} ...", end="", file=stream, flush=True)
                step()
                print(f" {time.perf_counter() - t:.1f} s", file=stream, flush=True)
        except BaseException:
            jit.mark_failed()
            raise
        jit.mark_ready()
    return time.perf_counter() - start


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `warmup` subcommand to the `microgradx` command line."""
    p = sub.add_parser(
        "warmup", help="compile every numba kernel now (once per machine)", description=__doc__
    )
    p.add_argument("--background", action="store_true", help=argparse.SUPPRESS)  # started by jit.py
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    if args.background:
        os.nice(10)  # the user's own program comes first
    print(f"compiling microgradx's numba kernels into {jit.cache_dir()}", file=sys.stderr, flush=True)
    seconds = warmup()
    print(f"all kernels compiled and cached in {seconds:.1f} s", file=sys.stderr)
    return 0
