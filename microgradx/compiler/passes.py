"""Tape optimisation passes: fewer, bigger slots for the same values and gradients.

`optimize(tape)` runs, in order (each can be switched off by name):

    fold   constant folding: an op whose operands are all constants becomes a constant
    cse    common-subexpression elimination: the same op on the same operands, once
    sum    add chains become one n-ary SUM: a + b + c + d is one slot, not three
    dot    a sum of products becomes one DOT: a neuron's Σ wᵢ·xᵢ + b is one slot
    dce    dead-code elimination: only what the outputs need (leaves always stay)

The passes work on a small list-based form of the tape (`IR`) and never move a
leaf, so a compiled graph finds its inputs and parameters where they were.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..core.engine import Value
from ..core.ops import TABLE, Op
from ..core.tape import Tape

PASSES = ("fold", "cse", "sum", "dot", "dce")
COMMUTATIVE = (Op.ADD, Op.MUL)


@dataclass
class IR:
    """A tape as Python lists: op, operand slots and constant value per slot."""

    op: list[int]
    args: list[list[int]]
    value: list[float]  # a constant's value (unused elsewhere)
    node: list[Value | None]  # the Value a slot came from, where there is one
    outputs: list[int]

    @classmethod
    def from_tape(cls, tape: Tape) -> IR:
        n = len(tape)
        value = [0.0] * n
        for i in np.flatnonzero(tape.op == Op.CONST):
            value[i] = float(tape.consts[tape.a[i]])
        return cls(
            op=tape.op.tolist(),
            args=[tape.operands(i).tolist() for i in range(n)],
            value=value,
            node=list(tape.nodes),
            outputs=tape.outputs.tolist(),
        )

    def add_const(self, x: float) -> int:
        self.op.append(int(Op.CONST))
        self.args.append([])
        self.value.append(x)
        self.node.append(None)
        return len(self.op) - 1

    def live(self) -> list[bool]:
        """Which slots the outputs need."""
        live = [False] * len(self.op)
        stack = list(self.outputs)
        while stack:
            s = stack.pop()
            if not live[s]:
                live[s] = True
                stack.extend(self.args[s])
        return live

    def uses(self) -> list[int]:
        """How many times each slot is read by a live slot; outputs count as read once more."""
        counts = [0] * len(self.op)
        for operands, needed in zip(self.args, self.live()):
            if needed:
                for s in operands:
                    counts[s] += 1
        for s in self.outputs:
            counts[s] += 1
        return counts

    def to_tape(self, keep_dead: bool = False) -> Tape:
        """Back to arrays: leaves and constants first, then computed slots in order.

        Without keep_dead, computed slots and constants the outputs do not need are dropped.
        """
        n = len(self.op)
        live = [True] * n if keep_dead else self.live()
        order = [s for s in range(n) if self.op[s] == Op.LEAF]
        order += [s for s in range(n) if self.op[s] == Op.CONST and live[s]]
        order += [s for s in range(n) if self.op[s] > Op.CONST and live[s]]
        new = {s: i for i, s in enumerate(order)}
        ops, a_slots, b_slots, args, consts, leaves = [], [], [], [], [], []
        for i, s in enumerate(order):
            k = self.op[s]
            ops.append(k)
            operands = [new[t] for t in self.args[s]]
            if k == Op.LEAF:
                a_slots.append(len(leaves))
                b_slots.append(-1)
                leaves.append(i)
            elif k == Op.CONST:
                a_slots.append(len(consts))
                b_slots.append(-1)
                consts.append(self.value[s])
            elif TABLE[k].arity == -1:
                a_slots.append(len(args))
                b_slots.append(len(operands))
                args.extend(operands)
            else:
                a_slots.append(operands[0])
                b_slots.append(operands[1] if len(operands) > 1 else -1)
        outputs = [new[s] for s in self.outputs]
        return Tape.from_lists(
            ops, a_slots, b_slots, args, consts, leaves, outputs, [self.node[s] for s in order]
        )


def fold(ir: IR) -> None:
    """An op on constants only is replaced by the constant it computes."""
    for s, k in enumerate(ir.op):
        if k > Op.CONST and all(ir.op[t] == Op.CONST for t in ir.args[s]):
            ir.value[s] = TABLE[k].forward(*[ir.value[t] for t in ir.args[s]])
            ir.op[s] = int(Op.CONST)
            ir.args[s] = []


def cse(ir: IR) -> None:
    """Slots computing the same op on the same operands (or equal constants) become one."""
    same: dict[tuple, int] = {}
    rep = list(range(len(ir.op)))
    for s, k in enumerate(ir.op):
        if k == Op.LEAF:
            continue
        operands = [rep[t] for t in ir.args[s]]
        ir.args[s] = operands
        if k == Op.CONST:
            key: tuple = (k, struct.pack("<d", ir.value[s]))  # bitwise: -0.0 and nan stay distinct
        elif k in COMMUTATIVE:
            key = (k, tuple(sorted(operands)))
        else:
            key = (k, tuple(operands))
        rep[s] = same.setdefault(key, s)
    ir.outputs = [rep[s] for s in ir.outputs]


def fuse_sums(ir: IR) -> None:
    """An addition whose operand is an addition read nowhere else absorbs its terms.

    Each chain is expanded once, from its outermost addition, so a chain of n
    additions costs O(n); the absorbed links are left dead for dce."""
    adds = (Op.ADD, Op.SUM)
    uses, live = ir.uses(), ir.live()
    absorbed = [False] * len(ir.op)
    for s, k in enumerate(ir.op):
        if k in adds and live[s]:
            for t in ir.args[s]:
                if ir.op[t] in adds and uses[t] == 1:
                    absorbed[t] = True
    for s, k in enumerate(ir.op):
        if k not in adds or not live[s] or absorbed[s] or not any(absorbed[t] for t in ir.args[s]):
            continue
        terms: list[int] = []
        stack = list(reversed(ir.args[s]))
        while stack:
            t = stack.pop()
            if absorbed[t]:
                stack.extend(reversed(ir.args[t]))
            else:
                terms.append(t)
        ir.op[s] = int(Op.SUM)
        ir.args[s] = terms


def fuse_dots(ir: IR) -> None:
    """A sum with products among its terms becomes one DOT; other terms pair with a 1."""
    uses, live = ir.uses(), ir.live()
    one = None
    for s, k in enumerate(ir.op):
        if k not in (Op.ADD, Op.SUM) or not live[s]:
            continue
        xs: list[int] = []
        ws: list[int] = []
        fused = False
        for t in ir.args[s]:
            if ir.op[t] == Op.MUL and uses[t] == 1:
                xs.append(ir.args[t][0])
                ws.append(ir.args[t][1])
                fused = True
            elif ir.op[t] == Op.DOT and uses[t] == 1:
                half = len(ir.args[t]) // 2
                xs += ir.args[t][:half]
                ws += ir.args[t][half:]
                fused = True
            else:
                if one is None:
                    one = ir.add_const(1.0)
                xs.append(t)
                ws.append(one)
        if fused:
            ir.op[s] = int(Op.DOT)
            ir.args[s] = xs + ws


def optimize(tape: Tape, passes: tuple[str, ...] | list[str] = PASSES) -> Tape:
    """Run the named passes (default: all, in the order of PASSES) and return a new tape."""
    unknown = set(passes) - set(PASSES)
    if unknown:
        raise ValueError(f"unknown pass(es) {sorted(unknown)}: choose from {PASSES}")
    ir = IR.from_tape(tape)
    if "fold" in passes:
        fold(ir)
    if "cse" in passes:
        cse(ir)
    if "sum" in passes:
        fuse_sums(ir)
    if "dot" in passes:
        fuse_dots(ir)
    return ir.to_tape(keep_dead="dce" not in passes)
