"""The lecture's network of K layers as matrices: its forward pass and backpropagation, in NumPy.

A model's layer k is the matrix W^(k), d_k × d_{k-1} (`Layer.weight`, a row per neuron),
with an activation f_k and, unless built with bias=False, a bias b^(k). The lecture's two
algorithms, line for line (each observation is a column, as in the lecture; rows of X are
taken as columns at once):

    forward(model, X)                        backprop(model, X, Y, loss)
    h[0] ← x                                 g ← L'(h[K], y)
    for k = 1 … K:                           for k = K … 1:
        a[k] ← W^(k) h[k-1]  (+ b^(k))           g ← g ⊙ f_k'(a[k])
        h[k] ← f_k(a[k])                         ∇W[k] ← g h[k-1]ᵀ      (∇b[k] ← g)
                                                 g ← W^(k)ᵀ g

The lecture prints ∇W[k] ← g h[k]ᵀ: a typo, g h[k]ᵀ is d_k × d_k; only h[k-1] gives W's
shape. Over several rows the loss is their mean, so g starts as L'/rows and each ∇W[k]
sums g h[k-1]ᵀ over the rows.

Losses (`LOSSES`), each with its derivative in ŷ = h[K]:

    "mse"                     Σ_j (ŷ_j − y_j)²               2(ŷ − y)     (the lecture's quadratic loss)
    "nll"                     −y log ŷ − (1 − y) log(1 − ŷ)   −y/ŷ + (1 − y)/(1 − ŷ)   (0·log 0 = 0)
    "softmax_cross_entropy"   log Σ_j e^ŷ_j − Σ_j y_j ŷ_j     softmax(ŷ) − y   (y one-hot)

"nll" is the lecture's negative log-likelihood of one sigmoid output: the model's last
layer is one neuron with f_K = sigmoid, so ŷ = h[K] = σ(a[K]), as in the lecture (a model
with another last activation is refused, not given a sigmoid here). Then g ⊙ σ'(a[K])
is ŷ − y. (The lecture's L' has −(1 − y)/(1 − ŷ): a sign typo.) "softmax_cross_entropy"
reads h[K] as the scores (logits), so its last layer is usually linear.

Each result equals the scalar graph's: `Value.backward()` on `losses.mean` of the same
losses built from `model(x)` (tests/test_matrix.py holds them equal to 1e-12).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .core.real import first_nonfinite, index, real_array
from .nn import MLP, Layer

__all__ = ["ACTIVATIONS", "LOSSES", "Backprop", "Forward", "backprop", "forward", "layers_of"]

Array = np.ndarray


def sigmoid(a: Array) -> Array:
    """σ(a) = 1 / (1 + e^{-a}), written with e^{-|a|} so that no exp overflows."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


# f_k and f_k' for each activation of nn.ACTIVATIONS, the derivatives as the lecture derives them.
ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "linear": (lambda a: a, np.ones_like),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0.0) * 1.0),  # relu'(a) = 1_{a>0}
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),  # tanh' = 1 − tanh²
    "sigmoid": (sigmoid, lambda a: sigmoid(a) * (1.0 - sigmoid(a))),  # σ' = σ(1 − σ)
}


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=0))
    return e / e.sum(axis=0)


def _softmax_cross_entropy(z: Array, y: Array) -> Array:
    """log Σ e^z − Σ y·z with the max m taken out of both terms, as losses.softmax_cross_entropy
    (written as is, the two cancel for logits of 1e17 and more)."""
    m = z.max(axis=0)
    shifted = z - m
    return np.log(np.exp(shifted).sum(axis=0)) - (y * shifted).sum(axis=0) + m * (1.0 - y.sum(axis=0))


def _xlogy(x: Array, y: Array) -> Array:
    """x·ln y, 0 where x is 0 (ln y may be −inf there): losses.nll's terms, −ln(y^x)."""
    return np.where(x == 0.0, 0.0, x * np.log(np.where(x == 0.0, 1.0, y)))


def _xdivy(x: Array, y: Array) -> Array:
    """x / y, 0 where x is 0: the derivative of _xlogy in y, as the graph's (0^0's derivatives are 0)."""
    return np.where(x == 0.0, 0.0, x / np.where(x == 0.0, 1.0, y))


# L(ŷ, y) for each observation (a column) and L'(ŷ, y) = ∂L/∂ŷ, for ŷ and y of shape (d_K, rows).
LOSSES: dict[str, tuple[Callable[[Array, Array], Array], Callable[[Array, Array], Array]]] = {
    "mse": (
        lambda yh, y: ((yh - y) ** 2).sum(axis=0),
        lambda yh, y: 2.0 * (yh - y),
    ),
    "nll": (
        lambda yh, y: (-_xlogy(y, yh) - _xlogy(1.0 - y, 1.0 - yh)).sum(axis=0),
        lambda yh, y: -_xdivy(y, yh) + _xdivy(1.0 - y, 1.0 - yh),
    ),
    "softmax_cross_entropy": (
        lambda z, y: _softmax_cross_entropy(z, y),
        lambda z, y: _softmax(z) - y,
    ),
}


@dataclass
class Forward:
    """The forward pass: h[0] = x … h[K] (the output) and a[1] … a[K] (a[0] is None).

    Each h[k] and a[k] has X's layout: shape (d_k,) for one observation, (rows, d_k) for rows.
    """

    h: list[Array]
    a: list[Array | None]


@dataclass
class Backprop:
    """Backpropagation's results for the mean loss over X's rows.

    `loss`: the mean loss. `W[k - 1]`: ∇W[k], d_k × d_{k-1}, the gradient of
    `model.layers[k - 1].weight`; `b[k - 1]`: its bias's gradient (d_k,), None without
    bias. `h`, `a`: the forward pass. `g[k]`: ∂loss/∂h[k] (g[0] is the gradient of the
    input); `delta[k]`: ∂loss/∂a[k], the g of the lecture's line ∇W[k] ← g h[k-1]ᵀ
    (delta[0] is None). h, a, g and delta have X's layout, as in `Forward`.
    """

    loss: float
    W: list[Array]
    b: list[Array | None]
    h: list[Array]
    a: list[Array | None]
    g: list[Array]
    delta: list[Array | None]


def layers_of(model: object) -> list[Layer]:
    """The model's layers, checked to be the lecture's: one f_k per layer, biases in all or none,
    each layer reading the previous one's outputs. TypeError or ValueError otherwise."""
    if isinstance(model, MLP):
        layers = list(model.layers)
    elif isinstance(model, Layer):
        layers = [model]
    else:
        raise TypeError(
            f"matrix.forward and backprop take an nn.MLP (or one nn.Layer), got {type(model).__name__}: "
            "build the network with MLP(nin, nouts, activation=[...])"
        )
    if not layers or not all(isinstance(layer, Layer) for layer in layers):
        raise TypeError(f"{model!r}: model.layers must be a non-empty list of nn.Layer")
    for k, layer in enumerate(layers, start=1):
        acts = {n.activation for n in layer.neurons}
        if len(acts) != 1 or not acts <= set(ACTIVATIONS):
            raise ValueError(
                f"layer {k} has activations {sorted(acts)}: the matrix form needs one f_k per layer, "
                f"one of {', '.join(ACTIVATIONS)}"
            )
        if len({n.b is None for n in layer.neurons}) != 1:
            raise ValueError(f"layer {k} has biases on some neurons only: give all of them one, or none")
        if len({len(n.w) for n in layer.neurons}) != 1:
            raise ValueError(f"layer {k}'s neurons read different numbers of inputs")
        if k > 1 and len(layer.neurons[0].w) != len(layers[k - 2].neurons):
            raise ValueError(
                f"layer {k} reads {len(layer.neurons[0].w)} inputs but layer {k - 1} has "
                f"{len(layers[k - 2].neurons)} neurons"
            )
    return layers


def _columns(X: object, width: int, what: str) -> tuple[Array, bool]:
    """X as columns (width, rows) of finite floats, and whether it was one observation."""
    X = real_array(X, "matrix", what)  # the one number rule (core/real.py): ragged rows, text refused
    if X.ndim not in (1, 2) or X.shape[-1] != width or (X.ndim == 2 and X.shape[0] == 0):
        raise ValueError(
            f"{what} must have shape ({width},) for one observation or (rows, {width}) for rows, "
            f"one row at least, got shape {X.shape}"
        )
    k, count = first_nonfinite(X)
    if count:
        at = f"{what}{index(k, X.shape)} = {X.flat[k]}"
        raise ValueError(f"{what} holds nan or inf: {at} ({count} of {X.size})")
    return np.atleast_2d(X.astype(float)).T, X.ndim == 1


def _layout(columns: list[Array | None], single: bool) -> list[Array | None]:
    """Columns (d, rows) back into the caller's layout: (d,) for one observation, (rows, d) for rows."""
    return [None if c is None else (c[:, 0] if single else c.T) for c in columns]


def _forward(layers: list[Layer], h0: Array) -> tuple[list[Array], list[Array | None]]:
    """The lecture's forward pass on columns: h[0] ← x; a[k] ← W^(k) h[k-1] (+ b); h[k] ← f_k(a[k])."""
    h: list[Array] = [h0]
    a: list[Array | None] = [None]
    for k, layer in enumerate(layers, start=1):
        W, b = layer.weight, layer.bias
        a.append(W @ h[k - 1] + (0.0 if b is None else b[:, None]))
        f, _ = ACTIVATIONS[layer.activation]
        h.append(f(a[k]))
    return h, a


def forward(model: MLP | Layer, X: object) -> Forward:
    """The lecture's forward pass for one observation X of shape (d_0,) or rows (rows, d_0).

    Raises TypeError for a model that is not an nn.MLP of Layers, ValueError for X of the
    wrong width or with nan/inf.
    """
    layers = layers_of(model)
    h0, single = _columns(X, len(layers[0].neurons[0].w), "X")
    h, a = _forward(layers, h0)
    return Forward(_layout(h, single), _layout(a, single))


def _targets(Y: object, loss: str, out: Array, single: bool) -> Array:
    """Y checked against the output h[K] (columns, d_K × rows) and the loss; returned as columns."""
    d, rows = out.shape
    Y = real_array(Y, "matrix.backprop", "Y")
    want = (d,) if single else (rows, d)
    alone = () if single else (rows,)  # one output: y may come without its axis of length 1
    if Y.shape != want and not (d == 1 and Y.shape == alone):
        also = f" (or {alone} for the one output)" if d == 1 else ""
        raise ValueError(f"Y must have the output's shape {want}{also}, got shape {Y.shape}")
    k, count = first_nonfinite(Y)
    if count:
        raise ValueError(f"Y holds nan or inf: Y{index(k, Y.shape)} = {Y.flat[k]} ({count} of {Y.size})")
    Y = Y.astype(float).reshape(rows, d).T
    if loss == "nll" and ((Y < 0.0) | (Y > 1.0)).any():
        raise ValueError("nll's targets y are labels 0 or 1 (probabilities in [0, 1]); Y has others")
    if loss == "softmax_cross_entropy" and ((Y < 0.0).any() or not np.allclose(Y.sum(axis=0), 1.0)):
        raise ValueError("softmax_cross_entropy's Y rows are one-hot (each ≥ 0, summing to 1); Y has others")
    return Y


def _check_loss(loss: object, layers: list[Layer]) -> str:
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(map(repr, LOSSES))}")
    last = layers[-1]
    if loss == "nll" and (len(last.neurons) != 1 or last.activation != "sigmoid"):
        raise ValueError(
            f"nll is the lecture's loss of one sigmoid output ŷ = σ(a[K]); the last layer is {last!r}: "
            'end the model with one sigmoid neuron (activation=[..., "sigmoid"] and nouts=[..., 1])'
        )
    if loss == "softmax_cross_entropy" and len(last.neurons) < 2:
        raise ValueError("softmax_cross_entropy needs at least 2 outputs (the classes' scores)")
    return loss


def backprop(model: MLP | Layer, X: object, Y: object, loss: str) -> Backprop:
    """The lecture's backpropagation: the gradient of the mean `loss` over X's rows (see `LOSSES`).

    X has shape (d_0,) or (rows, d_0); Y the output's, (d_K,) or (rows, d_K), or (rows,) for
    one output. Everything is checked before anything is computed: TypeError for a model
    that is not an nn.MLP of Layers, ValueError for X or Y of the wrong shape or with nan/inf,
    an unknown loss, or nll without one sigmoid output. No parameter or `.grad` is changed.
    """
    layers = layers_of(model)
    loss = _check_loss(loss, layers)
    h0, single = _columns(X, len(layers[0].neurons[0].w), "X")
    h, a = _forward(layers, h0)
    K, rows = len(layers), h0.shape[1]
    y = _targets(Y, loss, h[K], single)
    L, dL = LOSSES[loss]
    W: list[Array] = [np.empty(0)] * (K + 1)  # by the lecture's k: W[k] is ∇W[k]; W[0] unused
    b: list[Array | None] = [None] * (K + 1)
    gs: list[Array] = [np.empty(0)] * (K + 1)
    delta: list[Array | None] = [None] * (K + 1)
    g = dL(h[K], y) / rows  # g ← L'(h[K], y), for the mean over rows
    for k in range(K, 0, -1):
        gs[k] = g
        _, df = ACTIVATIONS[layers[k - 1].activation]
        g = g * df(a[k])  # g ← g ⊙ f_k'(a[k])
        delta[k] = g
        W[k] = g @ h[k - 1].T  # ∇W[k] ← g h[k-1]ᵀ (summed over the rows' columns)
        if layers[k - 1].neurons[0].b is not None:
            b[k] = g.sum(axis=1)  # ∇b[k] ← g
        g = layers[k - 1].weight.T @ g  # g ← W^(k)ᵀ g
    gs[0] = g
    mean = float(L(h[K], y).mean())
    h, a, gs, delta = (_layout(x, single) for x in (h, a, gs, delta))
    return Backprop(mean, W[1:], b[1:], h, a, gs, delta)
