"""`microgradx draw` and `microgradx explain`: an expression's graph as a picture or as text.

    microgradx draw "(u + v) * w" u=2 v=3 w=4 -o f.svg
    microgradx explain "(u + v) * w" u=2 v=3 w=4

The expression is parsed safely (`microgradx.expr`), its gradients computed by the
reference sweep, and the result drawn (`draw`, `draw_tape`, `explore`) or printed as
the lecture writes the two sweeps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..backprop import backward
from ..engine import Value
from ..expr import parse, parse_bindings
from ..tape import Tape, flatten
from .explore import explore
from .graph import RANKDIRS, draw
from .render import render
from .steps import backward_steps, forward_steps, num, output_name
from .tapeview import draw_tape

EXPRESSION_HELP = (
    'the expression, like "(u + v) * w" or "tanh(w1*x1 + w2*x2 + b)"; if it starts with -, put -- before it'
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the `draw` and `explain` subcommands to the `microgradx` parser."""
    p = sub.add_parser(
        "draw",
        help="draw an expression's graph with every value and gradient",
        description="Draw an expression's graph with every value and gradient, after backprop.",
    )
    add_expression(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write: .svg, .png, .dot/.gv (DOT source) or .html (a step-through page); "
        "without it, the DOT source is printed",
    )
    p.add_argument("--tape", action="store_true", help="draw the flattened tape instead of the graph")
    p.add_argument("--shade", action="store_true", help="fill nodes by |grad|")
    p.add_argument("--no-grad", action="store_true", help="leave gradients out")
    p.add_argument("--rankdir", default="LR", choices=RANKDIRS, help="layout direction (default LR)")
    p.set_defaults(run=run_draw)

    p = sub.add_parser(
        "explain",
        help="print the forward and backward sweeps of an expression, step by step",
        description="Print the forward and backward sweeps of an expression as the lecture writes them.",
    )
    add_expression(p)
    p.set_defaults(run=run_explain)


def add_expression(p: argparse.ArgumentParser) -> None:
    p.add_argument("expression", help=EXPRESSION_HELP)
    p.add_argument("bindings", nargs="*", metavar="NAME=VALUE", help="the value of each name, like u=2")


def build(expression: str, bindings: list[str]) -> tuple[Value, dict[str, Value], Tape]:
    """The expression's graph after backprop, its named inputs and its tape; the output is called f."""
    inputs = {name: Value(x, label=name) for name, x in parse_bindings(bindings).items()}
    root = parse(expression, inputs)
    if not root.label and "f" not in inputs:
        root.label = "f"
    tape = backward(root, engine="python")  # the reference sweep: no compile wait for one small graph
    return root, inputs, tape


def run_draw(args: argparse.Namespace) -> int:
    root, inputs, tape = build(args.expression, args.bindings)
    if args.tape:
        picture = draw_tape(tape)
    else:
        picture = draw(
            root, rankdir=args.rankdir, show_grad=not args.no_grad, inputs=inputs.values(), shade=args.shade
        )
    if args.output is None:
        print(picture.source, end="")
        return 0
    out = Path(args.output)
    if out.suffix.lower() in (".html", ".htm"):
        explore(root, out, inputs=inputs.values(), title=f"backprop through {args.expression}")
    else:
        render(picture, out)
    print(f"wrote {out}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    root, inputs, _ = build(args.expression, args.bindings)
    print(explain(root, inputs, args.expression))
    return 0


def explain(root: Value, inputs: dict[str, Value], expression: str = "") -> str:
    """The two sweeps as text: forward values, each chain-rule step, then the inputs' gradients."""
    tape = flatten(root)
    f = output_name(tape)
    given = ", ".join(f"{name}={num(v.data)}" for name, v in inputs.items())
    lines = [f"{f} = {expression}" + (f"  at {given}" if given else ""), ""]
    lines.append("forward sweep: φ_k = f_k(operands), slot by slot")
    lines += [f"  {s.text}" for s in forward_steps(tape)]
    lines += ["", f"backward sweep: seed ∂{f}/∂{f} = 1, then the chain rule from the output back"]
    steps = backward_steps(tape)
    width = max(len(s.text) for s in steps)
    lines += [f"  {s.text:<{width}}    {s.rule}" for s in steps]
    lines += ["", "gradients:"]
    lines += [f"  ∂{f}/∂{name} = {num(v.grad)}" for name, v in inputs.items()]
    return "\n".join(lines)
