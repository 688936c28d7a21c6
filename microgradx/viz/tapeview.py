"""`draw_tape`: the flattened tape as a table picture, one row per slot.

The rows are the tape's arrays read across: slot, op code, operand slots, value and
gradient, so a learner sees how `(u + v) * w` became `t2 = add t0 t1; t4 = mul t2 t3`.
"""

from __future__ import annotations

from html import escape
from math import nan

import numpy as np

from ..engine import Value
from ..ops import TABLE, Op
from ..tape import Tape, flatten
from .graph import fmt
from .render import Picture
from .steps import slot_names

ROW_LIMIT = 200  # longer tapes show their first and last ROW_LIMIT // 2 slots
ARRAY_LIMIT = 24  # entries shown of each array in the footer
HEADER = ("slot", "op", "operands", "name", "data", "grad")


def operands_text(tape: Tape, i: int) -> str:
    """Where slot i's inputs come from, in the tape's own terms."""
    op = tape.op[i]
    if op == Op.CONST:
        return f"consts[{tape.a[i]}] = {tape.consts[tape.a[i]]:g}"
    if op == Op.LEAF:
        return f"leaves[{tape.a[i]}]"
    slots = " ".join(f"t{s}" for s in tape.operands(i))
    if TABLE[op].arity == -1:
        return f"args[{tape.a[i]}:{tape.a[i] + tape.b[i]}] = {slots}"
    return slots


def array_text(values: list) -> str:
    shown = ", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in values[:ARRAY_LIMIT])
    more = f", … ({len(values)} in all)" if len(values) > ARRAY_LIMIT else ""
    return f"[{shown}{more}]"


def draw_tape(tape: Tape | Value, *, format: str = "svg") -> Picture:
    """A picture of the tape's arrays as a table: slot, op, operands, name, data, grad.

    Takes a Tape (from `flatten`, or from `backward` / `sweep`, which fill data and grad)
    or a Value, which is flattened first; unswept tapes show the Values' own data and grad.
    """
    if isinstance(tape, Value):
        tape = flatten(tape)
    n = len(tape)
    names = slot_names(tape)
    # Unswept: the Values' own numbers (a slot made by a tape pass has none: a constant's value, else nan).
    own = [(v.data, v.grad) if v is not None else (nan, nan) for v in tape.nodes]
    for i in np.flatnonzero(tape.op == Op.CONST):
        own[i] = (float(tape.consts[tape.a[i]]), own[i][1])
    data = tape.data.tolist() if tape.data is not None else [d for d, _ in own]
    grad = tape.grad.tolist() if tape.grad is not None else [g for _, g in own]
    outputs = set(tape.outputs.tolist())
    head = "".join(f'<td bgcolor="#e8e8e8"><b>{h}</b></td>' for h in HEADER)
    rows = [f"<tr>{head}</tr>"]
    half = ROW_LIMIT // 2
    shown = range(n) if n <= ROW_LIMIT else [*range(half), -1, *range(n - half, n)]
    for i in shown:
        if i < 0:
            rows.append(f'<tr><td colspan="{len(HEADER)}">… {n - ROW_LIMIT:,} more slots …</td></tr>')
            continue
        info = TABLE[tape.op[i]]
        bg = ' bgcolor="#d4f5d4"' if i in outputs else ""
        cells = (
            f"t{i}",
            f"{int(tape.op[i])} {info.name}",
            operands_text(tape, i),
            names[i] if tape.nodes[i] is not None and tape.nodes[i].label else "",
            fmt(data[i]),
            fmt(grad[i]),
        )
        rows.append("<tr>" + "".join(f'<td align="left"{bg}>{escape(c)}</td>' for c in cells) + "</tr>")
    arrays = (
        ("consts", tape.consts.tolist()),
        ("leaves", tape.leaves.tolist()),
        ("args", tape.args.tolist()),
        ("outputs", tape.outputs.tolist()),
    )
    for name, values in arrays:
        rows.append(
            f'<tr><td colspan="{len(HEADER)}" align="left">{name} = {escape(array_text(values))}</td></tr>'
        )
    table = '<table border="0" cellborder="1" cellspacing="0" cellpadding="4">' + "".join(rows) + "</table>"
    graph = Picture(name="tape", format=format)
    graph.attr("node", fontname="Helvetica", fontsize="11")
    graph.node("tape", f"<{table}>", shape="plaintext")
    return graph
