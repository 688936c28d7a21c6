"""`microgradx explain --hessian`: the second derivatives at a point, and what they say about it.

At a point where the gradient is 0 (a critical point) the Hessian's eigenvalues tell a
minimum (all > 0) from a maximum (all < 0) and from a saddle point (both signs): f curves
up along the eigenvectors of positive eigenvalues and down along the others. The lecture's
saddle, f(x, y) = x² − y² at the origin: gradient 0, eigenvalues −2 and 2.

Each column of the Hessian is one Hessian-vector product H·eᵢ, the forward-mode sweep over
the gradient graph (`microgradx.hvp`, forward over reverse), run by the pure-Python
reference sweeps: no compile wait for a small expression.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ..core.engine import Value
from ..modes import hvp
from .steps import num


def hessian_of(root: Value, leaves: list[Value]) -> np.ndarray:
    """The Hessian of root w.r.t. leaves at their values, column i = H·eᵢ by one tangent sweep."""
    n = len(leaves)
    return np.column_stack([hvp(root, leaves, np.eye(n)[i])[1] for i in range(n)]) if n else np.zeros((0, 0))


def vector(v: np.ndarray) -> str:
    """(0, 1): an eigenvector, its largest entry made positive."""
    v = v if v[np.argmax(np.abs(v))] > 0 else -v
    return "(" + ", ".join(num(float(x)) for x in v) + ")"


def verdict(gradient: np.ndarray, eigenvalues: np.ndarray) -> str:
    """What the gradient and the Hessian's eigenvalues say about the point, in words."""
    negative, positive = int(np.sum(eigenvalues < 0)), int(np.sum(eigenvalues > 0))
    n = eigenvalues.size
    if np.any(gradient != 0):
        return (
            "the gradient is not 0: no critical point, f still goes down along −∇f; the eigenvalues say "
            "how f curves here"
        )
    if negative and positive:
        return (
            f"gradient 0 and eigenvalues of both signs: a saddle point, neither a minimum nor a maximum "
            f"(index {negative}/{n}: the fraction of negative eigenvalues)"
        )
    if positive == n:
        return "gradient 0 and every eigenvalue > 0: a minimum (f curves up in every direction)"
    if negative == n:
        return "gradient 0 and every eigenvalue < 0: a maximum (f curves down in every direction)"
    return "gradient 0 and an eigenvalue 0: the second derivatives alone cannot tell what this point is"


def explain_hessian(root: Value, inputs: dict[str, Value], f: str) -> str:
    """The Hessian of root w.r.t. the named inputs at their values, its eigenvalues and eigenvectors,
    and the verdict: minimum, maximum, saddle point (the gradients come from the backward already run)."""
    names, leaves = list(inputs), list(inputs.values())
    if not leaves:
        return "(no inputs: no second derivatives to show)"
    H = hessian_of(root, leaves)
    gradient = np.array([v.grad for v in leaves])
    width = max(max(len(num(x)) for x in H.ravel()), *(len(n) for n in names)) + 2
    lines = [f"second derivatives: the Hessian H[i, j] = ∂²{f}/∂i∂j, each column one forward-mode sweep",
             "over the gradient graph (forward over reverse)",
             "  " + " " * width + "".join(f"{n:>{width}}" for n in names)]  # fmt: skip
    for name, row in zip(names, H):
        lines.append("  " + f"{name:>{width}}" + "".join(f"{num(x):>{width}}" for x in row))
    eigenvalues, vectors = np.linalg.eigh((H + H.T) / 2)
    lines += ["", "eigenvalues of H (and eigenvectors, along " + ", ".join(names) + "):"]
    for lam, v in zip(eigenvalues, vectors.T):
        how = "curves up" if lam > 0 else "curves down" if lam < 0 else "is flat (to second order)"
        lines.append(f"  {num(float(lam)):>{width}}   along {vector(v)}: {f} {how}")
    lines += ["", f"gradient: {', '.join(f'∂{f}/∂{n} = {num(float(g))}' for n, g in zip(names, gradient))}"]
    lines += textwrap.wrap(verdict(gradient, eigenvalues), 100)
    return "\n".join(lines)
