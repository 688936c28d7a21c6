"""The forward and reverse sweeps of a tape, replayed one slot at a time as text.

Both `microgradx explain` and the step-through page (`explore`) show these steps. The
numbers come from the op table's rules (`microgradx.ops.TABLE`), exactly as the
reference sweep (`microgradx.reference`) computes them; each backward step is one use
of the chain rule. `explain` prints it as plain text, with the lecture's δ notation
beside it (a caret for the superscript, the terminal having no other):

    ∂f/∂u += ∂f/∂t1 · ∂(u + v)/∂u = 4 · 1 = 4        u^δ += t1^δ · 1

In the lecture's layer notation this is a_k^δ = φ_k^δ · f′(a_k) for an activation and
w_k^δ = a_k^δ · φ_{k−1} for a product. The page shows each step once, as HTML in the
notation of the lecture's worked example (∂f/∂w = ∂/∂w (t1 w) · ∂f/∂f = t1 · 1), with
real fractions and superscripts: `Step.html`.

Forward mode (`tangent_steps`) runs the other way: seed a tangent on the inputs (u̇ = 1
and every other input's 0 for ∂/∂u), then, slot by slot in tape order, each node's
tangent is the chain rule's sum over its operands, with the same local derivatives
(`ops.local_derivatives`) the reverse sweep multiplies by:

    ṫ1 = ∂t1/∂u·u̇ + ∂t1/∂v·v̇ = 1·1 + 1·0 = 1        ṫ1 = 1·u̇ + 1·v̇

(Griewank and Walther, Evaluating Derivatives, 2008, ch. 3: the tangent sweep.)

Where a value, a gradient or a tangent becomes nan or inf, the step that made it carries
a note saying which op did, from which operands (`nantrace.cause`, the words of check=True).

A sweep's cost grows with the graph, not with a neuron's fan-in squared: every name and its
markup is made once per sweep, a node's formula once per node (not once per operand), and a
sum of many terms is written with its first and last few in a chain-rule step, in the text
as on the page (`shortened`), so that each step has a bounded length.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape

from ..core.engine import Value
from ..core.nantrace import cause
from ..core.ops import FIXED_ARITY, TABLE, Op, covers, local_derivatives
from ..core.tape import Tape
from .text import visible

# The local derivative ∂(node)/∂(operand) as a formula, per op and operand position:
# {a}, {b} name the operands, {k} the node itself. The numbers come from TABLE.
LOCAL: dict[Op, tuple[str, ...]] = {
    Op.ADD: ("1", "1"),
    Op.SUB: ("1", "−1"),
    Op.MUL: ("{b}", "{a}"),
    Op.DIV: ("1/{b}", "−{k}/{b}"),
    Op.POW: ("{b}·{a}^({b} − 1)", "{k}·log {a}"),
    Op.POWC: ("{b}·{a}^({b} − 1)",),
    Op.NEG: ("−1",),
    Op.EXP: ("{k}",),  # exp′ = exp
    Op.LOG: ("1/{a}",),
    Op.TANH: ("1 − {k}²",),
    Op.SIGMOID: ("{k}·(1 − {k})",),
    Op.RELU: ("[{a} > 0]",),
    Op.ABS: ("sign {a}",),
    Op.SQRT: ("1/(2·{k})",),
    Op.SIN: ("cos {a}",),
    Op.COS: ("−sin {a}",),
    Op.STEP: ("0",),  # flat on each side of 0
    Op.SIGN: ("0",),
}
covers("viz/steps.py LOCAL", LOCAL, FIXED_ARITY)  # (SUM and DOT: written by the sweeps' pictures)


# The page's forms where the text's differ: the indicator 𝟙 for relu′, as the lecture writes it.
LOCAL_HTML: dict[Op, tuple[str, ...]] = {Op.RELU: ("𝟙<sub>{a} &gt; 0</sub>",)}
# Every op's forms as markup, made once: LOCAL_HTML's, else LOCAL's escaped, ^(e) as a superscript.
LOCAL_MARKUP: dict[Op, tuple[str, ...]] = {
    op: LOCAL_HTML.get(op) or tuple(re.sub(r"\^\((.*?)\)", r"<sup>\1</sup>", escape(f)) for f in forms)
    for op, forms in LOCAL.items()
}
# Operators as the lecture writes them (a product with a dot, a minus sign); ** is a superscript.
SYMBOL_HTML = {Op.ADD: "+", Op.SUB: "−", Op.MUL: "·", Op.DIV: "/"}


def num(x: float) -> str:
    """A number as the lecture writes it: 20, 4, 0.761594 (and 0, never -0)."""
    return f"{x + 0.0:.6g}"


def slot_names(tape: Tape) -> list[str]:
    """A name per slot, as every view names it (`Tape.names`): its label, a constant's value, or t1, t2, …"""
    return tape.names()


def expression(tape: Tape, names: list[str], i: int, short: bool = False) -> str:
    """Slot i's formula in its operands' names: `u + v`, `tanh(t3)`, `-t1`, `x1·w1 + x2·w2`;
    `short`: a sum of many terms with its first and last few (`shortened`), for a chain-rule step."""
    info = TABLE[tape.op[i]]
    args = [names[s] for s in tape.operands(i)]
    join = terms_text if short else " + ".join
    if info.op == Op.DOT:
        n = len(args) // 2
        return join([f"{x}·{w}" for x, w in zip(args[:n], args[n:], strict=True)])
    if info.op == Op.SUM:
        return join(args)
    if info.op == Op.NEG:
        return f"-{args[0]}"
    if info.arity == 2:
        return f"{args[0]} {info.symbol} {args[1]}"
    if info.arity == 1:
        return f"{info.name}({args[0]})"
    return names[i]


def local_formula(op: Op, pos: int, args: list[str], k: str) -> str:
    """∂(node)/∂(operand number pos) as a formula, like `w` for ∂(t1 * w)/∂t1."""
    if op == Op.SUM:
        return "1"
    if op == Op.DOT:  # ∂/∂xᵢ = wᵢ and ∂/∂wᵢ = xᵢ
        n = len(args) // 2
        return args[pos + n] if pos < n else args[pos - n]
    folded = power_rule(op, pos, args, lambda e: f"^{e}" if e.isdigit() else f"^({e})")
    if folded:
        return folded
    forms = LOCAL.get(op)
    if forms is None or pos >= len(forms):
        return f"∂{k}/∂{args[pos]}"
    return forms[pos].format(a=args[0], b=args[1] if len(args) > 1 else "", k=k)


def power_rule(op: Op, pos: int, args: list[str], power: Callable[[str], str]) -> str:
    """∂(a^c)/∂a for an exponent c that is a number, with c − 1 worked out, as the lecture writes
    it: 2·x for x², 3·x^2 for x³, 0.5·x^(-0.5) for x^0.5; "" for any other op, operand or exponent.
    `power(e)` writes the exponent e (text or markup)."""
    if op not in (Op.POW, Op.POWC) or pos != 0:
        return ""
    try:
        c = float(args[1])  # a constant's name is its number (Tape.names)
    except ValueError:
        return ""
    if c in (0.0, 1.0):
        return num(c)
    return f"{args[1]}·{args[0]}" + ("" if c == 2.0 else power(num(c - 1.0)))


@dataclass
class Step:
    """One step of a sweep: `target`'s value (forward), gradient (backward) or tangent changes.

    `slot` is the node being computed (forward, tangent) or whose gradient is being pushed
    to its operand `target` (backward); `value` is the target's value, gradient or tangent
    after the step; `text` is the step in ∂ notation and `rule` in the lecture's δ notation,
    both plain text (for `explain`); `html` is the step once, in the lecture's notation
    (for the page); `note` says why, where this step made a nan or inf.
    """

    phase: str
    slot: int
    target: int
    value: float
    text: str
    rule: str = ""
    html: str = ""
    note: str = ""


def values(tape: Tape) -> list[float]:
    """φ_k for every slot: the forward sweep, by the op table's rules."""
    vals = tape.initial_values().tolist()
    for k in range(len(tape)):
        info = TABLE[tape.op[k]]
        if info.arity:
            vals[k] = info.forward(*[vals[s] for s in tape.operands(k)])
    return vals


def name_html(name: str) -> str:
    """A slot's name as page text: escaped, its control characters shown as in the pictures."""
    return escape(visible(name))


def fraction(top: str, bottom: str) -> str:
    """top over bottom, as the lecture writes ∂f/∂w (markup; the page's CSS stacks the two)."""
    return f'<span class="frac"><span>{top}</span><span>{bottom}</span></span>'


def partial(of: str, by: str) -> str:
    """∂of/∂by as a fraction, from two escaped names."""
    return fraction(f"∂{of}", f"∂{by}")


SHOWN_TERMS = 6  # a sum of more terms in a step shows the first and last SHOWN_TERMS // 2 of them


def shortened(terms: list[str], gap: str) -> str:
    """A sum, `a + b + c`, or for more than SHOWN_TERMS terms the first and last few around `gap`,
    which says how many are left out ({} is the number): a neuron's Σ of 784 products written in
    each of its 1,568 chain-rule steps would make the steps grow as the fan-in squared."""
    if len(terms) <= SHOWN_TERMS:
        return " + ".join(terms)
    half = SHOWN_TERMS // 2
    return " + ".join([*terms[:half], gap.format(len(terms) - 2 * half), *terms[-half:]])


def terms_text(terms: list[str]) -> str:
    """A sum in a text step: `x1·w1 + x2·w2 + x3·w3 + …34 more… + x40·w40` for one of 40 terms."""
    return shortened(terms, "…{} more…")


def terms_html(terms: list[str]) -> str:
    """A sum on the page, as `terms_text` (a neuron's Σ of 40 products ran over the steps beside
    it), the gap in a span the page greys. The numbers after it are the whole sum's."""
    return shortened(terms, '<span class="more">…{} more…</span>')


def expression_html(tape: Tape, shown: list[str], i: int) -> str:
    """Slot i's formula as the lecture writes it: `t1 · w`, `u<sup>2</sup>`, `tanh(t2)`, `−x`;
    a long sum elided (`terms_html`). `shown` holds the slots' names as markup (`name_html`),
    made once for the whole tape."""
    info = TABLE[tape.op[i]]
    args = [shown[s] for s in tape.operands(i)]
    if info.op == Op.DOT:
        n = len(args) // 2
        return terms_html([f"{x}·{w}" for x, w in zip(args[:n], args[n:], strict=True)])
    if info.op == Op.SUM:
        return terms_html(args)
    if info.op == Op.NEG:
        return f"−{args[0]}"
    if info.op in (Op.POW, Op.POWC):
        return f"{args[0]}<sup>{args[1]}</sup>"
    if info.arity == 2:
        return f"{args[0]} {SYMBOL_HTML[info.op]} {args[1]}"
    if info.arity == 1:
        return f"{info.symbol}({args[0]})"
    return shown[i]


def local_html(op: Op, pos: int, args: list[str], k: str) -> str:
    """local_formula as markup: superscripts for powers, 𝟙 for relu′; args and k are escaped names."""
    if op == Op.SUM:
        return "1"
    if op == Op.DOT:
        n = len(args) // 2
        return args[pos + n] if pos < n else args[pos - n]
    folded = power_rule(op, pos, args, lambda e: f"<sup>{e.replace('-', '−')}</sup>")
    if folded:
        return folded
    forms = LOCAL_MARKUP.get(op, ())
    if pos >= len(forms):
        return partial(k, args[pos])
    return forms[pos].format(a=args[0], b=args[1] if len(args) > 1 else "", k=k)


def value_note(tape: Tape, vals: list[float], names: list[str], k: int) -> str:
    """Why slot k's value is nan or inf, where it began there (else ""): the op and its operands.

    A constant that holds one is not a step of its own: its note goes with its first user.
    `names` are the tape's (`slot_names`), made once for the sweep.
    """
    if math.isfinite(vals[k]):
        return ""
    operands = tape.operands(k).tolist()
    if all(math.isfinite(vals[s]) for s in operands):
        return f"{num(vals[k])} first appeared here: {cause(tape, k, vals.__getitem__)}"
    consts = [s for s in operands if tape.op[s] == Op.CONST and not math.isfinite(vals[s])]
    return "; ".join(f"{num(vals[s])} came in with the constant {names[s]}" for s in consts)


def gradient_note(
    tape: Tape, vals: list[float], names: list[str], k: int, pos: int, upstream: float, local: float
) -> str:
    """Why the product upstream · local for operand `pos` of slot k is nan or inf, where it begins.

    Either the local derivative is not finite at the operands' values, or the product of two
    finite numbers overflows; a gradient already nan or inf upstream was explained there.
    """
    product = upstream * local
    if math.isfinite(product) or not math.isfinite(upstream):
        return ""
    if math.isfinite(local):
        return f"{num(product)} from an overflow: {num(upstream)} · {num(local)} is too large for a float"
    slots = tape.operands(k).tolist()
    at = [f"{names[s]} = {num(vals[s])}" for s in dict.fromkeys(slots) if tape.op[s] != Op.CONST]
    at = terms_text(at).replace(" + ", ", ")
    formula = local_formula(TABLE[tape.op[k]].op, pos, [names[s] for s in slots], names[k])
    node = expression(tape, names, k, short=True)
    return (
        f"{num(product)} from the local derivative ∂({node})/∂{names[slots[pos]]}"
        f" = {formula}, which is {num(local)} at {at}"
    )


def forward_steps(tape: Tape) -> list[Step]:
    """φ_k = f_k(operands) for every slot in tape order (constants are left out)."""
    vals = values(tape)
    names = slot_names(tape)
    shown = [name_html(name) for name in names]
    steps = []
    for k in range(len(tape)):
        info = TABLE[tape.op[k]]
        if info.op == Op.CONST:
            continue
        note = value_note(tape, vals, names, k)
        if info.op == Op.LEAF:
            text = f"{names[k]} = {num(vals[k])}"
            html = f"{shown[k]} = {num(vals[k])}"
            steps.append(Step("forward", k, k, vals[k], text, "a leaf: given", html, note))
            continue
        text = f"{names[k]} = {expression(tape, names, k)} = {num(vals[k])}"
        rule = f"φ = {info.name}({', '.join(names[s] for s in tape.operands(k))})"
        html = f"{shown[k]} = {expression_html(tape, shown, k)} = {num(vals[k])}"
        steps.append(Step("forward", k, k, vals[k], text, rule, html, note))
    return steps


def output_name(tape: Tape, names: list[str] | None = None) -> str:
    """What the gradients are of: the output's name, or F for several outputs summed (`names`, the
    tape's if made already)."""
    if len(tape.outputs) != 1:
        return "F"
    return (slot_names(tape) if names is None else names)[tape.outputs[0]]


def backward_steps(tape: Tape) -> list[Step]:
    """The reverse sweep: seed ∂f/∂f = 1, then for k = K … 1 push φ_k^δ to the operands.

    One step per (node, operand) pair, in the order the reference sweep adds them;
    gradients reaching constants are left out (nobody asks for them). A node's formula is
    made once for all its operands' steps, a long sum shortened (`shortened`).
    """
    vals = values(tape)
    names = slot_names(tape)
    shown = [name_html(name) for name in names]
    f = output_name(tape, names)
    f_html = name_html(f)
    grads = [0.0] * len(tape)
    touched = [False] * len(tape)
    steps = []
    for out in tape.outputs.tolist():
        grads[out] += 1.0
        touched[out] = True
        text, rule = f"∂{f}/∂{names[out]} = 1", f"{names[out]}^δ = 1"
        html = f"{partial(f_html, shown[out])} = 1"
        steps.append(Step("backward", out, out, grads[out], text, rule, html))
    for k in reversed(range(len(tape))):
        info = TABLE[tape.op[k]]
        if info.arity == 0:
            continue
        slots = tape.operands(k).tolist()
        args = [names[s] for s in slots]
        said, markup = expression(tape, names, k, short=True), expression_html(tape, shown, k)
        operands = [shown[s] for s in slots]
        local = info.derivative(vals[k], *[vals[s] for s in slots])
        for pos, (x, d) in enumerate(zip(slots, local, strict=False)):  # POWC's exponent: no entry
            dead_relu = tape.op[k] == Op.RELU and d == 0.0  # a mask, as in the sweeps: not even inf · 0
            product = 0.0 if dead_relu else grads[k] * d
            grads[x] += product
            if tape.op[x] == Op.CONST:
                continue
            text = (
                f"∂{f}/∂{names[x]} += ∂{f}/∂{names[k]} · ∂({said})/∂{names[x]}"
                f" = {num(grads[k])} · {num(d)} = {num(product)}"
            )
            html = chain_rule_html(info.op, markup, operands, f_html, shown[k], pos, grads[k], d, touched[x])
            if touched[x]:
                text += f"  (total {num(grads[x])})"
                html += f" (total {num(grads[x])})"
            touched[x] = True
            formula = bracket(local_formula(info.op, pos, args, names[k]))
            rule = f"{names[x]}^δ += {names[k]}^δ · {formula}"
            note = gradient_note(tape, vals, names, k, pos, grads[k], d)
            steps.append(Step("backward", k, x, grads[x], text, rule, html, note))
    return steps


def factor_html(formula: str) -> str:
    """A local derivative's markup as a factor: (1 − o²) in brackets, but 2·x<sup>…</sup> and 𝟙 bare."""
    if any(c in re.sub(r"<(su[bp])>.*?</\1>", "", formula) for c in " +−-"):
        return f"({formula})"
    return formula


def chain_rule_html(
    op: Op,
    body: str,
    args: list[str],
    f: str,
    node: str,
    pos: int,
    upstream: float,
    local: float,
    again: bool,
) -> str:
    """One chain-rule step in the lecture's notation, as markup:

        ∂f/∂w = ∂/∂w (t1 · w) · ∂f/∂f = t1 · 1 = 5 · 1 = 5

    the local derivative of the node (an `op`, its formula `body`) by its operand `pos`,
    times the gradient that arrived at it; first as formulas, then in numbers (left out
    where they read the same). `+=` where the operand's gradient already holds another
    path's share (`again`). `body` (`expression_html`), the operands' names `args`, the
    output's `f` and the node's are markup, made once per node, not once per operand.
    """
    info = TABLE[op]
    x = args[pos]
    if op not in (Op.POW, Op.POWC) and (info.arity != 1 or op == Op.NEG):
        body = f"({body})"  # ∂/∂w (t1 · w), but ∂/∂t2 tanh(t2) and ∂/∂x x²
    formula = factor_html(local_html(op, pos, args, node))
    chain = f"{fraction('∂', '∂' + x)} {body} · {partial(f, node)}"
    symbolic = f"{formula} · {num(upstream)}"
    numbers = f"{num(local)} · {num(upstream)}"
    parts = [chain, symbolic] + ([numbers] if numbers != symbolic else []) + [num(upstream * local)]
    return f"{partial(f, x)} {'+=' if again else '='} " + " = ".join(parts)


# -- forward mode: the tangent sweep ----------------------------------------------------------

MODES = ("reverse", "forward")  # the sweeps explain, draw and explore show: backprop, or tangents
DOT_ABOVE = "\u0307"  # the combining dot of Newton's notation: u̇, ṫ1


def dotted(name: str) -> str:
    """A slot's tangent in Newton's notation: u̇ for u, ṫ1 for t1, ẋ1 for x1; (name)˙ for longer names.

    In NFC, Unicode's composed form: ṫ is one character, u̇ a u and a combining dot (U+0307)."""
    simple = re.fullmatch(r"[^\W\d_][\d]*", name) and not unicodedata.decomposition(name[0])
    return unicodedata.normalize("NFC", f"{name[0]}{DOT_ABOVE}{name[1:]}") if simple else f"({name})˙"


def direction(tape: Tape, wrt: Value) -> dict[int, float]:
    """The seed of a forward-mode sweep along the leaf `wrt`: {its slot: 1}, or {} if the graph lacks it."""
    return {s: 1.0 for s in tape.leaves.tolist() if tape.nodes[s] is wrt}


def tangent_steps(tape: Tape, seed: Mapping[int, float]) -> list[Step]:
    """The forward-mode sweep: seed the leaves' tangents, then ṫ_k = Σ_j ∂φ_k/∂φ_j · ṫ_j slot by slot.

    `seed` maps leaf slots to their tangents (`direction` gives ∂/∂x's: x's slot to 1);
    every other leaf's tangent is 0, and so is a constant's, whose terms are left out.
    One step per computed slot and per leaf, in tape order; each step's value is the
    tangent, the derivative of that slot along the seed's direction. The local derivatives
    are the sweeps' (`ops.local_derivatives`): a dead relu passes nothing, not even inf · 0.
    """
    vals = values(tape)
    names = slot_names(tape)
    tangents = [0.0] * len(tape)
    steps = []
    for k in range(len(tape)):
        info = TABLE[tape.op[k]]
        if info.op == Op.CONST:
            continue
        node = dotted(names[k])
        if info.op == Op.LEAF:
            tangents[k] = float(seed.get(k, 0.0))
            text = f"{node} = {num(tangents[k])}"
            rule = "the seed" + (f": ∂{names[k]}/∂{names[k]}" if seed.get(k) == 1.0 else "")
            if k not in seed:
                rule = "not the direction"
            html = f"{name_html(node)} = {num(tangents[k])} ({rule})"
            steps.append(Step("tangent", k, k, tangents[k], text, rule, html))
            continue
        slots = tape.operands(k).tolist()
        args = [names[s] for s in slots]
        local = local_derivatives(info.op, vals[k], [vals[s] for s in slots])
        # a term per operand that takes a derivative (POWC's exponent and a dead relu's take none),
        # and is not a constant (whose tangent is 0)
        terms = [(pos, s, d) for pos, (s, d) in enumerate(zip(slots, local)) if tape.op[s] != Op.CONST]
        total = 0.0
        for _, s, d in terms:
            if tangents[s] != 0.0:  # as reference.tangents: no tangent passes nothing, not even inf · 0
                total += d * tangents[s]
        tangents[k] = total
        if not terms:
            why = "relu is off: nothing passes" if info.op == Op.RELU else "its operands are constants"
            text = f"{node} = 0"
            steps.append(Step("tangent", k, k, 0.0, text, why, f"{name_html(node)} = 0 ({why})"))
            continue
        chain = " + ".join(f"∂{names[k]}/∂{names[s]}·{dotted(names[s])}" for _, s, _ in terms)
        numbers = " + ".join(times(d, tangents[s], "·") for _, s, d in terms)
        text = f"{node} = {chain} = {numbers} = {num(total)}"
        rule = f"{node} = " + " + ".join(
            f"{bracket(local_formula(info.op, pos, args, names[k]))}·{dotted(names[s])}"
            for pos, s, _ in terms
        )
        html = tangent_html(tape, names, k, terms, tangents, total)
        notes = (
            gradient_note(tape, vals, names, k, pos, tangents[s], d) for pos, s, d in terms if tangents[s]
        )
        note = next((n for n in notes if n), "")
        if any(tangents[s] == 0.0 and not math.isfinite(d) for _, s, d in terms):
            note = note or f"a tangent of 0 passes nothing: not {num(math.inf)} · 0 = nan (as in PyTorch)"
        steps.append(Step("tangent", k, k, total, text, rule, html, note))
    return steps


def times(d: float, tangent: float, dot: str) -> str:
    """A term's product in numbers, `4·1`; just `0` for no tangent (which passes nothing, not inf · 0)."""
    return "0" if tangent == 0.0 and not math.isfinite(d) else f"{num(d)}{dot}{num(tangent)}"


def bracket(formula: str) -> str:
    """A local derivative as a factor: in brackets where it has a space (1 − f², x + 1)."""
    return f"({formula})" if " " in formula else formula


def tangent_html(
    tape: Tape,
    names: list[str],
    k: int,
    terms: list[tuple[int, int, float]],
    tangents: list[float],
    total: float,
) -> str:
    """One tangent step as markup, as `chain_rule_html` writes a reverse one:

        ṫ1 = ∂t1/∂u · u̇ + ∂t1/∂v · v̇ = 1 · 1 + 1 · 0 = 1

    the chain rule's sum, then the local derivatives as formulas times the operands'
    tangents, then in numbers (left out where they read the same), then the tangent.
    """
    info = TABLE[tape.op[k]]
    slots = tape.operands(k).tolist()
    node = name_html(names[k])
    args = [name_html(names[s]) for s in slots]
    chain, symbolic, numbers = [], [], []
    for pos, s, d in terms:
        x = name_html(names[s])
        chain.append(f"{partial(node, x)} · {name_html(dotted(names[s]))}")
        symbolic.append(f"{factor_html(local_html(info.op, pos, args, node))} · {num(tangents[s])}")
        numbers.append(times(d, tangents[s], " · "))
    parts = [terms_html(chain), terms_html(symbolic)]
    if numbers != symbolic:
        parts.append(terms_html(numbers))
    return f"{name_html(dotted(names[k]))} = " + " = ".join([*parts, num(total)])
