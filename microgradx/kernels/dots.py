"""A DOT on the lanes: a neuron's Σ rowᵢ·weightᵢ over every row of the batch at once.

The hot loop of a network is the DOT of a neuron. Its first code[i, ROWS] pairs are a row
(one value a lane) times a uniform value (a weight, the same on every lane), put first by
the program (compiler/program.py); they go four pairs at a time, so each pass over the
lanes does several multiply-adds. The uniform × uniform pairs (a bias times 1) make the
starting value; any rows × rows pairs come last.

`dot_lanes` and `dot_lanes_back` are the lane sweeps' plain DOTs (a DOT alone, or one of a
group whose rows get their gradients from the group: see tiles.group_rows_back). They are
plain calls, compiled once each with their sweep's fastmath flags, not inlined: inlined,
they made forward_lanes and backward_lanes two huge functions (12 s and 34 s of the
warmup's compile against 4 s and 8 s, benchmarks/compile_cost.py), and the steps ran as
fast (train_moons.py, train_digits.py, back to back).

Equals: the scalar sweeps' DOT branch (scalar.forward and scalar.backward) on each lane:
tests/test_random_graphs.py (test_batched_lanes_equal_scalar_rows,
test_compiled_networks_match_the_reference_sweep) and tests/test_ops.py
(test_batched_sweep_matches_scalar).
"""

from __future__ import annotations

from . import cache
from .codes import A, B, inline, uncounted_backward, uncounted_forward
from .scalar import relu


@inline
def block_rows(args, uvals, m, n, q):
    """Up to four row × weight pairs from m on: their rows and weights (q of them are real;
    the rest repeat the first row with weight 0, and the loops leave them out)."""
    r0 = args[m]
    r1 = args[m + 1] if q > 1 else r0
    r2 = args[m + 2] if q > 2 else r0
    r3 = args[m + 3] if q > 3 else r0
    w0 = uvals[-args[m + n] - 1]
    w1 = uvals[-args[m + n + 1] - 1] if q > 1 else 0.0
    w2 = uvals[-args[m + n + 2] - 1] if q > 2 else 0.0
    w3 = uvals[-args[m + n + 3] - 1] if q > 3 else 0.0
    return r0, r1, r2, r3, w0, w1, w2, w3


@uncounted_forward
def dot_lanes(i, start, n, n_rw, lead, args, vals, uvals, lanes, with_relu):
    """vals[i] = Σ x·w over the DOT's pairs args[start:start+n] × args[start+n:start+2n], added
    in the graph's order (kernels/split.py lays them out): the `lead` uniform × uniform pairs
    after the first n_rw (those the graph adds first), then the n_rw rows × weights, four at a
    time (then three, two or one), each added to the running sum in turn, then the rest in
    order (a bias times 1, rows × rows). A small neuron (four rows or fewer, then at most one
    uniform pair) in one pass."""
    c = 0.0  # the leading uniform pairs, as the graph adds them
    for m in range(start + n_rw, start + n_rw + lead):
        c += uvals[-args[m] - 1] * uvals[-args[m + n] - 1]
    after = start + n_rw + lead  # the rest, in order
    last = 0.0  # a small neuron's one uniform pair after its rows (a bias times 1)
    if 0 < n_rw <= 4 and after + 1 >= start + n and (after == start + n or args[after] < 0 > args[after + n]):
        if after < start + n:
            last = uvals[-args[after] - 1] * uvals[-args[after + n] - 1]
        r0, r1, r2, r3, w0, w1, w2, w3 = block_rows(args, uvals, start, n, n_rw)
        for j in range(lanes):
            acc = c + vals[r0, j] * w0
            acc += vals[r1, j] * w1 if n_rw > 1 else 0.0
            acc += vals[r2, j] * w2 if n_rw > 2 else 0.0
            acc += vals[r3, j] * w3 if n_rw > 3 else 0.0
            acc += last
            vals[i, j] = relu(acc) if with_relu else acc
        return
    for j in range(lanes):
        vals[i, j] = c
    m = start
    while m + 4 <= start + n_rw:
        r0, r1, r2, r3 = four(args, m)
        w0, w1, w2, w3 = weights4(uvals, args, m + n)
        for j in range(lanes):
            vals[i, j] = (
                vals[i, j] + vals[r0, j] * w0 + vals[r1, j] * w1 + vals[r2, j] * w2 + vals[r3, j] * w3
            )
        m += 4
    left = start + n_rw - m
    if left == 3:
        r0, r1, r2 = args[m], args[m + 1], args[m + 2]
        w0, w1, w2 = uvals[-args[m + n] - 1], uvals[-args[m + n + 1] - 1], uvals[-args[m + n + 2] - 1]
        for j in range(lanes):
            vals[i, j] = vals[i, j] + vals[r0, j] * w0 + vals[r1, j] * w1 + vals[r2, j] * w2
    elif left == 2:
        r0, r1 = args[m], args[m + 1]
        w0, w1 = uvals[-args[m + n] - 1], uvals[-args[m + n + 1] - 1]
        for j in range(lanes):
            vals[i, j] = vals[i, j] + vals[r0, j] * w0 + vals[r1, j] * w1
    elif left == 1:
        r0, w0 = args[m], uvals[-args[m + n] - 1]
        for j in range(lanes):
            vals[i, j] += vals[r0, j] * w0
    for m in range(after, start + n):  # the rest: uniform × uniform, rows × rows
        rx, rw = args[m], args[m + n]
        if rx < 0:
            u = uvals[-rx - 1] * uvals[-rw - 1]
            for j in range(lanes):
                vals[i, j] += u
        else:
            for j in range(lanes):
                vals[i, j] += vals[rx, j] * vals[rw, j]
    if with_relu:  # the relu that alone reads this DOT, done in place
        for j in range(lanes):
            vals[i, j] = relu(vals[i, j])


@uncounted_backward
def dot_lanes_back(i, start, n, n_rw, args, vals, grads, uvals, ugrads, lanes, rows_later, relu_mask):
    """d(Σ x·w) = Σ (w dx + x dw): rows get g·w per lane, weights Σ_lanes g·x.

    With relu_mask, the DOT's row also holds its relu: g is masked by 1[out > 0] first
    (in the same pass that sums g for the uniform × uniform pairs). With rows_later,
    the rows' g·w is left to the DOT's group (see group_rows_back). The weights' sums
    go four at a time; a small neuron's (four rows or fewer) in one pass. (A tiled
    group does all this in group_back.)"""
    total = 0.0
    if relu_mask:
        for j in range(lanes):
            g = grads[i, j] if vals[i, j] > 0.0 else 0.0  # d relu = 1[x > 0], and x > 0 where relu(x) > 0
            grads[i, j] = g
            total += g
    else:
        for j in range(lanes):
            total += grads[i, j]
    for m in range(start + n_rw, start + n):
        rx, rw = args[m], args[m + n]
        if rx < 0 and rw < 0:  # both uniform: each gets the other times Σ g
            ugrads[-rx - 1] += total * uvals[-rw - 1]
            ugrads[-rw - 1] += total * uvals[-rx - 1]
        elif rx >= 0:  # two rows
            for j in range(lanes):
                g = grads[i, j]
                dx = g * vals[rw, j]
                grads[rw, j] += g * vals[rx, j]
                grads[rx, j] += dx
    if 0 < n_rw <= 4:  # a small neuron: its weights' sums in one pass
        r0, r1, r2, r3, w0, w1, w2, w3 = block_rows(args, uvals, start, n, n_rw)
        s0 = s1 = s2 = s3 = 0.0
        for j in range(lanes):
            g = grads[i, j]
            s0 += g * vals[r0, j]
            s1 += g * vals[r1, j] if n_rw > 1 else 0.0
            s2 += g * vals[r2, j] if n_rw > 2 else 0.0
            s3 += g * vals[r3, j] if n_rw > 3 else 0.0
        sums = (s0, s1, s2, s3)
        for t in range(n_rw):
            ugrads[-args[start + n + t] - 1] += sums[t]
            if not rows_later:
                r, w = args[start + t], uvals[-args[start + n + t] - 1]
                for j in range(lanes):
                    grads[r, j] += grads[i, j] * w
        return
    m = start
    while m + 4 <= start + n_rw:  # rows × weights, four pairs at a time
        r0, r1, r2, r3 = four(args, m)
        s0 = s1 = s2 = s3 = 0.0
        for j in range(lanes):
            g = grads[i, j]
            s0 += g * vals[r0, j]
            s1 += g * vals[r1, j]
            s2 += g * vals[r2, j]
            s3 += g * vals[r3, j]
        if not rows_later:
            w0, w1, w2, w3 = weights4(uvals, args, m + n)
            for r, w in ((r0, w0), (r1, w1), (r2, w2), (r3, w3)):
                for j in range(lanes):  # one row a loop: vectorises
                    grads[r, j] += grads[i, j] * w
        add4(ugrads, args, m + n, s0, s1, s2, s3)
        m += 4
    while m < start + n_rw:
        r0, u0 = args[m], -args[m + n] - 1
        s0 = 0.0
        for j in range(lanes):
            s0 += grads[i, j] * vals[r0, j]
        ugrads[u0] += s0
        if not rows_later:
            w = uvals[u0]
            for j in range(lanes):
                grads[r0, j] += grads[i, j] * w
        m += 1


@inline
def four(a, m):
    """a[m], a[m + 1], a[m + 2], a[m + 3]: a tile's four neurons, or its four rows."""
    return a[m], a[m + 1], a[m + 2], a[m + 3]


@inline
def weights(code, i):
    """Where DOT i's weights (the second half of its operands) start in args."""
    return code[i, A] + code[i, B] // 2


@inline
def weights4(uvals, args, m):
    """The four uniform values args[m … m + 3] refer to."""
    return uvals[-args[m] - 1], uvals[-args[m + 1] - 1], uvals[-args[m + 2] - 1], uvals[-args[m + 3] - 1]


@inline
def add4(ugrads, args, m, s0, s1, s2, s3):
    """Add four sums to the uniform slots args[m … m + 3] refer to."""
    ugrads[-args[m] - 1] += s0
    ugrads[-args[m + 1] - 1] += s1
    ugrads[-args[m + 2] - 1] += s2
    ugrads[-args[m + 3] - 1] += s3


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
