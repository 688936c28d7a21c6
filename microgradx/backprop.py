"""`Value.backward()`: flatten the graph, sweep the tape, write gradients back."""

from __future__ import annotations

import numpy as np

from . import kernels, nantrace, reference
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


def check_sweep(tape: Tape) -> None:
    """Raise FloatingPointError at the first non-finite value, then gradient, of a swept tape."""
    ref = np.arange(len(tape), dtype=np.int32)
    empty = np.zeros(0)
    slot, _ = nantrace.first_nonfinite(
        tape.op, tape.a, tape.b, tape.args, ref, tape.data.reshape(-1, 1), empty, nantrace.ARITY
    )
    if slot >= 0:
        raise nantrace.value_error(tape, slot, -1, lambda s: tape.data[s])
    slot, _ = nantrace.last_nonfinite(ref, tape.grad.reshape(-1, 1), empty)
    if slot >= 0:
        raise nantrace.grad_error(tape, slot, -1, lambda s: tape.grad[s])


def backward(root: Value, engine: str = "numba", check: bool = False) -> Tape:
    """Fill every node's .grad with ∂root/∂node; leaves accumulate, others are set.

    Computed nodes also get their .data refreshed from the leaves' current values.
    With check=True a nan or inf raises FloatingPointError naming where it came
    from, and no gradient is written.
    """
    tape = flatten(root)
    sweep(tape, engine)
    if check:
        check_sweep(tape)
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
