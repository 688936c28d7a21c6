"""The reference sweeps: plain Python, line by line the lecture's algorithm.

Slow on purpose and kept simple: it is the oracle the compiled kernels are tested
against, and the version to read when learning. In the lecture's notation, the
forward pass computes each node's value φ_k from its operands; the backward pass
seeds φ_K^δ = 1 at the output and, going back over the nodes, adds to each
operand the node's gradient times the local derivative (the chain rule):
    operand^δ += φ_k^δ · ∂φ_k/∂operand
"""

from __future__ import annotations

from .ops import TABLE, Op


def forward(op: list[int], a: list[int], b: list[int], vals: list[float]) -> None:
    """φ_k = f_k(operands), for every computed slot k in order (leaves are filled in)."""
    for k in range(len(op)):
        info = TABLE[op[k]]
        if info.arity == 0:
            continue
        y = vals[b[k]] if info.arity == 2 else 0.0
        vals[k] = info.forward(vals[a[k]], y)


def backward(op: list[int], a: list[int], b: list[int], vals: list[float], grads: list[float]) -> None:
    """For k = K … 1: push φ_k^δ to the operands through the local derivatives."""
    for k in reversed(range(len(op))):
        info = TABLE[op[k]]
        if info.arity == 0:
            continue
        y = vals[b[k]] if info.arity == 2 else 0.0
        dx, dy = info.derivative(vals[a[k]], y, vals[k])
        grads[a[k]] += grads[k] * dx
        if info.arity == 2 and info.op != Op.POWC:  # a constant exponent gets no gradient
            grads[b[k]] += grads[k] * dy
