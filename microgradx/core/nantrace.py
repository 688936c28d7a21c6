"""NaN and inf tracing: find the slot where a non-finite number first appeared, and say so.

With `compile(..., check=True)` or `Value.backward(check=True)`, each sweep is
followed by a scan of its values (and gradients), in NumPy: a vectorised test that
all are finite and, only if not, a search of the slots holding a non-finite number.
The culprit is the first slot whose value is nan or ±inf while its operands' values
are finite: the op that made it. The error names that slot's op, its operands'
values, the nearest Value with a label and, for a batch, the row.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from .ops import TABLE, Op
from .tape import Tape, label_text, token

FEW = 3  # a DOT or SUM of more than twice this many terms is shown by its largest ones


def finite_slots(ref: np.ndarray, vals: np.ndarray, uvals: np.ndarray) -> np.ndarray:
    """Whether each tape slot's number is finite on each lane: shape (slots, lanes). ref maps
    slots to rows of vals (r >= 0) or to uniform values uvals[-r - 1] (the same on every lane)."""
    varying = ref >= 0
    finite = np.empty((ref.size, vals.shape[1]), dtype=bool)
    finite[varying] = np.isfinite(vals[ref[varying]])
    finite[~varying] = np.isfinite(uvals[-ref[~varying] - 1])[:, None]
    return finite


def first_nonfinite(op, a, b, args, ref, vals, uvals, arity) -> tuple[int, int]:
    """(slot, lane) of the first non-finite value whose operands are all finite; (-1, -1) if none.

    A non-finite leaf or constant is its own origin. The lane is -1 for a uniform slot.
    """
    if np.isfinite(vals).all() and np.isfinite(uvals).all():  # the quick test before a search
        return -1, -1
    finite = finite_slots(ref, vals, uvals)
    for s in np.flatnonzero(~finite.all(axis=1)).tolist():  # slots with a non-finite number, in order
        n = arity[op[s]]
        operands = args[a[s] : a[s] + b[s]] if n == -1 else np.array([a[s], b[s]][:n], dtype=np.int64)
        made_here = ~finite[s] & finite[operands].all(axis=0)  # its operands finite on that lane
        if made_here.any():
            return s, (int(np.argmax(made_here)) if ref[s] >= 0 else -1)
    return -1, -1


def last_nonfinite(ref, grads, ugrads) -> tuple[int, int]:
    """(slot, lane) of the highest slot with a non-finite gradient: where the reverse sweep broke."""
    if np.isfinite(grads).all() and np.isfinite(ugrads).all():
        return -1, -1
    bad = ~finite_slots(ref, grads, ugrads)
    s = int(np.flatnonzero(bad.any(axis=1))[-1])
    return s, (int(np.argmax(bad[s])) if ref[s] >= 0 else -1)


def nearest_label(tape: Tape, slot: int) -> str:
    """The label of the closest labelled node, searching operands and users alike."""
    users: dict[int, list[int]] = {}
    for s in range(len(tape)):
        for t in tape.operands(s).tolist():
            users.setdefault(t, []).append(s)
    seen = {slot}
    queue = deque([(slot, 0)])
    while queue:
        s, hops = queue.popleft()
        node = tape.nodes[s]
        label = label_text(node)
        if label:
            return f"{label!r}" + ("" if hops == 0 else f" ({hops} step{'s' * (hops > 1)} away)")
        for t in tape.operands(s).tolist() + users.get(s, []):
            if t not in seen:
                seen.add(t)
                queue.append((t, hops + 1))
    return "none"


def cause(tape: Tape, slot: int, value_of) -> str:
    """What made slot's value: the op and its operands' values, like `h = log of t1 = -2`
    or `f = div of 1, x = 0`.

    `value_of(slot)` gives a slot's value. Also what `microgradx explain` prints under a
    nan or inf, so both say it alike.
    """
    k = int(tape.op[slot])
    names = tape.names()
    if k == Op.LEAF:
        return "a leaf (an input or parameter) holds it"
    if k == Op.CONST:
        return "a constant holds it"
    operands = tape.operands(slot).tolist()

    def named(t: int) -> str:  # a constant's name is its value
        return token(names[t]) if tape.op[t] == Op.CONST else f"{token(names[t])} = {value_of(t):.6g}"

    if len(operands) > 2 * FEW:  # a long DOT or SUM: the terms that matter, the largest first
        if k == Op.DOT:  # operands x1 … xn, w1 … wn: the terms are xi·wi
            n = len(operands) // 2
            pairs = zip(operands[:n], operands[n:])
            terms = [
                (abs(float(value_of(a)) * float(value_of(b))), f"{named(a)} · {named(b)}") for a, b in pairs
            ]
        else:
            terms = [(abs(float(value_of(t))), named(t)) for t in operands]
        # the largest first, a nan before them (it sorts as -inf)
        largest = sorted(terms, key=lambda term: -term[0] if term[0] == term[0] else -math.inf)[:FEW]
        shown = "; ".join(text for _, text in largest)
        return f"{token(names[slot])} = {TABLE[k].name} of {len(terms)} terms, the largest {shown}"
    return f"{token(names[slot])} = {TABLE[k].name} of {', '.join(named(t) for t in operands)}"


def value_error(tape: Tape, slot: int, lane: int, value_of) -> FloatingPointError:
    """The error for a non-finite value first made at `slot` (on row `lane`; -1: every row).

    Slots are called by their names in print(tape) (`Tape.names`), with the slot number.
    """
    info = TABLE[int(tape.op[slot])]
    names = tape.names()
    what = cause(tape, slot, value_of)
    row = f" on row {lane}" if lane >= 0 else ""
    return FloatingPointError(
        f"non-finite value {value_of(slot)} first appeared at {token(names[slot])}, slot {slot} ({info.name})"
        f"{row}: {what}; nearest labelled Value: {nearest_label(tape, slot)}"
    )


def grad_error(tape: Tape, slot: int, lane: int, grad_of) -> FloatingPointError:
    """The error for a non-finite gradient, first seen (going backwards) at `slot`."""
    names = tape.names()
    row = f" on row {lane}" if lane >= 0 else ""
    users = [s for s in range(slot + 1, len(tape)) if slot in tape.operands(s).tolist()]
    via = ", ".join(f"{token(names[s])} ({TABLE[int(tape.op[s])].name})" for s in users[:5])
    via = via or "the output's seed"
    return FloatingPointError(
        f"non-finite gradient {grad_of(slot)} at {token(names[slot])}, slot {slot} "
        f"({TABLE[int(tape.op[slot])].name}){row}, from the local derivatives of {via}; "
        f"nearest labelled Value: {nearest_label(tape, slot)}"
    )
