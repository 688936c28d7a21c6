"""What a fork (multiprocessing's default start on Linux) must not inherit: held locks.

A fork copies only the thread that called it. A lock another thread held at that moment
stays held in the child for ever, and the child's first compiled call that needs it
hangs; so every lock of the package is registered here, and a forked child finds them
released. (GNU OpenMP's threads, the other thing a fork must not inherit, are numba's:
kernels/chunks.py asks numba for a fork-safe threading layer.)
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TypeVar

T = TypeVar("T")
_holders: weakref.WeakSet = weakref.WeakSet()  # objects whose `lock` attribute is a threading.Lock
_locks: list[threading.Lock] = []  # modules' locks


def released(holder: T) -> T:
    """Register `holder`, whose `lock` attribute a forked child finds released; returns it."""
    _holders.add(holder)
    return holder


def module_lock(lock: threading.Lock) -> threading.Lock:
    """Register a module's lock, which a forked child finds released; returns it."""
    _locks.append(lock)
    return lock


def _in_child() -> None:
    """In a forked child: let go of the locks the parent's other threads held (none of them is
    here to do it). The same lock objects, so every reference to one stays right; the package
    never forks while it holds a lock itself."""
    for lock in [*_locks, *(holder.lock for holder in list(_holders))]:
        if lock.locked():
            lock.release()


os.register_at_fork(after_in_child=_in_child)
