"""Render the lecture's graphs, after backprop, into this folder (the pictures are checked in).

    python viz/render_gallery.py [OUT_DIR]

Each graph is built from Values, exactly as the lecture writes it; `draw` computes the
values and gradients it shows (∂root/∂node for the root drawn). The gradient graphs
(`microgradx.grad(..., create_graph=True)`) are drawn with `original=`, which outlines
the nodes they share with the graph they differentiate; the lecture example's
forward-mode sweep gets a step-through page of its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import microgradx
from microgradx import Value
from microgradx.backprop import backward
from microgradx.nn import MLP
from microgradx.viz import draw, draw_tape, explore, render


def chain_rule() -> tuple[Value, list[Value]]:
    """F(x) = (2x + 3)² at x = 1: the chain rule gives F′(x) = 4(2x + 3) = 20."""
    x = Value(1.0, "x")
    h = 2 * x + 3
    h.label = "h"
    F = h**2
    F.label = "F"
    return F, [x]


def lecture_f() -> tuple[Value, list[Value]]:
    """f = (u + v)·w at u=2, v=3, w=4: f = 20, ∂f/∂u = ∂f/∂v = 4, ∂f/∂w = 5; u + v is named t1."""
    u, v, w = Value(2.0, "u"), Value(3.0, "v"), Value(4.0, "w")
    f = (u + v) * w
    f.label = "f"
    return f, [u, v, w]


def two_layer() -> tuple[Value, list[Value]]:
    """R(x) = f₂(w₂·f₁(w₁·x)) with f₁ = tanh, f₂ = σ, and the quadratic loss F = (R(x) − y)²."""
    x, y = Value(1.5, "x"), Value(1.0, "y")
    w1, w2 = Value(0.8, "w1"), Value(-1.2, "w2")
    a1 = w1 * x
    a1.label = "a1"
    phi1 = a1.tanh()
    phi1.label = "φ1"
    a2 = w2 * phi1
    a2.label = "a2"
    R = a2.sigmoid()
    R.label = "R"
    d = R - y
    d.label = "R − y"
    F = d**2
    F.label = "F"
    return F, [x, y]


def neuron() -> tuple[Value, list[Value]]:
    """One neuron, tanh(w1·x1 + w2·x2 + b), at micrograd's example values (output 0.7071)."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [x1, x2]


def mlp() -> tuple[Value, list[Value]]:
    """A 2-2-1 MLP (`nn.MLP`): two tanh units, a linear output ŷ, and the squared error L = (ŷ − y)²."""
    model = MLP(2, [2, 1], activation="tanh")
    # L1.n1.w1, L1.n1.w2, L1.n1.b, L1.n2.w1, L1.n2.w2, L1.n2.b, L2.n1.w1, L2.n1.w2, L2.n1.b
    for p, value in zip(model.parameters(), [0.3, -0.4, 0.1, 0.6, 0.1, -0.2, 0.7, -0.5, 0.05], strict=True):
        p.data = value
    x = [Value(1.0, "x1"), Value(-2.0, "x2")]
    y = Value(0.5, "y")
    out = model(x)
    out.label = "ŷ"
    loss = (out - y) ** 2
    loss.label = "L"
    return loss, [*x, y]


def moons_mlp() -> tuple[Value, list[Value]]:
    """The demo's network, MLP(2, [16, 16, 1]) at its initial weights, on one moons row."""
    model = MLP(2, [16, 16, 1], seed=1337, init="micrograd")  # the demo's: micrograd's init
    return model([Value(0.5, "x1"), Value(0.25, "x2")]), []


GRAPHS: dict[str, Callable[[], tuple[Value, list[Value]]]] = {
    "chain_rule": chain_rule,
    "lecture_f": lecture_f,
    "two_layer": two_layer,
    "neuron": neuron,
    "mlp": mlp,
    "moons_mlp": moons_mlp,
}
OPTIONS: dict[str, dict[str, str]] = {
    "two_layer": {"rankdir": "TB"},
    "mlp": {"rankdir": "TB"},
}  # README-narrow


def gradient_graphs() -> dict[str, tuple[dict[str, Value], Value, dict[str, object]]]:
    """Each gradient graph of the gallery: its roots by name, the graph it differentiates, draw's options.

    The lecture's f = (u + v)·w: ∂f/∂u = ∂f/∂v = w and ∂f/∂w = t1, f's own nodes, so the
    gradient graph is a part of f's (its gradients summed would mean nothing: left out).
    F(x) = (2x + 3)²: F′(x) = 2h · 2 = 20 at x = 1, built on h and x; each node's gradient
    is then ∂F′/∂node, so x shows F″ = 8.
    """
    f, (u, v, w) = lecture_f()
    df = microgradx.grad(f, [u, v, w], create_graph=True)
    F, (x,) = chain_rule()
    dF = microgradx.grad(F, x, create_graph=True)
    return {
        "lecture_f_grad": (dict(zip(["∂f/∂u", "∂f/∂v", "∂f/∂w"], df, strict=True)), f, {"show_grad": False}),
        "chain_rule_grad": ({"F′": dF}, F, {}),
    }


def main(out_dir: Path) -> list[Path]:
    """Write every graph's SVG, the gradient graphs', the lecture example's tape and its step-through
    pages (backprop, and forward mode along u)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in GRAPHS.items():
        root, inputs = build()
        picture = draw(root, inputs=inputs or None, **OPTIONS.get(name, {}))
        written.append(render(picture, out_dir / f"{name}.svg"))
    root, inputs = lecture_f()
    written.append(render(draw_tape(backward(root, engine="python")), out_dir / "lecture_f_tape.svg"))
    written.append(
        explore(root, out_dir / "lecture_f.html", inputs=inputs, title="backprop through f = (u + v)·w")
    )
    written.append(
        explore(
            root,
            out_dir / "lecture_f_forward.html",
            inputs=inputs,
            mode="forward",
            title="forward mode through f = (u + v)·w along u",
        )
    )
    for name, (roots, original, options) in gradient_graphs().items():
        written.append(render(draw(roots, original=original, **options), out_dir / f"{name}.svg"))
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent):
        print(f"wrote {path}")
