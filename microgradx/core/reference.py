"""The reference sweeps: plain Python, line by line the lecture's algorithm.

Slow on purpose and kept simple: it is the oracle the compiled kernels are tested
against, and the version to read when learning. In the lecture's notation, the
forward pass computes each node's value φ_k from its operands; the backward pass
seeds φ_K^δ = 1 at the output and, going back over the nodes, adds to each
operand the node's gradient times the local derivative (the chain rule):
    operand^δ += φ_k^δ · ∂φ_k/∂operand
"""

from __future__ import annotations

from .ops import TABLE, local_derivatives


def operands(op: list[int], a: list[int], b: list[int], args: list[int], k: int) -> list[int]:
    """The slots node k reads."""
    arity = TABLE[op[k]].arity
    if arity == -1:
        return args[a[k] : a[k] + b[k]]
    return [a[k], b[k]][:arity]


def forward(op: list[int], a: list[int], b: list[int], args: list[int], vals: list[float]) -> None:
    """φ_k = f_k(operands), for every computed slot k in order (leaves are filled in)."""
    for k in range(len(op)):
        info = TABLE[op[k]]
        if info.arity == 0:
            continue
        vals[k] = info.forward(*[vals[s] for s in operands(op, a, b, args, k)])


def backward(
    op: list[int], a: list[int], b: list[int], args: list[int], vals: list[float], grads: list[float]
) -> None:
    """For k = K … 1: push φ_k^δ to the operands through the local derivatives."""
    for k in reversed(range(len(op))):
        info = TABLE[op[k]]
        if info.arity == 0:
            continue
        slots = operands(op, a, b, args, k)
        local = local_derivatives(op[k], vals[k], [vals[s] for s in slots])
        for s, d in zip(slots, local):  # POWC's constant exponent and a dead relu take nothing
            grads[s] += grads[k] * d


def tangents(
    op: list[int], a: list[int], b: list[int], args: list[int], vals: list[float], tans: list[float]
) -> None:
    """Forward mode: for k = 1 … K, carry the tangent φ̇_k = Σ_j ∂φ_k/∂φ_j · φ̇_j beside φ_k.

    The leaves' tangents (the direction ẋ) are filled in; after the sweep each slot holds
    its derivative along that direction. The same local derivatives as `backward`, read
    the other way: backward pushes an adjoint down to the operands, this pulls the
    operands' tangents up (Griewank & Walther, Evaluating Derivatives, ch. 3). A dead
    relu passes nothing, as in backward; so does an operand whose tangent is 0 (a constant,
    or a slot that does not depend on the direction), which carries no tangent, as in
    PyTorch: ∂(1/x)/∂1 at x = 0 is inf, and inf · 0 would be nan.
    """
    for k in range(len(op)):
        info = TABLE[op[k]]
        if info.arity == 0:
            continue
        slots = operands(op, a, b, args, k)
        local = local_derivatives(op[k], vals[k], [vals[s] for s in slots])
        total = 0.0
        for s, d in zip(slots, local):  # POWC's constant exponent and a dead relu give nothing
            if tans[s] != 0.0:
                total += d * tans[s]
        tans[k] = total
