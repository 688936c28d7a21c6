"""Splitting a tape for lanes: what depends on the inputs runs per row, the rest once.

A compiled graph runs many rows at once. Slots that do not depend on any input
(parameters, constants, and everything computed from them alone, such as an L2
penalty) have the same value on every row: they form the *uniform* program, run
once per call on scalars. The other slots form the *varying* program, run on
rows of lanes. A varying op may read a uniform slot: operand references in the
varying program are encoded as

    r >= 0   row r of the varying values
    r < 0    uniform slot -r - 1

The uniform program is laid out like a tape (op, a, b, args arrays) and runs on
the scalar sweeps; the varying program is one `code` array of shape (n, 4)
holding (op, a, b, c, …) per slot, plus its `args`, and runs on the lane sweeps.
For a varying DOT, c counts its leading pairs that are a row times a uniform
value (each pair's row put first): the kernel's fast path; column 8 counts the
uniform × uniform pairs after them that the graph adds first (see _split); two more
columns group the DOTs that read the same rows (see group_dots), and column 6 says
the DOT's row also takes the relu that alone reads it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from . import cache, jit
from .ops import ARITY, Op
from .tape import Tape

DOT = int(Op.DOT)
COLUMNS = 9  # of vcode: op, a, b, and for a DOT: see _split and group_dots


class Split(NamedTuple):
    """The two programs, and where each tape slot went."""

    uop: np.ndarray  # the uniform program, laid out like a tape: op, a, b, args
    ua: np.ndarray
    ub: np.ndarray
    uargs: np.ndarray
    ufirst: int  # the uniform program's first computed slot (leaves and constants come first)
    vcode: np.ndarray  # (n_varying, COLUMNS) int32: op, a, b, and for a DOT: see _split, group_dots
    vargs: np.ndarray
    vgroups: np.ndarray  # slots of DOTs that share their rows, a group after another
    ref: np.ndarray  # tape slot -> encoded reference (r >= 0 varying row, r < 0 uniform -r - 1)


@njit(cache=True)
def _split(op, a, b, args, is_input, fusable, arity):
    n = op.size
    vary = is_input.copy()
    for i in range(n):
        k = op[i]
        if arity[k] == 0:
            continue
        if arity[k] == -1:
            for m in range(a[i], a[i] + b[i]):
                vary[i] |= vary[args[m]]
        else:
            vary[i] = vary[a[i]] or (arity[k] == 2 and vary[b[i]])
    ref = np.empty(n, np.int32)
    fused = fusable & vary  # a varying relu of a DOT read by it alone
    nu = 0
    nv = 0
    for i in range(n):
        if fused[i]:
            ref[i] = ref[a[i]]  # the relu is done in its DOT's row
        elif vary[i]:
            ref[i] = nv
            nv += 1
        else:
            ref[i] = -nu - 1
            nu += 1
    ucode = np.zeros((nu, COLUMNS), np.int32)
    vcode = np.zeros((nv, COLUMNS), np.int32)
    uargs = np.empty(args.size, np.int32)
    vargs = np.empty(args.size, np.int32)
    nua = 0
    nva = 0
    for i in range(n):
        k = op[i]
        if fused[i]:
            vcode[ref[i], 6] = 1
            continue
        code = vcode[ref[i]] if vary[i] else ucode[-ref[i] - 1]
        code[0] = k
        if arity[k] == 0:  # leaves and constants keep their index into leaves / consts
            code[1] = a[i]
            code[2] = b[i]
        elif arity[k] == -1:
            count = b[i]
            if vary[i]:
                code[1] = nva
                for m in range(count):
                    vargs[nva + m] = ref[args[a[i] + m]]
                if k == DOT:
                    # Its pairs laid out for the lane sweeps: each pair's row first (a product
                    # commutes); then the row × uniform pairs that follow the leading uniform ×
                    # uniform ones (code[3] of them), those leading pairs (code[8]), and the rest
                    # in the graph's order. The sweeps (kernels.dot_lanes, numpy_kernels) add the
                    # leading pairs, the row × uniform ones and the rest, in this order: the
                    # graph's, so that x·1e-20 + p + q is the same on every tier. Only where the
                    # row × uniform pairs are not one run (x·w + p·q + y·v) do they all come
                    # first, on every tier alike.
                    half, d0 = count // 2, nva
                    for m in range(d0, d0 + half):
                        x, w = vargs[m], vargs[m + half]
                        if x < 0 <= w:
                            vargs[m], vargs[m + half] = w, x
                    lead = 0  # uniform × uniform pairs before the first row × uniform one
                    while lead < half and vargs[d0 + lead] < 0 and vargs[d0 + lead + half] < 0:
                        lead += 1
                    run = 0
                    while lead + run < half and vargs[d0 + lead + run] >= 0 > vargs[d0 + lead + run + half]:
                        run += 1
                    later = 0  # row × uniform pairs after the run
                    for m in range(d0 + lead + run, d0 + half):
                        if vargs[m] >= 0 > vargs[m + half]:
                            later += 1
                    if later or run == 0:  # not one run: the row × uniform pairs first, the others in order
                        lead = 0
                    order = np.empty(half, np.int64)
                    done = 0
                    for m in range(lead, half):  # the row × uniform pairs first
                        if vargs[d0 + m] >= 0 > vargs[d0 + m + half]:
                            order[done] = m
                            done += 1
                    code[3] = done
                    for m in range(lead):
                        order[done + m] = m
                    code[8] = lead
                    rest = done + lead
                    for m in range(lead, half):
                        if not vargs[d0 + m] >= 0 > vargs[d0 + m + half]:
                            order[rest] = m
                            rest += 1
                    xs = vargs[d0 : d0 + half][order]
                    ws = vargs[d0 + half : d0 + 2 * half][order]
                    vargs[d0 : d0 + half] = xs
                    vargs[d0 + half : d0 + 2 * half] = ws
                nva += count
            else:
                code[1] = nua
                for m in range(count):
                    uargs[nua + m] = -ref[args[a[i] + m]] - 1
                nua += count
            code[2] = count
        else:
            # a varying op keeps encoded references; a uniform op reads only uniform slots
            code[1] = ref[a[i]] if vary[i] else -ref[a[i]] - 1
            if arity[k] == 2:
                code[2] = ref[b[i]] if vary[i] else -ref[b[i]] - 1
            else:
                code[2] = 0
    return ucode, uargs[:nua].copy(), vcode, vargs[:nva].copy(), ref


def split(
    tape: Tape, input_slots: np.ndarray, fuse_relu: bool = True, leaf_order: np.ndarray | None = None
) -> Split:
    """Split `tape` into its uniform and varying programs, given which slots are inputs.

    With fuse_relu, a relu whose operand is a DOT read by nothing else is done in
    that DOT's row (vcode column 6): one pass over the lanes fewer each way. With
    leaf_order (a sort key per tape slot), the uniform leaves take their places in
    that order (see order_leaves)."""
    is_input = np.zeros(len(tape), dtype=np.bool_)
    is_input[input_slots] = True
    fusable = np.zeros(len(tape), dtype=np.bool_)
    if fuse_relu:
        uses = np.bincount(np.concatenate([tape.operand_slots(), tape.outputs]), minlength=len(tape))
        relus = np.flatnonzero(tape.op == Op.RELU)
        dots = tape.a[relus]
        fusable[relus[(tape.op[dots] == Op.DOT) & (uses[dots] == 1)]] = True
    run = _split if jit.compiled() else cache.python_function(_split)  # numba once compiled, else Python
    ucode, uargs, vcode, vargs, ref = run(tape.op, tape.a, tape.b, tape.args, is_input, fusable, ARITY)
    if leaf_order is not None:
        order_leaves(ucode, uargs, vcode, vargs, ref, leaf_order)
    uop, ua, ub = (np.ascontiguousarray(ucode[:, c]) for c in range(3))
    computed = np.flatnonzero(uop > Op.CONST)
    ufirst = int(computed[0]) if computed.size else uop.size
    return Split(uop, ua, ub, uargs, ufirst, vcode, vargs, group_dots(vcode, vargs), ref)


def group_dots(vcode: np.ndarray, vargs: np.ndarray) -> np.ndarray:
    """Mark the DOTs that read the same rows (the neurons of a layer) as one group.

    Their rows' gradients, Σ over the group's neurons of g·w, are then summed four
    neurons at a time, once the sweep back reaches the group's first DOT (all its
    neurons' gradients are complete by then, and the rows come before it). Columns
    4 and 5 of vcode: for a group's first DOT, where its members start in the
    returned array and how many there are; for the others, 0 and -1. Column 7: 1 on
    every member of a group that runs as tiles (see kernels.group_forward).
    """
    by_rows: dict[tuple[int, ...], list[int]] = {}
    for i in np.flatnonzero(vcode[:, 0] == DOT).tolist():
        start, rows = vcode[i, 1], vcode[i, 3]
        if rows:
            by_rows.setdefault(tuple(vargs[start : start + rows].tolist()), []).append(i)
    members: list[int] = []
    for group in by_rows.values():
        if len(group) < 2:
            continue
        vcode[group[0], 4] = len(members)
        vcode[group[0], 5] = len(group)
        vcode[group[1:], 5] = -1
        vcode[group, 7] = _tiles(vcode, vargs, group)
        members += group
    return np.array(members, dtype=np.int32)


def _tiles(vcode: np.ndarray, vargs: np.ndarray, group: list[int]) -> int:
    """1 if the group can run as tiles of four neurons: whole tiles, and no pair but rows ×
    weights and uniform × uniform, so every operand is ready at its first DOT."""
    rows = int(vcode[group[0], 3])
    if len(group) % 4:
        return 0
    if any(vcode[i, 2] // 2 - rows - vcode[i, 8] > 1 for i in group):
        return 0  # more than one pair after the rows: the tiles add one, with the relus
    for i in group:
        start, n = int(vcode[i, 1]), int(vcode[i, 2]) // 2
        if any(vargs[m] >= 0 or vargs[m + n] >= 0 for m in range(start + rows, start + n)):
            return 0
    return 1


def order_leaves(
    ucode: np.ndarray,
    uargs: np.ndarray,
    vcode: np.ndarray,
    vargs: np.ndarray,
    ref: np.ndarray,
    key: np.ndarray,
) -> None:
    """Renumber the uniform leaves and constants, in place, so that they sit in the order of
    key (per tape slot) on the places they held: a graph whose parameters are ordered as
    their store is then copies them in and out in one run (see kernels.params_in).
    Computed slots keep their places, so every operand still comes before its reader."""
    if ucode.shape[0] == 0:
        return
    uniform = np.flatnonzero(ref < 0)
    tape_slot = np.empty(ucode.shape[0], dtype=np.int64)
    tape_slot[-ref[uniform] - 1] = uniform
    places = np.flatnonzero(ucode[:, 0] <= Op.CONST)  # leaves and constants
    movers = places[np.argsort(key[tape_slot[places]], kind="stable")]
    perm = np.arange(ucode.shape[0], dtype=np.int32)  # old uniform slot -> new
    perm[movers] = places
    ucode[perm] = ucode.copy()
    computed = ucode[:, 0] > Op.CONST
    unary_binary = computed & (ARITY[ucode[:, 0]] > 0)
    ucode[unary_binary, 1] = perm[ucode[unary_binary, 1]]
    binary = computed & (ARITY[ucode[:, 0]] == 2)
    ucode[binary, 2] = perm[ucode[binary, 2]]
    uargs[:] = perm[uargs]

    def renumber(refs: np.ndarray) -> np.ndarray:  # encoded references: r < 0 is uniform -r - 1
        return np.where(refs < 0, -perm[np.maximum(-refs - 1, 0)] - 1, refs)

    vargs[:] = renumber(vargs)
    reads = (vcode[:, 0] > Op.CONST) & (ARITY[vcode[:, 0]] > 0)  # not leaves, not n-ary (start, count)
    vcode[reads, 1] = renumber(vcode[reads, 1])
    vcode[reads, 2] = np.where(ARITY[vcode[reads, 0]] == 2, renumber(vcode[reads, 2]), vcode[reads, 2])
    ref[:] = renumber(ref)


cache.key_functions(globals())  # numba caches these under the key of all their sources
