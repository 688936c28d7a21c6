"""`explore`: one self-contained HTML page that steps through backprop on a graph.

The page holds the graph's picture (inline SVG), the steps of both sweeps as JSON and
a little script: Prev/Next walk the forward sweep slot by slot, then the reverse
sweep one chain-rule product at a time, highlighting the node at work and updating
every value and gradient as it accumulates. No network is needed to open it.
`#step=N` in the address opens the page after N steps (`#step=end` after all).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from ..engine import Value
from ..ops import Op
from ..tape import flatten
from .graph import draw, leaves_of, roles
from .page import PAGE
from .render import RendererNotFound, pipe
from .steps import backward_steps, expression_html, forward_steps, name_html, output_name, slot_names

PAGES = (".html", ".htm")  # what the page's file is called


def plain(x: float) -> float | str:
    """A float JSON can carry: nan and ±inf become strings the page turns back into numbers."""
    return x if math.isfinite(x) else str(x)


Leaves = Iterable[Value] | Any | None  # Values, or a Module or an optimizer: see graph.roles


# What the page's script reads of a step: each shows in the lecture's notation only (its html).
STEP_FIELDS = ("phase", "slot", "target", "value", "html", "note")


def page_data(root: Value, inputs: Leaves = None, parameters: Leaves = None) -> dict[str, object]:
    """Everything the page's script needs: the slots and the steps of both sweeps.

    Formulas are markup in the lecture's notation (`steps.Step.html`), names escaped in it.
    """
    tape = flatten(root)
    names = slot_names(tape)
    kinds = roles(tape, inputs, parameters)
    slots = []
    for k in range(len(tape)):
        const = tape.op[k] == Op.CONST
        slots.append(
            {
                "name": names[k],
                "role": kinds[k],
                "formula": expression_html(tape, names, k) if tape.operands(k).size else "",
                "start": plain(float(tape.consts[tape.a[k]])) if const else None,
            }
        )
    both = forward_steps(tape) + backward_steps(tape)
    steps = [{key: getattr(s, key) for key in STEP_FIELDS} for s in both]
    for s in steps:
        s["value"] = plain(s["value"])
    return {"output": output_name(tape), "slots": slots, "steps": steps}


def inline_svg(root: Value, inputs: Leaves = None, parameters: Leaves = None) -> str:
    """The graph as SVG markup to put straight into the page, or a note saying how to get it."""
    try:
        svg = pipe(draw(root, inputs=inputs, parameters=parameters).source, "svg").decode("utf-8")
    except RendererNotFound as e:
        return f'<p class="note">The picture of the graph needs a renderer: {escape(str(e))}</p>'
    start = svg.find("<svg")
    return re.sub(r"<!--.*?-->", "", svg[start:], flags=re.S)


def explore(
    root: Value,
    path: str | os.PathLike[str] = "backprop.html",
    *,
    inputs: Leaves = None,
    parameters: Leaves = None,
    title: str | None = None,
) -> Path:
    """Write the step-through page for the graph below `root` to `path`; returns the path.

    Missing folders on the way to `path` are made.

    Roles are coloured as `draw` colours them (see `graph.roles`): by default a Module's,
    an optimizer's or a compiled graph's leaves are parameters and the other leaves
    inputs; `inputs` and `parameters` (lists of Values, a Module or an optimizer) say otherwise.
    """
    inputs = None if inputs is None else list(leaves_of(inputs) or ())
    parameters = None if parameters is None else list(leaves_of(parameters) or ())
    data = page_data(root, inputs, parameters)
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")  # cannot end the <script>
    title = title or f"backprop through {data['output']}"
    html = (
        PAGE.replace("{{title}}", escape(title))
        .replace("{{output}}", name_html(str(data["output"])))
        .replace("{{svg}}", inline_svg(root, inputs, parameters))
        .replace("{{data}}", blob)
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
