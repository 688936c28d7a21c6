"""Flat parameter arrays shared by compiled graphs, optimizers and `Value.data`.

A leaf Value can be *bound* to a `Store` (`engine.bind`): its value and gradient then live at
`store.data[i]` and `store.grad[i]`, and `Value.data` / `Value.grad` read and write
through to them. Compiled graphs and optimizers work on the arrays directly, so a
training step never loops over parameters in Python.

Calls from several threads share a store: whoever writes its values or gradients
(a compiled graph's backward or training steps, an optimizer's step) holds
`store.lock` while doing so, so that no two writes interleave. A forked child finds
the locks released (forks.py): a thread of the parent's may have held one at the fork.
"""

from __future__ import annotations

import threading

import numpy as np

from . import forks


class Store:
    """Values and gradients of bound leaves, as two float64 arrays of equal length."""

    __slots__ = ("arrays", "data", "grad", "version", "lock", "__weakref__")

    def __init__(self, size: int) -> None:
        self.arrays = np.zeros((2, size))  # data and grad in one array: one argument to a kernel
        self.data, self.grad = self.arrays
        # Bumped whenever a Value moves out of this store: users of an (store, index)
        # pair compare versions to know their indices are still right.
        self.version = 0
        self.lock = threading.Lock()  # held while values or gradients are written (see the top)
        forks.released(self)  # a forked child finds it released (forks.py)

    def __getstate__(self) -> tuple[np.ndarray, int]:
        """Pickled and copied without the lock (a copy has its own)."""
        return self.arrays, self.version

    def __setstate__(self, state: tuple[np.ndarray, int]) -> None:
        self.arrays, self.version = state
        self.data, self.grad = self.arrays
        self.lock = threading.Lock()
        forks.released(self)

    def __len__(self) -> int:
        return self.data.size

    def __repr__(self) -> str:
        return f"Store({self.data.size} values, version {self.version})"
