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

Where that folder is (`choose`): numba's own places, in its order (NUMBA_CACHE_DIR
if set; else the package's __pycache__, then the user's cache folder), taking the
first that holds a finished cache (the stamp jit.py writes: read-only is enough, so a
cache built at an image's build time serves every user), else the first writable one,
else none: numba then compiles in memory, for this process only, and `WHY` says so.
A cache that turns out unwritable or full while numba saves to it (OSError) is left
alone for the rest of the process: the kernels run from memory.

Every numba function of the package lives in this folder, and each file with numba
functions ends with `cache.key_functions(globals())` (tests/test_jit.py checks both, and
that a change to any of these files changes the key). numba names a cache file by the
function's file name, name and line; the functions of all the files share the key's
folder, so the line that tells them apart carries the module's dotted name too.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import llvmlite.binding
import numba
import numpy as np
from numba.core import caching, config
from numba.core.registry import CPUDispatcher

PACKAGE = Path(__file__).resolve().parent.parent  # microgradx/
PREFIX = "microgradx-"  # the folders' names: PREFIX + the key's first 16 hex digits
STAMP = "microgradx-jit.json"  # in the key's folder: whether the kernels are all there (jit.py)
KEEP_DAYS = 30  # another key's folder unused for this long is removed (remove_other_versions)


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


def read_stamp(folder: Path) -> dict:
    """The stamp in a key's folder ({} if there is none or it cannot be read)."""
    try:
        stamp = json.loads((folder / STAMP).read_text())
        return stamp if isinstance(stamp, dict) else {}
    except (OSError, ValueError):
        return {}


def writable(folder: Path) -> bool:
    """Whether `folder` exists or can be made, and takes a new file (as numba checks)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def places() -> list[tuple[str, Path]]:
    """numba's places for this package's cache, in numba's order: (what, the key's folder)."""
    here = str(PACKAGE / "__init__.py")  # numba places a cache beside its file: microgradx/__pycache__
    if config.CACHE_DIR:
        found = [("NUMBA_CACHE_DIR", caching.UserProvidedCacheLocator(source_key, here))]
    else:
        found = [
            ("the package's __pycache__", caching.InTreeCacheLocator(source_key, here)),
            ("the user's cache folder", caching.UserWideCacheLocator(source_key, here)),
        ]
    return [(what, Path(locator.get_cache_path()) / (PREFIX + KEY[:16])) for what, locator in found]


def choose() -> tuple[Path | None, bool, str]:
    """The key's folder to use, whether numba may write there, and why none ('' if one).

    A finished cache first (read-only will do), else the first writable place."""
    found = places()
    for _, folder in found:
        if read_stamp(folder).get("ready") is True and read_stamp(folder).get("key") == KEY:
            return folder, writable(folder), ""
    for _, folder in found:
        if writable(folder):
            return folder, True, ""
    tried = "; ".join(f"{what} {folder.parent}" for what, folder in found)
    return None, False, f"no writable folder for numba's cache (tried {tried})"


class KeyedLocator(caching._CacheLocator):
    """Where numba keeps a function's cache: the key's folder, with the key as its freshness stamp.

    It comes first in numba's list of locators for this package's functions, so that numba
    never refuses to cache them ('no locator available'): without a folder, nothing is loaded
    or saved."""

    folder: Path | None = None
    can_write = False
    why = ""  # why there is no folder, or why numba stopped saving there

    def __init__(self, py_func) -> None:
        # numba names the cache files by the file's basename, the function's name and this
        # disambiguator: with the module's dotted name in it, two files' functions never share one
        self._where = f"{py_func.__module__}-{py_func.__code__.co_firstlineno}"

    def get_cache_path(self) -> str:
        return str(KeyedLocator.folder or PACKAGE / "__pycache__" / "microgradx-no-cache")

    def ensure_cache_path(self) -> None:
        if not KeyedLocator.can_write:
            raise OSError(errno.EROFS, KeyedLocator.why or "numba's cache here is read-only")
        super().ensure_cache_path()

    def get_source_stamp(self) -> str:
        return KEY

    def get_disambiguator(self) -> str:
        return self._where

    @classmethod
    def from_function(cls, py_func, py_file):
        if getattr(py_func, "__module__", "").partition(".")[0] != __name__.partition(".")[0]:
            return None  # another package's function: numba's own locators
        return cls(py_func)


class KeyedImpl(caching.CompileResultCacheImpl):
    _locator_classes = [KeyedLocator]


class KeyedCache(caching.FunctionCache):
    """numba's FunctionCache, in the key's folder: loads when there is one, saves when it is
    writable; a save that fails (a full disk, a folder made read-only) leaves the compiled
    function in memory and stops saving, naming the reason in KeyedLocator.why."""

    _impl_class = KeyedImpl

    def load_overload(self, sig, target_context):
        if KeyedLocator.folder is None:
            return None
        return super().load_overload(sig, target_context)

    def save_overload(self, sig, data) -> None:
        if not KeyedLocator.can_write:
            return
        try:
            super().save_overload(sig, data)
        except OSError as e:
            KeyedLocator.can_write = False
            full = e.errno in (errno.ENOSPC, errno.EDQUOT)
            KeyedLocator.why = (
                f"the disk holding numba's cache is full ({KeyedLocator.folder})"
                if full
                else f"numba could not save to its cache ({e})"
            )
            print(
                f"microgradx: {KeyedLocator.why}: the kernels compiled in this process run from memory "
                "and are not kept for the next.",
                file=sys.stderr,
                flush=True,
            )


# This package's functions find their folder before numba looks at its own places (which
# raise at import when none is writable: a read-only install with a read-only HOME).
caching.CompileResultCacheImpl._locator_classes = [
    KeyedLocator,
    *(c for c in caching.CompileResultCacheImpl._locator_classes if c is not KeyedLocator),
]
KeyedLocator.folder, KeyedLocator.can_write, KeyedLocator.why = choose()


def key_functions(namespace: dict) -> None:
    """Give every jitted function in `namespace` (a module's globals) the keyed cache. Under
    NUMBA_DISABLE_JIT=1 they are plain Python functions, with nothing to cache."""
    for value in list(namespace.values()):
        mine = isinstance(value, CPUDispatcher) and value.py_func.__module__ == namespace["__name__"]
        if mine and isinstance(value._cache, caching.FunctionCache):
            value._cache = KeyedCache(value.py_func)


def folder() -> Path | None:
    """The key's folder (where the kernels of these sources are cached), or None: no disk cache."""
    return KeyedLocator.folder


def python_function(f):
    """The Python function behind a jitted one (itself under NUMBA_DISABLE_JIT=1)."""
    return getattr(f, "py_func", f)


def touch(folder: Path) -> None:
    """Mark the key's folder as used now (its stamp's mtime, at most once a day): what
    remove_other_versions reads to tell a live version from a dead one."""
    stamp = folder / STAMP
    try:
        if time.time() - stamp.stat().st_mtime > 24 * 3600:
            os.utime(stamp)
    except OSError:
        pass  # no stamp yet, or a read-only cache


def remove_other_versions(days: float = KEEP_DAYS) -> list[Path]:
    """Delete the folders of other keys beside this one's that no process has used for `days`
    (kernels compiled from other sources, or for another numba, NumPy or Python: another venv
    may still use them, so a folder in use is never removed). Returns those removed."""
    here = folder()
    if here is None:
        return []
    removed = []
    for other in here.parent.glob(PREFIX + "*"):
        if other == here or not other.is_dir():
            continue
        try:
            used = max(p.stat().st_mtime for p in [other, *other.iterdir()])
        except (OSError, ValueError):
            continue
        if time.time() - used > days * 24 * 3600:
            shutil.rmtree(other, ignore_errors=True)
            removed.append(other)
    return removed
