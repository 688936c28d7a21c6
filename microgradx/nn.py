"""Neural networks of scalar Values: `Neuron`, `Layer`, `MLP`, micrograd's `nn` with choices.

A neuron computes f(w·x + b). Its activation f is one of `ACTIVATIONS`; an MLP uses
one activation for its hidden layers and a linear output by default, as micrograd
does (the loss decides what the output means: hinge on a score, `sigmoid` then NLL
on a probability, ...). micrograd's `nonlin` works as it does there: `Neuron(2,
nonlin=False)`, `Layer(2, 3, nonlin=False)` and `Neuron(2, False)` are linear,
`nonlin=True` is relu, and `neuron.nonlin` reads (and sets) it. A module's parameters
live in one flat `Store` from the start, so compiled graphs, optimizers and
`zero_grad` all work on the same arrays (and pictures know them for parameters:
`microgradx.draw` colours bound leaves so).

Initialisation (`init=`, see `INITS`): by default each neuron's weights and bias are
drawn uniformly from ±1/√nin, nin its number of inputs (its fan-in), as PyTorch's
`nn.Linear` draws them; `init="micrograd"` draws micrograd's, weights uniform in ±1
whatever the fan-in and bias 0. Why the default scales: a neuron's pre-activation
w·x + b sums nin terms, so with weights of a fixed size it grows like √nin, and a
neuron with many inputs starts far out: a tanh or sigmoid saturated, a softmax's
scores huge. On the digits (64 inputs), a 64-32-10 network trained by Adam at lr 3e-3,
60 epochs of 128-row batches, reached 96.7–97.6 % on a held-out quarter from PyTorch's
weights and 89.6–92.4 % from micrograd's, over seeds 0–2 (`demo_real.train(lr=3e-3,
alpha=0.0, seed=s, init=...)`; issue 15 quotes 97.3–97.6 % and 95.6–96.2 %).
A saved model does not record its init: loading overwrites every parameter, so a file
loads into a model built with either.

Parameters are labelled by their place: in an MLP, `L2.n3.w1` is layer 2's third
neuron's first weight and `L2.n3.b` its bias (a Layer's are `n3.w1`, a Neuron's `w1`
and `b`); a neuron's output is labelled with the neuron's place, `L2.n3`.

A layer is also the lecture's matrix: `layer.weight` is W^(k), d_k × d_{k-1} (a row per
neuron, a column per input: the layout of PyTorch's `nn.Linear.weight`), `layer.bias`
its d_k biases, and `weight_grad`, `bias_grad` their gradients in the same layout
(copies; assigning an array sets the parameters). `bias=False` builds neurons
f(w·x) without a bias, as the lecture's networks are (`microgradx.matrix` runs the
lecture's two algorithms on these matrices).

Saving and loading (file format in `microgradx.serialize`):

    model.save("model.npz")                 # atomic: the old file survives a crash, keeps its mode
    model.load("model.npz")                 # into this model, in place
    model = MLP.from_file("model.npz")      # a new model built from the file

Non-finite parameters (nan, inf) are refused both ways unless `allow_nonfinite=True`:
a diverged model must not silently overwrite a good checkpoint, nor be loaded as one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

from . import serialize
from .compiler.checks import random_seed
from .core.engine import Value, bind
from .core.real import first_nonfinite, index, real_array
from .core.store import Store
from .serialize import ModelFileError

__all__ = ["ACTIVATIONS", "INITS", "MLP", "Layer", "ModelFileError", "Module", "Neuron"]

Seed = int | np.random.Generator | None
Input = Value | float | int
M = TypeVar("M", bound="Module")
PathLike = str | os.PathLike

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": lambda v: v,
}


def _pytorch_init(rng: np.random.Generator, nin: int) -> tuple[np.ndarray, float]:
    """Weights and bias uniform in ±1/√nin: PyTorch's default for `nn.Linear`, the layer of its MLPs.

    Source: `torch/nn/modules/linear.py`, `Linear.reset_parameters`, which calls
    `init.kaiming_uniform_(weight, a=math.sqrt(5))` and draws the bias from
    `uniform_(-1/√fan_in, 1/√fan_in)`. kaiming_uniform_ (`torch/nn/init.py`) draws from
    ±gain·√(3/fan_in) with gain = √(2/(1 + a²)) for leaky_relu; a = √5 makes the gain
    √(1/3), so the weights' bound is 1/√fan_in as well. The fan-in of a neuron is nin.
    """
    bound = 1.0 / np.sqrt(nin)
    w = rng.uniform(-bound, bound, nin)
    return w, float(rng.uniform(-bound, bound))


def _micrograd_init(rng: np.random.Generator, nin: int) -> tuple[np.ndarray, float]:
    """micrograd's `Neuron`: weights `random.uniform(-1, 1)` whatever nin, bias 0 (drawn here by NumPy)."""
    return rng.uniform(-1.0, 1.0, nin), 0.0


# How a neuron's parameters are first drawn: init name -> (rng, nin) -> (nin weights, bias).
INITS: dict[str, Callable[[np.random.Generator, int], tuple[np.ndarray, float]]] = {
    "pytorch": _pytorch_init,
    "micrograd": _micrograd_init,
}


def _init(name: object) -> str:
    """Check an init's name (a key of INITS)."""
    if not isinstance(name, str) or name not in INITS:
        raise ValueError(
            f"unknown init {name!r}: use one of {', '.join(map(repr, INITS))} (pytorch, the default: "
            "weights and bias uniform in ±1/√nin; micrograd: weights uniform in ±1, bias 0)"
        )
    return name


def _activation(name: str | bool | None, nonlin: bool | None = None) -> str:
    """Check an activation's name; None means linear, and micrograd's nonlin True relu, False linear.

    `nonlin` is micrograd's keyword: given, it decides between relu (or the nonlinear
    activation named) and linear, and refuses a name that says otherwise.
    """
    if isinstance(name, bool):
        name = "relu" if name else "linear"
    name = "linear" if name is None else name
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}: use one of {', '.join(ACTIVATIONS)} "
            f"(or micrograd's True for relu, False for linear)"
        )
    if nonlin is None:
        return name
    if not isinstance(nonlin, bool):
        raise ValueError(f"nonlin must be True (relu) or False (linear), as in micrograd; got {nonlin!r}")
    if nonlin and name == "linear":
        raise ValueError("nonlin=True asks for a nonlinearity, but the activation given is linear")
    if not nonlin and name != "linear":
        if name != "relu":  # relu is the default: nonlin=False alone turns it off
            raise ValueError(f"nonlin=False asks for a linear neuron but the activation given is {name!r}")
        return "linear"
    return name


def _count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def _join(place: str, name: str) -> str:
    return f"{place}.{name}" if place else name


class Module:
    """Something with parameters: lists them and zeroes their gradients."""

    _store: Store | None = None
    _idx: np.ndarray | None = None
    _version: int = -1

    def parameters(self) -> list[Value]:
        return []

    def _place(self, place: str) -> None:
        """Label the parameters by their place inside this module, under `place` (see the module doc)."""

    def _bind(self) -> tuple[Store, np.ndarray]:
        """Put the parameters in one Store (or find the one they share); cached until one moves."""
        if self._store is None or self._store.version != self._version:
            self._store, self._idx = bind(self.parameters())
            self._version = self._store.version
        return self._store, self._idx

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0, in one array write (under the store's lock, as
        every writer of the gradients: a backward in another thread is not cut in two)."""
        store, idx = self._bind()
        with store.lock:
            if idx.size == len(store):
                store.grad.fill(0.0)
            else:
                store.grad[idx] = 0.0

    # -- saving and loading -------------------------------------------------------------

    def architecture(self) -> dict[str, Any]:
        """What builds a module like this one (saved with its parameters, compared on load).

        Subclasses that `from_file` can rebuild override this; the default names the
        class and the parameter count, enough to load into a module built by hand.
        """
        return {"class": type(self).__name__, "parameters": len(self.parameters())}

    def save(self, path: PathLike, allow_nonfinite: bool = False) -> None:
        """Write the architecture and parameter values to `path` (.npz), atomically.

        Missing folders on the way are made (as `draw -o` and the plots make theirs); one
        that cannot be made or written in is an OSError naming it. A file already there
        keeps its permissions; a symlink is written through to its file. Refuses
        (ModelFileError, a ValueError) to write nan or inf parameters unless
        `allow_nonfinite`, and a path that is not a regular file (a directory, a FIFO, a
        device), which it leaves as it was.
        """
        path = serialize.file_path(path, "save(path)")
        store, slots = self._slots()
        values = store.data[slots]
        if not allow_nonfinite:
            _check_finite(values, f"not saving {self!r} to {os.fspath(path)}", "save")
        serialize.write(path, self.architecture(), values)

    def load(self: M, path: PathLike, allow_nonfinite: bool = False) -> M:
        """Set this module's parameters from a file saved by `save`, in place; returns self.

        Everything is checked before any parameter is written: a file of another
        architecture, format or version, a damaged file or nan/inf values (unless
        `allow_nonfinite`) raise `ModelFileError` and leave the model as it was.
        Values are written into the parameters' Store, so compiled graphs see them.
        """
        architecture, values = serialize.read(path)
        return self._set(architecture, values, path, allow_nonfinite)

    @classmethod
    def from_file(cls: type[M], path: PathLike, allow_nonfinite: bool = False) -> M:
        """A new module built from a file's architecture, with its parameters.

        `MLP.from_file(path)` insists on an MLP; `Module.from_file(path)` takes any
        class listed in `BUILDERS` (MLP, Layer, Neuron).
        """
        architecture, values = serialize.read(path)
        name = architecture["class"]
        builder = BUILDERS.get(name)
        if builder is None:
            raise ModelFileError(
                f"{os.fspath(path)} holds a {_short(name)}, which from_file cannot build (it builds "
                f"{', '.join(BUILDERS)}): construct the model yourself, then call model.load(path)"
            )
        if not issubclass(builder.cls, cls):
            raise ModelFileError(f"{os.fspath(path)} holds a {name}, not a {cls.__name__}")
        # What the architecture claims is checked against the values the file holds before
        # anything is built: a small file must not build a model of a billion parameters.
        try:
            count = builder.count(architecture)
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(
                f"{os.fspath(path)}: cannot build a {name} from {_short(architecture)}: {e}"
            ) from None
        if count != values.size:
            raise ModelFileError(
                f"{os.fspath(path)}: its architecture {_short(architecture)} has {count} parameters, "
                f"but the file holds {values.size} values: the file is damaged or was edited by hand"
            )
        return builder.build(architecture)._set(architecture, values, path, allow_nonfinite)

    def _set(
        self: M, architecture: dict[str, Any], values: np.ndarray, path: PathLike, allow_nonfinite: bool
    ) -> M:
        """Check that a file's architecture and values fit this module, then write them (all or nothing)."""
        mine = self.architecture()
        if architecture != mine:
            diffs = [
                f"{k[:40]} {_short(architecture.get(k, '(missing)'))} in the file, "
                f"{_short(mine.get(k, '(missing)'))} here"
                for k in sorted(set(mine) | set(architecture))
                if architecture.get(k) != mine.get(k)
            ]
            raise ModelFileError(
                f"{os.fspath(path)} holds another architecture: {'; '.join(diffs)}. "
                f"Build the model to match, or use {type(self).__name__}.from_file(path)"
            )
        store, slots = self._slots()
        if values.size != slots.size:
            raise ModelFileError(
                f"{os.fspath(path)} holds {values.size} parameter values; "
                f"this {type(self).__name__} has {slots.size}"
            )
        if not allow_nonfinite:
            _check_finite(values, f"not loading {os.fspath(path)}", "load")
        with store.lock:  # as every writer of the parameters (see store.py)
            store.data[slots] = values
        return self

    def _slots(self) -> tuple[Store, np.ndarray]:
        """The Store and each parameter's index in it, in `parameters()` order (repeats kept)."""
        store, _ = self._bind()
        params = self.parameters()
        return store, np.fromiter((p._idx for p in params), dtype=np.int64, count=len(params))


def _check_finite(values: np.ndarray, context: str, action: str) -> None:
    i, count = first_nonfinite(values)
    if count:
        raise ModelFileError(
            f"{context}: {count} of {values.size} parameters are not finite "
            f"(the first is parameters()[{i}] = {values[i]}); pass allow_nonfinite=True to {action} anyway"
        )


def _one_row(x: object, nin: int, who: str) -> None:
    """Raise unless x is one row of nin inputs (a list of Values or numbers), naming what is
    wrong and how to call `who` (the neuron, layer or MLP called) instead."""
    if isinstance(x, Value) or not hasattr(x, "__len__"):
        raise TypeError(
            f"a model takes a list of inputs (Values or numbers), got {x!r} ({type(x).__name__}): "
            "for one input, write model([x])"
        )
    rows = len(x) and isinstance(x[0], (list, tuple, np.ndarray))  # a batch: rows of inputs
    if rows or (isinstance(x, np.ndarray) and x.ndim > 1):
        raise TypeError(
            f"a model takes one row of {nin} inputs (Values or numbers), got a batch of "
            f"{len(x)} rows: call it on each row, [model(x) for x in X], or compile it once and "
            "run the batch, microgradx.compile(model(xs), inputs=xs).forward(X)"
        )
    if len(x) != nin:
        raise ValueError(f"{who} takes {nin} inputs, got {len(x)}")


class Neuron(Module):
    """f(w·x + b) for nin inputs x.

    `activation` names f (see ACTIVATIONS); micrograd's `nonlin` also works, by keyword
    or in the same place: `Neuron(2, False)` and `Neuron(2, nonlin=False)` are linear,
    `True` is relu. `init` names how w and b are drawn (see INITS and the module doc):
    "pytorch", the default, uniform in ±1/√nin as PyTorch's `nn.Linear`; "micrograd",
    weights uniform in ±1 and bias 0. `seed` (a whole number >= 0 or a NumPy Generator,
    else a TypeError or ValueError naming it) makes the draw reproducible. `bias=False`:
    f(w·x), no b (`self.b` is None; the weights are drawn as with a bias).
    """

    def __init__(
        self,
        nin: int,
        activation: str | bool | None = "relu",
        seed: Seed = None,
        *,
        nonlin: bool | None = None,
        init: str = "pytorch",
        bias: bool = True,
    ) -> None:
        nin = _count(nin, "Neuron(nin)")
        self.activation = _activation(activation, nonlin)
        weights, b = INITS[_init(init)](np.random.default_rng(random_seed(seed, "Neuron(seed)")), nin)
        self.w = [Value(float(x)) for x in weights]
        self.b = Value(b) if _flag(bias, "bias") else None
        self.name = ""  # its place, as a Layer or an MLP names it (L2.n3); labels its output
        self._place("")
        self._bind()

    def _place(self, place: str) -> None:
        self.name = place
        for k, w in enumerate(self.w, start=1):
            w.label = _join(place, f"w{k}")
        if self.b is not None:
            self.b.label = _join(place, "b")

    @property
    def nonlin(self) -> bool:
        """micrograd's flag: whether the neuron applies a nonlinearity (False: linear)."""
        return self.activation != "linear"

    @nonlin.setter
    def nonlin(self, on: bool) -> None:
        """False makes the neuron linear; True gives it relu unless it already has a nonlinearity."""
        if not isinstance(on, bool):
            raise ValueError(
                f"nonlin must be True (relu) or False (linear), got {on!r}; to pick f, set .activation"
            )
        if on != self.nonlin:
            self.activation = "relu" if on else "linear"

    def __call__(self, x: Sequence[Input]) -> Value:
        _one_row(x, len(self.w), "this neuron")
        act = Value.dot(self.w, x)  # one DOT node for w·x: micrograd's sum, fewer nodes
        if self.b is not None:
            act = act + self.b
        out = ACTIVATIONS[self.activation](act)
        if self.name:
            out.label = self.name
        return out

    def parameters(self) -> list[Value]:
        return self.w if self.b is None else self.w + [self.b]

    def architecture(self) -> dict[str, Any]:
        return {
            "class": "Neuron",
            "nin": len(self.w),
            "activation": self.activation,
            **_no_bias(self.b is not None),
        }

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, {self.activation}{', no bias' * (self.b is None)})"


class Layer(Module):
    """`nout` neurons reading the same `nin` inputs (`activation`, micrograd's `nonlin`, `init`,
    `bias`: see Neuron), and the lecture's weight matrix W of size nout × nin (`weight`).

    The neurons draw their parameters one after the other from one generator seeded by `seed`.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | bool | None = "relu",
        seed: Seed = None,
        *,
        nonlin: bool | None = None,
        init: str = "pytorch",
        bias: bool = True,
    ) -> None:
        nin = _count(nin, "Layer(nin)")
        nout = _count(nout, "Layer(nout)")
        activation = _activation(activation, nonlin)
        init = _init(init)
        bias = _flag(bias, "bias")
        rng = np.random.default_rng(random_seed(seed, "Layer(seed)"))
        self.neurons = [Neuron(nin, activation, rng, init=init, bias=bias) for _ in range(nout)]
        self._place("")
        self._bind()

    def _place(self, place: str) -> None:
        for j, neuron in enumerate(self.neurons, start=1):
            neuron._place(_join(place, f"n{j}"))

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """The neurons' outputs; a single Value when the layer has one neuron."""
        _one_row(x, len(self.neurons[0].w), "this layer")
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    # -- the lecture's matrix W^(k): a row per neuron, a column per input ---------------

    def _index(self, part: str) -> np.ndarray:
        """Where the weights (nout × nin) or the biases (nout,) sit in the parameters' Store."""
        self._bind()  # one Store for all: each Value's _idx is its place there
        if part == "weight":
            return np.array([[w._idx for w in n.w] for n in self.neurons], dtype=np.int64)
        return np.array([n.b._idx for n in self.neurons], dtype=np.int64)

    def _read(self, part: str, array: str) -> np.ndarray | None:
        """A copy of the weights' or biases' values ("data") or gradients ("grad"); None for no bias."""
        if part == "bias" and self.neurons[0].b is None:
            return None
        idx = self._index(part)
        return getattr(self._store, array)[idx]  # fancy indexing: a copy

    def _write(self, part: str, value: object) -> None:
        """Set the weights or biases from an array of their shape; checked whole before any is written."""
        nout, nin = len(self.neurons), len(self.neurons[0].w)
        if part == "bias" and self.neurons[0].b is None:
            raise ValueError(f"{self!r} has no bias (built with bias=False): it cannot be set")
        shape = (nout, nin) if part == "weight" else (nout,)
        layout = (
            "d_k × d_{k-1}: a row per neuron, a column per input" if part == "weight" else "one per neuron"
        )
        array = real_array(value, f"{self!r}.{part}", part)  # the one number rule: ragged rows, text refused
        if array.shape != shape:
            raise ValueError(
                f"{self!r}.{part} takes an array of shape {shape} ({layout}), got shape {array.shape}"
            )
        k, count = first_nonfinite(array)
        if count:
            raise ValueError(
                f"{self!r}.{part} takes finite numbers, got {part}{index(k, array.shape)} = {array.flat[k]}"
                f" ({count} of {array.size} not finite); nothing was set"
            )
        idx = self._index(part)
        with self._store.lock:  # as every writer of the parameters (see store.py)
            self._store.data[idx] = array

    @property
    def weight(self) -> np.ndarray:
        """W^(k): the weights as an array of shape (nout, nin), a row per neuron (PyTorch's
        `nn.Linear.weight` layout); a copy. Assign an array of that shape to set them: a
        wrong shape or a nan/inf is refused (ValueError) and nothing is set."""
        return self._read("weight", "data")

    @weight.setter
    def weight(self, value: np.ndarray) -> None:
        self._write("weight", value)

    @property
    def bias(self) -> np.ndarray | None:
        """The biases, shape (nout,), a copy; None for a layer built with bias=False.
        Assignable as `weight` is."""
        return self._read("bias", "data")

    @bias.setter
    def bias(self, value: np.ndarray) -> None:
        self._write("bias", value)

    @property
    def weight_grad(self) -> np.ndarray:
        """The weights' gradients (each parameter's `.grad`), shape (nout, nin) as `weight`; a copy."""
        return self._read("weight", "grad")

    @property
    def bias_grad(self) -> np.ndarray | None:
        """The biases' gradients, shape (nout,); None for a layer built with bias=False."""
        return self._read("bias", "grad")

    def architecture(self) -> dict[str, Any]:
        nin, nout = len(self.neurons[0].w), len(self.neurons)
        return {
            "class": "Layer",
            "nin": nin,
            "nout": nout,
            "activation": self.activation,
            **_no_bias(self.neurons[0].b is not None),
        }

    def __repr__(self) -> str:
        extra = ", no bias" * (self.neurons[0].b is None)
        return f"Layer({len(self.neurons[0].w)} -> {len(self.neurons)}, {self.activation}{extra})"


class MLP(Module):
    """A multi-layer perceptron: `nin` inputs, then one layer per entry of `nouts`.

    Hidden layers use `activation`; the last layer uses `output_activation`
    (None: linear). Or `activation` lists one activation per layer (the lecture's
    f_1 … f_K), and `output_activation` is left out. Parameters are ordered layer by
    layer, neuron by neuron, weights then bias (micrograd's order) and bound to one
    Store at construction. `init` names how they are drawn, each neuron by its own
    fan-in by default (see Neuron, INITS and the module doc); `seed` makes the draw
    reproducible; `bias=False` builds every layer without biases (the lecture's networks).
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | Sequence[str] = "relu",
        output_activation: str | None = None,
        seed: Seed = None,
        *,
        init: str = "pytorch",
        bias: bool = True,
    ) -> None:
        nin = _count(nin, "MLP(nin)")
        if isinstance(nouts, (int, np.integer)) or len(nouts) == 0:
            raise ValueError(
                f"MLP(nouts) must be a non-empty list of layer sizes, like [16, 16, 1]; got {nouts!r}"
            )
        sizes = [nin] + [_count(n, "each of MLP(nouts)") for n in nouts]
        acts = _activations(activation, output_activation, len(nouts))
        init = _init(init)
        bias = _flag(bias, "bias")
        rng = np.random.default_rng(random_seed(seed, "MLP(seed)"))
        self.layers = [
            Layer(sizes[i], sizes[i + 1], acts[i], rng, init=init, bias=bias) for i in range(len(nouts))
        ]
        self._place("")
        self._bind()

    def _place(self, place: str) -> None:
        for i, layer in enumerate(self.layers, start=1):
            layer._place(_join(place, f"L{i}"))

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """The network's output(s) for one input row of Values or numbers."""
        _one_row(x, len(self.layers[0].neurons[0].w), "this MLP")
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def architecture(self) -> dict[str, Any]:
        return {
            "class": "MLP",
            "nin": len(self.layers[0].neurons[0].w),
            "nouts": [len(layer.neurons) for layer in self.layers],
            "activations": [layer.activation for layer in self.layers],
            **_no_bias(self.layers[0].neurons[0].b is not None),
        }

    def __repr__(self) -> str:
        parts = [str(len(self.layers[0].neurons[0].w))]
        parts += [f"{len(layer.neurons)} {layer.activation}" for layer in self.layers]
        extra = ", no bias" * (self.layers[0].neurons[0].b is None)
        return f"MLP({' -> '.join(parts)}; {len(self.parameters())} parameters{extra})"


def _activations(activation: object, output_activation: object, layers: int) -> list[str]:
    """One activation per layer: from a list of them, or from the hidden layers' and the output's."""
    if isinstance(activation, (list, tuple)):
        if output_activation is not None:
            raise ValueError(
                "MLP: activation lists one activation per layer, so output_activation must be left out "
                f"(got {output_activation!r}): put it last in the list"
            )
        if len(activation) != layers:
            raise ValueError(
                f"MLP: activation lists {len(activation)} activations for {layers} layers: give one per "
                "layer of nouts, the output layer's last"
            )
        return [_activation(a) for a in activation]
    hidden, last = _activation(activation), _activation(output_activation)
    return [hidden] * (layers - 1) + [last]


def _flag(value: object, name: str) -> bool:
    """A True/False argument, checked (bias=0 or bias="no" would mean something else to each reader)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _no_bias(has_bias: bool) -> dict[str, Any]:
    """An architecture's bias entry: {"bias": False} for a module without biases, else nothing
    (so a file saved before bias= existed still describes a module with biases)."""
    return {} if has_bias else {"bias": False}


def _short(value: object, limit: int = 80) -> str:
    """repr(value) cut to `limit` characters for a message: a file's architecture can be megabytes."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _fields(a: dict[str, Any], *names: str) -> bool:
    """Refuse an architecture whose keys are not 'class', exactly `names` and maybe 'bias';
    whether it has biases ("bias": false only for one without, see _no_bias)."""
    keys = set(a) - {"class", "bias"}
    if keys != set(names):
        got = _short(sorted(keys))
        raise ValueError(f"a {a['class']} is described by {', '.join(names)} (and bias), got {got}")
    if a.get("bias", False) is not False:
        raise ValueError(
            f"bias is written only as false, for a module without biases; got {_short(a['bias'])}"
        )
    return "bias" not in a


def _count_mlp(a: dict[str, Any]) -> int:
    """Check an MLP's architecture field by field; the parameter count it builds."""
    bias = _fields(a, "nin", "nouts", "activations")
    nouts, acts = a["nouts"], a["activations"]
    if not isinstance(nouts, list) or not nouts:
        raise ValueError(f"nouts must be a non-empty list of layer sizes, got {_short(nouts)}")
    sizes = [_count(a["nin"], "nin")] + [_count(n, "each of nouts") for n in nouts]
    if not isinstance(acts, list) or len(acts) != len(nouts):
        raise ValueError(f"activations {_short(acts)} must list one activation per layer of nouts")
    for act in acts:
        _activation(act)
    return sum((nin + bias) * nout for nin, nout in zip(sizes, sizes[1:]))


def _build_mlp(a: dict[str, Any]) -> MLP:
    return MLP(a["nin"], a["nouts"], list(a["activations"]), bias="bias" not in a)


def _count_layer(a: dict[str, Any]) -> int:
    bias = _fields(a, "nin", "nout", "activation")
    _activation(a["activation"])
    return (_count(a["nin"], "nin") + bias) * _count(a["nout"], "nout")


def _count_neuron(a: dict[str, Any]) -> int:
    bias = _fields(a, "nin", "activation")
    _activation(a["activation"])
    return _count(a["nin"], "nin") + bias


class Builder(NamedTuple):
    """How `Module.from_file` makes a class from a file's architecture.

    `count` checks the architecture's fields (KeyError, TypeError or ValueError if one
    is wrong) and returns the number of parameters it would build, which is compared
    with the values in the file before `build` allocates anything.
    """

    cls: type[Module]
    count: Callable[[dict[str, Any]], int]
    build: Callable[[dict[str, Any]], Module]


# What `Module.from_file` can build: class name -> its Builder.
BUILDERS: dict[str, Builder] = {
    "MLP": Builder(MLP, _count_mlp, _build_mlp),
    "Layer": Builder(
        Layer, _count_layer, lambda a: Layer(a["nin"], a["nout"], a["activation"], bias="bias" not in a)
    ),
    "Neuron": Builder(
        Neuron, _count_neuron, lambda a: Neuron(a["nin"], a["activation"], bias="bias" not in a)
    ),
}
