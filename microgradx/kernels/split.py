"""Splitting a tape for lanes, the loop: which slots vary with the inputs, and the two programs.

compiler/program.py's `split` calls this once per compiled graph (here because it is numba
code, and every numba function lives in the kernels folder, under the cache's key). It
marks the slots that depend on an input, gives each slot its row (varying) or uniform
slot, and writes the two programs: the uniform one as rows of (op, a, b), the varying one
as rows of vcode (its columns: codes.py), with every operand an encoded reference, and each
DOT's pairs laid out for the lane sweeps to add them in the graph's order (code[i, ROWS]
row × uniform pairs, code[i, LEAD] uniform pairs the graph adds before them).

Equals: compiler/program.py runs it as Python until numba has compiled it (the same
function, `cache.python_function(split_tape)`), and tests/test_random_graphs.py
(test_batched_lanes_equal_scalar_rows) holds the lanes it lays out against the scalar sweeps.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import cache
from .codes import COLUMNS, DOT, FUSED_RELU, LEAD, OP, ROWS, A, B


@njit(cache=True)  # integer work only: numba's default error model
def split_tape(op, a, b, args, is_input, fusable, arity):
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
            vcode[ref[i], FUSED_RELU] = 1
            continue
        code = vcode[ref[i]] if vary[i] else ucode[-ref[i] - 1]
        code[OP] = k
        if arity[k] == 0:  # leaves and constants keep their index into leaves / consts
            code[A] = a[i]
            code[B] = b[i]
        elif arity[k] == -1:
            count = b[i]
            if vary[i]:
                code[A] = nva
                for m in range(count):
                    vargs[nva + m] = ref[args[a[i] + m]]
                if k == DOT:
                    # Its pairs laid out for the lane sweeps: each pair's row first (a product
                    # commutes); then the row × uniform pairs that follow the leading uniform ×
                    # uniform ones (code[ROWS] of them), those leading pairs (code[LEAD]), and the rest
                    # in the graph's order. The sweeps (dots.dot_lanes, numpy_calls) add the
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
                    code[ROWS] = done
                    for m in range(lead):
                        order[done + m] = m
                    code[LEAD] = lead
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
                code[A] = nua
                for m in range(count):
                    uargs[nua + m] = -ref[args[a[i] + m]] - 1
                nua += count
            code[B] = count
        else:
            # a varying op keeps encoded references; a uniform op reads only uniform slots
            code[A] = ref[a[i]] if vary[i] else -ref[a[i]] - 1
            if arity[k] == 2:
                code[B] = ref[b[i]] if vary[i] else -ref[b[i]] - 1
            else:
                code[B] = 0
    return ucode, uargs[:nua].copy(), vcode, vargs[:nva].copy(), ref


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
