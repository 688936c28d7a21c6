"""Loss functions built from Value ops, so any engine (eager or compiled) differentiates them.

Each takes the network's output ŷ (a Value) and the target y (a Value input of a
compiled graph, or a number) and returns one Value. Their derivatives in ŷ, from
the lecture:

    quadratic   (ŷ − y)²                      2(ŷ − y)
    nll         −y log ŷ − (1 − y) log(1 − ŷ)  −y/ŷ + (1 − y)/(1 − ŷ)
    hinge       max(0, 1 − y·ŷ)                −y where y·ŷ < 1, else 0

(The lecture prints the nll's derivative as −y/ŷ − (1 − y)/(1 − ŷ): a sign typo; the line
above is the derivative of the loss beside it.)

Everything here is a graph, never a number computed while building it: a compiled
graph replays the same ops on other rows, so a constant taken from the build-time
data (like the max logit of the first row) would be wrong for every other row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from numbers import Real

from .core.engine import Value

Scalar = Value | float | int


def mse(y_hat: Value, y: Scalar) -> Value:
    """Quadratic loss (ŷ − y)²: regression."""
    return (y_hat - y) ** 2


quadratic = mse


def nll(p: Value, y: Scalar) -> Value:
    """Negative log-likelihood of a label y ∈ {0, 1} under probability p = P(y = 1).

    Binary cross-entropy from probabilities (a sigmoid output): −y log p − (1 − y) log(1 − p),
    each term written −log(p^y), so that a term of weight 0 is 0 even where its log is −inf
    (0·ln 0 = 0, as scipy's and PyTorch's xlogy; 0^0 = 1 and its derivatives 0, ops.py). A
    sigmoid rounds to exactly 1 from a ≈ 37 on: a confident right answer then cost nan, and
    every gradient behind it; now 0, as its true loss e^−a rounds. A confident wrong answer
    is still inf, its gradient nan (its true loss is about a): use `bce_with_logits` on the
    pre-sigmoid score there. For y of 0 or 1 each term is y·log p to the last bit.
    """
    return 0.0 - (p**y).log() - ((1 - p) ** (1 - y)).log()  # (from 0.0: a loss of 0 is +0.0, not −0.0)


binary_cross_entropy = nll


def bce_with_logits(z: Value, y: Scalar) -> Value:
    """`nll(sigmoid(z), y)` for y ∈ {0, 1}, stable for any z: max(z, 0) − z·y + log(1 + e^−|z|).

    Its derivative in z is σ(z) − y, and no exp overflows. max(z, 0) is written
    (z + |z|)/2, not relu(z): at z = 0 the subgradients ½ and 0 of its two kinks give
    the true σ(0) − y = ½ − y.
    """
    return 0.5 * (z + z.abs()) - z * y + (1 + (-z.abs()).exp()).log()


def hinge(score: Value, y: Scalar) -> Value:
    """SVM max-margin loss max(0, 1 − y·score) for a label y ∈ {−1, +1}."""
    return (1 - y * score).relu()


def maximum(values: Sequence[Value]) -> Value:
    """The largest of `values`, as a graph: max(a, b) = b + relu(a − b), exact and differentiable a.e."""
    if not values:
        raise ValueError("maximum() of no values")
    m = values[0]
    for v in values[1:]:
        m = v + (m - v).relu()
    return m


def logsumexp(logits: Sequence[Value]) -> Value:
    """log Σ e^z_k, stabilised: m + log Σ e^(z_k − m) with m the max logit (a graph, see above).

    The result does not depend on m, so its gradient through m is 1 − Σ softmax = 0.
    """
    m = maximum(logits)
    return m + Value.sum((z - m).exp() for z in logits).log()


def softmax(logits: Sequence[Value]) -> list[Value]:
    """Probabilities e^z_k / Σ e^z_j, computed stably."""
    lse = logsumexp(logits)
    return [(z - lse).exp() for z in logits]


def softmax_cross_entropy(logits: Sequence[Value], target: int | Sequence[Scalar]) -> Value:
    """−log softmax(logits)[target] for k classes: logsumexp(z) − Σ_k y_k z_k.

    `target` is a class index (a number fixed in the graph: fine for an eager graph
    built per row) or k one-hot weights y_k (Values as inputs of a compiled graph,
    so each row brings its own class).

    Computed with the max logit m taken out of both terms, log Σ e^(z_k − m) − Σ_k y_k (z_k − m)
    + m·(1 − Σ_k y_k) (the last 0 for one-hot y): written as logsumexp(z) − Σ y_k z_k, the
    two terms cancel, and logits of 1e17 and more lost the loss to rounding (1e300, 1e300
    and 0 gave 0 for log 2).
    """
    logits = list(logits)
    k = len(logits)
    if k < 2:
        raise ValueError(f"softmax_cross_entropy needs at least 2 logits, got {k}")
    index = isinstance(target, Real) and not isinstance(target, bool)
    if index:
        if target != int(target) or not 0 <= target < k:
            raise ValueError(f"target class {target!r} is not one of 0..{k - 1}")
    elif isinstance(target, Value) or isinstance(target, (str, bytes)) or not hasattr(target, "__len__"):
        raise TypeError(f"target must be a class index or {k} one-hot weights, got {target!r}")
    elif len(target) != k:
        raise ValueError(f"target has {len(target)} one-hot weights for {k} logits")
    m = maximum(logits)
    shifted = [z - m for z in logits]
    lse = Value.sum(s.exp() for s in shifted).log()  # log Σ e^(z − m), between 0 and log k
    if index:
        return lse - shifted[int(target)]
    y = list(target)
    rest = 1 - (sum(y) if all(isinstance(t, Real) for t in y) else Value.sum(y))  # 1 − Σ y_k
    loss = lse - Value.dot(y, shifted)
    return loss if isinstance(rest, Real) and rest == 0 else loss + m * rest


def total_mse(outputs: Sequence[Value], targets: Sequence[Scalar]) -> Value:
    """Σ_j (ŷ_j − y_j)² over a row's outputs: the quadratic loss of a network with several outputs."""
    if len(outputs) != len(targets):
        raise ValueError(f"{len(outputs)} outputs but {len(targets)} targets")
    return Value.sum(mse(o, y) for o, y in zip(outputs, targets, strict=True))


def one_nll(outputs: Sequence[Value], targets: Sequence[Scalar]) -> Value:
    """`nll` of a network's one output, given as lists of one (the row's form of NAMED)."""
    if len(outputs) != 1 or len(targets) != 1:
        raise ValueError(f"nll takes one output and one target, got {len(outputs)} and {len(targets)}")
    return nll(outputs[0], targets[0])


# One row's loss by name, from its outputs and targets as lists (`microgradx.matrix` takes
# the same names: its backprop equals Value.backward() on `mean` of these over the rows).
NAMED: dict[str, Callable[[Sequence[Value], Sequence[Scalar]], Value]] = {
    "mse": total_mse,
    "nll": one_nll,
    "softmax_cross_entropy": softmax_cross_entropy,
}


def l2(params: Iterable[Value], alpha: float = 1.0) -> Value:
    """Weight decay penalty alpha · Σ p², as one DOT node p·p (`sum(p * p ...)` makes 2n nodes)."""
    params = list(params)
    if not params:
        raise ValueError("l2() of no parameters")
    return alpha * Value.dot(params, params)


def mean(losses: Iterable[Value]) -> Value:
    """The average of per-row losses: one graph for a whole batch, micrograd's way."""
    losses = list(losses)
    if not losses:
        raise ValueError("mean() of no losses")
    return Value.sum(losses) * (1.0 / len(losses))
