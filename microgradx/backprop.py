"""`Value.backward()`: flatten the graph, sweep the tape, write gradients back."""

from __future__ import annotations

import copy

import numpy as np

from .core import nantrace, reference
from .core.engine import Value
from .core.ops import ARITY, Op
from .core.tape import Tape, flatten
from .kernels import jit, scalar

ENGINES = ("numba", "python")


def sweep(tape: Tape, engine: str | None = None, seed: float = 1.0) -> None:
    """Forward from the leaves' current values, then reverse from the outputs.

    Leaves tape.data and tape.grad filled (∂output/∂slot, summed over outputs).
    engine: "numba", "python", or None for numba's once compiled, Python's until then.
    """
    if engine is None:
        engine = "numba" if jit.compiled() else "python"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: use one of {ENGINES}")
    vals = tape.initial_values()
    grads = np.zeros(len(tape))
    grads[tape.outputs] = seed
    if engine == "numba":
        code = kernel_code(tape)
        scalar.forward(*code, vals, np.int32(0))
        scalar.backward(*code, vals, grads, np.int32(0))
    else:
        code = tape.op.tolist(), tape.a.tolist(), tape.b.tolist(), tape.args.tolist()
        v, g = vals.tolist(), grads.tolist()
        reference.forward(*code, v)
        reference.backward(*code, v, g)
        vals, grads = np.array(v), np.array(g)
    tape.data, tape.grad = vals, grads


def kernel_code(tape: Tape) -> tuple[np.ndarray, ...]:
    """The tape's op, a, b and args (and no squares) in the types of a compiled graph's uniform program
    (kernels/layout.py's program_parts: unsigned 32-bit), so that numba compiles each scalar sweep once
    for both (and the first computed slot as np.int32, as the program gives it)."""
    return (
        tape.op.astype(np.uint32),
        tape.a.view(np.uint32),
        tape.b.view(np.uint32),
        tape.args.view(np.uint32),
        np.zeros(0, np.uint32),  # no squares_runs: each DOT looks for its run of squares itself
    )


def check_sweep(tape: Tape) -> None:
    """Raise FloatingPointError at the first non-finite value, then gradient, of a swept tape."""
    ref = np.arange(len(tape), dtype=np.int32)
    empty = np.zeros(0)
    slot, _ = nantrace.first_nonfinite(
        tape.op, tape.a, tape.b, tape.args, ref, tape.data.reshape(-1, 1), empty, ARITY
    )
    if slot >= 0:
        raise nantrace.value_error(tape, slot, -1, lambda s: tape.data[s])
    slot, _ = nantrace.last_nonfinite(ref, tape.grad.reshape(-1, 1), empty)
    if slot >= 0:
        raise nantrace.grad_error(tape, slot, -1, lambda s: tape.grad[s])


class Plan:
    """A root's tape and its nodes sorted by role, kept on the root after its first backward().

    A graph below a Value never changes shape (operands are fixed when a node is
    made), so later backward() calls on the same root skip flattening. The plan
    holds every node but the root itself, so root → plan → nodes makes no cycle.
    """

    __slots__ = ("tape", "root_slot", "inner", "inner_slots", "leaves", "leaf_slots", "consts", "const_slots")

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self.root_slot = int(tape.outputs[0])
        tape.nodes[self.root_slot] = None  # no reference back to the root
        computed = tape.op > Op.CONST
        computed[self.root_slot] = False
        self.inner_slots = np.flatnonzero(computed)
        self.leaf_slots = tape.leaves.astype(np.int64)
        self.const_slots = np.flatnonzero(tape.op == Op.CONST)
        nodes = tape.nodes
        self.inner = [nodes[s] for s in self.inner_slots.tolist()]
        self.leaves = [nodes[s] for s in self.leaf_slots.tolist()]
        self.consts = [nodes[s] for s in self.const_slots.tolist()]


def backward(root: Value, engine: str | None = None, check: bool = False) -> Tape:
    """Fill every node's .grad with ∂root/∂node; leaves accumulate, others are set.

    Computed nodes also get their .data refreshed from the leaves' current values.
    With check=True a nan or inf raises FloatingPointError naming where it came
    from, and no gradient is written. Returns the swept tape.
    """
    if root._a is None:  # a lone leaf or constant: ∂root/∂root = 1
        tape = flatten(root)
        sweep(tape, engine)
        if root.op == Op.LEAF:
            root.grad += 1.0
        else:
            root._grad = 1.0
        return tape
    plan = root._plan
    if plan is None:
        plan = root._plan = Plan(flatten(root))
    tape = plan.tape
    tape.nodes[plan.root_slot] = root  # for the sweep and for its caller; taken out again below
    try:
        sweep(tape, engine)
        if check:
            check_sweep(tape)
    finally:
        tape.nodes[plan.root_slot] = None
    data, grad = tape.data, tape.grad
    for v, d, g in zip(plan.inner, data[plan.inner_slots].tolist(), grad[plan.inner_slots].tolist()):
        v._data = d
        v._grad = g
    for v, g in zip(plan.consts, grad[plan.const_slots].tolist()):
        v._grad = g
    for v, g in zip(plan.leaves, grad[plan.leaf_slots].tolist()):
        v.grad += g
    root._data = float(data[plan.root_slot])
    root._grad = float(grad[plan.root_slot])
    swept = copy.copy(tape)
    swept.nodes = list(tape.nodes)
    swept.nodes[plan.root_slot] = root
    return swept
