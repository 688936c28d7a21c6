"""Oracles the tests compare the engine against: finite differences, sweeps by engine."""

from __future__ import annotations

from microgradx.backprop import sweep
from microgradx.tape import flatten


def central_difference(f, xs: list[float], h: float = 1e-6) -> list[float]:
    """∂f/∂xᵢ by (f(x + h eᵢ) - f(x - h eᵢ)) / 2h, an oracle independent of the engine."""
    grads = []
    for i in range(len(xs)):
        up = list(xs)
        down = list(xs)
        up[i] += h
        down[i] -= h
        grads.append((f(up) - f(down)) / (2 * h))
    return grads


def sweep_grads(root, engine: str = "numba"):
    """(data, grad) arrays of every slot of root's graph, by one engine."""
    tape = flatten(root)
    sweep(tape, engine)
    return tape, tape.data, tape.grad
