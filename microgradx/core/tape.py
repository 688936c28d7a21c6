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

import json
import re
from collections.abc import Sequence

import numpy as np

from .engine import Value
from .ops import ARITY, TABLE, Op
from .pickling import Ahead

SHOWN_SLOTS = 200  # print(tape) and a notebook's table of a longer tape show its first and last 100 slots
BARE = re.compile(r"[^\s\"'#=]+")  # a name printed without quotes in print(tape)


def label_text(node: Value | None) -> str:
    """A node's label as text ("" for none): labels are meant to be strings, but any object prints."""
    label = None if node is None else node.label
    if label is None or isinstance(label, str):
        return label or ""
    try:
        return str(label)
    except Exception:  # a label whose __str__ fails still names its node somehow
        return object.__repr__(label)


def token(name: str) -> str:
    """A name as print(tape) writes it: bare, or quoted with escapes when it holds spaces,
    quotes, # or =, or characters that do not print: a newline, NUL, and format characters
    such as a right-to-left override, which would show the rest of the line reversed
    (\u202e; JSON's own escapes stop at the control characters)."""
    if BARE.fullmatch(name) and name.isprintable():
        return name
    quoted = json.dumps(name, ensure_ascii=False)
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in quoted)


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

    def __getstate__(self) -> dict[str, object]:
        """Pickled and deep-copied with its nodes sent as one graph (engine.Ahead), so a tape of
        any length, and the Values it holds, travel without recursion."""
        state = self.__dict__.copy()
        state["nodes"] = Ahead(self.nodes)
        return state

    def __copy__(self) -> Tape:
        """copy.copy: a new Tape sharing this one's arrays and nodes."""
        new = Tape.__new__(Tape)
        new.__dict__.update(self.__dict__)
        return new

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
        leaves = map(self.nodes.__getitem__, self.leaves.tolist())
        data = (v._data if v._store is None else v.data for v in leaves)
        vals[self.leaves] = np.fromiter(data, dtype=np.float64, count=self.leaves.size)  # no list between
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

    def names(self) -> list[str]:
        """One name per slot, the name every view of this tape uses (print, draw, explain, explore).

        A node's label if it has one; a constant's value; otherwise t1, t2, … for the
        computed nodes in tape order (the lecture's f = (u + v)·w calls u + v t1) and
        leaf1, leaf2, … for the leaves, skipping names a label already holds. A label
        that several nodes share is told apart by @2, @3, … after its first use.
        """
        labels = [label_text(node) for node in self.nodes]
        taken = set(labels)
        counters = {"t": 0, "leaf": 0}
        seen: dict[str, int] = {}
        out = []
        for i, label in enumerate(labels):
            k = int(self.op[i])
            if k == Op.CONST:
                out.append(f"{self.consts[self.a[i]]:g}")
                continue
            if not label:
                prefix = "leaf" if k == Op.LEAF else "t"
                while True:
                    counters[prefix] += 1
                    label = f"{prefix}{counters[prefix]}"
                    if label not in taken:
                        break
            seen[label] = seen.get(label, 0) + 1
            out.append(label if seen[label] == 1 else f"{label}@{seen[label]}")
        return out

    def line(self, i: int, names: list[str] | None = None) -> str:
        """Slot i as one line of text, like JAX's jaxpr: `f = mul t1 w`, in the slots' names.

        Pass `names()` when printing many lines: it is computed once for the whole tape.
        """
        names = self.names() if names is None else names
        k = int(self.op[i])
        info = TABLE[k]
        if k == Op.CONST:
            rhs = f"const {self.consts[self.a[i]]:g}"
        elif k == Op.LEAF:
            rhs = "leaf"
        else:
            rhs = " ".join([info.name, *(token(names[s]) for s in self.operands(i).tolist())])
        text = f"{token(names[i])} = {rhs}"
        notes = []
        if self.data is not None:
            notes.append(f"data {self.data[i]:.6g}")
        if self.grad is not None:
            notes.append(f"grad {self.grad[i]:.6g}")
        if notes:
            text = f"{text:<24}# " + "  ".join(notes)
        return text

    def format(self, full: bool = False) -> str:
        """The tape as text, a line a slot (`line`), then its outputs: what print(tape) shows.

        A tape of more than SHOWN_SLOTS slots shows its first and last SHOWN_SLOTS // 2 and
        says how many lie between, as NumPy elides a long array; full=True writes every slot.
        """
        names = self.names()
        n = len(self)
        shown = range(n) if full or n <= SHOWN_SLOTS else elided(n, SHOWN_SLOTS // 2)
        gap = f"… {n - SHOWN_SLOTS:,} more slots (print(tape.format(full=True)) shows every one) …"
        lines = [self.line(i, names) if i >= 0 else gap for i in shown]
        lines.append("out " + " ".join(token(names[o]) for o in self.outputs.tolist()))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"<Tape {len(self)} slots, {self.leaves.size} leaves, {self.consts.size} consts>"

    def _repr_html_(self) -> str:
        """The slot table, for Jupyter: slot, name, op, operands, then data and grad once swept.

        A long tape shows its first and last SHOWN_SLOTS // 2 slots.
        """
        from html import escape

        names = self.names()
        n, half = len(self), SHOWN_SLOTS // 2
        head = ["slot", "name", "op", "operands"] + (["data", "grad"] if self.data is not None else [])
        shown = range(n) if n <= SHOWN_SLOTS else elided(n, half)
        rows = []
        for i in shown:
            if i < 0:
                rows.append(f'<tr><td colspan="{len(head)}">… {n - 2 * half:,} more slots …</td></tr>')
                continue
            k = int(self.op[i])
            if k == Op.CONST:
                operands = f"{self.consts[self.a[i]]:g}"
            else:
                operands = " ".join(token(names[s]) for s in self.operands(i).tolist())
            cells = [str(i), names[i], TABLE[k].name, operands]
            if self.data is not None:
                cells.append(f"{self.data[i]:.6g}")
                cells.append(f"{self.grad[i]:.6g}" if self.grad is not None else "")
            rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
        header = "".join(f"<th>{h}</th>" for h in head)
        outs = " ".join(escape(token(names[o])) for o in self.outputs.tolist())
        return (
            f"<table><caption>{escape(repr(self))}, out {outs}</caption>"
            f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )


def elided(n: int, half: int) -> list[int]:
    """The slots a long tape shows: the first and last `half`, with -1 where the rest are left out."""
    return [*range(half), -1, *range(n - half, n)]


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
