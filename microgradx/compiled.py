"""`microgradx.compile`: flatten a graph once, replay it on new inputs many times.

`Compiled` is the compiler's Graph (compiler/graph.py: the tape bound to its parameters,
forward and backward on batches of rows) with the methods built on it, each from the part
that does that job:

    jvp, hvp, hessian    forward mode and second derivatives on a batch (compiler/second_order.py)
    train_step, fit      training steps in one compiled call, and epochs (training/steps.py, epochs.py)
"""

from __future__ import annotations

from collections.abc import Sequence

from .compiler import second_order
from .compiler.graph import Graph
from .core.engine import Value
from .training import epochs, steps


class Compiled(Graph):
    """A graph flattened to a tape, with its inputs and parameters located on it: `forward`,
    `backward`, `jvp`, `hvp`, `hessian`, `train_step` and `fit` (see the module's list)."""

    opt_slots: tuple = steps.NO_OPTIMIZER  # the fused steps' optimizer, until its first step (steps.py)
    jvp = second_order.jvp
    hvp = second_order.hvp
    hessian = second_order.hessian
    train_step = steps.train_step
    fit = epochs.fit


def compile(  # noqa: A001
    outputs: Value | Sequence[Value],
    inputs: Sequence[Value] = (),
    optimize: bool | Sequence[str] = True,
    check: bool = False,
    threads: bool = False,
) -> Compiled:
    """Flatten `outputs` once into a replayable compiled graph with the given input leaves.

    `optimize` runs the tape passes (all by default; False for none, or a list of
    names from `microgradx.compiler.passes.PASSES`). `check=True` scans every forward and
    backward for nan or inf and raises FloatingPointError naming where it came from.
    `threads=True` splits batches of `Compiled.parallel_rows` rows or more over numba's
    threads: up to 1.8 times faster on a machine of your own, many times slower on a
    busy shared one (benchmarks/parallel.py); its kernels compile at its first such batch.
    """
    return Compiled(outputs, inputs, optimize, check, threads)
