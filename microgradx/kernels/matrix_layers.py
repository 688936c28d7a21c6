"""Layers as matrix products: a layer's DOTs run as the lecture's matrix algorithm.

A group whose column RUNS is MATRIX (compiler/program.py's _kind: each neuron's weights
one run of uniform slots, its row of W) runs at its first DOT as a = W h + b forward and
∇W = g hᵀ, g_h += Wᵀ g backward, each one matmul.product_into. The products read the
lanes' rows where they are, but for ∇W's hᵀ: a first layer's is the batch's rows, any
other's is packed into the chunk's scratch rows (tmp: kernels/layout.py; compiler/program.py's
scratch_rows says how many). The index arrays the products take (where each row starts) and
the products' own scratch are cut from the end of those rows (scratch): nothing here
allocates, so these run without numba's reference counting, as the lane sweeps that call
them do (codes.py).

Padding. matrix_forward sets its rows' padding lanes to 0, as the tiles do (tiles.py);
the backward's products run on the batch's lanes only.

Equals: the tiles (tiles.py group_forward, group_back: the same sums in another order) and
so the plain DOTs (dots.py) and the scalar sweeps, to 1e-12 relative:
tests/test_matrix_layers.py (test_the_benchmarks_networks_give_the_same_numbers_as_the_tiles,
test_200_random_mlps_equal_the_tiles_and_the_lectures_matrix_algorithm), whose oracle is the
same graph compiled with Graph.matrix_layers = False, and matrix.backprop.
"""

from __future__ import annotations

import numpy as np

from . import cache, matmul
from .codes import FUSED_RELU, ROWS, A, B, inline, uncounted_backward, uncounted_forward
from .dots import weights
from .scalar import relu
from .tiles import inputs_only, mask, uniform_back, uniform_part


@inline
def matrix_parts(members, code, args, tmp):
    """A MATRIX group's sizes and where its matrices start: M neurons, K rows (its DOTs' first K
    pairs), the starts of W's rows in the uniform values, of its neurons' rows and of the rows
    it reads in the lanes' values (flattened, width lanes a row); then the rest of its index
    scratch (int64) and product_into's spare (see scratch)."""
    first = members[0]
    start, K = code[first, A], np.int64(code[first, ROWS])  # (int64 as the lanes: one compile of matmul's)
    M, width = np.int64(members.size), np.int64(tmp.shape[1])
    index, spare = scratch(tmp, M, K)
    w_start, out_start, h_start = index[:M], index[M : 2 * M], index[2 * M : 2 * M + K]
    for t in range(M):
        w_start[t] = -args[weights(code, members[t])] - 1  # W[t, k] = uvals[w_start[t] + k]
        out_start[t] = members[t] * width
    for q in range(K):
        h_start[q] = args[start + q] * width
    return start, K, M, w_start, out_start, h_start, index[2 * M + K :], spare


@inline
def index_size(M, K, width):
    """The int64s of a group's index scratch: W's, its neurons' and its rows' starts (M, M, K),
    then two more arrays of starts, each of at most max(K, M, width)."""
    return 2 * M + K + 2 * max(K, M, width)


@inline
def scratch_size(M, K, width):
    """The float64s a MATRIX group of M neurons over K rows needs past hᵀ's K × width in its
    chunk's scratch rows: its index scratch, and product_into's spare for its largest sum."""
    return index_size(M, K, width) + matmul.spare_size(max(K, M, width))


@inline
def scratch(tmp, M, K):
    """A chunk's scratch rows (tmp: rows × width, compiler/program.py's scratch_rows) cut for a
    group: from the end, its index scratch (viewed as int64) and product_into's spare; hᵀ is
    packed from the start (matrix_back). Views, nothing allocated: the matrix layers run
    without numba's reference counting (codes.py)."""
    flat = tmp.reshape(tmp.size)
    width = np.int64(tmp.shape[1])
    first = flat.size - scratch_size(M, K, width)
    if first < K * width:  # (the kernels check no bounds: this one check, for all they write here)
        raise ValueError("microgradx: a workspace with fewer scratch rows than its matrix layers need")
    ints = index_size(M, K, width)
    return flat[first : first + ints].view(np.int64), flat[first + ints :]


@uncounted_forward
def matrix_forward(members, code, args, vals, uvals, lanes, tmp):
    """A MATRIX group's DOTs (a layer's neurons) as one product on the batch's lanes: each
    neuron's row set to its uniform pairs (its bias), then a = W h added by matmul.product_into
    (W's row i broadcast one number at a time, h's rows read along the lanes, where they
    already are: nothing packed), then the fused relus; the padding lanes 0 (see the top).
    Equals tiles.group_forward (tests/test_matrix_layers.py)."""
    width = vals.shape[1]
    start, K, M, w_start, out_start, h_start, index, spare = matrix_parts(members, code, args, tmp)
    flat = vals.reshape(vals.size)
    for t in range(M):  # each neuron's row starts from its uniform pairs (its bias)
        i = members[t]
        c = uniform_part(i, code, args, uvals, K, code[i, B] // 2)  # all of them: the product is blocked
        for j in range(lanes):
            vals[i, j] = c
        for j in range(lanes, width):
            vals[i, j] = 0.0
    each_k = index[:K]
    matmul.packed(each_k, np.int64(1))
    matmul.product_into(uvals, w_start, each_k, flat, h_start, lanes, flat, out_start, spare)
    for t in range(M):
        i = members[t]
        if code[i, FUSED_RELU] != 0:
            for j in range(lanes):
                vals[i, j] = relu(vals[i, j])


@inline
def input_run(args, start, K, in_rows):
    """The column of the batch's rows x where a group's K rows args[start : start + K] start, if
    they are K consecutive inputs in x's column order (in_rows[col] is input col's row); -1
    otherwise. A first layer's hᵀ is then x's columns col0 … col0 + K − 1."""
    col0 = -1
    for col in range(in_rows.size):
        if in_rows[col] == args[start]:
            col0 = col
            break
    if col0 < 0 or col0 + K > in_rows.size:
        return -1
    for q in range(K):
        if in_rows[col0 + q] != args[start + q]:
            return -1
    return col0


@uncounted_backward
def matrix_back(members, code, args, vals, grads, uvals, ugrads, lanes, input_grads, tmp, x, in_rows):
    """A MATRIX group's whole backward, once every neuron's gradient is
    complete: g masked by the fused relus and summed for the uniform pairs (mask,
    uniform_back), ∇W = g hᵀ summed over the lanes into ugrads, then the rows' gradients
    g_h += Wᵀ g (nothing packed), unless the rows are all inputs whose gradient nobody
    wants (a first layer). ∇W's product writes W's rows along their length, so it reads
    hᵀ: a first layer's is the batch's rows x when the caller gave them (input_run), any
    other's is packed into tmp (35-45 µs on 784 × 128 lanes).
    Equals tiles.group_back (tests/test_matrix_layers.py)."""
    start, K, M, w_start, g_start, h_start, index, spare = matrix_parts(members, code, args, tmp)
    width = vals.shape[1]
    for t in range(M):
        total = mask(members[t], code, vals, grads, width)
        uniform_back(members[t], code, args, uvals, ugrads, K, total)
    g_flat = grads.reshape(grads.size)
    col0 = input_run(args, start, K, in_rows) if x.shape[0] == lanes else -1
    lane_k, each_lane = index[:lanes], index[index.size - lanes :]
    if col0 >= 0:  # hᵀ's row j is x[j, col0 : col0 + K]
        h_t = x.reshape(x.size)
        matmul.packed(lane_k, np.int64(x.shape[1]))
        for j in range(lanes):
            lane_k[j] += col0
    else:  # hᵀ packed at the scratch's start: lane j's K values at j·K
        h_t = tmp.reshape(tmp.size)
        matmul.packed(lane_k, K)
        matmul.transposed(vals.reshape(vals.size), h_start, lanes, h_t)
    matmul.packed(each_lane, np.int64(1))
    matmul.product_into(g_flat, g_start, each_lane, h_t, lane_k, K, ugrads, w_start, spare)
    if not input_grads and inputs_only(code, args, start, K):
        return
    each_k = index[:K]
    matmul.packed(each_k, np.int64(1))
    matmul.product_into(uvals, each_k, w_start, g_flat, g_start, lanes, g_flat, h_start, spare)


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
