"""numba's on-disk cache for microgradx, keyed on every source file numba compiles.

numba keys each cached function on its own file (`cache=True`), but a kernel reads
other files too: the helpers it calls or inlines (scalar.py's rules in lanes.py's
sweeps), and the op codes, from core/ops.py. Change an op code and a cache keyed on
one file alone would serve machine code that runs the wrong op (or crashes). So every
jitted function of the package caches in a folder named by one key: a digest of all
the files in SOURCES (every file of this kernels folder, found by walking it, and
core/ops.py), the numba, NumPy and Python versions and the CPU. Other sources make
another key, hence another folder: a stale kernel can never be found, even by a
process still running an older version beside a newer one.

Every numba function of the package lives in this folder, and each file with numba
functions ends with `cache.key_functions(globals())` (tests/test_jit.py checks both, and
that a change to any of these files changes the key). numba names a cache file by the
function's file name, name and line; the functions of all the files share the key's
folder, so the line that tells them apart carries the module's dotted name too.
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

PACKAGE = Path(__file__).resolve().parent.parent  # microgradx/
PREFIX = "microgradx-"  # the folders' names: PREFIX + the key's first 16 hex digits


def sources(package: Path = PACKAGE) -> tuple[str, ...]:
    """Every file numba compiles, and the files their jitted code reads, as paths from the
    package's folder: the kernels' folder, walked (a new file is in the key without a word
    here), and the op codes (core/ops.py)."""
    kernels = package / "kernels"
    return tuple(sorted(p.relative_to(package).as_posix() for p in kernels.rglob("*.py"))) + ("core/ops.py",)


SOURCES = sources()


def source_key(package: Path = PACKAGE) -> str:
    """A digest of everything the cached machine code depends on: the sources' names and bytes,
    the numba, NumPy and Python versions and the CPU."""
    h = hashlib.sha256()
    for name in sources(package):
        h.update(name.encode())
        h.update((package / name).read_bytes())
    cpu = llvmlite.binding.get_host_cpu_name() + llvmlite.binding.get_host_cpu_features().flatten()
    for part in (numba.__version__, np.__version__, sys.version, cpu):
        h.update(part.encode())
    return h.hexdigest()


KEY = source_key()  # at import: the sources this process runs


class KeyedLocator(caching._CacheLocator):
    """Where numba keeps a function's cache: the key's folder, with the key as its freshness stamp."""

    folder: Path | None = None  # set by key_functions: inside the folder numba chose for the package

    def __init__(self, py_func) -> None:
        # numba names the cache files by the file's basename, the function's name and this
        # disambiguator: with the module's dotted name in it, two files' functions never share one
        self._where = f"{py_func.__module__}-{py_func.__code__.co_firstlineno}"

    def get_cache_path(self) -> str:
        return str(KeyedLocator.folder)

    def get_source_stamp(self) -> str:
        return KEY

    def get_disambiguator(self) -> str:
        return self._where

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
    assert KeyedLocator.folder is not None, (
        "kernels/scalar.py keys the cache at its import (see key_functions)"
    )
    return KeyedLocator.folder


def remove_other_versions() -> None:
    """Delete the folders of other keys beside this one's: kernels compiled from other sources."""
    for other in folder().parent.glob(PREFIX + "*"):
        if other != folder() and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
