"""`draw`: a graph of Values as a picture, every node showing its label, value and gradient.

Each Value is a record `{ label | data 2.0000 | grad 4.0000 }`, each op a small circle
with its symbol from the op table, and edges run operand → op → result. Fill colours
say what a node is (input, parameter, constant, output); `shade=True` fills by |grad|
instead, so the nodes that matter most stand out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from ..engine import Value
from ..ops import TABLE, Op
from ..tape import Tape, flatten
from .render import Picture
from .steps import slot_names

# role: (fill, border)
ROLES: dict[str, tuple[str, str]] = {
    "input": ("#d6eaff", "#1f6fbf"),
    "parameter": ("#ffe6bf", "#c47a00"),
    "constant": ("#eeeeee", "#8a8a8a"),
    "output": ("#d4f5d4", "#2e8b2e"),
    "computed": ("#ffffff", "#444444"),
}
DETAIL_LIMIT = 500  # above this many Values, each op is folded into its result's node
SHOWN_LIMIT = 3000  # above this many, only the last SHOWN_LIMIT slots (nearest the output) are drawn
ORDERED = frozenset({Op.SUB, Op.DIV, Op.POW, Op.POWC})  # ops whose operand order matters
RANKDIRS = ("LR", "TB", "RL", "BT")


def fmt(x: float) -> str:
    """A value as micrograd prints it (2.0000), switching to 1.2346e+07 when that would mislead."""
    if x == 0.0 or not math.isfinite(x) or 1e-4 <= abs(x) < 1e7:
        return f"{x:.4f}"
    return f"{x:.4e}"


def record_text(s: str) -> str:
    """Escape the characters that structure a record label."""
    return re.sub(r'([\\{}|<>"])', r"\\\1", s)


def roles(tape: Tape, inputs: Iterable[Value] = ()) -> list[str]:
    """Each slot's role: output, constant, input (a leaf in `inputs`), parameter (other leaves), computed."""
    given = {id(v) for v in inputs}
    outputs = set(tape.outputs.tolist())
    out = []
    for i, node in enumerate(tape.nodes):
        op = tape.op[i]
        if i in outputs:
            out.append("output")
        elif op == Op.CONST:
            out.append("constant")
        elif op == Op.LEAF:
            out.append("input" if id(node) in given else "parameter")
        else:
            out.append("computed")
    return out


def shade_colour(g: float, biggest: float) -> str:
    """White for a zero gradient to red for the largest |grad| in the graph."""
    s = min(abs(g) / biggest, 1.0) if biggest > 0 and math.isfinite(g) else (1.0 if g else 0.0)
    other = round(255 * (1.0 - 0.6 * s))
    return f"#ff{other:02x}{other:02x}"


def draw(
    root: Value | Sequence[Value],
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    format: str = "svg",
    inputs: Iterable[Value] = (),
    shade: bool = False,
    detail_limit: int = DETAIL_LIMIT,
) -> Picture:
    """The graph below `root` as a `graphviz.Digraph` (a `Picture`, which renders with dot or graphviz-pure).

    `inputs` are the leaves to colour as inputs (the others are parameters); `shade`
    fills nodes by |grad|. Above `detail_limit` Values the op circles are folded into
    their results, and above 3,000 only the part nearest the output is drawn; the
    picture says so. Call `root.backward()` first to see gradients.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, not {rankdir!r}")
    tape = flatten(root)
    n = len(tape)
    names = slot_names(tape)
    role = roles(tape, inputs)
    folded = n > detail_limit
    first = max(0, n - SHOWN_LIMIT)  # slots before this are summarised as one node
    graph = Picture(name="microgradx", format=format)
    graph.attr(rankdir=rankdir, fontname="Helvetica", fontsize="11")
    graph.attr("node", fontname="Helvetica", fontsize="11")
    graph.attr("edge", arrowsize="0.6", color="#555555", fontname="Helvetica")
    notes = []
    if folded:
        notes.append(f"{n:,} values: each op is shown inside its result, as 'name (op)'")
    if first:
        notes.append(f"only the last {n - first:,} slots (nearest the output) are drawn")
        graph.node(
            "hidden",
            f"… {first:,} earlier nodes not drawn",
            shape="note",
            style="filled",
            fillcolor="#f3f3f3",
        )
    if notes:
        graph.attr(label="summarised: " + "; ".join(notes), labelloc="t")

    grads = [node.grad for node in tape.nodes]
    biggest = max((abs(g) for g in grads if math.isfinite(g)), default=0.0)
    for i in range(first, n):
        node, info = tape.nodes[i], TABLE[tape.op[i]]
        title = names[i] if not (folded and info.arity) else f"{names[i]} ({info.symbol})"
        fields = [record_text(title), f"data {fmt(node.data)}"]
        if show_grad:
            fields.append(f"grad {fmt(grads[i])}")
        fill, border = ROLES[role[i]]
        if shade:
            fill = shade_colour(grads[i], biggest)
        graph.node(
            f"n{i}",
            "{ " + " | ".join(fields) + " }",
            shape="record",
            style="filled",
            fillcolor=fill,
            color=border,
            penwidth="2" if shade and role[i] != "computed" else "1",
        )
        if not info.arity:
            continue
        operands = tape.operands(i).tolist()
        target = f"n{i}"
        if not folded:
            target = f"o{i}"
            graph.node(target, info.symbol, shape="circle", margin="0.02", fontsize="10", width="0.3")
            graph.edge(target, f"n{i}")
        hidden_drawn = False
        for pos, s in enumerate(operands):
            if s < first:
                if not hidden_drawn:
                    graph.edge("hidden", target, style="dashed")
                    hidden_drawn = True
                continue
            label = ("1st", "2nd")[pos] if info.op in ORDERED else None
            graph.edge(f"n{s}", target, **({"label": label, "fontsize": "8"} if label else {}))
    legend(graph, shade, biggest)
    return graph


def legend(graph: Picture, shade: bool, biggest: float) -> None:
    """A one-row key of what the colours mean, as an HTML-like table node."""
    cells = []
    for name, (fill, border) in ROLES.items():
        bg = "#ffffff" if shade else fill
        cells.append(f'<td bgcolor="{bg}" color="{border}">{name}</td>')
    if shade:
        red = shade_colour(biggest, biggest)
        cells.append(f'<td bgcolor="{red}">fill: |grad| from 0 (white) to {fmt(biggest)}</td>')
    row = '<td border="0">key</td>' + "".join(cells)
    table = f'<table border="0" cellborder="1" cellspacing="3" cellpadding="3"><tr>{row}</tr></table>'
    graph.node("legend", f"<{table}>", shape="plaintext", fontsize="10")
