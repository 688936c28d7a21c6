"""Predictions from a trained network, and how good they are.

    from microgradx import metrics

    scores = metrics.scores(model, X)            # X (rows, nin) -> (rows, k): a score per class
    labels = metrics.predict(model, X)           # (rows,) class indices 0..k-1
    metrics.accuracy(y, labels)                  # the fraction of rows right
    metrics.confusion_matrix(y, labels)          # (k, k) counts: row = true class, column = predicted

`scores` runs the whole batch through one compiled call, with no Value built per
row: the first call compiles the model's outputs as a graph of its `nin` inputs
(`microgradx.compile`) and keeps it with the model, so later calls, after more
training too, reuse it (it reads the parameters' current values). `Predictor(model)`
is that compiled graph, to hold yourself.

A network with one output scores two classes: class 1 where its score is above 0
(a linear or tanh output: hinge, `bce_with_logits`), or above 0.5 (a sigmoid
output: a probability). With k ≥ 2 outputs, a row's class is its largest score.
"""

from __future__ import annotations

import weakref

import numpy as np

from .compiler.graph import Graph
from .core.engine import Value
from .core.real import real_array
from .nn import Module

__all__ = ["Predictor", "accuracy", "confusion_matrix", "labels", "predict", "scores"]


class Predictor:
    """A model's outputs compiled once as a graph of its inputs: scores and labels for whole batches.

    The model is any `Module` that takes `nin` inputs (an MLP, a Layer, a Neuron);
    `nin` is read from its architecture unless given. The compiled graph shares the
    model's parameters, so it scores with their values at the time of each call.
    """

    def __init__(self, model: Module, nin: int | None = None) -> None:
        architecture = model.architecture()
        if nin is None:
            if "nin" not in architecture:
                raise ValueError(f"cannot tell how many inputs {model!r} takes: pass Predictor(model, nin=)")
            nin = int(architecture["nin"])
        self.model_name = repr(model)  # not the model: the cache of Predictors must not keep models alive
        self.nin = nin
        xs = [Value(0.0, label=f"x{i + 1}") for i in range(nin)]
        out = model(xs)
        self.outputs = 1 if isinstance(out, Value) else len(out)
        self.graph = Graph(out, inputs=xs)
        activation = architecture.get("activations", [architecture.get("activation")])[-1]
        # the score that separates class 0 from class 1 when there is one output
        self.threshold = 0.5 if activation == "sigmoid" else 0.0
        self._made_from = _shape(model)

    @property
    def classes(self) -> int:
        """How many classes the model tells apart: its outputs, or 2 for one output."""
        return max(self.outputs, 2)

    def scores(self, X: np.ndarray) -> np.ndarray:
        """The model's outputs for each row of X, shape (rows, nin): (rows, k) for k outputs,
        (rows,) for one. One compiled call for the whole batch."""
        X = real_array(X, f"{type(self).__name__}.scores(X)", "X")  # numbers by real.py's rule
        if X.ndim != 2 or X.shape[1] != self.nin:
            raise ValueError(
                f"X has shape {X.shape}; {self.model_name} takes a batch of shape (rows, {self.nin}) "
                "(one row: X.reshape(1, -1))"
            )
        return self.graph.forward(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The class of each row of X (rows, nin): int64 indices, shape (rows,)."""
        return labels(self.scores(X), self.threshold)

    def __repr__(self) -> str:
        return f"Predictor({self.model_name}, {self.nin} inputs -> {self.outputs} outputs)"


# Each model's Predictor, made at its first `scores` or `predict` call; it goes with the model.
_predictors: weakref.WeakKeyDictionary[Module, Predictor] = weakref.WeakKeyDictionary()


def _shape(model: Module) -> tuple:
    """What a compiled graph of the model depends on: its architecture and its parameter Values."""
    return repr(model.architecture()), tuple(map(id, model.parameters()))


def predictor(model: Module) -> Predictor:
    """The model's Predictor: compiled at the first call, again only if the model was rebuilt
    (other parameter Values or another architecture)."""
    found = _predictors.get(model)
    if found is None or found._made_from != _shape(model):
        found = _predictors[model] = Predictor(model)
    return found


def scores(model: Module, X: np.ndarray) -> np.ndarray:
    """The model's outputs for a batch X of shape (rows, nin): (rows, k) for k outputs, (rows,)
    for one. Compiles the model's outputs at the first call and reuses them after."""
    return predictor(model).scores(X)


def predict(model: Module, X: np.ndarray) -> np.ndarray:
    """The class (0..k-1) the model gives each row of X (rows, nin): int64, shape (rows,)."""
    return predictor(model).predict(X)


def labels(scores: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Class indices from scores: the largest of each row of (rows, k) scores, or for one score
    per row, shape (rows,), 1 where it is above `threshold` and 0 elsewhere. int64, shape (rows,)."""
    s = np.asarray(scores)
    if s.ndim == 2:
        return np.argmax(s, axis=1).astype(np.int64)
    if s.ndim == 1:
        return (s > threshold).astype(np.int64)
    raise ValueError(f"scores have shape {s.shape}: want (rows, classes) or (rows,)")


def _classes(y: object, what: str, rows: int | None = None) -> np.ndarray:
    """y as int64 class indices of shape (rows,); (rows, k) scores become their argmax."""
    a = np.asarray(y)
    if a.ndim == 2 and what == "y_pred":
        a = np.argmax(a, axis=1)
    if a.ndim != 1:
        raise ValueError(f"{what} has shape {a.shape}: want class indices of shape (rows,)")
    whole = a.dtype != bool and np.issubdtype(a.dtype, np.number) and np.all(a == np.round(a))
    if not whole or (a < 0).any():
        raise ValueError(
            f"{what} must hold class indices 0, 1, ..., k-1; got {a[:5]!r}... "
            "(for one score per row, metrics.labels(scores) makes them)"
        )
    if rows is not None and a.size != rows:
        raise ValueError(f"y_true has {rows} rows but y_pred has {a.size}")
    return a.astype(np.int64)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The fraction of rows whose predicted class is the true one.

    y_true: class indices, shape (rows,). y_pred: class indices (rows,), or class
    scores (rows, k), read as the class of each row's largest score.
    """
    t = _classes(y_true, "y_true")
    p = _classes(y_pred, "y_pred", t.size)
    if t.size == 0:
        raise ValueError("accuracy of no rows")
    return float(np.mean(t == p))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class): int64, shape (k, k), row i column j the rows of
    class i predicted as j; the diagonal holds the right ones (scikit-learn's layout).

    y_pred: class indices (rows,) or class scores (rows, k). k is `classes`, else one
    more than the largest class in either array.
    """
    t = _classes(y_true, "y_true")
    p = _classes(y_pred, "y_pred", t.size)
    seen = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    k = seen if classes is None else int(classes)
    if k < seen:
        raise ValueError(f"confusion_matrix(classes={classes}): the labels hold class {seen - 1}")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)
