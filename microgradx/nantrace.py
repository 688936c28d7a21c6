"""NaN and inf tracing: find the slot where a non-finite number first appeared, and say so.

With `compile(..., check=True)` or `Value.backward(check=True)`, each sweep is
followed by a scan of its values (and gradients). The culprit is the first slot
whose value is nan or ±inf while its operands' values are finite: the op that made
it. The error names that slot's op, its operands' values, the nearest Value with a
label and, for a batch, the row.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numba import njit

from . import cache
from .ops import TABLE, Op
from .tape import Tape, label_text, token


@njit(cache=True, inline="always")
def _value(ref, s, lane, vals, uvals):
    r = ref[s]
    return uvals[-r - 1] if r < 0 else vals[r, lane]


@njit(cache=True, fastmath={"reassoc"})
def all_finite(x):
    """Whether every number in x (a row of numbers) is finite: x - x is 0 for those, nan for
    nan and ±inf. The sum may be reassociated, so the scan vectorises: the quick test before
    a search."""
    total = 0.0
    for i in range(x.size):
        total += x[i] - x[i]
    return total == 0.0


@njit(cache=True)
def all_rows_finite(x):
    """all_finite for each row of a 2-D array (a chunk's lanes need not be contiguous)."""
    for r in range(x.shape[0]):
        if not all_finite(x[r]):
            return False
    return True


@njit(cache=True)
def first_nonfinite(op, a, b, args, ref, vals, uvals, arity):
    """(slot, lane) of the first non-finite value whose operands are all finite; (-1, -1) if none.

    ref maps tape slots to rows of vals (r >= 0) or uniform values uvals[-r - 1].
    A non-finite leaf or constant is its own origin.
    """
    if all_rows_finite(vals) and all_finite(uvals):
        return -1, -1
    lanes = vals.shape[1]
    for s in range(op.size):
        r = ref[s]
        for lane in range(lanes if r >= 0 else 1):
            v = _value(ref, s, lane, vals, uvals)
            if np.isfinite(v):
                continue
            k = op[s]
            fine = True
            if arity[k] == -1:
                for m in range(a[s], a[s] + b[s]):
                    fine = fine and np.isfinite(_value(ref, args[m], lane, vals, uvals))
            elif arity[k] >= 1:
                fine = np.isfinite(_value(ref, a[s], lane, vals, uvals))
                if arity[k] == 2:
                    fine = fine and np.isfinite(_value(ref, b[s], lane, vals, uvals))
            if fine:
                return s, (lane if r >= 0 else -1)
    return -1, -1


@njit(cache=True)
def last_nonfinite(ref, grads, ugrads):
    """(slot, lane) of the highest slot with a non-finite gradient: where the reverse sweep broke."""
    if all_rows_finite(grads) and all_finite(ugrads):
        return -1, -1
    lanes = grads.shape[1]
    for s in range(ref.size - 1, -1, -1):
        r = ref[s]
        if r < 0:
            if not np.isfinite(ugrads[-r - 1]):
                return s, -1
        else:
            for lane in range(lanes):
                if not np.isfinite(grads[r, lane]):
                    return s, lane
    return -1, -1


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


def value_error(tape: Tape, slot: int, lane: int, value_of) -> FloatingPointError:
    """The error for a non-finite value first made at `slot` (on row `lane`; -1: every row).

    Slots are called by their names in print(tape) (`Tape.names`), with the slot number.
    """
    k = int(tape.op[slot])
    info = TABLE[k]
    names = tape.names()
    operands = tape.operands(slot).tolist()
    if k == Op.LEAF:
        what = "a leaf (an input or parameter) holds it"
    elif k == Op.CONST:
        what = "a constant holds it"
    else:
        args = ", ".join(f"{token(names[t])} = {value_of(t):.6g}" for t in operands)
        what = f"{token(names[slot])} = {info.name} of {args}"
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


cache.key_functions(globals())  # numba caches these under the key of all their sources
