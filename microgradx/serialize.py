"""The model file: an `.npz` archive holding a module's architecture and its parameters.

    format         "microgradx-model"
    version        1 (a file of another version is refused, never guessed at)
    architecture   a JSON object: the class and what builds it, e.g.
                   {"class": "MLP", "nin": 2, "nouts": [16, 1], "activations": ["relu", "linear"]}
                   and "bias": false for a module built with bias=False (only then: a file
                   without it describes a module with biases, as files saved before it did)
    parameters     float64, shape (n,): the values in `Module.parameters()` order

Each entry is a `.npy` array stored uncompressed, as `np.savez` writes it (a compressed
archive, from `np.savez_compressed`, is refused: save it again with `np.savez`).

Missing folders on the way to the file are made, as every writer of the package makes
them (`draw -o`, the demo's pictures, the landscape's and fit's plots): `writable_folder`,
which also names a folder that cannot be made or written in, never the temporary file.

Writing is atomic: the archive goes to a temporary file in the target's directory,
is flushed and fsynced, then renamed over the target with `os.replace`. A crash or
an error mid-write leaves the old file as it was; an error removes the temporary
file, and the next save to that name removes what a crashed save left behind. The
new file keeps the old one's permissions; a symlink is written through (the file it
leads to is replaced, the link stays); a path that is not a regular file (a
directory, a FIFO, a device) is refused, never replaced.

Reading never unpickles and checks what the file claims before it builds anything:
each entry's size against the file's size, each array's dtype and shape against
what the format allows and its byte count against the entry's, so a small file
never costs more than a small multiple of its size in memory and time. Any damage
(not a zip, truncated, corrupted bytes, missing, extra or repeated entries,
encrypted or compressed entries, wrong types, a nesting too deep) is a
`ModelFileError` naming the file and what is wrong, and nothing else: zipfile and
numpy's `.npy` reader are not written for hostile input, so whatever they raise on
these bytes becomes a `ModelFileError` too. A path that is not a regular file is
refused, never waited on (reading a FIFO blocks until someone writes to it).
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import secrets
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .compiler.checks import file_path

try:
    import fcntl
except ImportError:  # Windows: saves there cannot tell a crashed save's file from a running one's
    fcntl = None

FORMAT = "microgradx-model"
VERSION = 1
KEYS = ("format", "version", "architecture", "parameters")
ZIP_MAGIC = b"PK\x03\x04"
MAX_DEPTH = 32  # how deeply an architecture's JSON may nest: enough for any module, bounds recursion
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for a writer

PathLike = str | os.PathLike


class ModelFileError(ValueError):
    """A model file that cannot be loaded: damaged, of another format or version, or
    not matching the model it is loaded into; or a path a model cannot be saved to.
    The message names what differs and how to fix it."""


# -- writing ---------------------------------------------------------------------------------


def write(path: PathLike, architecture: dict[str, Any], parameters: np.ndarray) -> None:
    """Write a model file atomically: temporary file, flush, fsync, then `os.replace`.

    `path` may be a symlink (the file it leads to is written) or a new name; anything
    else that is not a regular file is refused with a ModelFileError.
    """
    path = file_path(path, "save(path)")
    writable_folder(path.parent, f"not saving to {os.fspath(path)}")
    target, old = _save_target(path)
    arrays = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION, dtype=np.int64),
        "architecture": np.array(json.dumps(architecture, sort_keys=True)),
        "parameters": np.ascontiguousarray(parameters, dtype=np.float64),
    }
    _remove_orphans(target)
    fd, tmp = _create_temporary(target, old)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
            if fcntl is not None:  # renamed while still locked: no other save can take it for an orphan
                os.replace(tmp, target)
        if fcntl is None:  # Windows: no lock to keep, and an open file cannot be renamed
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def writable_folder(
    folder: PathLike, what: str, *, make: bool = True, fix: str = "choose a folder you can write to"
) -> Path:
    """`folder`, made with any missing folder on the way to it, once it is known to take a new file.

    make=False only checks, leaving nothing behind (the first missing folder is made and removed
    again): for a command that says so before its work, and makes the folder when it writes.
    Raises the OSError the system gave (NotADirectoryError, FileNotFoundError, PermissionError,
    ...) with the message `what`, then which folder is wrong and how (never a temporary file), then `fix`.
    """
    folder = Path(folder)
    base, missing = folder, []
    while not base.exists() and base != base.parent:  # up to the first that exists ("." at the latest)
        missing.append(base)
        base = base.parent
    if not base.is_dir():
        kind = "a file" if base.is_file() else _kind(os.stat(base).st_mode)
        raise _named(
            NotADirectoryError(errno.ENOTDIR, ""), f"{what}: {_shown(base)} is {kind}, not a folder; {fix}"
        )
    for part in reversed(missing):
        try:
            part.mkdir()
        except OSError as e:
            if not part.is_dir():  # (made by another process meanwhile: fine)
                raise _named(
                    e, f"{what}: the folder {_shown(part)} cannot be made ({e.strerror}); {fix}"
                ) from None
        if not make:
            part.rmdir()
            return folder
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        raise _named(
            e, f"{what}: no file can be made in the folder {_shown(folder)} ({e.strerror}); {fix}"
        ) from None
    return folder


def _named(e: OSError, message: str) -> OSError:
    """An OSError of e's kind and errno whose message is `message` (str() shows it alone)."""
    named = type(e)(message)
    named.errno = e.errno
    return named


def _shown(folder: Path) -> str:
    """A folder as the user gave it; the current folder by its path ("." says little)."""
    return str(folder) if str(folder) != "." else f"{os.getcwd()} (the current folder)"


def _save_target(path: Path) -> tuple[Path, os.stat_result | None]:
    """The file a save to `path` replaces (symlinks followed to the end), and its stat if it exists.

    Refuses a path that leads to anything but a regular file: replacing a directory, a
    FIFO or a device with a model file is never what was meant.
    """
    target = Path(os.path.realpath(path))
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target, None
    if stat.S_ISREG(st.st_mode):
        return target, st
    raise ModelFileError(
        f"not saving to {_via(path, target)}: it is {_kind(st.st_mode)}, not a regular file. "
        f"Save to the path of a model file, or to a new name"
    )


def _create_temporary(target: Path, old: os.stat_result | None) -> tuple[int, Path]:
    """Create and lock a new temporary file beside `target`: (descriptor, path).

    The lock, held until the file is renamed, tells later saves that it is in use;
    a save that crashed leaves it unlocked, for `_remove_orphans`. A file replacing
    an existing one gets its permissions (created private until then); a new file's
    follow the umask.
    """
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        # O_EXCL with a random name: never clobbers anything.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if old else 0o666)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while another save removes it as an orphan
            if os.fstat(fd).st_nlink == 0:  # it did, before we held the lock: take another name
                os.close(fd)
                continue
            if old is not None:
                os.chmod(tmp, stat.S_IMODE(old.st_mode))
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        return fd, tmp


def _remove_orphans(target: Path) -> None:
    """Delete the temporary files that crashed saves to `target` left beside it.

    A file is an orphan when its lock can be taken: a running save holds its own until
    the rename, and a process's locks die with it. Only names this module makes for
    `target` are looked at. Without `fcntl` (Windows) nothing is removed.
    """
    if fcntl is None:
        return
    pattern = re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{12}}\.tmp")
    try:
        names = [name for name in os.listdir(target.parent) if pattern.fullmatch(name)]
    except OSError:
        return
    for name in names:
        orphan = target.parent / name
        try:
            fd = os.open(orphan, os.O_RDONLY | O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a save is writing it
            if os.lstat(orphan).st_ino == os.fstat(fd).st_ino:
                os.unlink(orphan)
        except OSError:
            pass
        finally:
            os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symlink that never reaches a file (a loop)"),
    )
    return next((name for test, name in kinds if test(mode)), f"a special file (mode {mode:o})")


def _via(path: Path, target: Path) -> str:
    """`path`, and where it leads when it is a symlink."""
    return f"{path} (a symlink to {target})" if path.is_symlink() else str(path)


# -- reading ---------------------------------------------------------------------------------

# What each entry must be, checked on its .npy header before its data is read.
ENTRIES = {
    "format": ("a string", lambda dtype, shape: dtype.kind == "U" and shape == ()),
    "version": ("an integer", lambda dtype, shape: dtype.kind in "iu" and shape == ()),
    "architecture": ("a string", lambda dtype, shape: dtype.kind == "U" and shape == ()),
    "parameters": ("a flat float64 array", lambda dtype, shape: dtype == np.float64 and len(shape) == 1),
}


def read(path: PathLike) -> tuple[dict[str, Any], np.ndarray]:
    """Read and check a model file: (architecture, parameters), or a ModelFileError.

    A missing or unreadable file raises the usual OSError (FileNotFoundError, ...).
    """
    path = file_path(path, "load(path)")
    with _open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(len(ZIP_MAGIC))
        if head != ZIP_MAGIC:
            what = "is empty" if not head else f"starts with {head!r}, not a zip archive's {ZIP_MAGIC!r}"
            raise ModelFileError(f"{path} is not a microgradx model file (.npz): it {what}")
        f.seek(0)
        arrays = _read_entries(f, size, path)

    fmt = str(arrays["format"])
    if fmt != FORMAT:
        raise ModelFileError(
            f"{path} has format {_short(fmt)!r}, not {FORMAT!r}: it is not a microgradx model file"
        )
    version = int(arrays["version"])
    if version != VERSION:
        raise ModelFileError(
            f"{path} is a version-{version} model file; this microgradx reads version {VERSION}"
        )
    text = str(arrays["architecture"])
    try:
        architecture = json.loads(text)
    except (ValueError, RecursionError) as e:  # a JSONDecodeError, or an integer or a nesting too big
        raise ModelFileError(f"{path}: the architecture is not valid JSON ({_short(str(e), 200)})") from None
    if _depth(architecture) > MAX_DEPTH:
        raise ModelFileError(
            f"{path}: the architecture nests more than {MAX_DEPTH} levels deep: no module writes one like it"
        )
    if not isinstance(architecture, dict) or not isinstance(architecture.get("class"), str):
        raise ModelFileError(
            f"{path}: the architecture must be a JSON object with a 'class', got {_short(text, 80)!r}"
        )
    return architecture, arrays["parameters"]


@contextmanager
def _open_regular(path: Path) -> Iterator[BinaryIO]:
    """Open `path` for reading if it is a regular file (symlinks followed); else a ModelFileError.

    Checked before opening (opening a device can do things) and again on the open
    file, which was opened without waiting (a FIFO would wait forever for a writer).
    """
    st = os.stat(path)
    if stat.S_ISREG(st.st_mode):
        fd = os.open(path, os.O_RDONLY | O_NONBLOCK)
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            with os.fdopen(fd, "rb") as f:
                yield f
            return
        os.close(fd)
    raise ModelFileError(
        f"{_via(path, Path(os.path.realpath(path)))} is {_kind(st.st_mode)}, not a regular file: "
        f"load a model file written by model.save"
    )


def _read_entries(f: BinaryIO, size: int, path: Path) -> dict[str, np.ndarray]:
    """The archive's four arrays, each checked against what it claims before it is read."""
    with _damage(path, "its zip directory"):
        archive = zipfile.ZipFile(f)
    with archive:
        infos = {}
        for info in archive.infolist():
            name = info.filename
            infos.setdefault(name[:-4] if name.endswith(".npy") else name, []).append(info)
        repeated = sorted(k for k, entries in infos.items() if len(entries) > 1)
        if repeated:
            raise ModelFileError(
                f"{path} holds entries {', '.join(_short(k) for k in repeated[:10])} more than once: "
                f"it was not written by model.save"
            )
        missing = [k for k in KEYS if k not in infos]
        if missing:
            raise ModelFileError(
                f"{path} is not a microgradx model file: it lacks {', '.join(missing)} "
                f"(it holds {', '.join(_short(k) for k in sorted(infos)[:10]) or 'nothing'})"
            )
        extra = sorted(set(infos) - set(KEYS))
        if extra:
            raise ModelFileError(
                f"{path} holds unexpected entries {', '.join(_short(k) for k in extra[:10])}"
            )
        return {key: _read_entry(archive, infos[key][0], key, size, path) for key in KEYS}


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, size: int, path: Path
) -> np.ndarray:
    """One entry as an array: its zip record, then its .npy header, checked before its data is read."""
    if info.flag_bits & 0x1:
        raise ModelFileError(
            f"{path}: entry {key} is encrypted; model files are never encrypted: "
            f"save the model again with model.save"
        )
    if info.compress_type != zipfile.ZIP_STORED:
        raise ModelFileError(
            f"{path}: entry {key} is compressed (zip method {info.compress_type}); model files store "
            f"entries uncompressed: save it with np.savez, not np.savez_compressed, or with model.save"
        )
    if info.file_size != info.compress_size or info.header_offset + info.compress_size > size:
        raise ModelFileError(
            f"{path} is damaged (truncated or corrupted): entry {key} claims {info.file_size} bytes "
            f"({info.compress_size} stored at byte {info.header_offset}) in a file of {size} bytes"
        )
    with _damage(path, f"entry {key}"):
        raw = archive.read(info)  # stored, so at most the file's size; checks the CRC
    if not raw.startswith(np.lib.format.MAGIC_PREFIX):
        raise ModelFileError(f"{path}: entry {key} is not a .npy array (it starts with {raw[:8]!r})")
    with _damage(path, f"the .npy header of entry {key}"):
        buf = io.BytesIO(raw)
        version = np.lib.format.read_magic(buf)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(buf)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(buf)
        else:
            raise ModelFileError(f"{path}: entry {key} is a .npy array of version {version}, not 1.0 or 2.0")
    if dtype.hasobject:
        raise ModelFileError(
            f"{path}: entry {key} holds pickled Python objects ({dtype}); a model file holds only numbers "
            f"and text, and microgradx never unpickles"
        )
    what, fits = ENTRIES[key]
    if not fits(dtype, shape):
        raise ModelFileError(f"{path}: {key} must be {what}, got {dtype} of shape {shape}")
    claimed = math.prod(shape) * dtype.itemsize
    held = len(raw) - buf.tell()
    if claimed != held or min(shape, default=0) < 0:
        raise ModelFileError(
            f"{path} is damaged (truncated or corrupted): entry {key} claims {dtype} of shape {shape}, "
            f"{claimed} bytes, and holds {held}"
        )
    with _damage(path, f"entry {key}"):
        return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)


@contextmanager
def _damage(path: Path, where: str) -> Iterator[None]:
    """Turn whatever zipfile or numpy raise on bad bytes into a ModelFileError saying where.

    They are not written for hostile input: a hand-made file makes them raise
    BadZipFile, ValueError, OverflowError, struct.error, ... The checks before each
    call keep them from allocating more than the file holds.
    """
    try:
        yield
    except ModelFileError:
        raise
    except Exception as e:
        raise ModelFileError(
            f"{path} is damaged (truncated or corrupted) in {where}: "
            f"{type(e).__name__}: {_short(str(e), 200)}"
        ) from None


def _depth(value: Any) -> int:
    """How deeply a parsed JSON value nests lists and objects (a scalar is 0), up to MAX_DEPTH + 1.

    Without recursion, and without looking below MAX_DEPTH + 1: enough to refuse it.
    """
    deepest, stack = 0, [(value, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth + 1)
            if depth + 1 <= MAX_DEPTH:
                stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _short(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters for a message: a hostile file can hold megabytes in a name."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"
