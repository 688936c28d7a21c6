"""Optimizers: SGD (with momentum and weight decay) and Adam, as numba loops over flat arrays.

An optimizer binds its parameters to one `Store` (the one they already share, for
an MLP) and updates `store.data` in place, so `p.data` shows the step at once and
a compiled graph reads the new values on its next forward. Per-parameter state
(velocity, moments) is kept in the parameters' order, so it survives a rebind.

The update rules themselves are in kernels/updates.py (`update`): `step()` and a compiled
graph's fused training steps run the same code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .core.engine import Value, bind
from .core.ops import Op
from .core.real import real
from .core.store import Store
from .kernels import jit, updates


def _number(x: object, what: str, low: float = 0.0, high: float = math.inf, open_high: bool = False) -> float:
    """x as a finite float in [low, high] (or [low, high)): a real number by real.py's rule, the
    one Value(data) follows; else an error naming it."""
    if type(x) is float and low <= x < high:  # the usual case, checked without the ABCs (finite: inf >= high)
        return x
    x = real(x, what)
    if not math.isfinite(x):
        raise ValueError(f"{what} must be a finite number, got {x!r}")
    if not low <= x <= high or (open_high and x == high):
        bound = f"in [{low:g}, {high:g}{')' if open_high else ']'}" if high < math.inf else f"{low:g} or more"
        raise ValueError(f"{what} must be {bound}, got {x!r}")
    return x


class Setting:
    """One of an optimizer's numbers (lr, momentum…): checked when set, and written to the
    optimizer's `settings` array too, where the update kernels read it."""

    def __init__(self, index: int, low: float = 0.0, high: float = math.inf, open_high: bool = False) -> None:
        self.index, self.low, self.high, self.open_high = index, low, high, open_high

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Optimizer | None, owner: type | None = None) -> float:
        return self if obj is None else obj.__dict__[self.name]  # type: ignore[return-value]

    def __set__(self, obj: Optimizer, value: float) -> None:
        x = _number(value, self.name, self.low, self.high, self.open_high)
        obj.__dict__[self.name] = x
        obj.settings[self.index] = x


class Optimizer:
    """Holds the parameters, their Store, the settings (`lr` first, settable between steps),
    the per-parameter state and `t`, the number of steps taken."""

    rule: int  # the update rule in kernels/updates.py
    lr = Setting(0)

    def __init__(self, params: Iterable[Value], lr: float, n_settings: int, n_state: int) -> None:
        name = type(self).__name__
        if isinstance(params, Value):
            raise TypeError(f"{name}(params): give a list of Values, like {name}([w], ...), not a Value")
        if hasattr(params, "parameters") and callable(params.parameters):
            raise TypeError(f"{name}(params): give the model's parameters, {name}(model.parameters(), ...)")
        if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
            raise TypeError(
                f"{name}(params): give a list of Values, like model.parameters(); "
                f"got {params!r} ({type(params).__name__})"
            )
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
        self.settings = np.zeros(n_settings)  # lr, then the rule's own (see kernels/updates.py)
        # per parameter, updated in place: one row, each parameter's n_state numbers side by side
        # (Adam's m and v: kernels/updates.py's adam_update streams them as one array)
        self.state = np.zeros((1, n_state * len(params)))
        self.t = 0
        self.lr = lr
        self._store: Store | None = None
        self.binding()

    def __setstate__(self, state: dict) -> None:
        """Unpickled; a state pickled before its numbers sat side by side (one row per kind,
        shape (n_state, n)) is laid out as the kernels read it, not read past its end."""
        rows = state["state"]
        if rows.shape[0] > 1:
            state["state"] = np.ascontiguousarray(rows.T).reshape(1, rows.size)
        self.__dict__.update(state)

    def state_dict(self) -> dict[str, Any]:
        """What resuming training needs besides the parameters' values (PyTorch's name): the
        optimizer's kind, its settings by name, t and each parameter's state (a copy, shape
        (n_state·n,); Adam's m and v side by side). Numbers, a string and one array, so
        `np.savez(path, **opt.state_dict())` keeps it and `load_state_dict(np.load(path))`
        takes it back."""
        settings = {name: getattr(self, name) for name in self._settings()}
        return {"optimizer": type(self).__name__, **settings, "t": self.t, "state": self.state[0].copy()}

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        """Take the settings, t and per-parameter state of `saved` (a state_dict, or what
        np.load gives back for one), from the same kind of optimizer on as many parameters,
        in the same order. Raises TypeError for what is no state at all (a path: load it first),
        and ValueError naming what does not fit (another kind, size or a value its steps could
        not have left), changing nothing."""
        kind, settings = type(self).__name__, self._settings()
        if not isinstance(saved, Mapping) and not hasattr(saved, "files"):  # (np.load's NpzFile has files)
            raise TypeError(
                f"load_state_dict takes the state itself, not {type(saved).__name__} {saved!r}: for a file "
                "written by np.savez(path, **opt.state_dict()), opt.load_state_dict(np.load(path))"
            )
        if "optimizer" not in saved:
            what = "a model's file (model.save)" if "architecture" in saved else "not an optimizer's state"
            entries = ", ".join(saved)
            raise ValueError(
                f"load_state_dict: this is {what}, with no 'optimizer' entry (its entries: {entries}); "
                "an optimizer's state is saved with np.savez(path, **opt.state_dict())"
            )
        saved_kind = str(saved["optimizer"])
        if saved_kind != kind:
            raise ValueError(
                f"load_state_dict: this state was saved from {saved_kind}, and this optimizer is {kind}: "
                f"load it into {saved_kind}(the same parameters)"
            )
        missing = ", ".join(key for key in (*settings, "t", "state") if key not in saved)
        if missing:
            raise ValueError(f"load_state_dict: no {missing}; give it what {kind}.state_dict() returns")
        state, t = np.asarray(saved["state"]), np.asarray(saved["t"])
        if state.dtype.kind not in "fiu" or state.shape != self.state[0].shape:
            raise ValueError(
                f"load_state_dict: the state's shape is {state.shape} ({state.dtype}); this {kind}'s is "
                f"{self.state[0].shape}, for {len(self.params)} parameters: build it on the parameters "
                "the state was saved with, in the same order"
            )
        if not np.all(np.isfinite(state)):
            raise ValueError("load_state_dict: the state holds nan or inf")
        wrong = self._state_problem(state)
        if wrong:
            raise ValueError(f"load_state_dict: {wrong}; a state {kind}'s steps could never have left")
        if t.shape != () or t.dtype.kind not in "iu" or int(t) < 0:
            raise ValueError(f"load_state_dict: t, the steps taken, must be a whole number >= 0; got {t!r}")
        values = {n: _number(saved[n], n, s.low, s.high, s.open_high) for n, s in settings.items()}
        for name, value in values.items():  # all checked above: nothing is changed on an error
            setattr(self, name, value)
        self.state[0] = state
        self.t = int(t)

    def _state_problem(self, state: np.ndarray) -> str:
        """What makes `state` (one row, as self.state[0]) one this rule cannot step from; "" if nothing."""
        return ""

    def _settings(self) -> dict[str, Setting]:
        """This optimizer's settings (its Setting attributes) by name, in their order."""
        found = {k: v for c in type(self).__mro__ for k, v in vars(c).items() if isinstance(v, Setting)}
        return dict(sorted(found.items(), key=lambda item: item[1].index))

    def binding(self) -> tuple[Store, np.ndarray]:
        """The parameters' Store and their indices in it, bound again if one has moved since."""
        if self._store is None or self._store.version != self._version:
            self._store, idx = bind(self.params)
            self._idx = idx.astype(np.uint32)  # the fused steps' index type: updates.py compiled once
            self._version = self._store.version
        return self._store, self._idx

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        store, idx = self.binding()
        with store.lock:
            store.grad[idx] = 0.0

    def step(self) -> None:
        """Update every parameter from its .grad, in place."""
        store, idx = self.binding()
        with store.lock:  # the values, which other threads' training steps may be writing too
            self.t += 1
            jit.kernels_now().update(self.rule, store.arrays, idx, self.state, self.settings, self.t)


class SGD(Optimizer):
    """p ← p − lr·v with v ← momentum·v + (∂L/∂p + weight_decay·p) (PyTorch's rule)."""

    rule = updates.SGD_RULE
    momentum = Setting(1, high=1.0, open_high=True)
    weight_decay = Setting(2)

    def __init__(
        self, params: Iterable[Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr, n_settings=3, n_state=1)
        self.momentum = momentum
        self.weight_decay = weight_decay

    @property
    def velocity(self) -> np.ndarray:
        """The running sum of steps (momentum > 0), one per parameter."""
        return self.state[0]

    def __repr__(self) -> str:
        return f"SGD({len(self.params)} parameters, lr={self.lr:g}, momentum={self.momentum:g})"


class Adam(Optimizer):
    """Adam (Kingma & Ba): steps of lr·m̂/(√v̂ + eps), m and v running moments of the gradient."""

    rule = updates.ADAM_RULE
    beta1 = Setting(1, high=1.0, open_high=True)
    beta2 = Setting(2, high=1.0, open_high=True)
    eps = Setting(3)
    weight_decay = Setting(4)

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, n_settings=5, n_state=2)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), like (0.9, 0.999); got {betas!r}")
        self.beta1 = _number(betas[0], "betas[0]", 0.0, 1.0, open_high=True)
        self.beta2 = _number(betas[1], "betas[1]", 0.0, 1.0, open_high=True)
        self.eps = eps
        self.weight_decay = weight_decay

    def _state_problem(self, state: np.ndarray) -> str:
        """v, a running mean of squares, is never negative: a negative one would step to nan (√v)."""
        negative = np.flatnonzero(state[1::2] < 0)
        if negative.size:
            k, n = int(negative[0]), len(self.params)
            return f"v[{k}] is {float(state[2 * k + 1])!r} ({negative.size} of {n} are < 0), but v >= 0"
        return ""

    @property
    def m(self) -> np.ndarray:
        """The gradient's running mean, one per parameter (a view: state holds m and v side by side)."""
        return self.state[0, 0::2]

    @property
    def v(self) -> np.ndarray:
        """The squared gradient's running mean, one per parameter (a view, as m)."""
        return self.state[0, 1::2]

    def __repr__(self) -> str:
        return f"Adam({len(self.params)} parameters, lr={self.lr:g}, betas=({self.beta1:g}, {self.beta2:g}))"
