"""Neural networks of scalar Values: `Neuron`, `Layer`, `MLP`, micrograd's `nn` with choices.

A neuron computes f(w·x + b). Its activation f is one of `ACTIVATIONS`; an MLP uses
one activation for its hidden layers and a linear output by default, as micrograd
does (the loss decides what the output means: hinge on a score, `sigmoid` then NLL
on a probability, ...). An MLP's parameters live in one flat `Store` from the
start, so compiled graphs, optimizers and `zero_grad` all work on the same arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .engine import Value
from .store import Store, bind

Seed = int | np.random.Generator | None
Input = Value | float | int

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": lambda v: v,
}


def _activation(name: str | None) -> str:
    """Check an activation's name; None means linear."""
    name = "linear" if name is None else name
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: use one of {', '.join(ACTIVATIONS)}")
    return name


def _count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


class Module:
    """Something with parameters: lists them and zeroes their gradients."""

    _store: Store | None = None
    _idx: np.ndarray | None = None
    _version: int = -1

    def parameters(self) -> list[Value]:
        return []

    def _bind(self) -> tuple[Store, np.ndarray]:
        """Put the parameters in one Store (or find the one they share); cached until one moves."""
        if self._store is None or self._store.version != self._version:
            self._store, self._idx = bind(self.parameters())
            self._version = self._store.version
        return self._store, self._idx

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0, in one array write."""
        store, idx = self._bind()
        if idx.size == len(store):
            store.grad.fill(0.0)
        else:
            store.grad[idx] = 0.0


class Neuron(Module):
    """f(w·x + b) with weights drawn uniformly from [-1, 1] and bias 0 (micrograd's init)."""

    def __init__(self, nin: int, activation: str | None = "relu", seed: Seed = None) -> None:
        nin = _count(nin, "Neuron(nin)")
        rng = np.random.default_rng(seed)
        self.w = [Value(float(x)) for x in rng.uniform(-1.0, 1.0, nin)]
        self.b = Value(0.0)
        self.activation = _activation(activation)

    def __call__(self, x: Sequence[Input]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"this neuron takes {len(self.w)} inputs, got {len(x)}")
        act = Value.dot(self.w, x) + self.b  # one DOT node for w·x: micrograd's sum, fewer nodes
        return ACTIVATIONS[self.activation](act)

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, {self.activation})"


class Layer(Module):
    """`nout` neurons reading the same `nin` inputs."""

    def __init__(self, nin: int, nout: int, activation: str | None = "relu", seed: Seed = None) -> None:
        nin = _count(nin, "Layer(nin)")
        nout = _count(nout, "Layer(nout)")
        rng = np.random.default_rng(seed)
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """The neurons' outputs; a single Value when the layer has one neuron."""
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    def __repr__(self) -> str:
        return f"Layer({len(self.neurons[0].w)} -> {len(self.neurons)}, {self.activation})"


class MLP(Module):
    """A multi-layer perceptron: `nin` inputs, then one layer per entry of `nouts`.

    Hidden layers use `activation`; the last layer uses `output_activation`
    (None: linear). Parameters are ordered layer by layer, neuron by neuron,
    weights then bias (micrograd's order) and bound to one Store at construction.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str | None = None,
        seed: Seed = None,
    ) -> None:
        nin = _count(nin, "MLP(nin)")
        if isinstance(nouts, (int, np.integer)) or len(nouts) == 0:
            raise ValueError(
                f"MLP(nouts) must be a non-empty list of layer sizes, like [16, 16, 1]; got {nouts!r}"
            )
        sizes = [nin] + [_count(n, "each of MLP(nouts)") for n in nouts]
        hidden, last = _activation(activation), _activation(output_activation)
        rng = np.random.default_rng(seed)
        self.layers = [
            Layer(sizes[i], sizes[i + 1], hidden if i < len(nouts) - 1 else last, rng)
            for i in range(len(nouts))
        ]
        self._bind()

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """The network's output(s) for one input row of Values or numbers."""
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        parts = [str(len(self.layers[0].neurons[0].w))]
        parts += [f"{len(layer.neurons)} {layer.activation}" for layer in self.layers]
        return f"MLP({' -> '.join(parts)}; {len(self.parameters())} parameters)"
