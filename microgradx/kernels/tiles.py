"""Tiles: a layer's DOTs run together, four neurons × four rows a pass over the lanes.

DOTs that read the same rows (the neurons of a layer) form a group (compiler/program.py's
group_dots). Once the sweep back reaches a group's first DOT, every member's gradient is
complete, and the rows get their gradients Σ_k g_k·w_k four neurons at a time
(group_rows_back). When the group has a multiple of four members and every pair is rows ×
weights or uniform × uniform (code[i, RUNS] == TILES), the whole group runs as tiles: forward in
group_forward, backward in group_back (and first_layer_back for a first layer on three
inputs or fewer), each pass loading four rows and doing sixteen multiply-adds.

Padding. Tiles run over every lane of a row, the padding past the batch's rows included (a
row's lanes are rounded up to whole cache lines, see kernels/layout.py), so their loops are
whole vectors with no scalar remainder: at 100 rows that remainder cost 8 % of a training
step. What the padding lanes hold never reaches a real sum, for any finite parameters:
lanes are independent in the forward, and in the backward every product over a padding
lane is 0·0 or 0·w, which adds exactly 0 to the sums over lanes. The padding lanes'
values are 0: the inputs' padding is never written, every op but the tiles writes the
batch's lanes only, and each tile sets its rows' padding back to 0 after computing it
(left alone, it would hold the layer's output for zero inputs, which a few layers of large
weights overflow to inf, and 0·inf is nan). Their gradients are 0: zeroed every backward,
and only tiles write there, adding g·w = 0·w.

Equals: the plain DOTs (dots.py) and so the scalar sweeps, lane by lane:
tests/test_compiled.py (test_tiles_on_the_padding_lanes_leave_the_rows_exact,
test_huge_finite_parameters_give_no_nan_through_the_padding_lanes), tests/test_fused.py
(test_a_first_layer_on_few_inputs_trains_as_the_loop_does) and tests/test_random_graphs.py
(test_compiled_networks_match_the_reference_sweep).
"""

from __future__ import annotations

from . import cache
from .codes import FUSED_RELU, LEAD, LEAF, OP, ROWS, A, B, inline, uncounted_backward, uncounted_forward
from .dots import add4, four, weights, weights4
from .scalar import relu


@uncounted_forward
def group_forward(members, code, args, vals, uvals, lanes):
    """A tiled group's DOTs (a layer's neurons, see compiler/program.py's _kind), all at its first DOT, in
    tiles of four neurons × four rows (the rows left over: four neurons × one row): each
    pass over the lanes loads four rows and does sixteen multiply-adds, where one neuron
    at a time would load sixteen rows. Each neuron adds its terms in the graph's order
    (kernels/split.py): the first pass starts from its leading uniform pairs, and each pass
    adds its four products in turn; one more pass adds the uniform pair after the rows (a
    bias), with the relus.

    The tiles run on every lane of a row, width = vals.shape[1], the padding past the
    batch's `lanes` included (whole vectors: see the top of this file); then each tile's rows get 0 on
    their padding lanes, which otherwise hold the layer's output for zero inputs: finite
    in one layer, but through a few layers of large weights it overflows to inf, and
    0·inf = nan in the next tile's sums over the lanes."""
    width = vals.shape[1]
    first_dot = members[0]
    start0, rows = code[first_dot, A], code[first_dot, ROWS]
    for t in range(0, members.size, 4):
        i0, i1, i2, i3, b0, b1, b2, b3 = tile(members, code, t)
        c0, c1, c2, c3 = (  # the uniform pairs the graph adds before the rows
            uniform_part(i0, code, args, uvals, rows, rows + code[i0, LEAD]),
            uniform_part(i1, code, args, uvals, rows, rows + code[i1, LEAD]),
            uniform_part(i2, code, args, uvals, rows, rows + code[i2, LEAD]),
            uniform_part(i3, code, args, uvals, rows, rows + code[i3, LEAD]),
        )
        t0, t1, t2, t3 = (  # and the one after them (a bias times 1), if any (compiler/program.py's _kind)
            uniform_part(i0, code, args, uvals, rows + code[i0, LEAD], code[i0, B] // 2),
            uniform_part(i1, code, args, uvals, rows + code[i1, LEAD], code[i1, B] // 2),
            uniform_part(i2, code, args, uvals, rows + code[i2, LEAD], code[i2, B] // 2),
            uniform_part(i3, code, args, uvals, rows + code[i3, LEAD], code[i3, B] // 2),
        )
        f0, f1, f2, f3 = (
            code[i0, FUSED_RELU] != 0,
            code[i1, FUSED_RELU] != 0,
            code[i2, FUSED_RELU] != 0,
            code[i3, FUSED_RELU] != 0,
        )
        for q in range(0, rows - rows % 4, 4):
            r0, r1, r2, r3 = four(args, start0 + q)
            w00, w01, w02, w03 = weights4(uvals, args, b0 + q)
            w10, w11, w12, w13 = weights4(uvals, args, b1 + q)
            w20, w21, w22, w23 = weights4(uvals, args, b2 + q)
            w30, w31, w32, w33 = weights4(uvals, args, b3 + q)
            if q == 0:  # the first pass starts from the leading uniform pairs (each added in turn)
                for j in range(width):
                    x0, x1, x2, x3 = vals[r0, j], vals[r1, j], vals[r2, j], vals[r3, j]
                    vals[i0, j] = c0 + x0 * w00 + x1 * w01 + x2 * w02 + x3 * w03
                    vals[i1, j] = c1 + x0 * w10 + x1 * w11 + x2 * w12 + x3 * w13
                    vals[i2, j] = c2 + x0 * w20 + x1 * w21 + x2 * w22 + x3 * w23
                    vals[i3, j] = c3 + x0 * w30 + x1 * w31 + x2 * w32 + x3 * w33
            else:
                for j in range(width):
                    x0, x1, x2, x3 = vals[r0, j], vals[r1, j], vals[r2, j], vals[r3, j]
                    vals[i0, j] = vals[i0, j] + x0 * w00 + x1 * w01 + x2 * w02 + x3 * w03
                    vals[i1, j] = vals[i1, j] + x0 * w10 + x1 * w11 + x2 * w12 + x3 * w13
                    vals[i2, j] = vals[i2, j] + x0 * w20 + x1 * w21 + x2 * w22 + x3 * w23
                    vals[i3, j] = vals[i3, j] + x0 * w30 + x1 * w31 + x2 * w32 + x3 * w33
        for q in range(rows - rows % 4, rows):  # the rows left over, one a pass
            r = args[start0 + q]
            w0, w1 = uvals[-args[b0 + q] - 1], uvals[-args[b1 + q] - 1]
            w2, w3 = uvals[-args[b2 + q] - 1], uvals[-args[b3 + q] - 1]
            if q == 0:  # the first pass starts from the leading uniform pairs
                for j in range(width):
                    x = vals[r, j]
                    vals[i0, j] = c0 + x * w0
                    vals[i1, j] = c1 + x * w1
                    vals[i2, j] = c2 + x * w2
                    vals[i3, j] = c3 + x * w3
            else:
                for j in range(width):
                    x = vals[r, j]
                    vals[i0, j] += x * w0
                    vals[i1, j] += x * w1
                    vals[i2, j] += x * w2
                    vals[i3, j] += x * w3
        if f0 and f1 and f2 and f3:  # the biases last, and the relus that alone read these DOTs, in one pass
            for j in range(width):
                vals[i0, j] = relu(vals[i0, j] + t0)
                vals[i1, j] = relu(vals[i1, j] + t1)
                vals[i2, j] = relu(vals[i2, j] + t2)
                vals[i3, j] = relu(vals[i3, j] + t3)
        else:
            for i, f, t in ((i0, f0, t0), (i1, f1, t1), (i2, f2, t2), (i3, f3, t3)):
                if f:
                    for j in range(width):
                        vals[i, j] = relu(vals[i, j] + t)
                elif code[i, B] // 2 > rows + code[i, LEAD]:
                    for j in range(width):
                        vals[i, j] += t
        for i in (i0, i1, i2, i3):  # the padding lanes back to 0
            for j in range(lanes, width):
                vals[i, j] = 0.0


@inline
def uniform_part(i, code, args, uvals, first, end):
    """Σ over DOT i's pairs first … end - 1, uniform × uniform (a bias times 1), in order.
    Inlined: as a plain call (1,270 of forward_lanes' 12,660 LLVM instructions fewer, a faster
    warmup) its calls cost the moons' train_step about 0.9 µs of 12 with mask's."""
    start, n = code[i, A], code[i, B] // 2
    c = 0.0
    for m in range(start + first, start + end):
        c += uvals[-args[m] - 1] * uvals[-args[m + n] - 1]
    return c


@inline
def tile(members, code, t):
    """A tile's four DOTs (members t … t + 3) and where each one's weights start in args."""
    i0, i1, i2, i3 = four(members, t)
    return i0, i1, i2, i3, weights(code, i0), weights(code, i1), weights(code, i2), weights(code, i3)


@uncounted_backward
def group_back(members, code, args, vals, grads, uvals, ugrads, lanes, input_grads):
    """A tiled group's whole backward, once every member's gradient is complete: per tile of
    four neurons, their relus masked and their g summed (for the biases), then their
    weights' gradients Σ_lanes g·x in tiles of four neurons × four rows (sixteen sums from
    eight loads a lane); last the rows' gradients Σ_k g_k·w_k, four rows × four neurons a pass.
    (A first layer, on three inputs or fewer, goes in one pass a tile: first_layer_back.)"""
    first = members[0]
    start0, rows = code[first, A], code[first, ROWS]
    if rows < 4 and not input_grads and inputs_only(code, args, start0, rows):
        first_layer_back(members, code, args, vals, grads, uvals, ugrads, lanes)
        return
    for t in range(0, members.size, 4):
        i0, i1, i2, i3, b0, b1, b2, b3 = tile(members, code, t)
        t0, t1, t2, t3 = mask4(i0, i1, i2, i3, code, vals, grads, lanes)
        uniform_back(i0, code, args, uvals, ugrads, rows, t0)
        uniform_back(i1, code, args, uvals, ugrads, rows, t1)
        uniform_back(i2, code, args, uvals, ugrads, rows, t2)
        uniform_back(i3, code, args, uvals, ugrads, rows, t3)
        for q in range(0, rows - rows % 4, 4):
            r0, r1, r2, r3 = four(args, start0 + q)
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
            for j in range(lanes):
                g0, g1, g2, g3 = grads[i0, j], grads[i1, j], grads[i2, j], grads[i3, j]
                x0, x1, x2, x3 = vals[r0, j], vals[r1, j], vals[r2, j], vals[r3, j]
                s00 += g0 * x0
                s01 += g0 * x1
                s02 += g0 * x2
                s03 += g0 * x3
                s10 += g1 * x0
                s11 += g1 * x1
                s12 += g1 * x2
                s13 += g1 * x3
                s20 += g2 * x0
                s21 += g2 * x1
                s22 += g2 * x2
                s23 += g2 * x3
                s30 += g3 * x0
                s31 += g3 * x1
                s32 += g3 * x2
                s33 += g3 * x3
            add4(ugrads, args, b0 + q, s00, s01, s02, s03)
            add4(ugrads, args, b1 + q, s10, s11, s12, s13)
            add4(ugrads, args, b2 + q, s20, s21, s22, s23)
            add4(ugrads, args, b3 + q, s30, s31, s32, s33)
        for q in range(rows - rows % 4, rows):  # the rows left over, one a pass
            r = args[start0 + q]
            s0 = s1 = s2 = s3 = 0.0
            for j in range(lanes):
                x = vals[r, j]
                s0 += grads[i0, j] * x
                s1 += grads[i1, j] * x
                s2 += grads[i2, j] * x
                s3 += grads[i3, j] * x
            ugrads[-args[b0 + q] - 1] += s0
            ugrads[-args[b1 + q] - 1] += s1
            ugrads[-args[b2 + q] - 1] += s2
            ugrads[-args[b3 + q] - 1] += s3
    for q in range(0, rows - rows % 4, 4):  # the rows' gradients, four rows × four neurons a pass
        r0, r1, r2, r3 = four(args, start0 + q)
        if (
            not input_grads
            and code[r0, OP] == LEAF
            and code[r1, OP] == LEAF
            and code[r2, OP] == LEAF
            and code[r3, OP] == LEAF
        ):
            continue  # input rows, whose gradient nobody wants
        for t in range(0, members.size, 4):
            i0, i1, i2, i3, b0, b1, b2, b3 = tile(members, code, t)
            w00, w01, w02, w03 = weights4(uvals, args, b0 + q)
            w10, w11, w12, w13 = weights4(uvals, args, b1 + q)
            w20, w21, w22, w23 = weights4(uvals, args, b2 + q)
            w30, w31, w32, w33 = weights4(uvals, args, b3 + q)
            for j in range(lanes):
                g0, g1, g2, g3 = grads[i0, j], grads[i1, j], grads[i2, j], grads[i3, j]
                grads[r0, j] += g0 * w00 + g1 * w10 + g2 * w20 + g3 * w30
                grads[r1, j] += g0 * w01 + g1 * w11 + g2 * w21 + g3 * w31
                grads[r2, j] += g0 * w02 + g1 * w12 + g2 * w22 + g3 * w32
                grads[r3, j] += g0 * w03 + g1 * w13 + g2 * w23 + g3 * w33
    group_rows_back(members, code, args, grads, uvals, lanes, input_grads, rows - rows % 4)


@inline
def inputs_only(code, args, start, rows):
    """Whether the rows args[start : start + rows] are all inputs (leaves of the varying program)."""
    for q in range(rows):
        if code[args[start + q], OP] != LEAF:
            return False
    return True


@uncounted_backward
def first_layer_back(members, code, args, vals, grads, uvals, ugrads, lanes):
    """group_back for a group on one to three input rows whose gradients nobody wants (a
    first layer): per tile one pass, masking g on the fly where a relu is fused (nothing is
    stored, so nothing stops the loop vectorising) and summing it for the biases and times
    each row for the weights: sixteen sums at most, in one pass where group_back's way takes
    a masking pass per neuron and a pass per row."""
    first = members[0]
    start0, rows = code[first, A], code[first, ROWS]
    ra = args[start0]
    rb = args[start0 + 1] if rows > 1 else ra  # (a row repeated when there are fewer: its sums unused)
    rc = args[start0 + 2] if rows > 2 else ra
    for t in range(0, members.size, 4):
        i0, i1, i2, i3, b0, b1, b2, b3 = tile(members, code, t)
        f0, f1, f2, f3 = (
            code[i0, FUSED_RELU] == 0,
            code[i1, FUSED_RELU] == 0,
            code[i2, FUSED_RELU] == 0,
            code[i3, FUSED_RELU] == 0,
        )  # no relu
        t0 = t1 = t2 = t3 = 0.0  # Σ g, for the biases
        sa0 = sa1 = sa2 = sa3 = sb0 = sb1 = sb2 = sb3 = sc0 = sc1 = sc2 = sc3 = 0.0  # Σ g·x, rows a, b, c
        for j in range(lanes):
            g0 = grads[i0, j] if f0 or vals[i0, j] > 0.0 else 0.0  # d relu = 1[x > 0]: out > 0 there
            g1 = grads[i1, j] if f1 or vals[i1, j] > 0.0 else 0.0
            g2 = grads[i2, j] if f2 or vals[i2, j] > 0.0 else 0.0
            g3 = grads[i3, j] if f3 or vals[i3, j] > 0.0 else 0.0
            xa, xb, xc = vals[ra, j], vals[rb, j], vals[rc, j]
            t0 += g0
            t1 += g1
            t2 += g2
            t3 += g3
            sa0 += g0 * xa
            sa1 += g1 * xa
            sa2 += g2 * xa
            sa3 += g3 * xa
            sb0 += g0 * xb
            sb1 += g1 * xb
            sb2 += g2 * xb
            sb3 += g3 * xb
            sc0 += g0 * xc
            sc1 += g1 * xc
            sc2 += g2 * xc
            sc3 += g3 * xc
        for i, total in ((i0, t0), (i1, t1), (i2, t2), (i3, t3)):
            uniform_back(i, code, args, uvals, ugrads, rows, total)
        for q, s0, s1, s2, s3 in ((0, sa0, sa1, sa2, sa3), (1, sb0, sb1, sb2, sb3), (2, sc0, sc1, sc2, sc3)):
            if q < rows:
                ugrads[-args[b0 + q] - 1] += s0
                ugrads[-args[b1 + q] - 1] += s1
                ugrads[-args[b2 + q] - 1] += s2
                ugrads[-args[b3 + q] - 1] += s3


@inline
def mask4(i0, i1, i2, i3, code, vals, grads, lanes):
    """Four DOT rows' gradients masked by 1[out > 0] where the row holds its relu (out > 0
    exactly where the DOT's x > 0), and each one's sum over the lanes."""
    return (
        mask(i0, code, vals, grads, lanes),
        mask(i1, code, vals, grads, lanes),
        mask(i2, code, vals, grads, lanes),
        mask(i3, code, vals, grads, lanes),
    )


@inline
def mask(i, code, vals, grads, lanes):
    """One row a pass: masking and summing four rows in one pass measured more than twice as
    slow (numba cannot tell LLVM the rows do not overlap, and it gave up vectorising). Inlined,
    as uniform_part is; row i read as grads[i, j], not through a view grads[i] (see lanes.py's
    scratch_row: numba counts references to each view, an atomic add and subtract)."""
    total = 0.0
    if code[i, FUSED_RELU] == 0:  # no relu
        for j in range(lanes):
            total += grads[i, j]
        return total
    for j in range(lanes):
        g = grads[i, j] if vals[i, j] > 0.0 else 0.0
        grads[i, j] = g
        total += g
    return total


@inline
def uniform_back(i, code, args, uvals, ugrads, rows, total):
    """DOT i's uniform × uniform pairs (after its first `rows`), given Σ_lanes g: each gets the
    other times Σ g (the way back of uniform_part)."""
    start, n = code[i, A], code[i, B] // 2
    for m in range(start + rows, start + n):
        rx, rw = -args[m] - 1, -args[m + n] - 1
        ugrads[rx] += total * uvals[rw]
        ugrads[rw] += total * uvals[rx]


@uncounted_backward
def group_rows_back(members, code, args, grads, uvals, lanes, input_grads, q0):
    """The rows read by a group of DOTs (a layer's neurons), from its q0-th on, get Σ_k g_k·w_k,
    four neurons at a time: one pass over a row's lanes for every four neurons, not one for each."""
    first = members[0]
    start, rows = code[first, A], code[first, ROWS]
    for q in range(q0, rows):
        r = args[start + q]
        if code[r, OP] == LEAF and not input_grads:  # an input row, whose gradient nobody wants
            continue
        k = 0
        while k + 4 <= members.size:
            a0, a1, a2, a3 = members[k], members[k + 1], members[k + 2], members[k + 3]
            w0 = uvals[-args[weights(code, a0) + q] - 1]
            w1 = uvals[-args[weights(code, a1) + q] - 1]
            w2 = uvals[-args[weights(code, a2) + q] - 1]
            w3 = uvals[-args[weights(code, a3) + q] - 1]
            for j in range(lanes):
                grads[r, j] += grads[a0, j] * w0 + grads[a1, j] * w1 + grads[a2, j] * w2 + grads[a3, j] * w3
            k += 4
        while k < members.size:
            a0 = members[k]
            w0 = uvals[-args[weights(code, a0) + q] - 1]
            for j in range(lanes):
                grads[r, j] += grads[a0, j] * w0
            k += 1


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
