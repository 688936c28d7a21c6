"""`microgradx explain --matrix`: the lecture's K-layer backpropagation on a small MLP, with its numbers.

Each step of `microgradx.matrix.backprop` is printed as the lecture writes it (g, f_k'(a[k]),
∇W[k] as small matrices), and each entry of ∇W[k] is pointed to the node of the scalar graph
whose `.grad` it is (`L2.n3.w1`), after `Value.backward()` on the same mean loss.
"""

from __future__ import annotations

import numpy as np

from .. import losses, matrix
from ..backprop import backward
from ..core.engine import Value
from ..nn import MLP

LOSS_TEXT = {
    "mse": ("Σ_j (ŷ_j − y_j)²", "2(ŷ − y)"),
    "nll": ("−y log ŷ − (1 − y) log(1 − ŷ), ŷ = σ(a[K])", "−y/ŷ + (1 − y)/(1 − ŷ)"),
    "softmax_cross_entropy": ("log Σ_j e^ŷ_j − Σ_j y_j ŷ_j", "softmax(ŷ) − y"),
}


def vector(v: np.ndarray) -> str:
    """A column vector on one line: [+0.1234 −0.5000]ᵀ."""
    return "[" + " ".join(f"{x:+.4f}" for x in v) + "]ᵀ"


def rows_of(m: np.ndarray, cell: str = "{:+.4f}") -> list[str]:
    """A matrix as lines, one per row, in brackets."""
    texts = [[cell.format(x) for x in row] for row in m]
    width = max(len(t) for row in texts for t in row)
    return ["[ " + "  ".join(t.rjust(width) for t in row) + " ]" for row in texts]


def beside(left: list[str], right: list[str], gap: str = "    ") -> list[str]:
    """Two blocks of lines side by side."""
    width = max(len(line) for line in left)
    return [f"{a.ljust(width)}{gap}{b}" for a, b in zip(left, right, strict=True)]


def scalar_grads(model: MLP, x: np.ndarray, y: np.ndarray, loss: str) -> tuple[int, list[np.ndarray]]:
    """The scalar graph of the same loss, differentiated by Value.backward(): its node count and
    each layer's weight gradients, read from the parameters' `.grad` (Layer.weight_grad)."""
    out = model(list(x))
    root = losses.NAMED[loss]([out] if isinstance(out, Value) else out, list(y))
    model.zero_grad()
    tape = backward(root, engine="python")  # the reference sweep: no compile wait for one small graph
    return len(tape), [layer.weight_grad for layer in model.layers]


def small_mlp(
    sizes: str, activations: str | None, loss: str, bias: bool, seed: int
) -> tuple[MLP, np.ndarray, np.ndarray]:
    """The command line's network and one observation: sizes "2,3,2" (d_0, …, d_K), activations one
    per layer ("tanh,linear"; by default tanh, and the output linear, or sigmoid for nll), x and y
    drawn from `seed` (y fits the loss: a label for nll, one-hot for softmax_cross_entropy)."""
    try:
        dims = [int(d) for d in sizes.split(",")]
    except ValueError:
        raise ValueError(f"--sizes takes layer widths d_0,d_1,…,d_K like 2,3,2; got {sizes!r}") from None
    if len(dims) < 2 or min(dims) < 1 or max(dims) > 8:
        raise ValueError(
            f"--sizes takes at least two widths from 1 to 8 (d_0 … d_K), like 2,3,2; got {sizes!r}"
        )
    K = len(dims) - 1
    last = "sigmoid" if loss == "nll" else "linear"
    acts = ["tanh"] * (K - 1) + [last] if activations is None else activations.split(",")
    if len(acts) == 1 and K > 1:
        acts = acts * K
    like = ",".join(["tanh"] * (K - 1) + [last])
    for a in acts:
        if a not in matrix.ACTIVATIONS:
            raise ValueError(
                f"--activations: unknown activation {a!r}: use {', '.join(matrix.ACTIVATIONS)} (like {like})"
            )
    if len(acts) != K:
        raise ValueError(
            f"--activations takes one activation per layer ({K} for --sizes {sizes}, like {like}) or one for "
            f"all; got {activations!r}"
        )
    if loss == "nll" and (dims[-1] != 1 or acts[-1] != "sigmoid"):
        raise ValueError(
            "--loss nll is the lecture's loss of one sigmoid neuron's output: end --sizes with 1 and "
            f"--activations with sigmoid (like --sizes {','.join(map(str, dims[:-1]))},1 --activations "
            f"{','.join(acts[:-1] + ['sigmoid'])}); got --sizes {sizes} and a last activation {acts[-1]}"
        )
    if loss == "softmax_cross_entropy" and dims[-1] < 2:
        raise ValueError(
            f"--loss softmax_cross_entropy needs 2 outputs or more: end --sizes with 2 or more; got {sizes}"
        )
    rng = np.random.default_rng(seed)
    model = MLP(dims[0], dims[1:], acts, seed=rng, bias=bias)
    x = rng.uniform(-1.0, 1.0, dims[0]).round(2)
    if loss == "nll":
        y = np.array([1.0])
    elif loss == "softmax_cross_entropy":
        y = np.eye(dims[-1])[0]
    else:
        y = rng.uniform(-1.0, 1.0, dims[-1]).round(2)
    return model, x, y


def explain_matrix(model: MLP, x: np.ndarray, y: np.ndarray, loss: str) -> str:
    """The lecture's forward pass and backpropagation on one observation, step by step, as text.

    Runs `Value.backward()` on the model's scalar graph (it sets the parameters' `.grad`), to
    show that each entry of ∇W[k] is one parameter's gradient.
    """
    result = matrix.backprop(model, x, y, loss)
    layers = model.layers
    K = len(layers)
    L, dL = LOSS_TEXT[loss]
    lines = [
        f"{model!r}, loss {loss}: L = {L}",
        f"x = h[0] = {vector(result.h[0])}   y = {vector(np.ravel(y))}",
        "",
    ]
    lines.append("forward pass: h[0] ← x; for k = 1 … K: a[k] ← W^(k) h[k-1], h[k] ← f_k(a[k])")
    for k, layer in enumerate(layers, start=1):
        lines.append(
            f"  k = {k}: W^({k}) = ({layer.weight.shape[0]} × {layer.weight.shape[1]}, a row per neuron)"
        )
        lines += [f"      {r}" for r in rows_of(layer.weight)]
        if layer.bias is not None:
            lines.append(f"      b^({k}) = {vector(layer.bias)}")
        plus = "" if layer.bias is None else f" + b^({k})"
        lines.append(f"    a[{k}] ← W^({k}) h[{k - 1}]{plus} = {vector(result.a[k])}")
        lines.append(f"    h[{k}] ← {layer.activation}(a[{k}]) = {vector(result.h[k])}")
    lines += [f"  L = {result.loss:.6g}", ""]
    lines.append("backpropagation: g ← L'(h[K], y); for k = K … 1: g ← g ⊙ f_k'(a[k]), ∇W[k] ← g h[k-1]ᵀ,")
    lines.append("g ← W^(k)ᵀ g   (the lecture prints ∇W[k] ← g h[k]ᵀ: only h[k-1] gives W's shape)")
    lines.append(f"  g ← L'(h[{K}], y) = {dL} = {vector(result.g[K])}")
    for k in range(K, 0, -1):
        layer = layers[k - 1]
        fprime = matrix.ACTIVATIONS[layer.activation][1](result.a[k])
        lines.append(f"  k = {k}: f_{k}'(a[{k}]) = {layer.activation}'(a[{k}]) = {vector(fprime)}")
        lines.append(f"    g ← g ⊙ f_{k}'(a[{k}]) = {vector(result.delta[k])}")
        lines.append(f"    ∇W[{k}] ← g h[{k - 1}]ᵀ =")
        lines += [f"      {r}" for r in rows_of(result.W[k - 1])]
        if layer.bias is not None:
            lines.append(f"    ∇b[{k}] ← g = {vector(result.b[k - 1])}")
        lines.append(f"    g ← W^({k})ᵀ g = {vector(result.g[k - 1])}" + "   (∂L/∂x)" * (k == 1))
    nodes, grads = scalar_grads(model, result.h[0], np.ravel(y), loss)
    lines += ["", f"each entry of ∇W[k] is the .grad of one node of the scalar graph ({nodes} nodes), after"]
    lines.append("Value.backward() on the same loss:")
    for k, layer in enumerate(layers, start=1):
        names = np.array([[w.label for w in n.w] for n in layer.neurons], dtype=object)
        lines.append(f"  ∇W[{k}]" + " " * 6 + "is the .grad of")
        lines += [f"    {r}" for r in beside(rows_of(result.W[k - 1]), rows_of(names, "{}"))]
        if layer.bias is not None:
            lines.append(f"  ∇b[{k}] is the .grad of {', '.join(n.b.label for n in layer.neurons)}")
    worst = max(float(np.abs(a - b).max()) for a, b in zip(result.W, grads, strict=True))
    lines.append(f"  largest difference between ∇W and those .grad: {worst:.1e}")
    return "\n".join(lines)
