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
the scalar sweeps; the varying program is one `vcode` array of shape (n, 9), one row
per varying slot, plus its `args`, and runs on the lane sweeps. Its columns are named
in kernels/codes.py: OP, A, B (the op and its operands); for a DOT, ROWS (its pairs that
are a row times a uniform value, each pair's row put first: the kernels' fast path),
LEAD (the uniform × uniform pairs after them that the graph adds first, so that every
tier adds in the graph's order), GROUP and MEMBERS (the DOTs that read the same rows,
see group_dots), FUSED_RELU (the DOT's row also takes the relu that alone reads it) and
RUNS (how its group runs: as tiles, as matrix products, or each DOT alone; see _kind).

The loop that splits is numba code: kernels/split.py. This module prepares its
arguments and groups the DOTs after it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.ops import ARITY, Op
from ..core.tape import Tape
from ..kernels import cache, jit
from ..kernels.codes import ALONE, GROUP, LEAD, MATRIX, MEMBERS, OP, ROWS, RUNS, TILES, A, B
from ..kernels.matmul import spare_size
from ..kernels.matrix_layers import index_size
from ..kernels.split import split_tape

DOT, LEAF = int(Op.DOT), int(Op.LEAF)


class Split(NamedTuple):
    """The two programs, and where each tape slot went."""

    uop: np.ndarray  # the uniform program, laid out like a tape: op, a, b, args
    ua: np.ndarray
    ub: np.ndarray
    uargs: np.ndarray
    ufirst: int  # the uniform program's first computed slot (leaves and constants come first)
    vcode: np.ndarray  # (n_varying, COLUMNS = 9) int32, its columns named in kernels/codes.py
    vargs: np.ndarray
    vgroups: np.ndarray  # slots of DOTs that share their rows, a group after another
    ref: np.ndarray  # tape slot -> encoded reference (r >= 0 varying row, r < 0 uniform -r - 1)


def split(
    tape: Tape,
    input_slots: np.ndarray,
    fuse_relu: bool = True,
    leaf_order: np.ndarray | None = None,
    matrix: bool = True,
) -> Split:
    """Split `tape` into its uniform and varying programs, given which slots are inputs.

    With fuse_relu, a relu whose operand is a DOT read by nothing else is done in
    that DOT's row (vcode[:, FUSED_RELU]): one pass over the lanes fewer each way. With
    leaf_order (a sort key per tape slot), the uniform leaves take their places in
    that order (see order_leaves). Without matrix, no group runs as matrix products
    (see group_dots): the tiles and the plain DOTs do all, the oracle the tests hold
    the matrix path to (tests/test_matrix_layers.py)."""
    is_input = np.zeros(len(tape), dtype=np.bool_)
    is_input[input_slots] = True
    fusable = np.zeros(len(tape), dtype=np.bool_)
    if fuse_relu:
        uses = np.bincount(np.concatenate([tape.operand_slots(), tape.outputs]), minlength=len(tape))
        relus = np.flatnonzero(tape.op == Op.RELU)
        dots = tape.a[relus]
        fusable[relus[(tape.op[dots] == Op.DOT) & (uses[dots] == 1)]] = True
    run = (
        split_tape if jit.compiled() else cache.python_function(split_tape)
    )  # numba once compiled, else Python
    ucode, uargs, vcode, vargs, ref = run(tape.op, tape.a, tape.b, tape.args, is_input, fusable, ARITY)
    if leaf_order is not None:
        order_leaves(ucode, uargs, vcode, vargs, ref, leaf_order)
    uop, ua, ub = (np.ascontiguousarray(ucode[:, c]) for c in (OP, A, B))
    computed = np.flatnonzero(uop > Op.CONST)
    ufirst = int(computed[0]) if computed.size else uop.size
    return Split(uop, ua, ub, uargs, ufirst, vcode, vargs, group_dots(vcode, vargs, matrix), ref)


def group_dots(vcode: np.ndarray, vargs: np.ndarray, matrix: bool = True) -> np.ndarray:
    """Mark the DOTs that read the same rows (the neurons of a layer) as one group.

    Their rows' gradients, Σ over the group's neurons of g·w, are then summed four
    neurons at a time, once the sweep back reaches the group's first DOT (all its
    neurons' gradients are complete by then, and the rows come before it). Columns
    GROUP and MEMBERS of vcode: for a group's first DOT, where its members start in the
    returned array and how many there are; for the others, 0 and -1. Column RUNS on every
    member (see _kind): TILES, a group that runs as tiles (kernels/tiles.py); MATRIX, as
    matrix products (kernels/matrix_layers.py); ALONE, neither (each DOT on its own,
    kernels/dots.py).
    """
    by_rows: dict[tuple[int, ...], list[int]] = {}
    for i in np.flatnonzero(vcode[:, OP] == DOT).tolist():
        start, rows = vcode[i, A], vcode[i, ROWS]
        if rows:
            by_rows.setdefault(tuple(vargs[start : start + rows].tolist()), []).append(i)
    members: list[int] = []
    for group in by_rows.values():
        if len(group) < 2:
            continue
        vcode[group[0], GROUP] = len(members)
        vcode[group[0], MEMBERS] = len(group)
        vcode[group[1:], MEMBERS] = -1
        vcode[group, RUNS] = _kind(vcode, vargs, group, matrix)
        members += group
    return np.array(members, dtype=np.int32)


MATRIX_ROWS, MATRIX_ALONE_NEURONS = 32, 8  # see _kind


def _kind(vcode: np.ndarray, vargs: np.ndarray, group: list[int], matrix: bool) -> int:
    """How the group runs (group_dots' column RUNS): the fastest way measured on a layer of M
    neurons reading K rows, whole train_steps timed with each choice at 128 lanes
    (benchmarks/random_mlps.py runs random networks both ways, benchmarks/matmul_kernels.py
    times the products alone).

    Tiles need whole tiles of four neurons and no pair but rows × weights and uniform ×
    uniform (every operand ready at its first DOT); matrix products need that last, each
    neuron's weights one run of consecutive uniform slots, its row of W (order_leaves puts a
    model's parameters so), and MATRIX_ROWS rows at least: below, on the moons' 16 × 16
    layer, the tiles are faster (a step 13.4 µs against 17.1). From there the products run
    both ways (the digits' 64-32-10 step 69 µs against 71 with the tiles forward, a hidden
    64 × 64 layer's network 1.09 times faster; the products read the lanes' rows in place,
    nothing packed forward). Without whole tiles each DOT would run alone: products for a
    first layer or from MATRIX_ALONE_NEURONS neurons on (128-127-10's step 428 µs against
    664, 200-63-10's 260 against 398; an output layer of 10 neurons, 64-128-10's 167 µs
    against 177, 64-32-10's 62.1 against 64.6, 784-128-10's 1,338 against 1,379; 9, 11, 13 and
    15 neurons on 95-530 rows 1.02-1.09 times faster). A layer of 4-7 neurons runs as fast
    either way (784-64-7), or slower as products (66-4: 0.95).
    """
    rows = int(vcode[group[0], ROWS])
    if not _uniform_rest(vcode, vargs, group):
        return ALONE
    # tiles add each neuron's terms in the graph's order (kernels/tiles.py group_forward): at most
    # one pair after the rows, added with the relus; matrix products sum in blocks, equal to that
    # order to rounding
    tiles = len(group) % 4 == 0 and all(vcode[i, B] // 2 - rows - vcode[i, LEAD] <= 1 for i in group)
    if not (matrix and rows >= MATRIX_ROWS and _weights_in_rows(vcode, vargs, group)):
        return TILES if tiles else ALONE
    start = int(vcode[group[0], A])
    reads_batch = bool((vcode[vargs[start : start + rows], OP] == LEAF).all())  # a first layer's rows
    return MATRIX if tiles or reads_batch or len(group) >= MATRIX_ALONE_NEURONS else ALONE


def _uniform_rest(vcode: np.ndarray, vargs: np.ndarray, group: list[int]) -> bool:
    """Whether each of the group's DOTs has no pair past its rows × weights but uniform × uniform."""
    rows = int(vcode[group[0], ROWS])
    for i in group:
        start, n = int(vcode[i, A]), int(vcode[i, B]) // 2
        if any(vargs[m] >= 0 or vargs[m + n] >= 0 for m in range(start + rows, start + n)):
            return False
    return True


def _weights_in_rows(vcode: np.ndarray, vargs: np.ndarray, group: list[int]) -> bool:
    """Whether each of the group's DOTs has its weights (after its rows) in consecutive uniform slots."""
    rows = int(vcode[group[0], ROWS])
    starts = vcode[group, A] + vcode[group, B] // 2  # where each DOT's weights start in vargs
    slots = -vargs[starts[:, None] + np.arange(rows)] - 1
    return bool((slots == slots[:, :1] + np.arange(rows)).all())


def scratch_rows(vcode: np.ndarray, width: int) -> int:
    """Rows of `width` lanes that the matrix groups need as scratch: 0 without any. A group of M
    neurons over K rows packs hᵀ there (K × width numbers), and keeps its index arrays and its
    products' scratch at the end (kernels/matrix_layers.py's scratch_size)."""
    index, spare = cache.python_function(index_size), cache.python_function(spare_size)
    need = 0
    for i in np.flatnonzero((vcode[:, RUNS] == MATRIX) & (vcode[:, MEMBERS] > 0)).tolist():
        K, M = int(vcode[i, ROWS]), int(vcode[i, MEMBERS])
        size = index(M, K, width) + spare(max(K, M, width))  # scratch_size, in Python
        need = max(need, K + -(-size // width))
    return need


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
    their store is then copies them in and out in one run (see kernels/layout.py's params_in).
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
    reads = (vcode[:, OP] > Op.CONST) & (ARITY[vcode[:, OP]] > 0)  # not leaves, not n-ary (start, count)
    vcode[reads, A] = renumber(vcode[reads, A])
    vcode[reads, B] = np.where(ARITY[vcode[reads, OP]] == 2, renumber(vcode[reads, B]), vcode[reads, B])
    ref[:] = renumber(ref)
