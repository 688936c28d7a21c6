"""Render the lecture's graphs, after backprop, into this folder (the pictures are checked in).

    python viz/render_gallery.py [OUT_DIR]

Each graph is built from Values by hand, exactly as the lecture writes it, then
`backward()` fills the gradients that the pictures show.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from microgradx import Value
from microgradx.backprop import backward
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
    """f = (u + v)·w at u=2, v=3, w=4: f = 20, ∂f/∂u = ∂f/∂v = 4, ∂f/∂w = 5."""
    u, v, w = Value(2.0, "u"), Value(3.0, "v"), Value(4.0, "w")
    t1 = u + v
    t1.label = "t1"
    f = t1 * w
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
    """A 2-2-1 MLP built by hand: two tanh units, a linear output, and a squared error."""
    x = [Value(1.0, "x1"), Value(-2.0, "x2")]
    y = Value(0.5, "y")
    weights = [[0.3, -0.4], [0.6, 0.1]]
    biases = [0.1, -0.2]
    hidden = []
    for j, (row, bias) in enumerate(zip(weights, biases, strict=True), start=1):
        ws = [Value(wij, f"w{j}{i}") for i, wij in enumerate(row, start=1)]
        s = ws[0] * x[0] + ws[1] * x[1] + Value(bias, f"b{j}")
        h = s.tanh()
        h.label = f"h{j}"
        hidden.append(h)
    v1, v2, c = Value(0.7, "v1"), Value(-0.5, "v2"), Value(0.05, "c")
    out = v1 * hidden[0] + v2 * hidden[1] + c
    out.label = "ŷ"
    loss = (out - y) ** 2
    loss.label = "L"
    return loss, [*x, y]


GRAPHS: dict[str, Callable[[], tuple[Value, list[Value]]]] = {
    "chain_rule": chain_rule,
    "lecture_f": lecture_f,
    "two_layer": two_layer,
    "neuron": neuron,
    "mlp": mlp,
}


def main(out_dir: Path) -> list[Path]:
    """Write every graph's SVG, the lecture example's tape and its step-through page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in GRAPHS.items():
        root, inputs = build()
        backward(root, engine="python")
        written.append(render(draw(root, inputs=inputs), out_dir / f"{name}.svg"))
    root, inputs = lecture_f()
    written.append(render(draw_tape(backward(root, engine="python")), out_dir / "lecture_f_tape.svg"))
    written.append(
        explore(root, out_dir / "lecture_f.html", inputs=inputs, title="backprop through f = (u + v)·w")
    )
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent):
        print(f"wrote {path}")
