"""The forward and reverse sweeps of a tape, replayed one slot at a time as text.

Both `microgradx explain` and the step-through page (`explore`) show these steps. The
numbers come from the op table's rules (`microgradx.ops.TABLE`), exactly as the
reference sweep (`microgradx.reference`) computes them; each backward step is one use
of the chain rule, written the lecture's way:

    ∂f/∂u += ∂f/∂t1 · ∂(u + v)/∂u = 4 · 1 = 4        u^δ += t1^δ · 1

In the lecture's layer notation this is a_k^δ = φ_k^δ · f′(a_k) for an activation and
w_k^δ = a_k^δ · φ_{k−1} for a product.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..ops import TABLE, Op
from ..tape import Tape

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
}


def num(x: float) -> str:
    """A number as the lecture writes it: 20, 4, 0.761594."""
    return f"{x:.6g}"


def slot_names(tape: Tape) -> list[str]:
    """A name per slot, as every view names it (`Tape.names`): its label, a constant's value, or t1, t2, …"""
    return tape.names()


def expression(tape: Tape, names: list[str], i: int) -> str:
    """Slot i's formula in its operands' names: `u + v`, `tanh(t3)`, `-t1`, `x1·w1 + x2·w2`."""
    info = TABLE[tape.op[i]]
    args = [names[s] for s in tape.operands(i)]
    if info.op == Op.DOT:
        n = len(args) // 2
        return " + ".join(f"{x}·{w}" for x, w in zip(args[:n], args[n:], strict=True))
    if info.op == Op.SUM:
        return " + ".join(args)
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
    forms = LOCAL.get(op)
    if forms is None or pos >= len(forms):
        return f"∂{k}/∂{args[pos]}"
    return forms[pos].format(a=args[0], b=args[1] if len(args) > 1 else "", k=k)


@dataclass
class Step:
    """One step of a sweep: `target`'s value (forward) or gradient (backward) changes.

    `slot` is the node being computed (forward) or whose gradient is being pushed to
    its operand `target` (backward); `value` is the target's value or gradient after
    the step; `text` is the step in ∂ notation, `rule` in the lecture's δ notation.
    """

    phase: str
    slot: int
    target: int
    value: float
    text: str
    rule: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def values(tape: Tape) -> list[float]:
    """φ_k for every slot: the forward sweep, by the op table's rules."""
    vals = tape.initial_values().tolist()
    for k in range(len(tape)):
        info = TABLE[tape.op[k]]
        if info.arity:
            vals[k] = info.forward(*[vals[s] for s in tape.operands(k)])
    return vals


def forward_steps(tape: Tape) -> list[Step]:
    """φ_k = f_k(operands) for every slot in tape order (constants are left out)."""
    vals = values(tape)
    names = slot_names(tape)
    steps = []
    for k in range(len(tape)):
        info = TABLE[tape.op[k]]
        if info.op == Op.CONST:
            continue
        if info.op == Op.LEAF:
            steps.append(Step("forward", k, k, vals[k], f"{names[k]} = {num(vals[k])}", "a leaf: given"))
            continue
        text = f"{names[k]} = {expression(tape, names, k)} = {num(vals[k])}"
        rule = f"φ = {info.name}({', '.join(names[s] for s in tape.operands(k))})"
        steps.append(Step("forward", k, k, vals[k], text, rule))
    return steps


def output_name(tape: Tape) -> str:
    """What the gradients are of: the output's name, or F for several outputs summed."""
    return slot_names(tape)[tape.outputs[0]] if len(tape.outputs) == 1 else "F"


def backward_steps(tape: Tape) -> list[Step]:
    """The reverse sweep: seed ∂f/∂f = 1, then for k = K … 1 push φ_k^δ to the operands.

    One step per (node, operand) pair, in the order the reference sweep adds them;
    gradients reaching constants are left out (nobody asks for them).
    """
    vals = values(tape)
    names = slot_names(tape)
    f = output_name(tape)
    grads = [0.0] * len(tape)
    touched = [False] * len(tape)
    steps = []
    for out in tape.outputs.tolist():
        grads[out] += 1.0
        touched[out] = True
        steps.append(Step("backward", out, out, grads[out], f"∂{f}/∂{names[out]} = 1", f"{names[out]}^δ = 1"))
    for k in reversed(range(len(tape))):
        info = TABLE[tape.op[k]]
        if info.arity == 0:
            continue
        slots = tape.operands(k).tolist()
        args = [names[s] for s in slots]
        local = info.derivative(vals[k], *[vals[s] for s in slots])
        for pos, (x, d) in enumerate(zip(slots, local, strict=False)):  # POWC's exponent: no entry
            product = grads[k] * d
            grads[x] += product
            if tape.op[x] == Op.CONST:
                continue
            text = (
                f"∂{f}/∂{names[x]} += ∂{f}/∂{names[k]} · ∂({expression(tape, names, k)})/∂{names[x]}"
                f" = {num(grads[k])} · {num(d)} = {num(product)}"
            )
            if touched[x]:
                text += f"  (total {num(grads[x])})"
            touched[x] = True
            formula = local_formula(info.op, pos, args, names[k])
            if " " in formula:
                formula = f"({formula})"
            rule = f"{names[x]}^δ += {names[k]}^δ · {formula}"
            steps.append(Step("backward", k, x, grads[x], text, rule))
    return steps
