"""`microgradx draw` and `microgradx explain`: an expression's graph as a picture or as text.

    microgradx draw "(u + v) * w" u=2 v=3 w=4 -o f.svg
    microgradx explain "(u + v) * w" u=2 v=3 w=4
    microgradx explain "(u + v) * w" u=2 v=3 w=4 --mode forward --wrt v
    microgradx explain --matrix --sizes 2,3,2 --loss mse
    microgradx explain "x**2 - y**2" x=0 y=0 --hessian

The expression is parsed safely (`microgradx.expr`), its gradients computed by the
reference sweep, and the result drawn (`draw`, `draw_tape`, `explore`) or printed as
the lecture writes the two sweeps (or, with `--mode forward`, the forward-mode sweep
along one input: each tangent a chain-rule sum). Where a value or gradient is nan or
inf, `explain` says which op made it, from which operands. `--hessian` adds the second
derivatives at the point, their eigenvalues and what they say: minimum, maximum or saddle
(viz/curvature.py).
"""

from __future__ import annotations

import argparse
import textwrap
import unicodedata
from pathlib import Path

from ..backprop import backward
from ..core.engine import Value
from ..core.tape import Tape, flatten
from ..matrix import LOSSES
from ..serialize import writable_folder
from ..viz.curvature import explain_hessian
from ..viz.explore import PAGES, explore
from ..viz.graph import RANKDIRS, draw
from ..viz.matrixview import explain_matrix, small_mlp
from ..viz.render import PICTURES, SOURCES, render
from ..viz.steps import (
    MODES,
    Step,
    backward_steps,
    direction,
    dotted,
    forward_steps,
    num,
    output_name,
    tangent_steps,
)
from ..viz.tapeview import draw_tape
from .expr import parse, parse_bindings, printable, suggest, together, whole

EXPRESSION_HELP = 'the expression, like "(u + v) * w", "tanh(w1*x1 + w2*x2 + b)" or "-x"'
# Every file `draw -o` writes, by suffix: the help and the error list them from here.
FORMATS = {
    **{suffix: "a picture" for suffix in PICTURES},
    **{suffix: "DOT source" for suffix in SOURCES},
    **{suffix: "a step-through page" for suffix in PAGES},
}
# The closing line of `explain --mode forward`: what one sweep of each mode gives (the cost argument
# of Griewank and Walther, Evaluating Derivatives, ch. 3-4).
FORWARD_COST = (
    "cost: one forward-mode sweep gives every output's derivative along one input direction (here {along}); "
    "one reverse sweep gives one output's derivative by every input. So n inputs and m outputs take n "
    "forward sweeps or m reverse ones: for a loss of many parameters (m = 1), reverse mode."
)
# Each command's option strings, and whether the option takes a value (filled by add_parsers).
OPTIONS: dict[str, dict[str, bool]] = {}


def formats() -> str:
    """`.svg, .png, .jpg, .jpeg (a picture), .dot, .gv (DOT source) or .html, .htm (a step-through page)`."""
    kinds = {kind: [s for s, k in FORMATS.items() if k == kind] for kind in FORMATS.values()}
    parts = [f"{', '.join(suffixes)} ({kind})" for kind, suffixes in kinds.items()]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def expressions_after_options(args: list[str], options: dict[str, bool]) -> list[str]:
    """A command's arguments with every option first and every expression or binding after `--`.

    argparse reads any argument that starts with - as an option, so `explain -x x=2` would
    fail with "unrecognized arguments: -x", and `-h*x` or `-out*x` would be taken for -h
    and -o (Python issue 9334). Here only the command's own options are options: an exact
    option string like -o, or a --long one (an unambiguous abbreviation, with or without
    =VALUE); everything else is an expression or a binding, in the order given.
    """
    front: list[str] = []
    positional: list[str] = []
    k = 0
    while k < len(args):
        arg = args[k]
        k += 1
        if arg == "--":
            positional += args[k:]
            break
        if arg.startswith("--"):
            name = arg.partition("=")[0]
            matches = [o for o in options if o == name] or [o for o in options if o.startswith(name)]
            front.append(arg)
        elif arg in options:
            name, matches = arg, [arg]
            front.append(arg)
        else:
            positional.append(arg)
            continue
        if len(matches) == 1 and options[matches[0]] and "=" not in arg and k < len(args):
            front.append(args[k])  # the option's value, whatever it looks like
            k += 1
    return front + ["--", *positional] if positional else front


def options_of(*actions: argparse.Action) -> dict[str, bool]:
    """{option string: takes a value} for argparse actions, with argparse's own -h/--help."""
    table = {"-h": False, "--help": False}
    table.update({s: a.nargs != 0 for a in actions for s in a.option_strings})
    return table


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the `draw` and `explain` subcommands to the `microgradx` parser."""
    p = sub.add_parser(
        "draw",
        help="draw an expression's graph with every value and gradient",
        description="Draw an expression's graph with every value and gradient, after backprop.",
    )
    add_expression(p)
    OPTIONS["draw"] = options_of(
        p.add_argument(
            "-o",
            "--output",
            metavar="FILE",
            help=f"where to write: {formats()}; missing folders are made. Without it, the DOT source "
            "is printed",
        ),
        p.add_argument("--tape", action="store_true", help="draw the flattened tape instead of the graph"),
        p.add_argument("--shade", action="store_true", help="fill nodes by |grad|"),
        p.add_argument("--no-grad", action="store_true", help="leave gradients out"),
        p.add_argument("--rankdir", choices=RANKDIRS, help="layout direction (default LR)"),
        *mode_options(p, "forward: each node's tangent along one input (see --wrt) in place of its gradient, "
                      "and a .html page steps through the forward-mode sweep"),
    )  # fmt: skip
    p.set_defaults(run=run_draw)

    p = sub.add_parser(
        "explain",
        help="print the forward and backward sweeps of an expression, step by step",
        description="Print the forward and backward sweeps of an expression as the lecture writes them; "
        "with --mode forward, the forward-mode sweep: each value's tangent along one input (chain rule); "
        "with --matrix, the lecture's K-layer backpropagation on a small MLP, matrix by matrix.",
    )
    add_expression(p, optional=True)
    OPTIONS["explain"] = options_of(
        *mode_options(p, "forward: one sweep carrying each value's tangent, the derivative along one input "
                      "(see --wrt)"),
        *matrix_options(p),
        p.add_argument("--hessian", action="store_true",
                       help="then the Hessian at the point, its eigenvalues and what they say: a minimum, a "
                       "maximum or a saddle point"),
    )  # fmt: skip
    p.set_defaults(run=run_explain)


def matrix_options(p: argparse.ArgumentParser) -> tuple[argparse.Action, ...]:
    """explain's --matrix and the options that choose its network."""
    return (
        p.add_argument(
            "--matrix",
            action="store_true",
            help="instead of an expression, a small MLP as the lecture's matrices: the forward pass and "
            "backprop step by step (g, f'(a[k]), ∇W[k]), each entry of ∇W named by its parameter",
        ),
        p.add_argument(
            "--sizes",
            metavar="D0,…,DK",
            help="--matrix: the widths d_0 (inputs) … d_K (outputs), each 1 to 8 (default 2,3,2)",
        ),
        p.add_argument(
            "--activations",
            metavar="F1,…,FK",
            help="--matrix: one activation per layer, or one for all (default tanh, the output linear; "
            "sigmoid for nll)",
        ),
        p.add_argument("--loss", choices=list(LOSSES), help="--matrix: the loss (default mse)"),
        p.add_argument(
            "--bias", action="store_true", help="--matrix: layers with biases (the lecture's have none)"
        ),
        p.add_argument(
            "--seed", type=whole(0), metavar="N", help="--matrix: draws the weights, x and y (default 0)"
        ),
    )


def mode_options(p: argparse.ArgumentParser, forward: str) -> tuple[argparse.Action, argparse.Action]:
    """--mode and --wrt, for draw and explain; `forward` says what forward mode shows."""
    return (
        p.add_argument(
            "--mode",
            type=mode,
            default=None,
            metavar="{reverse,forward}",
            help="reverse (default): the forward sweep, then backprop from the output to every input; "
            + forward,
        ),
        p.add_argument(
            "--wrt",
            metavar="NAME",
            help="forward mode: the input to differentiate along, seeded with tangent 1 (default: the first "
            "input the expression reads); implies --mode forward",
        ),
    )


def mode(text: str) -> str:
    """--mode's value, checked: reverse or forward, else an error with a "did you mean"."""
    if text in MODES:
        return text
    raise argparse.ArgumentTypeError(
        f"unknown mode {text!r}: {suggest(text, MODES)}choose {' or '.join(MODES)}"
    )


def add_expression(p: argparse.ArgumentParser, optional: bool = False) -> None:
    """The expression and its NAME=VALUE bindings, the positional arguments of draw and explain
    (`optional` for explain, whose --matrix explains a network instead)."""
    p.add_argument("expression", nargs="?" if optional else None, help=EXPRESSION_HELP)
    p.add_argument(
        "bindings",
        nargs="*",
        metavar="NAME=VALUE",
        help="the value of each name, like u=2 (e and pi need none)",
    )


def build(
    expression: str, bindings: list[str], wrt: str | None = None
) -> tuple[Value, dict[str, Value], Tape]:
    """The expression's graph after backprop, its named inputs and its tape; the output is called f.

    A binding the expression does not read is refused (a leftover, or a misspelt name in the
    expression): its gradient would be shown as 0 without a word. Not the one `wrt` names (explain's
    --wrt): forward mode along an input f does not read is asked on purpose (every tangent 0, said so).
    """
    inputs = {name: Value(x, label=name) for name, x in parse_bindings(bindings).items()}
    root = parse(expression, inputs)
    if not root.label and "f" not in inputs:
        root.label = "f"
    tape = backward(root, engine="python")  # the reference sweep: no compile wait for one small graph
    read = {id(node) for node in tape.nodes}
    unread = [name for name, x in inputs.items() if id(x) not in read and name != wrt]
    if unread:
        given = {item.partition("=")[0].strip(): item.strip() for item in bindings}
        raise ValueError(
            f"{expression} does not read {', '.join(unread)}: leave {', '.join(given[n] for n in unread)} "
            "out, or fix the expression"
        )
    return root, inputs, tape


def run_draw(args: argparse.Namespace) -> int:
    out = None if args.output is None else Path(args.output)
    if out is not None and out.suffix.lower() not in FORMATS:
        known = ", ".join(FORMATS)
        raise ValueError(f"cannot tell what to write from {str(out)!r}: end it with one of {known}")
    graph = {"--shade": args.shade, "--no-grad": args.no_grad, "--rankdir": args.rankdir is not None}
    if out is not None and out.suffix.lower() in PAGES:
        together(
            {"--tape": args.tape, **graph},
            f"{out.suffix} writes a step-through page, which draws the graph its own way: leave out {{}}",
        )
    if args.tape:
        forward = {"--mode forward": args.mode == "forward", "--wrt": args.wrt is not None}
        together(
            {**forward, **graph}, "--tape draws the tape's values and gradients, slot by slot: leave out {}"
        )
    if out is not None:  # before the work; render makes the folders once the picture is there
        writable_folder(out.parent, f"-o {out}", make=False, fix="give -o a path you can write to")
    root, inputs, tape = build(args.expression, args.bindings)
    along = forward_input(args, tape, inputs)
    x = None if along is None else along[1]
    if args.tape:
        picture = draw_tape(tape)
    else:
        picture = draw(
            root,
            rankdir=args.rankdir or "LR",
            show_grad=not args.no_grad,
            inputs=inputs.values(),
            shade=args.shade,
            wrt=x,
        )
    if out is None:
        print(printable(picture.source), end="")
        return 0
    if out.suffix.lower() in PAGES:
        title = f"backprop through {args.expression}"
        if along is not None:
            title = f"forward mode through {args.expression} along {along[0]}"
        explore(root, out, inputs=inputs.values(), title=title, wrt=x)
    else:
        render(picture, out)
    print(printable(f"wrote {out}"))
    return 0


def forward_input(args: argparse.Namespace, tape: Tape, inputs: dict[str, Value]) -> tuple[str, Value] | None:
    """The input forward mode goes along, by name, from --mode and --wrt; None for reverse mode.

    By default the first input the expression reads (the lecture's u). ValueError for --wrt with
    --mode reverse, a name that is no input (with a "did you mean"), or an expression without inputs.
    """
    if args.mode == "reverse" and args.wrt is not None:
        raise ValueError("--wrt chooses the input of forward mode: leave out --mode reverse, or --wrt")
    if args.mode != "forward" and args.wrt is None:
        return None
    name = args.wrt
    if name is None:
        if not inputs:
            raise ValueError(
                "forward mode goes along an input, and the expression has none: give one, like x=2"
            )
        first = tape.nodes[int(tape.leaves[0])] if tape.leaves.size else None  # in tape order
        name = next((n for n, v in inputs.items() if v is first), next(iter(inputs)))
    if name not in inputs:
        raise ValueError(
            f"--wrt {name!r} is not an input: {suggest(name, inputs)}choose one of {', '.join(inputs)}"
        )
    return name, inputs[name]


def run_explain(args: argparse.Namespace) -> int:
    network = {"--sizes": args.sizes is not None, "--activations": args.activations is not None}
    network.update({"--loss": args.loss is not None, "--bias": args.bias, "--seed": args.seed is not None})
    if args.matrix:
        expression = {"the expression": args.expression is not None, "--mode": args.mode is not None}
        expression.update({"--wrt": args.wrt is not None, "--hessian": args.hessian})
        together(
            expression,
            "--matrix explains a small MLP, not an expression: leave out {} (choose the network with "
            "--sizes, --activations, --loss, --bias and --seed)",
        )
        sizes, loss, seed = args.sizes or "2,3,2", args.loss or "mse", args.seed or 0
        model, x, y = small_mlp(sizes, args.activations, loss, args.bias, seed)
        print(printable(explain_matrix(model, x, y, loss)))
        return 0
    together(network, "{0}: for --matrix, which explains a small MLP: add --matrix, or leave out {0}")
    if args.expression is None:
        raise ValueError('explain takes an expression, like "(u + v) * w" u=2 v=3 w=4, or --matrix')
    root, inputs, tape = build(args.expression, args.bindings, args.wrt)
    along = forward_input(args, tape, inputs)
    if along is not None:
        print(printable(explain_forward(root, inputs, args.expression, wrt=along[0])))
    else:
        print(printable(explain(root, inputs, args.expression)))
    if args.hessian:
        print(printable("\n" + explain_hessian(root, inputs, output_name(tape))))
    return 0


def in_tape_order(tape: Tape, inputs: dict[str, Value]) -> dict[str, Value]:
    """The inputs in the order the sweeps meet them (their slots), then any the expression does not read."""
    slot = {id(node): k for k, node in enumerate(tape.nodes)}
    return dict(sorted(inputs.items(), key=lambda item: slot.get(id(item[1]), len(slot))))


def heading(f: str, inputs: dict[str, Value], expression: str) -> list[str]:
    """`f = (u + v) * w  at u=2, v=3, w=4` and a blank line: what is explained, at which values."""
    given = ", ".join(f"{name}={num(v.data)}" for name, v in inputs.items())
    return [f"{f} = {expression}" + (f"  at {given}" if given else ""), ""]


def explain(root: Value, inputs: dict[str, Value], expression: str = "") -> str:
    """The two sweeps as text: forward values, each chain-rule step, then the inputs' gradients.

    Under the step where a nan or inf first appears, a line says which op made it, from
    which operands (as check=True's error does).
    """
    tape = flatten(root)
    f = output_name(tape)
    lines = heading(f, inputs, expression)  # the values as the command line gave them
    lines.append("forward sweep: φ_k = f_k(operands), slot by slot")
    for s in forward_steps(tape):
        lines += [f"  {s.text}"] + [f"    ↳ {s.note}"] * bool(s.note)
    lines += ["", f"backward sweep: seed ∂{f}/∂{f} = 1, then the chain rule from the output back"]
    steps = backward_steps(tape)
    width = max(len(s.text) for s in steps)
    for s in steps:
        lines += [f"  {s.text:<{width}}    {s.rule}"] + [f"    ↳ {s.note}"] * bool(s.note)
    lines += ["", "gradients:"]
    lines += [f"  ∂{f}/∂{name} = {num(v.grad)}" for name, v in in_tape_order(tape, inputs).items()]
    return "\n".join(lines)


def shown_width(text: str) -> int:
    """The columns `text` takes on a terminal: a combining dot (u̇) takes none."""
    return sum(not unicodedata.combining(c) for c in text)


def columns(text: str, width: int) -> str:
    """`text` padded to `width` columns as a terminal shows it."""
    return text + " " * max(0, width - shown_width(text))


def explain_forward(root: Value, inputs: dict[str, Value], expression: str, wrt: str) -> str:
    """The forward-mode sweep as text: along the input named `wrt`, each slot's value and then its
    tangent as a chain-rule sum of products, with numbers; then each output's derivative along that
    input, and what a sweep of each mode costs.
    """
    tape = flatten(root)
    f = output_name(tape)
    x = inputs[wrt]
    lines = heading(f, inputs, expression)
    lines.append(f"forward-mode sweep along {wrt}: seed {dotted(wrt)} = 1 and every other input's tangent 0,")
    lines.append(
        "then slot by slot each value φ_k and its tangent φ̇_k = Σ_j ∂φ_k/∂φ_j · φ̇_j (the chain rule)"
    )
    seed = direction(tape, x)
    if not seed:
        lines.append(f"({f} does not read {wrt}: every tangent is 0)")
    values = {s.slot: s for s in forward_steps(tape)}
    tangents = tangent_steps(tape, seed)
    width = max(shown_width(s.text) for s in tangents)
    for s in tangents:
        v: Step = values[s.slot]
        lines += [f"  {v.text}"] + [f"    ↳ {v.note}"] * bool(v.note)
        lines += [f"    {columns(s.text, width)}    {s.rule}"] + [f"      ↳ {s.note}"] * bool(s.note)
    last = {s.slot: s.value for s in tangents}
    names = tape.names()
    lines += ["", f"derivatives along {wrt}:"]
    lines += [
        f"  ∂{names[o]}/∂{wrt} = {dotted(names[o])} = {num(last.get(o, 0.0))}" for o in tape.outputs.tolist()
    ]
    lines += ["", *textwrap.wrap(FORWARD_COST.format(along=f"∂/∂{wrt}"), 100)]
    return "\n".join(lines)
