"""`explore`: one self-contained HTML page that steps through backprop on a graph.

The page holds the graph's picture (inline SVG), the steps of both sweeps as JSON and
a little script: Prev/Next walk the forward sweep slot by slot, then the reverse
sweep one chain-rule product at a time, highlighting the node at work and updating
every value and gradient as it accumulates. No network is needed to open it.
`#step=N` in the address opens the page after N steps (`#step=end` after all).

`mode="forward"` writes the page of the forward-mode sweep instead: slot by slot, each
node's value and then its tangent along one leaf (a chain-rule sum), the tangents shown
on the graph in place of the gradients.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from ..compiler.checks import file_path
from ..core.engine import Value
from ..core.ops import Op
from ..core.tape import Tape, flatten
from ..serialize import writable_folder
from .checks import leaf_lists, roots, text, value_or_none
from .graph import draw, forward_mode, roles, seed_slot
from .page import PAGE
from .render import RendererNotFound, pipe
from .steps import (
    backward_steps,
    dotted,
    expression_html,
    forward_steps,
    name_html,
    output_name,
    partial,
    slot_names,
    tangent_steps,
)

PAGES = (".html", ".htm")  # what the page's file is called
PACK_ABOVE = 1_000_000  # characters of picture and data a page holds as they are; more go in gzipped
# Values a page steps through at most. Measured on a busy 2-core machine: MLP(64, [128, 128, 10])'s
# loss, 27,015 values, 79,526 steps: a 3.2 MB page written in 4 s, which headless Chromium opens at
# its last step in 13 s; MLP(784, [128, 10])'s, 102,999 values, 306,678 steps: 12 MB written in 18 s
# (2 GB of memory), 48 s to open.
PAGE_LIMIT = 30_000


def plain(x: float) -> float | str:
    """A float JSON can carry: nan and ±inf become strings the page turns back into numbers."""
    return x if math.isfinite(x) else str(x)


Leaves = Iterable[Value] | Any | None  # Values, or a Module or an optimizer: see checks.leaf_lists


# What the page's script reads of a step: each shows in the lecture's notation only (its html).
STEP_FIELDS = ("phase", "slot", "target", "value", "html", "note")

# The line under the title: each mode's sweep in the lecture's notation (filled in by `notation`).
NOTATION = {
    "reverse": (
        "Forward: φ<sub>k</sub> = f<sub>k</sub>(operands), slot by slot. Backward: seed {seed} = 1, then, "
        "from the output back, each node passes its gradient to its operands times the local derivative "
        "(the chain rule): a<sub>k</sub><sup>δ</sup> = φ<sub>k</sub><sup>δ</sup> · f′(a<sub>k</sub>). "
        "Red: the node at work; blue: the node whose gradient changes. Keys: ← and →."
    ),
    "forward": (
        "Forward mode along {x}: seed {xdot} = 1, every other leaf's tangent 0; then, slot by slot, each "
        "value φ<sub>k</sub> and its tangent φ̇<sub>k</sub> = Σ<sub>j</sub> ∂φ<sub>k</sub>/∂φ<sub>j</sub> · "
        "φ̇<sub>j</sub> (the chain rule), so that {fdot} = {dfdx}. One sweep: every output's derivative "
        "along {x}; one reverse sweep: one output's by every leaf. Red: the node at work. Keys: ← and →."
    ),
}


def page_data(
    root: Value | list[Value],
    inputs: list[Value] | None = None,
    parameters: list[Value] | None = None,
    mode: str | None = None,
    wrt: Value | None = None,
) -> dict[str, object]:
    """Everything the page's script needs: the slots and the steps of both sweeps (reverse mode), or
    of the forward-mode sweep along `wrt` (each slot's value, then its tangent; see `explore`).

    Formulas are markup in the lecture's notation (`steps.Step.html`), names escaped in it.
    """
    tape = flatten(root)
    names = slot_names(tape)
    shown = [name_html(name) for name in names]
    kinds = roles(tape, inputs, parameters)
    forward = forward_mode(mode, wrt)
    slots = []
    for k in range(len(tape)):
        const = tape.op[k] == Op.CONST
        slots.append(
            {
                "name": names[k],
                "role": kinds[k],
                "formula": expression_html(tape, shown, k) if tape.operands(k).size else "",
                "start": plain(float(tape.consts[tape.a[k]])) if const else None,
            }
        )
    data: dict[str, object] = {
        "output": output_name(tape, names),
        "slots": slots,
        "line": "grad",
        "mode": "reverse",
    }
    if forward:
        seed = seed_slot(tape, kinds, wrt)
        values = {s.slot: s for s in forward_steps(tape)}
        both = [step for s in tangent_steps(tape, {seed: 1.0}) for step in (values[s.slot], s)]
        data.update(line="tangent", mode="forward", wrt=names[seed], seed=seed)
    else:
        both = forward_steps(tape) + backward_steps(tape)
    steps = [{key: getattr(s, key) for key in STEP_FIELDS} for s in both]
    for s in steps:
        s["value"] = plain(s["value"])
    data["steps"] = steps
    return data


def notation(data: dict[str, object]) -> str:
    """The line under the page's title: its sweeps in the lecture's notation, as markup."""
    f = name_html(str(data["output"]))
    if data["mode"] == "reverse":
        return NOTATION["reverse"].format(seed=partial(f, f))
    x = name_html(str(data["wrt"]))
    return NOTATION["forward"].format(
        x=x,
        xdot=name_html(dotted(str(data["wrt"]))),
        fdot=name_html(dotted(str(data["output"]))),
        dfdx=partial(f, x),
    )


def inline_svg(
    root: Value | list[Value],
    inputs: list[Value] | None = None,
    parameters: list[Value] | None = None,
    mode: str | None = None,
    wrt: Value | None = None,
) -> tuple[str, list[str | None] | None]:
    """The graph as SVG markup to put straight into the page, or a note saying how to get it;
    and the node each slot is drawn in (`Picture.units`: None for a slot not drawn), or None
    without a picture."""
    try:
        picture = draw(root, inputs=inputs, parameters=parameters, mode=mode, wrt=wrt)
        svg = pipe(picture.source, "svg").decode("utf-8")
    except RendererNotFound as e:
        return f'<p class="note">The picture of the graph needs a renderer: {escape(str(e))}</p>', None
    start = svg.find("<svg")
    return re.sub(r"<!--.*?-->", "", svg[start:], flags=re.S), picture.units


def packed(svg: str, data: dict[str, object]) -> tuple[str, str, str]:
    """The page's picture, its JSON data and how the data is encoded ("" or "gzip").

    Up to PACK_ABOVE bytes they go in as they are. A larger graph's (a neuron's Σ of 40 terms
    makes 80 steps, an MLP(10, [40, 40, 40, 1]) 11,776 of them, 10.8 MB of page) go in together
    as gzip in base64, which the page unpacks with the browser's DecompressionStream: its steps'
    formulas repeat each other, and the page stays under a megabyte.
    """
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if len(blob) + len(svg) <= PACK_ABOVE:
        return svg, blob.replace("<", "\\u003c"), ""  # cannot end the <script>
    both = json.dumps({**data, "svg": svg}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return "", base64.b64encode(gzip.compress(both, mtime=0)).decode("ascii"), "gzip"


class Page(type(Path())):  # (Path itself cannot be subclassed before Python 3.12)
    """The page's file, as a Path, that a notebook shows inline: `explore(f)` as a cell's last line
    displays the page in the cell's output (an iframe holding the page itself, `srcdoc`, so that it
    needs no server to fetch the file)."""

    HEIGHT = 640  # pixels: the page lays itself out in whatever height its frame has

    def _repr_html_(self) -> str | None:
        if not self.is_file():
            return None  # (a Path made from this one, like its folder: shown as the path it is)
        page = escape(self.read_text(encoding="utf-8"), quote=True)
        return (
            f'<iframe srcdoc="{page}" title="{escape(self.name, quote=True)}" '
            f'style="width: 100%; height: {self.HEIGHT}px; border: 1px solid #ddd"></iframe>'
        )


def too_big(tape: Tape) -> None:
    """ValueError for a graph of more than PAGE_LIMIT values, saying its size and what to do instead."""
    if len(tape) <= PAGE_LIMIT:
        return
    steps = int((tape.op != Op.CONST).sum()) + tape.operand_slots().size  # about: a step per use
    raise ValueError(
        f"explore(root): the graph has {len(tape):,} values, more than the {PAGE_LIMIT:,} a step-through "
        f"page holds: a page of its {steps:,} or so steps would be too long to step through and slow "
        "to open. draw(root) summarises it as a picture: render(draw(root), 'graph.svg'); or explore "
        "a part of it: one neuron's output, or the network on fewer inputs"
    )


def explore(
    root: Value | Sequence[Value],
    path: str | os.PathLike[str] = "backprop.html",
    *,
    inputs: Leaves = None,
    parameters: Leaves = None,
    title: str | None = None,
    mode: str | None = None,
    wrt: Value | None = None,
) -> Path:
    """Write the step-through page for the graph below `root` to `path`; returns the path, a `Page`
    (a Path that a notebook displays as the page itself, inline).

    Missing folders on the way to `path` are made. By default the page steps through
    backprop (the forward sweep, then the reverse one); `mode="forward"` steps through the
    forward-mode sweep instead, along the leaf `wrt` (by default the first input): each
    slot's value, then its tangent as a chain-rule sum, the node at work highlighted and
    the tangents shown on the graph. `wrt` alone means forward mode; ValueError for another
    mode, `wrt` with mode="reverse", or a `wrt` that is not a leaf of the graph.

    Roles are coloured as `draw` colours them (see `graph.roles`): by default a Module's,
    an optimizer's or a compiled graph's leaves are parameters and the other leaves
    inputs; `inputs` and `parameters` (lists of Values, a Module or an optimizer) say otherwise.

    The arguments are checked at the call, as draw's are (`checks`): root a Value or a
    non-empty list of them, `path` a str or Path ending in .html or .htm (ValueError for
    another suffix: `render(draw(root), path)` writes pictures), `title` a str. A graph of
    more than PAGE_LIMIT (30,000) values is refused at once with a ValueError saying its
    size: its page would be too long to step through and slow to open (MLP(784, [128, 10])'s
    loss: 306,678 steps, 12 MB, most of a minute in a browser); `draw` summarises it instead.
    The work is linear in the graph's size (each name and formula made once: `steps`).
    """
    values = roots(root, "explore")
    path = file_path(path, "explore(root, path)", "the page's file, like 'backprop.html'")
    if path.suffix.lower() not in PAGES:
        raise ValueError(
            f"explore(root, path): the page is HTML: end its name in {' or '.join(PAGES)}, not {str(path)!r} "
            "(render(draw(root), path) writes a picture: .svg, .png, .jpg)"
        )
    title = text(title, "title", "explore")
    inputs, parameters = leaf_lists(inputs, parameters, "explore")
    forward_mode(mode, value_or_none(wrt, "wrt", "explore"))
    tape = flatten(values)
    too_big(tape)
    writable_folder(path.parent, f"not writing {path}")  # before the work, not after it
    data = page_data(values, inputs, parameters, mode, wrt)
    if title is None:
        title = f"backprop through {data['output']}"
        if data["mode"] == "forward":
            title = f"forward mode through {data['output']} along {data['wrt']}"
    seed = data.get("seed")
    along = None if seed is None else tape.nodes[int(seed)]  # wrt, or the default leaf
    svg, data["units"] = inline_svg(values, inputs, parameters, mode, along)
    svg, blob, encoding = packed(svg, data)
    html = (
        PAGE.replace("{{title}}", escape(title))
        .replace("{{notation}}", notation(data))
        .replace("{{line}}", str(data["line"]))
        .replace("{{svg}}", svg)
        .replace("{{encoding}}", encoding)
        .replace("{{data}}", blob)
    )
    path = Page(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
