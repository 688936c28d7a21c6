"""Flattening: a graph of Values becomes a tape of NumPy arrays (structure of arrays).

Slot i of the tape holds one node, in topological order (operands before results):

    op[i]      its op code (`microgradx.ops.Op`)
    a[i], b[i] the slots of its operands (-1 where absent); for a CONST, `a` indexes
               `consts`; for a LEAF, `a` indexes `leaves`
    consts     the constants' values
    leaves     the slots of the leaves, in order of appearance

The sort is iterative (an explicit stack), so a chain of a million nodes flattens
as easily as a short one.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .engine import Value
from .ops import TABLE, Op


class Tape:
    """A flattened graph: op codes, operand slots and constants, one slot per node."""

    def __init__(
        self,
        op: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        consts: np.ndarray,
        leaves: np.ndarray,
        outputs: np.ndarray,
        nodes: list[Value],
    ) -> None:
        self.op = op
        self.a = a
        self.b = b
        self.consts = consts
        self.leaves = leaves
        self.outputs = outputs
        self.nodes = nodes
        # Filled by the last scalar sweep, so that print(tape) can show them.
        self.data: np.ndarray | None = None
        self.grad: np.ndarray | None = None

    def __len__(self) -> int:
        return self.op.size

    @property
    def nbytes(self) -> int:
        """Bytes held by the tape's arrays (excluding the Values it refers to)."""
        arrays = (self.op, self.a, self.b, self.consts, self.leaves, self.outputs)
        sweeps = tuple(x for x in (self.data, self.grad) if x is not None)
        return sum(x.nbytes for x in arrays + sweeps)

    def initial_values(self) -> np.ndarray:
        """A value per slot: constants and the leaves' current data, zeros elsewhere."""
        vals = np.zeros(len(self))
        c = np.flatnonzero(self.op == Op.CONST)
        vals[c] = self.consts[self.a[c]]
        nodes = self.nodes
        vals[self.leaves] = np.fromiter((nodes[s].data for s in self.leaves), float, self.leaves.size)
        return vals

    def line(self, i: int) -> str:
        """Slot i as one line of text, like JAX's jaxpr: `t4 = mul t2 t3`."""
        k = int(self.op[i])
        info = TABLE[k]
        if k == Op.CONST:
            rhs = f"const {self.consts[self.a[i]]:g}"
        elif k == Op.LEAF:
            rhs = "leaf"
        elif info.arity == 1:
            rhs = f"{info.name} t{self.a[i]}"
        else:
            rhs = f"{info.name} t{self.a[i]} t{self.b[i]}"
        text = f"t{i} = {rhs}"
        notes = []
        label = self.nodes[i].label if i < len(self.nodes) else ""
        if label:
            notes.append(label)
        if self.data is not None:
            notes.append(f"data {self.data[i]:.6g}")
        if self.grad is not None:
            notes.append(f"grad {self.grad[i]:.6g}")
        if notes:
            text = f"{text:<24}# " + "  ".join(notes)
        return text

    def __str__(self) -> str:
        lines = [self.line(i) for i in range(len(self))]
        outs = " ".join(f"t{o}" for o in self.outputs)
        lines.append(f"out {outs}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Tape {len(self)} slots, {self.leaves.size} leaves, {self.consts.size} consts>"


def flatten(outputs: Value | Sequence[Value]) -> Tape:
    """Sort the graph(s) below `outputs` topologically into a Tape."""
    roots = [outputs] if isinstance(outputs, Value) else list(outputs)
    for k, r in enumerate(roots):
        if not isinstance(r, Value):
            raise TypeError(f"output #{k} is {type(r).__name__}, not a Value")

    slot: dict[int, int] = {}  # id(Value) -> slot
    nodes: list[Value] = []
    ops: list[int] = []
    a_slots: list[int] = []
    b_slots: list[int] = []
    consts: list[float] = []
    leaves: list[int] = []
    LEAF, CONST = Op.LEAF, Op.CONST
    for root in roots:
        stack = [root]
        while stack:
            v = stack[-1]
            if id(v) in slot:
                stack.pop()
                continue
            x, y = v._a, v._b
            ready = True
            if y is not None and id(y) not in slot:
                stack.append(y)
                ready = False
            if x is not None and id(x) not in slot:  # pushed last, so placed first
                stack.append(x)
                ready = False
            if not ready:
                continue
            stack.pop()
            i = len(nodes)
            slot[id(v)] = i
            nodes.append(v)
            op = v.op
            ops.append(op)
            if x is not None:
                a_slots.append(slot[id(x)])
                b_slots.append(-1 if y is None else slot[id(y)])
            elif op == CONST:
                a_slots.append(len(consts))
                b_slots.append(-1)
                consts.append(v._data)
            else:  # LEAF
                a_slots.append(len(leaves))
                b_slots.append(-1)
                leaves.append(i)
    return Tape(
        op=np.array(ops, dtype=np.int8),
        a=np.array(a_slots, dtype=np.int32),
        b=np.array(b_slots, dtype=np.int32),
        consts=np.array(consts, dtype=np.float64),
        leaves=np.array(leaves, dtype=np.int32),
        outputs=np.array([slot[id(r)] for r in roots], dtype=np.int32),
        nodes=nodes,
    )
