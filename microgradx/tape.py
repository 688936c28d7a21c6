"""Flattening: a graph of Values becomes a tape of NumPy arrays (structure of arrays).

Slot i of the tape holds one node, in topological order (operands before results):

    op[i]      its op code (`microgradx.ops.Op`)
    a[i], b[i] the slots of its operands (-1 where absent); for a CONST, `a` indexes
               `consts`; for a LEAF, `a` indexes `leaves`; for an n-ary op (SUM, DOT),
               its operands are args[a[i] : a[i] + b[i]]
    args       operand slots of the n-ary ops
    consts     the constants' values
    leaves     the slots of the leaves, in order of appearance

The sort is iterative (an explicit stack), so a chain of a million nodes flattens
as easily as a short one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .engine import Value
from .ops import ARITY, TABLE, Op


class Tape:
    """A flattened graph: op codes, operand slots and constants, one slot per node."""

    def __init__(
        self,
        op: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        args: np.ndarray,
        consts: np.ndarray,
        leaves: np.ndarray,
        outputs: np.ndarray,
        nodes: list[Value],
    ) -> None:
        self.op = op
        self.a = a
        self.b = b
        self.args = args
        self.consts = consts
        self.leaves = leaves
        self.outputs = outputs
        self.nodes = nodes
        # Filled by the last scalar sweep, so that print(tape) can show them.
        self.data: np.ndarray | None = None
        self.grad: np.ndarray | None = None

    @classmethod
    def from_lists(
        cls,
        ops: list[int],
        a: list[int],
        b: list[int],
        args: list[int],
        consts: list[float],
        leaves: list[int],
        outputs: list[int],
        nodes: list[Value | None],
    ) -> Tape:
        """A tape from Python lists, in the tape's compact dtypes."""
        i32 = np.int32
        return cls(
            op=np.array(ops, dtype=np.int8),
            a=np.array(a, dtype=i32),
            b=np.array(b, dtype=i32),
            args=np.array(args, dtype=i32),
            consts=np.array(consts, dtype=np.float64),
            leaves=np.array(leaves, dtype=i32),
            outputs=np.array(outputs, dtype=i32),
            nodes=nodes,
        )

    def __len__(self) -> int:
        return self.op.size

    @property
    def nbytes(self) -> int:
        """Bytes held by the tape's arrays (excluding the Values it refers to)."""
        arrays = (self.op, self.a, self.b, self.args, self.consts, self.leaves, self.outputs)
        sweeps = tuple(x for x in (self.data, self.grad) if x is not None)
        return sum(x.nbytes for x in arrays + sweeps)

    def initial_values(self) -> np.ndarray:
        """A value per slot: constants and the leaves' current data, zeros elsewhere."""
        vals = np.zeros(len(self))
        c = np.flatnonzero(self.op == Op.CONST)
        vals[c] = self.consts[self.a[c]]
        nodes = self.nodes
        leaves = [nodes[s] for s in self.leaves.tolist()]
        vals[self.leaves] = [v._data if v._store is None else v.data for v in leaves]
        return vals

    def operands(self, i: int) -> np.ndarray:
        """The slots slot i reads, whatever its arity."""
        arity = TABLE[self.op[i]].arity
        if arity == -1:
            return self.args[self.a[i] : self.a[i] + self.b[i]]
        return np.array([self.a[i], self.b[i]][:arity], dtype=np.int32)

    def operand_slots(self) -> np.ndarray:
        """Every operand slot read by every slot (with repeats): for counting uses."""
        arity = ARITY[self.op]
        return np.concatenate([self.a[arity >= 1], self.b[arity == 2], self.args]).astype(np.int64)

    def line(self, i: int) -> str:
        """Slot i as one line of text, like JAX's jaxpr: `t4 = mul t2 t3`."""
        k = int(self.op[i])
        info = TABLE[k]
        if k == Op.CONST:
            rhs = f"const {self.consts[self.a[i]]:g}"
        elif k == Op.LEAF:
            rhs = "leaf"
        elif info.arity == -1:
            operands = self.args[self.a[i] : self.a[i] + self.b[i]]
            rhs = info.name + "".join(f" t{s}" for s in operands)
        elif info.arity == 1:
            rhs = f"{info.name} t{self.a[i]}"
        else:
            rhs = f"{info.name} t{self.a[i]} t{self.b[i]}"
        text = f"t{i} = {rhs}"
        notes = []
        node = self.nodes[i] if i < len(self.nodes) else None
        label = node.label if node is not None else ""
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
    """Sort the graph(s) below `outputs` topologically into a Tape.

    Depth-first with an explicit stack: a node is placed once all its operands are,
    so each slot's operands sit at smaller slots.
    """
    roots = [outputs] if isinstance(outputs, Value) else list(outputs)
    for k, r in enumerate(roots):
        if not isinstance(r, Value):
            raise TypeError(f"output #{k} is {type(r).__name__}, not a Value")

    slot: dict[Value, int] = {}  # node -> its slot (Values hash by identity)
    get = slot.get
    nodes: list[Value] = []
    ops: list[int] = []
    a_slots: list[int] = []
    b_slots: list[int] = []
    args: list[int] = []  # operand slots of n-ary ops
    consts: list[float] = []
    leaves: list[int] = []
    CONST = Op.CONST
    for root in roots:
        stack = [root]
        push, pop = stack.append, stack.pop
        while stack:
            v = stack[-1]
            x = v._a
            if x is None:  # a leaf or a constant
                pop()
                if v in slot:
                    continue
                i = len(nodes)
                if v.op == CONST:
                    a_slots.append(len(consts))
                    consts.append(v._data)
                else:
                    a_slots.append(len(leaves))
                    leaves.append(i)
                b_slots.append(-1)
            elif type(x) is tuple:  # an n-ary op: its operands go to `args`
                operand_slots = [get(u) for u in x]
                if None in operand_slots:
                    for u, su in zip(reversed(x), reversed(operand_slots)):
                        if su is None:
                            push(u)
                    continue
                pop()
                if v in slot:
                    continue
                i = len(nodes)
                a_slots.append(len(args))
                b_slots.append(len(x))
                args.extend(operand_slots)
            else:
                sa = get(x)
                y = v._b
                sb = -1 if y is None else get(y)
                if sa is None or sb is None:
                    if sb is None:
                        push(y)
                    if sa is None:  # pushed last, so placed first
                        push(x)
                    continue
                pop()
                if v in slot:
                    continue
                i = len(nodes)
                a_slots.append(sa)
                b_slots.append(sb)
            slot[v] = i
            nodes.append(v)
            ops.append(v.op)
    return Tape.from_lists(ops, a_slots, b_slots, args, consts, leaves, [slot[r] for r in roots], nodes)
