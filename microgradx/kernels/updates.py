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
# (lr, beta1, beta2, eps, weight_decay), state = (velocity,) or (m, v), one per parameter


@inline
def sgd_update(data, grad, idx, velocity, lr, momentum, weight_decay):
    """p ← p − lr·g, with g = ∂L/∂p + weight_decay·p, through velocity v ← momentum·v + g."""
    for j in range(idx.size):
        i = idx[j]
        g = grad[i] + weight_decay * data[i]  # d/dp (λ/2 p²) = λp
        if momentum != 0.0:
            velocity[j] = momentum * velocity[j] + g
            g = velocity[j]
        data[i] -= lr * g


@inline
def adam_update(data, grad, idx, m, v, lr, beta1, beta2, eps, weight_decay, t):
    """Adam's step t (from 1): moments m, v of the gradient, bias-corrected."""
    c1 = 1.0 - beta1**t
    c2 = 1.0 - beta2**t
    for j in range(idx.size):
        i = idx[j]
        g = grad[i] + weight_decay * data[i]
        m[j] = beta1 * m[j] + (1.0 - beta1) * g  # first moment
        v[j] = beta2 * v[j] + (1.0 - beta2) * g * g  # second moment
        data[i] -= lr * (m[j] / c1) / (math.sqrt(v[j] / c2) + eps)


@inline
def apply_rule(rule, data, grad, idx, state, lr, settings, t):
    """Step t of the optimizer's rule on the parameters data[idx], from grad[idx]."""
    if rule == SGD_RULE:
        sgd_update(data, grad, idx, state[0], lr, settings[1], settings[2])
    else:
        adam_update(data, grad, idx, state[0], state[1], lr, settings[1], settings[2], settings[3],
                    settings[4], t)  # fmt: skip


@kernel
def update(rule, store, idx, state, settings, t):
    """An optimizer's step t, at its lr settings[0], on its parameters in a store (data
    store[0], grad store[1])."""
    apply_rule(rule, store[0], store[1], idx, state, settings[0], settings, t)


cache.key_functions(globals())  # numba caches these under the key of all the kernels' sources
