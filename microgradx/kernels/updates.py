"""The optimizers' update rules over flat parameter arrays: SGD (momentum, weight decay) and Adam.

`optim.Optimizer.step()` calls `update`; the fused training steps (calls.py) call
`apply_rule` between a backward and the next forward, so both run the same code.
Equals: the update rules worked by hand, step by step (tests/test_optim.py:
test_sgd_with_momentum_and_weight_decay_two_steps_by_hand, test_adam_first_two_steps_by_hand),
and the fused steps a Python loop of optimizer.step() (tests/test_fused.py).
"""

from __future__ import annotations

import math

from . import cache
from .codes import inline, kernel

SGD_RULE, ADAM_RULE = 0, 1  # the update rules; settings = (lr, momentum, weight_decay) or
# (lr, beta1, beta2, eps, weight_decay); state = one row: each parameter's velocity, or its m and
# v side by side (m_j at 2j, v_j at 2j + 1: see adam_update)


@kernel
def sgd_update(data, grad, idx, velocity, lr, momentum, weight_decay):
    """p ← p − lr·g, with g = ∂L/∂p + weight_decay·p, through velocity v ← momentum·v + g.

    On one run of parameters (see adam_update) the same rule runs without idx, so that it
    vectorises; equal to the loop through idx bit for bit (tests/test_optim.py)."""
    n = idx.size
    if n > 0 and one_run(idx):
        i0 = idx[0]
        p, dp = data[i0 : i0 + n], grad[i0 : i0 + n]
        for j in range(n):
            p[j] = sgd_rule(p[j], dp[j], velocity, j, lr, momentum, weight_decay)
        return
    for j in range(n):
        i = idx[j]
        data[i] = sgd_rule(data[i], grad[i], velocity, j, lr, momentum, weight_decay)


@inline
def sgd_rule(p, dp, velocity, j, lr, momentum, weight_decay):
    """Parameter p after SGD's step from its gradient dp; its velocity[j] updated."""
    g = dp + weight_decay * p  # d/dp (λ/2 p²) = λp
    if momentum != 0.0:
        velocity[j] = momentum * velocity[j] + g
        g = velocity[j]
    return p - lr * g


@kernel
def adam_update(data, grad, idx, mv, lr, beta1, beta2, eps, weight_decay, t):
    """Adam's step t (from 1): moments m, v of the gradient, bias-corrected, side by side in mv
    (parameter j's at 2j and 2j + 1): the loop streams three arrays where it streamed four. On
    784-128-10's 101,770 parameters, after a training step, m and v apart took 138 µs or 230
    by where they fell in a 4 KB page against the parameters (a lottery of each process's
    allocations: at 1024 and 2048 bytes past them slow, at 1365 and 2730 fast); side by side
    they take 142-147 µs wherever they fall (mv placed at six offsets).

    When the parameters are one run, data[i0 : i0 + n] (a compiled graph's, in the store's
    order), the same loop runs on that run without idx: it vectorises (divisions and square
    roots eight a vector, exact as one at a time), 650 µs a step fewer on 784-128-10's
    101,770 parameters. Equals the loop through idx bit for bit (tests/test_optim.py:
    test_adam_on_one_run_of_parameters_steps_exactly_as_through_their_indices). A plain call,
    compiled once, not inlined into each training kernel (its vectorised loops inlined in
    three cost the warmup about 4 s).

    The step is Adam's lr·m̂/(√v̂ + eps) (Kingma & Ba 2015, Algorithm 1; m̂ = m/c1, v̂ = v/c2,
    c1 and c2 the bias corrections 1 − β^t) with c1 and c2 taken out of the loop:
    (lr·√c2/c1) · m / (√v + eps·√c2), one square root and one division a parameter. The loop
    is bound by those (a divider shared by both): PyTorch's form lr/c1 · m / (√v/√c2 + eps),
    with a second division, took 134 µs on 784-128-10's 101,770 parameters against 104 for
    this one, and the three divisions of m̂/(√v̂ + eps) written out 225 µs. Each form is the
    same number to rounding: tests/test_optim.py's test_adam_first_two_steps_by_hand holds
    this one to the textbook form, and benchmarks/train_digits.py to PyTorch's Adam."""
    root_c2 = math.sqrt(1.0 - beta2**t)
    step, eps = lr / (1.0 - beta1**t) * root_c2, eps * root_c2  # see above: c1, c2 out of the loop
    n = idx.size
    if n > 0 and one_run(idx):
        i0 = idx[0]
        p, dp = data[i0 : i0 + n], grad[i0 : i0 + n]
        for j in range(n):
            p[j] = adam_rule(p[j], dp[j], mv, j, beta1, beta2, eps, weight_decay, step)
        return
    for j in range(n):
        i = idx[j]
        data[i] = adam_rule(data[i], grad[i], mv, j, beta1, beta2, eps, weight_decay, step)


@inline
def adam_rule(p, dp, mv, j, beta1, beta2, eps, weight_decay, step):
    """Parameter p after Adam's step from its gradient dp; its moments m = mv[2j], v = mv[2j + 1]
    updated (step = lr·√c2/c1 and eps = eps·√c2: see adam_update)."""
    g = dp + weight_decay * p
    m = beta1 * mv[2 * j] + (1.0 - beta1) * g  # first moment
    v = beta2 * mv[2 * j + 1] + (1.0 - beta2) * g * g  # second moment
    mv[2 * j], mv[2 * j + 1] = m, v
    return p - step * m / (math.sqrt(v) + eps)  # lr·m̂/(√v̂ + eps), c1 and c2 taken out


@inline
def one_run(idx):
    """Whether idx is idx[0], idx[0] + 1, …: consecutive indices (counted without a branch a
    step, so that the check vectorises)."""
    off = 0
    i0 = idx[0]
    for j in range(idx.size):
        off += idx[j] != i0 + j
    return off == 0


@inline
def apply_rule(rule, data, grad, idx, state, lr, settings, t):
    """Step t of the optimizer's rule on the parameters data[idx], from grad[idx]."""
    if rule == SGD_RULE:
        sgd_update(data, grad, idx, state[0], lr, settings[1], settings[2])
    else:
        adam_update(data, grad, idx, state[0], lr, settings[1], settings[2], settings[3], settings[4],
                    t)  # fmt: skip


@kernel
def update(rule, store, idx, state, settings, t):
    """An optimizer's step t, at its lr settings[0], on its parameters in a store (data
    store[0], grad store[1])."""
    apply_rule(rule, store[0], store[1], idx, state, settings[0], settings, t)


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
