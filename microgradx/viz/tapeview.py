"""`draw_tape`: the flattened tape as a table picture, one row per slot.

The rows are the tape's arrays read across: slot, the slot's name (as print(tape) and
every picture name it), op code, operand slots, the formula in names, value and gradient,
so a learner sees how `(u + v) * w` became slot 2 = add of slots 0 and 1, named t1 = u + v.
"""

from __future__ import annotations

from math import nan

import numpy as np

from ..core.engine import Value
from ..core.ops import TABLE, Op
from ..core.tape import Tape
from .checks import picture_format, tape_of
from .graph import fmt
from .render import Picture
from .steps import expression
from .text import FONT, FONT_SIZE, html

ROW_LIMIT = 200  # longer tapes show their first and last ROW_LIMIT // 2 slots
ARRAY_LIMIT = 24  # entries shown of each array in the footer
HEADER = ("slot", "name", "op", "operand slots", "formula", "data", "grad")


def operands_text(tape: Tape, i: int) -> str:
    """Where slot i's inputs come from, in the tape's own terms."""
    op = tape.op[i]
    if op == Op.CONST:
        return f"consts[{tape.a[i]}] = {tape.consts[tape.a[i]]:g}"
    if op == Op.LEAF:
        return f"leaves[{tape.a[i]}]"
    slots = " ".join(str(s) for s in tape.operands(i))
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
    TypeError for anything else, and for a `format` that is not a str (ValueError for one
    graphviz does not know), at the call (`checks`).
    """
    tape = tape_of(tape, "draw_tape")
    format = picture_format(format, "draw_tape")
    n = len(tape)
    names = tape.names()
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
            str(i),
            names[i],
            f"{int(tape.op[i])} {info.name}",
            operands_text(tape, i),
            expression(tape, names, i) if info.arity else "",
            fmt(data[i]),
            fmt(grad[i]),
        )
        rows.append("<tr>" + "".join(f'<td align="left"{bg}>{html(c)}</td>' for c in cells) + "</tr>")
    arrays = (
        ("consts", tape.consts.tolist()),
        ("leaves", tape.leaves.tolist()),
        ("args", tape.args.tolist()),
        ("outputs", tape.outputs.tolist()),
    )
    for name, values in arrays:
        rows.append(
            f'<tr><td colspan="{len(HEADER)}" align="left">{name} = {html(array_text(values), 120)}</td></tr>'
        )
    table = '<table border="0" cellborder="1" cellspacing="0" cellpadding="4">' + "".join(rows) + "</table>"
    graph = Picture(name="tape", format=format)
    graph.attr("node", fontname=FONT, fontsize=str(FONT_SIZE))
    graph.node("tape", f"<{table}>", shape="plaintext")
    outs = ", ".join(names[o] for o in tape.outputs.tolist())
    shown_note = f", {ROW_LIMIT:,} shown" if n > ROW_LIMIT else ""
    graph.description = f"the tape of {outs}: {n:,} slots{shown_note}"
    return graph
