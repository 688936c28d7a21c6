"""How long drawing takes: building the DOT text, then rendering it, for graphs up to 5,000 nodes;
and how long `explore` takes to write the step-through page of three networks' losses.

    python benchmarks/draw.py

Prints one row per graph size; 2,000 nodes is the size the issue asks to render. The
renderer is whichever `microgradx.viz.find_renderer()` finds (the system `dot`, else
graphviz-pure). The networks' rows give explore's seconds per thousand values, which stays
about the same from 4,137 values to 27,015 (its work is linear: each name and formula made
once); MLP(784, [128, 10])'s 102,999 values are over `PAGE_LIMIT`, and refused at once.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from microgradx import Value
from microgradx.core.tape import flatten
from microgradx.losses import total_mse
from microgradx.nn import MLP
from microgradx.viz import draw, draw_tape, explore, find_renderer, pipe
from microgradx.viz.graph import NODE_LIMIT

NETWORKS = ((10, [40, 40, 40, 1]), (64, [128, 128, 10]), (784, [128, 10]))  # a newcomer's three


def layered(width: int, depth: int) -> Value:
    """A net of tanh units, width × depth, summed: about 4·width·depth + 2·width nodes."""
    xs = [Value(0.1 * i, f"x{i}") for i in range(width)]
    for d in range(depth):
        xs = [((xs[i] * 0.5 + xs[(i + 1) % width]) * (0.1 * d)).tanh() for i in range(width)]
    return Value.sum(xs)


def seconds(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    print(f"renderer: {find_renderer()}")
    print(f"{'nodes':>7} {'mode':>9} {'DOT':>8} {'svg':>8} {'png':>8} {'tape svg':>9} {'html':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for width, depth in [(5, 6), (20, 6), (20, 17), (25, 50)]:
            root = layered(width, depth)
            root.backward(engine="python")
            n = len(flatten(root))
            t_dot, graph = seconds(lambda r=root: draw(r))
            t_svg, _ = seconds(lambda g=graph: pipe(g.source, "svg"))
            t_png, _ = seconds(lambda g=graph: pipe(g.source, "png"))
            t_tape, _ = seconds(lambda r=root: pipe(draw_tape(r).source, "svg"))
            t_html, _ = seconds(lambda r=root: explore(r, Path(tmp) / "page.html"))
            mode = "full" if n <= NODE_LIMIT else "summary"
            times = (
                " ".join(f"{t:>7.2f}s" for t in (t_dot, t_svg, t_png)) + f" {t_tape:>8.2f}s {t_html:>7.2f}s"
            )
            print(f"{n:>7} {mode:>9} {times}", flush=True)
        print(f"\n{'network':>22} {'values':>8} {'draw':>7} {'explore':>8} {'s / 1k values':>14}  page")
        for inputs, sizes in NETWORKS:
            net = MLP(inputs, sizes, seed=0)
            out = net([Value(0.01 * k) for k in range(inputs)])
            loss = total_mse(out if isinstance(out, list) else [out], [0.0] * sizes[-1])
            n = len(flatten(loss))
            t_dot, _ = seconds(lambda r=loss: draw(r))
            start = time.perf_counter()
            try:
                size = f"{explore(loss, Path(tmp) / 'net.html').stat().st_size / 1e6:.1f} MB"
            except ValueError as e:  # over PAGE_LIMIT: refused before any step is made
                size = f"refused: {str(e)[:60]}…"
            t_html = time.perf_counter() - start
            name = f"MLP({inputs}, {sizes})"
            rate = 1000 * t_html / n
            print(f"{name:>22} {n:>8,} {t_dot:>6.2f}s {t_html:>7.2f}s {rate:>13.3f}s  {size}", flush=True)


if __name__ == "__main__":
    main()
