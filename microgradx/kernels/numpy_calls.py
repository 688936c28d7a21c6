"""The compiled graph's entry points in NumPy: what runs while numba compiles the kernels.

The same entry points as calls.py (`run_forward`, `run_backward`, `train_steps`,
`train_batches`) and updates.py (`update`), on the same packed arguments, so a compiled
graph can move from these to the numba kernels between two calls and carry on where it
was (see jit.py). They
need no compiling: a process on a machine whose numba cache is empty trains at once,
at about a millisecond a step for micrograd's moons network, where the numba kernels
take about ten microseconds once compiled.

The sweeps are the lane sweeps of lanes.py written the plain way: one NumPy
expression per slot over all the batch's lanes (no tiles, no fused relus in a
separate pass, no threads; a layer that lanes.py runs as matrix products is one NumPy
`@` each way), the ops' rules from `ops.ARRAY_RULES`, the uniform program on the
plain-Python reference sweeps (core/reference.py).

Equals: the numba entry points (calls.py), on random graphs: tests/test_numpy_kernels.py;
on layers as matrix products: tests/test_matrix_layers.py
(test_the_numpy_tier_runs_layers_with_numpys_matmul_to_the_same_numbers).
"""

from __future__ import annotations

import numpy as np

from ..core import reference
from ..core.ops import ARITY, ARRAY_RULES
from . import cache, layout, updates
from .codes import CONST, DOT, FUSED_RELU, GROUP, LEAD, MATRIX, MEMBERS, OP, RELU, ROWS, RUNS, SUM, A, B

# How the packed arguments are cut: the very functions the numba kernels inline, run as Python.
program_parts = cache.python_function(layout.program_parts)
workspace_parts = cache.python_function(layout.workspace_parts)


def operand(r: int, vals: np.ndarray, uvals: np.ndarray, lanes: int) -> np.ndarray | float:
    """Encoded operand r (see compiler/program.py): row r's lanes, or the uniform value -r - 1."""
    return vals[r, :lanes] if r >= 0 else uvals[-r - 1]


def add_grad(r: int, g: np.ndarray, grads: np.ndarray, ugrads: np.ndarray, lanes: int) -> None:
    """Add g (one number a lane) to operand r's gradient: its row, or summed over the lanes."""
    if r >= 0:
        grads[r, :lanes] += g
    else:
        ugrads[-r - 1] += np.sum(g)


def dot_pairs(code_i: list[int], args: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """A DOT's operands x1 … xn and w1 … wn, and how many lead as row × uniform."""
    start, n = code_i[A], code_i[B] // 2
    return args[start : start + n], args[start + n : start + 2 * n], code_i[ROWS]


class Layer:
    """A MATRIX group (compiler/program.py's group_dots) of the varying program: its DOTs, rows and W."""

    def __init__(self, c: list[int], code: list[list[int]], args: np.ndarray, groups: np.ndarray, uvals):
        self.members = groups[c[GROUP] : c[GROUP] + c[MEMBERS]]
        K = c[ROWS]
        self.rows = args[c[A] : c[A] + K]
        w_start = np.array([-args[code[i][A] + code[i][B] // 2] - 1 for i in self.members.tolist()])
        self.w_slots = w_start[:, None] + np.arange(K)  # W[m, k] is uniform slot w_slots[m, k]
        self.W = uvals[self.w_slots]
        self.relu = np.array([code[i][FUSED_RELU] != 0 for i in self.members.tolist()])
        self.rest = [dot_pairs(code[i], args)[:2] for i in self.members.tolist()]  # the uniform pairs
        self.K = K


def layer_forward(layer: Layer, vals: np.ndarray, uvals: np.ndarray, lanes: int) -> None:
    """matrix_layers.matrix_forward: a = W h + b, the fused relus, with NumPy's @."""
    bias = np.array([uvals[-xs[layer.K :] - 1] @ uvals[-ws[layer.K :] - 1] for xs, ws in layer.rest])
    a = layer.W @ vals[layer.rows, :lanes] + bias[:, None]
    vals[layer.members, :lanes] = np.where(layer.relu[:, None], ARRAY_RULES[RELU][0](a), a)


def layer_back(layer: Layer, vals, grads, uvals, ugrads, lanes: int) -> None:
    """matrix_layers.matrix_back: g masked by the fused relus; ∇W = g hᵀ, the uniform pairs'
    gradients, the rows' g_h += Wᵀ g, with NumPy's @."""
    out = vals[layer.members, :lanes]
    g = np.where(layer.relu[:, None] & ~(out > 0.0), 0.0, grads[layer.members, :lanes])
    grads[layer.members, :lanes] = g
    h = vals[layer.rows, :lanes]
    ugrads[layer.w_slots] += g @ h.T  # each weight once: W's slots are all different
    total = g.sum(axis=1)
    for (xs, ws), t in zip(layer.rest, total.tolist()):
        rx, rw = -xs[layer.K :] - 1, -ws[layer.K :] - 1
        np.add.at(ugrads, rx, t * uvals[rw])
        np.add.at(ugrads, rw, t * uvals[rx])
    np.add.at(grads[:, :lanes], layer.rows, layer.W.T @ g)


def forward_lanes(
    code: list[list[int]], args: np.ndarray, groups: np.ndarray, vals: np.ndarray, uvals: np.ndarray,
    lanes: int,
) -> None:  # fmt: skip
    """Evaluate the varying program on the first `lanes` lanes (the inputs are filled in)."""
    for i, c in enumerate(code):
        k = c[OP]
        if k <= CONST:
            continue
        if k == DOT and c[RUNS] == MATRIX:  # a layer, all at its first DOT (the others skip)
            if c[MEMBERS] > 0:
                layer_forward(Layer(c, code, args, groups, uvals), vals, uvals, lanes)
        elif k == DOT:  # Σ x·w, in the order dots.dot_lanes adds (the graph's: see split.py)
            xs, ws, n_rw = dot_pairs(c, args)
            total = 0.0
            for x, w in zip(xs[n_rw : n_rw + c[LEAD]].tolist(), ws[n_rw : n_rw + c[LEAD]].tolist()):
                total += uvals[-x - 1] * uvals[-w - 1]  # the uniform pairs the graph adds first
            if n_rw:  # then the rows × weights, each added to the running sum in turn
                products = uvals[-ws[:n_rw] - 1, None] * vals[xs[:n_rw], :lanes]
                products[0] += total
                total = np.add.accumulate(products, axis=0)[-1]
            for x, w in zip(xs[n_rw + c[LEAD] :].tolist(), ws[n_rw + c[LEAD] :].tolist()):
                total = total + operand(x, vals, uvals, lanes) * operand(w, vals, uvals, lanes)
            vals[i, :lanes] = ARRAY_RULES[RELU][0](total) if c[FUSED_RELU] else total  # a fused relu
        elif k == SUM:
            total = 0.0
            for r in args[c[A] : c[A] + c[B]].tolist():
                total = total + operand(r, vals, uvals, lanes)
            vals[i, :lanes] = total
        else:
            xs = [operand(r, vals, uvals, lanes) for r in c[A : A + ARITY[k]]]  # A, then B
            vals[i, :lanes] = ARRAY_RULES[k][0](*xs)


def backward_lanes(
    code: list[list[int]], args: np.ndarray, groups: np.ndarray, vals: np.ndarray, grads: np.ndarray,
    uvals: np.ndarray, ugrads: np.ndarray, lanes: int,
) -> None:  # fmt: skip
    """Reverse sweep of the varying program: operand^δ += slot^δ · ∂slot/∂operand, lane by lane;
    a uniform operand's gradient is summed over the lanes."""
    for i in range(len(code) - 1, -1, -1):
        c = code[i]
        k = c[OP]
        if k <= CONST:
            continue
        g = grads[i, :lanes]
        if k == DOT and c[RUNS] == MATRIX:  # a layer, all at its first DOT: every gradient is complete
            if c[MEMBERS] > 0:
                layer_back(Layer(c, code, args, groups, uvals), vals, grads, uvals, ugrads, lanes)
        elif k == DOT:
            if c[FUSED_RELU]:  # its fused relu first: d relu = 1[x > 0], and x > 0 where relu(x) > 0
                g[:] = np.where(vals[i, :lanes] > 0.0, g, 0.0)
            xs, ws, n_rw = dot_pairs(c, args)
            rows, weights = xs[:n_rw], -ws[:n_rw] - 1
            np.add.at(ugrads, weights, vals[rows, :lanes] @ g)  # d(Σ xw) = Σ (w dx + x dw)
            np.add.at(grads[:, :lanes], rows, np.outer(uvals[weights], g))
            for x, w in zip(xs[n_rw:].tolist(), ws[n_rw:].tolist()):
                xv, wv = operand(x, vals, uvals, lanes), operand(w, vals, uvals, lanes)
                add_grad(x, g * wv, grads, ugrads, lanes)
                add_grad(w, g * xv, grads, ugrads, lanes)
        elif k == SUM:
            for r in args[c[A] : c[A] + c[B]].tolist():
                add_grad(r, g, grads, ugrads, lanes)  # d(Σ x) = Σ dx
        else:
            refs = c[A : A + ARITY[k]]
            xs = [operand(r, vals, uvals, lanes) for r in refs]
            local = ARRAY_RULES[k][1](vals[i, :lanes], *xs)
            if k == RELU:  # a mask: inf or nan from above stops at a dead relu
                add_grad(refs[0], np.where(xs[0] > 0.0, g, 0.0), grads, ugrads, lanes)
                continue
            for r, d in zip(refs, local):  # POWC's constant exponent has no entry: no gradient
                add_grad(r, g * d, grads, ugrads, lanes)


def forward_pass(
    parts: layout.Program, uvals: np.ndarray, vals: np.ndarray, x: np.ndarray, counts: np.ndarray
) -> None:
    """The uniform program once (reference sweep), then the inputs into the lanes and the varying one."""
    ufirst, uop, ua, ub, uargs, vcode, vargs, in_rows = (
        parts.ufirst, parts.uop, parts.ua, parts.ub, parts.uargs, parts.vcode, parts.vargs, parts.in_rows
    )  # fmt: skip
    u = uvals.tolist()
    reference.forward(uop.tolist(), ua.tolist(), ub.tolist(), uargs.tolist(), u)
    uvals[ufirst:] = u[ufirst:]
    code, L = vcode.tolist(), int(counts[0])
    for c, n in enumerate(counts.tolist()):
        vals[c][in_rows, :n] = x[c * L : c * L + n].T
        forward_lanes(code, vargs, parts.vgroups, vals[c], uvals, n)


def backward_pass(
    parts: layout.Program, uvals: np.ndarray, ugrads: np.ndarray, vals: np.ndarray, grads: np.ndarray,
    chunk_ugrads: np.ndarray, counts: np.ndarray, out_ref: int, seed: float,
) -> None:  # fmt: skip
    """Seed the output on every lane, sweep the lanes back, sum the chunks' uniform gradients,
    then sweep the uniform program back (reference sweep)."""
    uop, ua, ub, uargs, vcode, vargs = parts.uop, parts.ua, parts.ub, parts.uargs, parts.vcode, parts.vargs
    code = vcode.tolist()
    grads[:] = 0.0
    chunk_ugrads[:] = 0.0
    for c, n in enumerate(counts.tolist()):
        if out_ref >= 0:
            grads[c, out_ref, :n] = seed
        else:  # an output that does not depend on the inputs: the same seed on every lane
            chunk_ugrads[c, -out_ref - 1] = seed * n
        backward_lanes(code, vargs, parts.vgroups, vals[c], grads[c], uvals, chunk_ugrads[c], n)
    ugrads[:] = chunk_ugrads.sum(axis=0)
    g = ugrads.tolist()
    reference.backward(uop.tolist(), ua.tolist(), ub.tolist(), uargs.tolist(), uvals.tolist(), g)
    ugrads[:] = g


@np.errstate(all="ignore")  # as numba's error_model="numpy": inf and nan, no warnings
def run_forward(prog, layout, work, uniform, store, threads, x, out) -> None:
    """calls.run_forward: the parameters from the store, forward_pass, the outputs to out
    (on one thread, whatever `threads` says)."""
    parts = program_parts(prog)
    p_uslots, p_idx, outs = parts.p_uslots, parts.p_idx, parts.outs
    vals, _, _, _, counts = workspace_parts(layout, work)
    uniform[0, p_uslots] = store[0, p_idx]
    forward_pass(parts, uniform[0], vals, x, counts)
    out2 = out.reshape(-1, outs.size)
    L = int(counts[0])
    for k, r in enumerate(outs.tolist()):
        for c, n in enumerate(counts.tolist()):
            out2[c * L : c * L + n, k] = vals[c, r, :n] if r >= 0 else uniform[0, -r - 1]


@np.errstate(all="ignore")  # as numba's error_model="numpy": inf and nan, no warnings
def run_backward(prog, layout, work, uniform, store, threads, x_grad, out_ref, seed) -> None:
    """calls.run_backward: backward_pass, the parameters' gradients added into the store,
    the inputs' written to x_grad (empty: not wanted)."""
    parts = program_parts(prog)
    in_rows, p_uslots, p_idx = parts.in_rows, parts.p_uslots, parts.p_idx
    vals, grads, _, chunk_ugrads, counts = workspace_parts(layout, work)
    backward_pass(parts, uniform[0], uniform[1], vals, grads, chunk_ugrads, counts, out_ref, seed)
    np.add.at(store[1], p_idx, uniform[1, p_uslots])
    L = int(counts[0])
    if x_grad.shape[0]:
        for c, n in enumerate(counts.tolist()):
            x_grad[c * L : c * L + n] = grads[c][in_rows, :n].T


def apply_rule(rule, data, grad, idx, state, lr, settings, t) -> None:
    """updates.apply_rule on whole arrays: SGD (momentum, weight decay) or Adam, step t."""
    g = grad[idx] + settings[-1] * data[idx]  # weight decay: d/dp (λ/2 p²) = λp
    if rule == updates.SGD_RULE:
        momentum = settings[1]
        if momentum != 0.0:
            state[0] = momentum * state[0] + g
            g = state[0]
        data[idx] -= lr * g
    else:
        beta1, beta2, eps = settings[1], settings[2], settings[3]
        m, v = state[0, 0::2], state[0, 1::2]  # side by side, as updates.adam_update reads them
        m[:] = beta1 * m + (1.0 - beta1) * g  # first moment
        v[:] = beta2 * v + (1.0 - beta2) * g * g  # second moment
        root_c2 = np.sqrt(1.0 - beta2**t)  # c1 and c2 out of the loop, as in updates.adam_update
        data[idx] -= lr / (1.0 - beta1**t) * root_c2 * m / (np.sqrt(v) + eps * root_c2)


@np.errstate(all="ignore")  # as numba's error_model="numpy": inf and nan, no warnings
def update(rule, store, idx, state, settings, t) -> None:
    """updates.update: an optimizer's step t at its lr settings[0], on its parameters in a store."""
    apply_rule(rule, store[0], store[1], idx, state, settings[0], settings, t)


@np.errstate(all="ignore")  # as numba's error_model="numpy": inf and nan, no warnings
def train_steps(
    prog, layout, work, uniform, store, threads, rule, opt, settings, state, x, lrs, t0, losses
) -> None:
    """calls.train_steps: len(lrs) steps of forward, zero grads, backward (mean), update, on all of x;
    none on rows holding nan or inf (the losses nan)."""
    if not np.isfinite(x).all():
        losses[:] = np.nan
        return
    all_rows = np.empty(0, np.int64)
    train_batches(
        prog, layout, work, uniform, store, threads, rule, opt, settings, state, x, all_rows, x.shape[0], lrs,
        t0, losses,
    )  # fmt: skip


@np.errstate(all="ignore")  # as numba's error_model="numpy": inf and nan, no warnings
def train_batches(
    prog, layout, work, uniform, store, threads, rule, opt, settings, state, x, order, batch, lrs, t0, losses
) -> None:  # fmt: skip
    """calls.train_batches: len(lrs) steps, step k on x's rows order[k·batch : (k + 1)·batch]
    (every row of x if order is empty); the last step on the rows left, its mean over them."""
    parts = program_parts(prog)
    p_uslots, p_idx, outs = parts.p_uslots, parts.p_idx, parts.outs
    vals, grads, _, chunk_ugrads, full = workspace_parts(layout, work)
    uvals, ugrads, p_data, p_grad = uniform[0], uniform[1], store[0], store[1]
    out_ref = int(outs[0])
    for step in range(lrs.size):
        rows, counts = x, full
        if order.size:
            rows = x[order[step * batch : (step + 1) * batch]]  # the step's rows, gathered
            if rows.shape[0] < batch:  # the last, short batch: the rows of each chunk
                L = int(full[0])
                counts = np.array([max(0, min(L, rows.shape[0] - c * L)) for c in range(full.size)])
        lanes = rows.shape[0]
        uvals[p_uslots] = p_data[p_idx]
        forward_pass(parts, uvals, vals, rows, counts)
        if out_ref >= 0:
            losses[step] = sum(vals[c, out_ref, :n].sum() for c, n in enumerate(counts.tolist())) / lanes
        else:
            losses[step] = uvals[-out_ref - 1]
        backward_pass(parts, uvals, ugrads, vals, grads, chunk_ugrads, counts, out_ref, 1.0 / lanes)
        p_grad[opt[0]] = 0.0  # the graph's gradients are the step's: the optimizer's others get none
        p_grad[p_idx] = ugrads[p_uslots]
        apply_rule(rule, p_data, p_grad, opt[0], state, lrs[step], settings, t0 + step + 1)
