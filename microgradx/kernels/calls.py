"""The entry points a compiled graph calls: forward, backward and whole training steps.

Each takes the graph's arrays packed (layout.py: the program in `prog`, the workspace in
`layout` and `work`, the thread's uniform values and gradients, the store's data and
gradients) and cuts them into views first. `run_forward` and `run_backward` are
`Compiled.forward` and `.backward`; `train_steps` and `train_batches` are the fused
training steps (training/steps.py): forward, zero the gradients, backward (mean over the
rows), the optimizer's update, many steps in one call, the loss of each written out.
numpy_calls.py has the same entry points in NumPy, for while numba compiles these (jit.py
chooses).

Equals: a forward, a backward and `optimizer.step()` called one by one from Python, and so
the scalar sweeps row by row: tests/test_fused.py (test_fit_equals_the_python_loop,
test_train_step_is_one_step_of_the_loop), tests/test_fit_epochs.py, and
tests/test_numpy_kernels.py (these against numpy_calls.py on random graphs).
"""

from __future__ import annotations

import numpy as np

from . import cache
from .chunks import backward_pass, forward_pass
from .codes import dense, inline, kernel, uncounted_kernel
from .layout import (
    copy,
    grads_into,
    grads_out,
    params_in,
    params_out,
    program_parts,
    store_shift,
    workspace_parts,
)
from .updates import apply_rule, update  # noqa: F401 (update: optim.Optimizer.step's entry point)


@uncounted_kernel
def run_forward(prog, layout, work, uniform, store, threads, x, out):
    """The parameters from the store, then forward_pass; the outputs written to out, row by
    row (out[j·n + k] is row j's output k, of n)."""
    parts = program_parts(prog)
    ufirst, uop, ua, ub, uargs, usq, vcode, vargs, vgroups, in_rows, p_uslots, p_idx, outs = parts
    vals, _, tmp, _, counts = workspace_parts(layout, work)
    params_in(prog, p_uslots, p_idx, uniform[0], store[0])
    forward_pass(
        uop, ua, ub, uargs, usq, ufirst, uniform[0], vcode, vargs, vgroups, vals, tmp, in_rows, x, counts,
        threads,
    )  # fmt: skip
    n, L = outs.size, counts[0]  # every chunk but the last holds L rows
    for k in range(n):
        r = outs[k]
        for c in range(vals.shape[0]):
            for j in range(counts[c]):
                out[(c * L + j) * n + k] = vals[c, r, j] if r >= 0 else uniform[0, -r - 1]


@kernel
def run_backward(prog, layout, work, uniform, store, threads, x_grad, out_ref, seed):
    """backward_pass, then the parameters' gradients added into the store and the inputs'
    written to x_grad (empty: the inputs' gradients are not wanted)."""
    parts = program_parts(prog)
    ufirst, uop, ua, ub, uargs, usq, vcode, vargs, vgroups, in_rows, p_uslots, p_idx, outs = parts
    vals, grads, tmp, chunk_ugrads, counts = workspace_parts(layout, work)
    uvals, ugrads, p_grad = uniform[0], uniform[1], store[1]
    input_grads = x_grad.shape[0] > 0
    backward_pass(
        uop, ua, ub, uargs, usq, ufirst, uvals, ugrads, vcode, vargs, vgroups, vals, grads, chunk_ugrads, tmp,
        counts, threads, out_ref, seed, input_grads, in_rows, np.empty((0, in_rows.size)),
    )  # fmt: skip
    grads_out(prog, p_uslots, p_idx, ugrads, p_grad)
    if not input_grads:
        return
    L = counts[0]  # rows per chunk (the last may hold fewer)
    for c in range(vals.shape[0]):
        rows = x_grad[c * L : c * L + counts[c]]
        for col in range(in_rows.size):
            row = grads[c, in_rows[col]]
            for j in range(counts[c]):
                rows[j, col] = row[j]


@inline
def one_step(
    prog, parts, ws, uniform, store, threads, rule, opt, settings, state, x, counts, lanes, lr, t, shift
):  # fmt: skip
    """One training step on x's first `lanes` rows (counts[c] of them in chunk c): forward,
    backward seeded with 1/lanes, the optimizer's step t at lr. Returns the step's loss, the
    output's mean over the lanes. (parts: program_parts(prog); ws: vals, grads, tmp, chunk_ugrads.)
    shift >= 0: the call's only step, whose update writes the store's values (see store_shift)."""
    ufirst, uop, ua, ub, uargs, usq, vcode, vargs, vgroups, in_rows, p_uslots, p_idx, outs = parts
    vals, grads, tmp, chunk_ugrads = ws
    uvals, ugrads = uniform[0], uniform[1]
    # out_ref and input_grads in the types run_backward passes (int64, a bool that is not a literal
    # False), so that numba compiles backward_pass once for both, not twice
    out_ref, input_grads = np.int64(outs[0]), x.shape[0] < 0
    in_place = opt.shape[0] > 1
    if not in_place:  # (in place, the caller reads them once for all the steps)
        params_in(prog, p_uslots, p_idx, uvals, store[0])
    forward_pass(
        uop, ua, ub, uargs, usq, ufirst, uvals, vcode, vargs, vgroups, vals, tmp, in_rows, x, counts, threads
    )
    if out_ref >= 0:
        total = 0.0
        for c in range(vals.shape[0]):
            for j in range(counts[c]):
                total += vals[c, out_ref, j]
        loss = total / lanes
    else:
        loss = uvals[-out_ref - 1]
    backward_pass(
        uop, ua, ub, uargs, usq, ufirst, uvals, ugrads, vcode, vargs, vgroups, vals, grads, chunk_ugrads, tmp,
        counts, threads, out_ref, 1.0 / lanes, input_grads, in_rows, x,
    )  # fmt: skip
    if shift >= 0:  # the updated parameters straight into the store (see store_shift)
        data, grad, idx = store[0][shift:], ugrads, opt[1]
    elif in_place:
        data, grad, idx = uvals, ugrads, opt[1]
    else:  # the graph's gradients are the step's: the optimizer's other parameters get none
        data, grad, idx = store[0], store[1], opt[0]
        for c in range(idx.size):
            grad[idx[c]] = 0.0
        for c in range(p_idx.size):
            grad[p_idx[c]] = ugrads[p_uslots[c]]
    apply_rule(rule, data, grad, idx, state, lr, settings, t)
    return loss


@uncounted_kernel
def train_steps(prog, layout, work, uniform, store, threads, rule, opt, settings, state, x, lrs, t0, losses):
    """len(lrs) training steps: forward, zero the gradients, backward (mean over rows), update.

    The update is an optimizer's rule, settings and state (see apply_rule), with step k's
    learning rate lrs[k] and its step number t0 + k + 1; opt[0] holds the store indices
    of the parameters it updates. losses gets each step's mean output (the graph's one output).

    When every one of those parameters is one of the graph's (opt[1] gives each one's
    uniform slot; opt has one row otherwise), the steps update the uniform values in
    place and the store sees the parameters, and the last step's gradients, at the end.

    Rows holding nan or inf take no step: the losses are nan and nothing is written
    (train_step's fast path then names the entry; its other callers checked x before).
    """
    if not all_finite(x):
        losses[:] = np.nan
        return
    parts = program_parts(prog)
    vals, grads, tmp, chunk_ugrads, counts = workspace_parts(layout, work)
    ws = (vals, grads, tmp, chunk_ugrads)
    p_uslots, p_idx = parts.p_uslots, parts.p_idx
    in_place = opt.shape[0] > 1
    if in_place:  # once for all the steps (otherwise each step reads the store)
        params_in(prog, p_uslots, p_idx, uniform[0], store[0])
    shift = store_shift(prog) if in_place and lrs.size == 1 else -1  # (a call of one step)
    for step in range(lrs.size):
        losses[step] = one_step(
            prog, parts, ws, uniform, store, threads, rule, opt, settings, state, x, counts, x.shape[0],
            lrs[step], t0 + step + 1, shift,
        )  # fmt: skip
    if shift >= 0:  # the update wrote the store's values: the gradients
        grads_into(prog, p_idx, uniform[1], store[1])
    elif in_place:  # the parameters and the last step's gradients, back in the store
        params_out(prog, p_uslots, p_idx, uniform[0], uniform[1], store[0], store[1])


@dense
def all_finite(x):
    """Whether every entry of x (C order) is finite: x − x is 0 for a finite x and nan for nan
    or ±inf, so their sum is 0 exactly when all are, in whatever order it is summed (here in
    vectorised partial sums: a pass of 128 x 784 rows about as fast as NumPy's isfinite, and
    no call of NumPy's from Python, 1.5 µs on the moons' 100 rows). Its own pass, not summed in
    chunks.into_lanes' copy of the rows: there, the check and the copy took 57-169 µs on 128 × 794
    rows against 50-75 for both apart (a chain of additions in the copy's loop, and the rows no
    longer read in order, into the cache, before the copy reads them across)."""
    flat = x.reshape(x.size)
    total = 0.0
    for j in range(flat.size):
        total += flat[j] - flat[j]
    return total == 0.0


@kernel
def train_batches(
    prog, layout, work, uniform, store, threads, rule, opt, settings, state, x, order, batch, lrs, t0, losses
):  # fmt: skip
    """train_steps on mini-batches: step k on x's rows order[k·batch : (k + 1)·batch], gathered
    into the lanes here (the workspace was made for `batch` rows). The last step takes the
    rows left: fewer, its loss and gradient the mean over them (PyTorch's DataLoader,
    drop_last=False); the lanes past them are set to 0 first, as a workspace made for
    that many rows would hold (tiles.py: the padding lanes are 0).

    (The whole-batch steps keep their own loop, without the gathering: running them through
    this one, with an empty order, made them 5-10 % slower at 100 rows, benchmarks/train_moons.py.
    Each step's rows are copied whole into `picked` first: read from x straight into the lanes,
    128 rows a pass a cache line of each at a time, and the first layer's ∇W reading them in x,
    784-128-10's epochs of 1,024 rows were about 10 % slower.)
    """
    parts = program_parts(prog)
    vals, grads, tmp, chunk_ugrads, full = workspace_parts(layout, work)
    ws = (vals, grads, tmp, chunk_ugrads)
    p_uslots, p_idx = parts.p_uslots, parts.p_idx
    picked = np.empty((batch, x.shape[1]))  # a step's rows, in the order of its lanes
    counts = np.empty_like(full)  # the rows of each chunk this step (the last may have fewer)
    in_place = opt.shape[0] > 1
    if in_place:  # once for all the steps (otherwise each step reads the store)
        params_in(prog, p_uslots, p_idx, uniform[0], store[0])
    for step in range(lrs.size):
        copy(counts, full, full.size)
        first = step * batch
        lanes = min(batch, order.size - first)
        for j in range(lanes):
            copy(picked[j], x[order[first + j]], x.shape[1])
        if lanes < batch:  # the last, short batch: its chunks' rows and padding lanes
            for c in range(counts.size):
                counts[c] = max(0, min(full[0], lanes - c * full[0]))
                vals[c, :, counts[c] :] = 0.0
        losses[step] = one_step(
            prog, parts, ws, uniform, store, threads, rule, opt, settings, state, picked, counts, lanes,
            lrs[step], t0 + step + 1, -1,
        )  # fmt: skip
    if in_place:  # the parameters and the last step's gradients, back in the store
        params_out(prog, p_uslots, p_idx, uniform[0], uniform[1], store[0], store[1])


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
