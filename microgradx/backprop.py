"""`Value.backward()`: flatten the graph, sweep the tape, write gradients back."""

from __future__ import annotations

import numpy as np

from . import kernels, reference
from .engine import Value
from .ops import Op
from .tape import Tape, flatten

ENGINES = ("numba", "python")


def sweep(tape: Tape, engine: str = "numba", seed: float = 1.0) -> None:
    """Forward from the leaves' current values, then reverse from the outputs.

    Leaves tape.data and tape.grad filled (∂output/∂slot, summed over outputs).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: use one of {ENGINES}")
    vals = tape.initial_values()
    grads = np.zeros(len(tape))
    grads[tape.outputs] = seed
    if engine == "numba":
        kernels.forward(tape.op, tape.a, tape.b, tape.args, vals)
        kernels.backward(tape.op, tape.a, tape.b, tape.args, vals, grads)
    else:
        code = tape.op.tolist(), tape.a.tolist(), tape.b.tolist(), tape.args.tolist()
        v, g = vals.tolist(), grads.tolist()
        reference.forward(*code, v)
        reference.backward(*code, v, g)
        vals, grads = np.array(v), np.array(g)
    tape.data, tape.grad = vals, grads


def backward(root: Value, engine: str = "numba") -> Tape:
    """Fill every node's .grad with ∂root/∂node; leaves accumulate, others are set.

    Computed nodes also get their .data refreshed from the leaves' current values.
    """
    tape = flatten(root)
    sweep(tape, engine)
    data, grad = tape.data.tolist(), tape.grad.tolist()
    for v, d, g in zip(tape.nodes, data, grad):
        if v._a is not None:
            v._data = d
            v._grad = g
        elif v.op == Op.CONST:
            v._grad = g
        else:
            v.grad += g
    return tape
