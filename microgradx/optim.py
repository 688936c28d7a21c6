"""Optimizers: SGD (with momentum and weight decay) and Adam, as numba loops over flat arrays.

An optimizer binds its parameters to one `Store` (the one they already share, for
an MLP) and updates `store.data` in place, so `p.data` shows the step at once and
a compiled graph reads the new values on its next forward. Per-parameter state
(velocity, moments) is kept in the parameters' order, so it survives a rebind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import NamedTuple

import numpy as np

from . import kernels
from .engine import Value
from .ops import Op
from .store import Store, bind


def _number(x: object, what: str, low: float = 0.0, high: float = math.inf, open_high: bool = False) -> float:
    """x as a finite float in [low, high] (or [low, high)); else an error naming it."""
    if type(x) is float and low <= x < high:  # the usual case, checked without the ABCs (finite: inf >= high)
        return x
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{what} must be a number, got {x!r} ({type(x).__name__})")
    x = float(x)
    if not math.isfinite(x) or not low <= x <= high or (open_high and x == high):
        bound = f"[{low:g}, {high:g}{')' if open_high else ']'}"
        raise ValueError(f"{what} must be in {bound}, got {x!r}")
    return x


class Fused(NamedTuple):
    """An optimizer as the fused training kernel sees it (see kernels.train_steps)."""

    rule: int
    store: Store
    idx: np.ndarray
    hyper: np.ndarray
    state1: np.ndarray
    state2: np.ndarray
    t: int


class Optimizer:
    """Holds the parameters, their Store and a learning rate `lr` (settable between steps)."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        params = list(params)
        if not params:
            raise ValueError("the optimizer got no parameters: pass model.parameters()")
        for k, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"params[{k}] is {type(p).__name__}, not a Value")
            if p.op != Op.LEAF:
                raise ValueError(f"params[{k}] ({p!r}) is not a leaf Value: only leaves can be trained")
        if len(set(map(id, params))) != len(params):
            raise ValueError("a parameter is listed twice")
        self.params = params
        self.lr = lr
        self._store: Store | None = None
        self._bind()

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, lr: float) -> None:
        self._lr = _number(lr, "lr")

    def _bind(self) -> tuple[Store, np.ndarray]:
        """The parameters' Store and indices, bound again if one has moved since."""
        if self._store is None or self._store.version != self._version:
            self._store, self._idx = bind(self.params)
            self._version = self._store.version
        return self._store, self._idx

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        store, idx = self._bind()
        store.grad[idx] = 0.0

    def step(self) -> None:
        raise NotImplementedError

    def fused(self) -> Fused:
        """What a compiled graph's fused training loop needs to run this optimizer's update."""
        raise NotImplementedError

    def advance(self, steps: int) -> None:
        """Count steps taken by a fused training loop (Adam's bias correction needs them)."""


class SGD(Optimizer):
    """p ← p − lr·v with v ← momentum·v + (∂L/∂p + weight_decay·p) (PyTorch's rule)."""

    def __init__(
        self, params: Iterable[Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _number(momentum, "momentum", 0.0, 1.0, open_high=True)
        self.weight_decay = _number(weight_decay, "weight_decay")
        self.velocity = np.zeros(len(self.params))
        self._hyper = np.zeros(2)  # (momentum, weight_decay) for the fused kernel
        self._fused: Fused | None = None  # kept while the store and the arrays in it hold

    def step(self) -> None:
        store, idx = self._bind()
        kernels.sgd_update(
            store.data, store.grad, idx, self.velocity, self.lr, self.momentum, self.weight_decay
        )

    def fused(self) -> Fused:
        store, idx = self._bind()
        fused = self._fused
        if (
            fused is None
            or fused.store is not store
            or fused.idx is not idx
            or fused.state1 is not self.velocity
        ):
            fused = self._fused = Fused(
                kernels.SGD_RULE, store, idx, self._hyper, self.velocity, self.velocity, 0
            )
        self._hyper[0] = self.momentum  # read each step: they may be changed between steps
        self._hyper[1] = self.weight_decay
        return fused

    def __repr__(self) -> str:
        return f"SGD({len(self.params)} parameters, lr={self.lr:g}, momentum={self.momentum:g})"


class Adam(Optimizer):
    """Adam (Kingma & Ba): steps of lr·m̂/(√v̂ + eps), m and v running moments of the gradient."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), like (0.9, 0.999); got {betas!r}")
        self.beta1 = _number(betas[0], "betas[0]", 0.0, 1.0, open_high=True)
        self.beta2 = _number(betas[1], "betas[1]", 0.0, 1.0, open_high=True)
        self.eps = _number(eps, "eps")
        self.weight_decay = _number(weight_decay, "weight_decay")
        self._hyper = np.zeros(4)  # (beta1, beta2, eps, weight_decay) for the fused kernel
        self.m = np.zeros(len(self.params))
        self.v = np.zeros(len(self.params))
        self.t = 0

    def step(self) -> None:
        store, idx = self._bind()
        self.t += 1
        kernels.adam_update(
            store.data, store.grad, idx, self.m, self.v,
            self.lr, self.beta1, self.beta2, self.eps, self.weight_decay, self.t,
        )  # fmt: skip

    def fused(self) -> Fused:
        store, idx = self._bind()
        self._hyper[:] = self.beta1, self.beta2, self.eps, self.weight_decay
        return Fused(kernels.ADAM_RULE, store, idx, self._hyper, self.m, self.v, self.t)

    def advance(self, steps: int) -> None:
        self.t += steps

    def __repr__(self) -> str:
        return f"Adam({len(self.params)} parameters, lr={self.lr:g}, betas=({self.beta1:g}, {self.beta2:g}))"
