"""numba's on-disk cache for microgradx, keyed on every source file numba compiles.

numba keys each cached function on its own file (`cache=True`), but the kernels
read other files too: the op codes come from ops.py. Change an op code and a cache
keyed on kernels.py alone would serve machine code that runs the wrong op (or
crashes). So every jitted function of the package caches in a folder named by one
key: a digest of all the files in SOURCES, the numba, NumPy and Python versions and
the CPU. Other sources make another key, hence another folder: a stale kernel can
never be found, even by a process still running an older version beside a newer one.

A module with jitted functions ends with `cache.key_functions(globals())`.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import llvmlite.binding
import numba
import numpy as np
from numba.core import caching
from numba.core.registry import CPUDispatcher

PACKAGE = Path(__file__).resolve().parent
SOURCES = ("ops.py", "cache.py", "kernels.py", "program.py")  # every file numba compiles,
# and the files their jitted code reads (tests/test_jit.py checks the list)
PREFIX = "microgradx-"  # the folders' names: PREFIX + the key's first 16 hex digits


def source_key() -> str:
    """A digest of everything the cached machine code depends on."""
    h = hashlib.sha256()
    for name in SOURCES:
        h.update((PACKAGE / name).read_bytes())
    cpu = llvmlite.binding.get_host_cpu_name() + llvmlite.binding.get_host_cpu_features().flatten()
    for part in (numba.__version__, np.__version__, sys.version, cpu):
        h.update(part.encode())
    return h.hexdigest()


KEY = source_key()  # at import: the sources this process runs


class KeyedLocator(caching._CacheLocator):
    """Where numba keeps a function's cache: the key's folder, with the key as its freshness stamp."""

    folder: Path | None = None  # set by key_functions: inside the folder numba chose for the package

    def __init__(self, py_func) -> None:
        self._lineno = py_func.__code__.co_firstlineno

    def get_cache_path(self) -> str:
        return str(KeyedLocator.folder)

    def get_source_stamp(self) -> str:
        return KEY

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        locator = cls(py_func)
        try:
            locator.ensure_cache_path()
        except OSError:
            return None
        return locator


class KeyedImpl(caching.CompileResultCacheImpl):
    _locator_classes = [KeyedLocator]


class KeyedCache(caching.FunctionCache):
    """numba's FunctionCache, in the key's folder."""

    _impl_class = KeyedImpl


def key_functions(namespace: dict) -> None:
    """Move the cache of every jitted function in `namespace` (a module's globals) to the key's folder."""
    for value in list(namespace.values()):
        mine = isinstance(value, CPUDispatcher) and value.py_func.__module__ == namespace["__name__"]
        if mine and isinstance(value._cache, caching.FunctionCache):
            if KeyedLocator.folder is None:  # beside the caches numba would have kept for the package
                KeyedLocator.folder = Path(value._cache._cache_path) / (PREFIX + KEY[:16])
            value._cache = KeyedCache(value.py_func)


def folder() -> Path:
    """The key's folder (where the kernels of these sources are cached)."""
    assert KeyedLocator.folder is not None, "kernels.py keys the cache at its import"
    return KeyedLocator.folder


def remove_other_versions() -> None:
    """Delete the folders of other keys beside this one's: kernels compiled from other sources."""
    for other in folder().parent.glob(PREFIX + "*"):
        if other != folder() and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
