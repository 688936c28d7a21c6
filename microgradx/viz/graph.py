"""`draw`: a graph of Values as a picture, every node showing its name, value and gradient.

Each Value is a box { name | data 2.0000 | grad 4.0000 }, each op a small circle with
its symbol from the op table, and edges run operand → op → result. A neuron's weighted
sum (the DOT op, Σ xᵢ·wᵢ) is a column of cells, one per term, and each weight enters the
same cell as the input it multiplies. Nodes are named as in print(tape) (`Tape.names`).

The numbers are the graph's own: `draw` runs the forward and reverse sweeps on the
graph it draws (the reference sweep: `microgradx.reference`), so every gradient shown
is ∂root/∂node for the root drawn, whatever earlier `backward()` calls left in `.grad`;
the Values themselves are not changed.

Fill colours say what a node is (input, parameter, constant, output, computed);
`shade=True` fills by |grad| instead. `original=` marks, with a thick purple border, the
nodes a gradient graph shares with the graph it differentiates (`grad(..., create_graph=True)`
builds ∂y/∂x from y's own nodes: the derivative of y = x·x is 2·x on the very x of y), and
names them as the original's picture does. A graph of more than `limit` Values is
summarised: each layer of neurons (Neurons reading the same inputs, as `nn.Layer`
builds them) becomes one table, its weight matrix W with a row per neuron and a column
per input, and only the part nearest the output is drawn; the picture says so, and its
size is capped (MAX_INCHES) so that any picture fits a page.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..backprop import sweep
from ..compiler.checks import flag, whole_number
from ..core.engine import Value
from ..core.ops import TABLE, Op
from ..core.tape import Tape, flatten, label_text
from .checks import leaf_lists, picture_format, roots, value_or_none
from .neurons import Layer, find_layers, prefix, users_of
from .render import Picture
from .steps import MODES, direction, tangent_steps
from .text import FONT, FONT_SIZE, SMALL, html, visible

# role: (fill, border)
ROLES: dict[str, tuple[str, str]] = {
    "input": ("#d6eaff", "#1f6fbf"),
    "parameter": ("#ffe6bf", "#c47a00"),
    "constant": ("#eeeeee", "#8a8a8a"),
    "output": ("#d4f5d4", "#2e8b2e"),
    "computed": ("#ffffff", "#444444"),
}
GRAD_COLOUR = "#9c2a00"  # the gradient line of a layer table's cells
SHARED = "#8e24aa"  # the border of a node shared with the original graph (draw's `original=`)
SHARED_PEN = 3  # and its width
NODE_LIMIT = 60  # Values drawn one by one; a larger graph is summarised
DEPTH_LIMIT = 8  # ranks of a summarised picture, counted from the output
RANK_LIMIT = 12  # nodes of one rank in a summarised picture
TABLE_COLUMNS = 20  # weights shown in a row of a layer's table; more are elided (…)
TABLE_ROWS = 24  # neurons shown in a layer's table
MAX_INCHES = 20  # no picture is larger than 20 × 20 inches (1,440 pt; 1,920 px at 96 dpi)
ORDERED = frozenset({Op.SUB, Op.DIV, Op.POW, Op.POWC})  # ops whose operand order matters
RANKDIRS = ("LR", "TB", "RL", "BT")
INTO = {"LR": "w", "TB": "n", "RL": "e", "BT": "s"}  # the side a node's operands come in by


def fmt(x: float) -> str:
    """A value as micrograd prints it (2.0000), switching to 1.2346e+07 when that would mislead."""
    if x == 0.0 or not math.isfinite(x) or 1e-4 <= abs(x) < 1e7:
        return f"{x:.4f}"
    return f"{x:.4e}"


def short(x: float) -> str:
    """A value in a layer table's cell: three significant digits."""
    return f"{x:.3g}"


# -- roles ----------------------------------------------------------------------------------


def roles(tape: Tape, inputs: list[Value] | None = None, parameters: list[Value] | None = None) -> list[str]:
    """Each slot's role: output, constant, input, parameter or computed.

    `inputs` and `parameters` are lists of Values (draw and explore take a Module or an
    optimizer too, and check them: `checks.leaf_lists`). A leaf listed in `inputs` is an input
    and one listed in `parameters` a parameter.
    Given only `inputs`, every other leaf is a parameter (as `compile` reads them);
    given only `parameters`, every other leaf is an input. Otherwise a leaf is a
    parameter when it belongs to a Module, an optimizer or a compiled graph (they keep
    their parameters in a `Store`), and an input when it does not.
    """
    given_in, given_par = inputs, parameters
    ins = {id(v) for v in given_in or ()}
    pars = {id(v) for v in given_par or ()}
    outputs = set(tape.outputs.tolist())
    out = []
    for i, node in enumerate(tape.nodes):
        op = tape.op[i]
        if i in outputs:
            out.append("output")
        elif op == Op.CONST:
            out.append("constant")
        elif op != Op.LEAF:
            out.append("computed")
        elif id(node) in ins:
            out.append("input")
        elif id(node) in pars:
            out.append("parameter")
        elif given_in and not given_par:
            out.append("parameter")
        elif given_par and not given_in:
            out.append("input")
        else:
            out.append("parameter" if node is not None and node._store is not None else "input")
    return out


def shade_colour(g: float, biggest: float) -> str:
    """White for a zero gradient to red for the largest |grad| in the graph."""
    s = min(abs(g) / biggest, 1.0) if biggest > 0 and math.isfinite(g) else (1.0 if g else 0.0)
    other = round(255 * (1.0 - 0.6 * s))
    return f"#ff{other:02x}{other:02x}"


# -- the picture ----------------------------------------------------------------------------


@dataclass
class Scene:
    """What a picture shows: the tape, its names, roles and numbers, and how to draw them."""

    tape: Tape
    names: list[str]
    role: list[str]
    data: list[float]
    grad: list[float]
    show_grad: bool
    shade: bool
    biggest: float
    rankdir: str
    shared: list[bool]  # per slot: a node of the `original` graph too
    line: str = "grad"  # what `grad` holds: gradients, or tangents (`draw(along=...)`)
    grad_beside: bool = False  # a layer table's gradients as a matrix ∇W beside W, not below each value

    def fill(self, i: int) -> tuple[str, str]:
        fill, border = ROLES[self.role[i]]
        if self.shared[i]:
            border = SHARED
        return (shade_colour(self.grad[i], self.biggest), border) if self.shade else (fill, border)


def draw(
    root: Value | Sequence[Value] | Mapping[str, Value],
    *,
    rankdir: str | None = None,
    show_grad: bool = True,
    format: str = "svg",
    inputs: Iterable[Value] | Any | None = None,
    parameters: Iterable[Value] | Any | None = None,
    shade: bool = False,
    limit: int = NODE_LIMIT,
    original: Value | Sequence[Value] | None = None,
    mode: str | None = None,
    wrt: Value | None = None,
    grad_beside: bool = False,
) -> Picture:
    """The graph below `root` as a `Picture` (a graphviz.Digraph rendered by dot or graphviz-pure).

    `root` is one Value or several (a list of gradients, say), drawn as one graph with
    each root an output; or a dict {name: Value} that names the roots ({"∂f/∂u": …}),
    each drawn as its name, or as "w = ∂f/∂u" where the root is a named node already.
    Every node shows its name, its value and ∂root/∂node, summed over the roots (so for
    one gradient ∂f/∂x drawn, ∂²f/∂x∂node: a row of the Hessian at the leaves), both
    computed here from the leaves' current values (the Values' own `.grad` is not read:
    it may hold another root's gradients, or several calls' worth). Roles: see `roles`;
    `inputs` and `parameters` take lists of Values, a Module or an optimizer (no leaf in
    both). `shade` fills nodes by |grad|. Beyond `limit` Values (a whole number >= 1) the
    picture is summarised: layers as tables, the part nearest the output. `grad_beside=True`
    shows each table's gradients as a second matrix, ∇W beside W, as `Layer.weight_grad` holds
    them, and draws the layers as tables however small the graph (ValueError for a graph with
    no layer of neurons). `rankdir` is LR (left to right) for a detailed picture and TB (top
    down) for a summarised one unless given.

    `original`, the Value (or Values) a gradient graph was taken of: the nodes of the
    drawn graph that belong to original's graph too get a thick purple border, and a key
    entry says so; each is named as in original's picture (t1 stays t1), so that
    `draw(grad(f, [u, v, w], create_graph=True), original=f)` shows the gradients built on
    f's own nodes.

    `mode="forward"` shows each node's tangent ∂node/∂wrt in place of its gradient (the
    default, None, is reverse mode): the
    forward-mode sweep's ṫ, seeded with 1 on the leaf `wrt` (by default the first input)
    and 0 on every other leaf. `wrt` alone means forward mode. Raises ValueError for
    another mode, for `wrt` with mode="reverse", or a `wrt` that is not a leaf of the graph.

    Every argument is checked here, at the call (`checks`): TypeError for the wrong kind of
    thing (a number for root, inputs or original, a string for limit), ValueError for an
    empty root, a negative limit, a leaf in both inputs and parameters, a format graphviz
    does not know; each names the argument, what it got and what it takes.
    """
    drawn = roots(root, "draw", named=True)  # the arguments checked here, before any work
    inputs, parameters = leaf_lists(inputs, parameters, "draw")
    first = None if original is None else roots(original, "draw", name="original")
    limit = whole_number(limit, "draw(limit): limit, the Values drawn one by one,", low=1)
    show_grad, shade = flag(show_grad, "draw(show_grad): show_grad"), flag(shade, "draw(shade): shade")
    grad_beside = flag(grad_beside, "draw(grad_beside): grad_beside")
    wrt = value_or_none(wrt, "wrt", "draw")
    format = picture_format(format, "draw")
    if rankdir is not None and rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, not {rankdir!r}")
    forward = forward_mode(mode, wrt)
    titles = dict(root) if isinstance(root, Mapping) else {}
    tape = flatten(drawn)
    sweep(tape, engine="python")  # this root's values and gradients, whatever .grad holds
    names, shared, of = tape.names(), [False] * len(tape), ""
    if first is not None:
        names, shared, of = beside(tape, first)
    if titles:
        names = entitled(tape, names, shared, titles)
    role = roles(tape, inputs, parameters)
    grads, line = tape.grad.tolist(), "grad"
    if forward:
        seed = seed_slot(tape, role, wrt)
        grads, line = tangents(tape, seed), "tangent"
    biggest = max((abs(g) for g in grads if math.isfinite(g)), default=0.0)
    summarise = len(tape) > limit or grad_beside  # ∇W beside W asks for the layers' tables
    layers = find_layers(tape, names, role, users_of(tape)) if summarise else []
    if grad_beside and not layers:
        raise ValueError(
            "draw(grad_beside=True) shows each layer's ∇W beside its W, and this graph has no layer of "
            "neurons (nn.Layer's: neurons reading the same inputs); leave grad_beside out"
        )
    direction = rankdir or ("TB" if layers else "LR")
    scene = Scene(
        tape, names, role, tape.data.tolist(), grads, show_grad, shade, biggest, direction, shared, line,
        grad_beside,
    )  # fmt: skip
    graph = Picture(name="microgradx", format=format)
    graph.attr(rankdir=direction, fontname=FONT, fontsize=str(FONT_SIZE), size=f"{MAX_INCHES},{MAX_INCHES}")
    graph.attr(nodesep="0.2", ranksep="0.3")
    graph.attr("node", fontname=FONT, fontsize=str(FONT_SIZE))
    graph.attr("edge", arrowsize="0.6", color="#555555", fontname=FONT, fontsize=str(SMALL))
    notes = [f"shared with {of}"] * any(shared)
    if line == "tangent" and show_grad:
        notes.append(f"tangent: ∂node/∂{names[seed]} (forward mode)")
    if summarise:
        shown = draw_summary(graph, scene, layers, limit)
        legend(graph, scene, shown, notes)
    else:
        draw_detail(graph, scene)
        graph.units = [f"n{i}" for i in range(len(tape))]
        shown = f"{len(tape)} values"
        legend(graph, scene, notes=notes)
    outputs = ", ".join(names[o] for o in tape.outputs.tolist())
    graph.description = f"the graph of {outputs}: {shown}"
    return graph


def forward_mode(mode: str | None, wrt: Value | None) -> bool:
    """Whether `mode` and `wrt` ask for forward mode (`wrt` alone does; None alone is reverse).

    ValueError for a mode not in MODES, or `wrt` with mode="reverse".
    """
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be {' or '.join(MODES)}, not {mode!r}")
    if mode == "reverse" and wrt is not None:
        raise ValueError("wrt chooses the leaf of forward mode: give mode='forward', or leave out wrt")
    return mode == "forward" or wrt is not None


def seed_slot(tape: Tape, role: list[str], wrt: Value | None) -> int:
    """The leaf a forward-mode sweep seeds with tangent 1: `wrt`, or else the first input (or leaf).

    Raises ValueError where `wrt` is not a leaf of the tape, or the tape has no leaf.
    """
    leaves = tape.leaves.tolist()
    if wrt is None:
        inputs = [s for s in leaves if role[s] == "input"]
        if not (inputs or leaves):
            raise ValueError("forward mode goes along a leaf, and this graph has none")
        return (inputs or leaves)[0]
    slots = direction(tape, wrt) if isinstance(wrt, Value) else {}
    if not slots:
        raise ValueError(f"wrt must be a leaf of the graph (an input or a parameter), not {wrt!r}")
    return next(iter(slots))


def tangents(tape: Tape, seed: int) -> list[float]:
    """Every slot's tangent along the leaf in slot `seed`: the forward-mode sweep (`steps.tangent_steps`)."""
    carried = [0.0] * len(tape)  # a constant's tangent is 0
    for step in tangent_steps(tape, {seed: 1.0}):
        carried[step.target] = step.value
    return carried


def entitled(tape: Tape, names: list[str], shared: list[bool], titles: Mapping[str, Value]) -> list[str]:
    """The names with each root named by its key in `titles` ({"∂f/∂u": root}): a new unlabelled
    node takes the key as its name; a node with a name of its own (a label, or the original graph's)
    keeps it, followed by the keys: `w = ∂f/∂u = ∂f/∂v` (the keys are strings: `checks.roots`)."""
    keys: dict[int, list[str]] = {}
    for key, slot in zip(titles, tape.outputs.tolist(), strict=True):
        keys.setdefault(slot, []).append(key)
    names = list(names)
    for slot, given in keys.items():
        own = shared[slot] or label_text(tape.nodes[slot]) or tape.op[slot] == Op.CONST
        names[slot] = " = ".join([names[slot], *given] if own else given)
    return names


def beside(tape: Tape, first: list[Value]) -> tuple[list[str], list[bool], str]:
    """The tape's names as they would be in one picture with the original graph (the Values
    `first`, checked by `draw`) drawn first, which slots are nodes of original's graph, and
    what to call that graph in the key.

    Flattening original first gives its nodes the slots, and so the names (t1, t2, …), that
    original's own picture gives them; the gradient graph's new nodes are numbered after.
    """
    together = flatten([*first, *(tape.nodes[o] for o in tape.outputs.tolist())])
    theirs = set(flatten(first).nodes)
    name_of = dict(zip(together.nodes, together.names(), strict=True))
    names = [name_of[node] for node in tape.nodes]
    called = [name_of[v] for v in first]
    # a label the user gave names the graph; a made-up name (t3) would mean nothing in the key
    of = f"the graph of {called[0]}" if len(first) == 1 and first[0].label else "the original graph"
    return names, [node in theirs for node in tape.nodes], of


def value_node(graph: Picture, scene: Scene, i: int, title: str | None = None) -> None:
    """Slot i as a box: its name, then data and grad."""
    fill, border = scene.fill(i)
    rows = [f"<tr><td><b>{html(scene.names[i] if title is None else title)}</b></td></tr>", "<hr/>"]
    rows.append(f"<tr><td>data {fmt(scene.data[i])}</td></tr>")
    if scene.show_grad:
        rows.append(f"<tr><td>{scene.line} {fmt(scene.grad[i])}</td></tr>")
    pen = SHARED_PEN if scene.shared[i] else 2 if scene.shade and scene.role[i] != "computed" else 1
    table = (
        f'<table border="{pen}" cellborder="0" cellspacing="0" cellpadding="2" '
        f'bgcolor="{fill}" color="{border}">{"".join(rows)}</table>'
    )
    graph.node(f"n{i}", f"<{table}>", shape="plain")


def op_node(graph: Picture, scene: Scene, i: int) -> dict[int, str]:
    """Slot i's op as a circle, or a DOT as a column of term cells; returns where each operand goes.

    The keys are operand positions; the values are the DOT node names (with a port for a term).
    """
    tape, target = scene.tape, f"o{i}"
    info = TABLE[tape.op[i]]
    operands = tape.operands(i).tolist()
    if info.op != Op.DOT:
        graph.node(target, info.symbol, shape="circle", margin="0.02", width="0.3", fontsize="10")
        return {pos: target for pos in range(len(operands))}
    n = len(operands) // 2
    side = INTO[scene.rankdir]
    cells = [f'<td port="p{k}" width="22" height="22"><font point-size="16">·</font></td>' for k in range(n)]
    if scene.rankdir in ("LR", "RL"):
        body = "".join(f"<tr>{c}</tr>" for c in cells) + '<tr><td height="22">Σ</td></tr>'
    else:
        body = f'<tr>{"".join(cells)}<td width="22">Σ</td></tr>'
    table = f'<table border="0" cellborder="1" cellspacing="0" cellpadding="1">{body}</table>'
    graph.node(target, f"<{table}>", shape="plain", fontsize="14")
    # Σ xᵢ·wᵢ: operand k and operand n + k are the two factors of term k
    return {pos: f"{target}:p{pos % n}:{side}" for pos in range(len(operands))}


def draw_detail(graph: Picture, scene: Scene) -> None:
    """Every Value a box, every op a circle (a DOT a column of terms), every operand an edge."""
    tape = scene.tape
    for i in range(len(tape)):
        value_node(graph, scene, i)
        info = TABLE[tape.op[i]]
        if not info.arity:
            continue
        into = op_node(graph, scene, i)
        graph.edge(f"o{i}", f"n{i}")
        for pos, s in enumerate(tape.operands(i).tolist()):
            label = ("1st", "2nd")[pos] if info.op in ORDERED else None
            graph.edge(f"n{s}", into[pos], **({"label": label} if label else {}))


def draw_summary(graph: Picture, scene: Scene, layers: list[Layer], limit: int) -> str:
    """Layers as tables, then the nodes nearest the output up to the limits; the rest as one note.

    Returns what the picture shows, in words.
    """
    tape = scene.tape
    unit = [f"n{i}" for i in range(len(tape))]  # the node each slot is drawn in
    for k, layer in enumerate(layers):
        for neuron in layer.neurons:
            for s in neuron.slots:
                unit[s] = f"L{k}"
    edges: dict[str, set[str]] = {}  # unit -> the units it reads
    order: list[str] = []  # units in tape order of their first slot
    for i in range(len(tape)):
        u = unit[i]
        if u not in edges:
            edges[u] = set()
            order.append(u)
        for s in tape.operands(i).tolist():
            if unit[s] != u:
                edges[u].add(unit[s])
    if has_cycle(edges):  # a weight also feeding its own layer's inputs: no tables, then
        return draw_summary(graph, scene, [], limit)
    kept = nearest(edges, order, [unit[o] for o in tape.outputs.tolist()], limit)
    position = {u: k for k, u in enumerate(order)}
    slots_of: dict[str, list[int]] = {}
    for i, u in enumerate(unit):
        slots_of.setdefault(u, []).append(i)
    for u in order:
        if u not in kept:
            continue
        if u.startswith("L"):
            layer_node(graph, scene, u, layers[int(u[1:])])
            continue
        i = int(u[1:])
        info = TABLE[tape.op[i]]
        value_node(graph, scene, i, f"{scene.names[i]} ({info.symbol})" if info.arity else None)
    hidden = sum(len(slots_of[u]) for u in order if u not in kept)
    graph.units = [u if u in kept else None for u in unit]
    if hidden:
        graph.node(
            "hidden",
            html(f"… {hidden:,} more values, not drawn"),
            shape="note",
            style="filled",
            fillcolor="#f3f3f3",
        )
    for u in order:
        if u not in kept:
            continue
        reads = sorted(edges[u], key=position.__getitem__)
        for v in reads:
            if v in kept:
                graph.edge(v, u)
        if any(v not in kept for v in reads):
            graph.edge("hidden", u, style="dashed")
    drawn = len(tape) - hidden
    notes = [f"{len(tape):,} values"]
    if layers:
        notes.append(
            f"{len(layers)} layer{'s' * (len(layers) > 1)} of neurons as tables (W: a row per neuron)"
        )
    if hidden:
        notes.append(f"the {drawn:,} nearest the output drawn")
    return "summarised: " + "; ".join(notes)


def has_cycle(edges: dict[str, set[str]]) -> bool:
    """Whether the units' graph has a cycle (Kahn's sort leaves some unsorted)."""
    pending = {u: len(reads) for u, reads in edges.items()}
    users: dict[str, list[str]] = {u: [] for u in edges}
    for u, reads in edges.items():
        for v in reads:
            users[v].append(u)
    ready = deque(u for u, k in pending.items() if k == 0)
    done = 0
    while ready:
        v = ready.popleft()
        done += 1
        for u in users[v]:
            pending[u] -= 1
            if pending[u] == 0:
                ready.append(u)
    return done != len(edges)


def nearest(edges: dict[str, set[str]], order: list[str], outputs: list[str], limit: int) -> set[str]:
    """The units to draw: breadth first from the outputs, at most `limit` of them, RANK_LIMIT at
    one distance, and none that would make a path to the output longer than DEPTH_LIMIT."""
    position = {u: k for k, u in enumerate(order)}
    height: dict[str, int] = {}  # longest path (in kept units) from a unit to an output

    def fits(u: str, h: int) -> bool:
        """Whether keeping u at height h keeps every kept unit below it within DEPTH_LIMIT."""
        raised = {u: h}
        todo = [u]
        while todo:
            v = todo.pop()
            for w in edges[v]:
                if w in height or w in raised:
                    new = raised[v] + 1
                    if new > max(height.get(w, -1), raised.get(w, -1)):
                        if new > DEPTH_LIMIT:
                            return False
                        raised[w] = new
                        todo.append(w)
        height.update(raised)
        return True

    users: dict[str, list[str]] = {u: [] for u in edges}
    for u, reads in edges.items():
        for v in reads:
            users[v].append(u)
    level = sorted(dict.fromkeys(outputs), key=position.__getitem__)[:RANK_LIMIT]
    for u in level:
        height[u] = 0
    while level and len(height) < limit:
        candidates = {v for u in level for v in edges[u] if v not in height}
        level = []
        for v in sorted(candidates, key=position.__getitem__, reverse=True):
            if len(level) == RANK_LIMIT or len(height) == limit:
                break
            h = 1 + max(height[u] for u in users[v] if u in height)
            if h <= DEPTH_LIMIT and fits(v, h):
                level.append(v)
    return set(height)


def elide(items: list[Any], limit: int) -> list[Any]:
    """Up to `limit` items: all of them, or the first ones, None for the gap, and the last two."""
    return items if len(items) <= limit else [*items[: limit - 3], None, *items[-2:]]


def layer_node(graph: Picture, scene: Scene, unit: str, layer: Layer) -> None:
    """A layer as its weight matrix: a row per neuron (its output, then wᵢ for each input, then b).

    Each cell holds a parameter's data and, below it, its gradient; or, with `grad_beside`,
    the gradients make a second matrix ∇W (and ∇b) to the right of W (and b), as
    `Layer.weight_grad` holds them. The column header pairs each weight with the input it
    multiplies. The layer's place, a row's neuron and a column's weight make up each
    parameter's full name (L2, n3, w1: L2.n3.w1), which is also the cell's tooltip. A layer
    built with bias=False has no b column. Beyond TABLE_COLUMNS inputs or TABLE_ROWS neurons
    the middle ones are left out, in a column or row marked …, so that the table fits a page.
    """
    names, first = scene.names, layer.neurons[0]
    places = [prefix([names[s] for s in n.parameters]) for n in layer.neurons]
    local = [[strip(names[s], p) for s in n.parameters] for n, p in zip(layer.neurons, places, strict=True)]
    has_bias = all(n.bias is not None for n in layer.neurons)
    if any(row != local[0] for row in local) or len(local[0]) != len(first.weights) + has_bias:
        # parameters not named alike in every neuron, or biases in some only: by position
        local[0] = [f"w{k}" for k in range(1, len(first.weights) + 1)] + ["b"] * has_bias
    columns = elide(list(range(len(first.weights))), TABLE_COLUMNS)
    beside = scene.grad_beside and scene.show_grad
    block = []
    for k in columns:
        block.append(header("…") if k is None else header(f"{local[0][k]}\n· {names[layer.inputs[k]]}"))
    block += [header(local[0][-1])] * has_bias
    head = [header("neuron"), header("output"), *block]
    if beside:
        line = scene.line  # ∇ is missing from the PNG font: the matrix's columns say "grad w1"
        head += ["<td></td>"] + [
            header("…") if k is None else header(f"{line} {local[0][k]}") for k in columns
        ]
        head += [header(f"{line} {local[0][-1]}")] * has_bias
    acts = {TABLE[scene.tape.op[n.out]].name if n.out != n.add else "linear" for n in layer.neurons}
    count, width = len(layer.neurons), len(layer.inputs)
    grads = f'<font color="{GRAD_COLOUR}">{scene.line}</font>'
    title = (
        f"<b>{html(layer.name)}</b>: {count} {'/'.join(sorted(acts))} neuron{'s' * (count > 1)}"
        f" of {width} input{'s' * (width > 1)}{', no bias' * (not has_bias)}; "
        + ("W" + " and b" * has_bias + f", then their {grads}s beside them"
           if beside else "each cell: data" + (f", {grads} below" if scene.show_grad else ""))
    )  # fmt: skip
    rows = [f'<tr><td colspan="{len(head)}">{title}</td></tr>', "<tr>" + "".join(head) + "</tr>"]
    for j in elide(list(range(count)), TABLE_ROWS):
        if j is None:
            rows.append(f'<tr><td colspan="{len(head)}">… {count - TABLE_ROWS + 1} more neurons</td></tr>')
            continue
        neuron, place = layer.neurons[j], places[j]
        params = [None if k is None else neuron.weights[k] for k in columns] + [neuron.bias] * has_bias
        row = [header(strip(place, layer.place) if place else names[neuron.out])]
        row.append(number_cell(scene, neuron.out))
        show = "data" if beside else "both"
        row += ["<td>…</td>" if s is None else number_cell(scene, s, show) for s in params]
        if beside:
            row += ["<td></td>"] + [
                "<td>…</td>" if s is None else number_cell(scene, s, "grad") for s in params
            ]
        rows.append("<tr>" + "".join(row) + "</tr>")
    frame = '<table border="1" cellborder="1" cellspacing="0" cellpadding="2" color="#888888">'
    graph.node(unit, f"<{frame}{''.join(rows)}</table>>", shape="plain", fontsize=str(SMALL))


def strip(name: str, place: str) -> str:
    """A name without the place it sits in: strip("L2.n3.w1", "L2.n3") is "w1"."""
    return name[len(place) + 1 :] if place and name.startswith(place + ".") else name


def header(text: str) -> str:
    """A header cell: bold text, wrapped narrow."""
    return f"<td><b>{html(text, 24)}</b></td>"


def number_cell(scene: Scene, i: int, show: str = "both") -> str:
    """Slot i's data (and grad below it, in GRAD_COLOUR) in a table cell; its name as the tooltip.
    `show` "data" or "grad" puts only that one in the cell (a layer's W and ∇W side by side).

    A parameter shared with an original graph (`draw(original=...)`) is framed in SHARED."""
    fill, _ = scene.fill(i)
    grad = f'<font color="{GRAD_COLOUR}">{short(scene.grad[i])}</font>'
    text = grad if show == "grad" else short(scene.data[i])
    if scene.show_grad and show == "both":
        text += f"<br/>{grad}"
    frame = f' border="{SHARED_PEN}" color="{SHARED}"' if scene.shared[i] else ""
    tip = escape(visible(scene.names[i]), quote=True)
    return f'<td bgcolor="{fill}"{frame} tooltip="{tip}">{text}</td>'


def legend(graph: Picture, scene: Scene, note: str = "", notes: Sequence[str] = ()) -> None:
    """A one-row key of what the colours mean (and the summary's note above it), as the graph's
    label below the drawing: it takes no room from the ranks. `notes`: the purple border of
    the nodes shared with an original graph, what a tangent is, where the picture has them."""
    cells = []
    shade, biggest = scene.shade, scene.biggest
    present = set(scene.role)  # the roles this picture has: a key entry for nothing would puzzle
    for name, (fill, border) in ROLES.items():
        if name not in present:
            continue
        bg = "#ffffff" if shade else fill
        cells.append(f'<td bgcolor="{bg}" color="{border}">{name}</td>')
    for text in notes:
        shared = text.startswith("shared")
        style = f'border="{SHARED_PEN}" color="{SHARED}"' if shared else 'border="0"'
        cells.append(f"<td {style}>{html(text, 40)}</td>")
    if shade:
        red = shade_colour(biggest, biggest)
        cells.append(f'<td bgcolor="{red}">fill: |{scene.line}| from 0 (white) to {fmt(biggest)}</td>')
    row = '<td border="0">key</td>' + "".join(cells)
    top = f'<tr><td colspan="{len(cells) + 1}" border="0">{html(note, 100)}</td></tr>' if note else ""
    table = f'<table border="0" cellborder="1" cellspacing="3" cellpadding="3">{top}<tr>{row}</tr></table>'
    graph.attr(label=f"<{table}>", labelloc="b", fontsize=str(SMALL))
