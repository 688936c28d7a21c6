"""The model file: an `.npz` archive holding a module's architecture and its parameters.

    format         "microgradx-model"
    version        1 (a file of another version is refused, never guessed at)
    architecture   a JSON object: the class and what builds it, e.g.
                   {"class": "MLP", "nin": 2, "nouts": [16, 1], "activations": ["relu", "linear"]}
    parameters     float64, shape (n,): the values in `Module.parameters()` order

Writing is atomic: the archive goes to a temporary file in the target's directory,
is flushed and fsynced, then renamed over the target with `os.replace`. A crash or
an error mid-write leaves the old file as it was, and the temporary file is removed.

Reading never unpickles (`allow_pickle=False`) and checks everything before it
returns: any damage (not a zip, truncated, corrupted bytes, missing or extra keys,
wrong types) is a `ModelFileError` naming the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "microgradx-model"
VERSION = 1
KEYS = ("format", "version", "architecture", "parameters")
ZIP_MAGIC = b"PK\x03\x04"

PathLike = str | os.PathLike
# What reading a damaged archive raises, from zipfile, zlib and numpy's npy reader.
DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError, OSError, NotImplementedError)


class ModelFileError(ValueError):
    """A model file that cannot be loaded: damaged, of another format or version, or
    not matching the model it is loaded into. The message names what differs."""


def write(path: PathLike, architecture: dict[str, Any], parameters: np.ndarray) -> None:
    """Write a model file atomically: temporary file, flush, fsync, then `os.replace`."""
    path = Path(path)
    arrays = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION, dtype=np.int64),
        "architecture": np.array(json.dumps(architecture, sort_keys=True)),
        "parameters": np.ascontiguousarray(parameters, dtype=np.float64),
    }
    # O_EXCL with a random name: never clobbers anything; the mode follows the umask.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


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


def read(path: PathLike) -> tuple[dict[str, Any], np.ndarray]:
    """Read and check a model file: (architecture, parameters), or a ModelFileError.

    A missing or unreadable file raises the usual OSError (FileNotFoundError, ...).
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(len(ZIP_MAGIC))
    if head != ZIP_MAGIC:
        what = "is empty" if not head else f"starts with {head!r}, not a zip archive's {ZIP_MAGIC!r}"
        raise ModelFileError(f"{path} is not a microgradx model file (.npz): it {what}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            missing = [k for k in KEYS if k not in keys]
            if missing:
                raise ModelFileError(
                    f"{path} is not a microgradx model file: it lacks {', '.join(missing)} "
                    f"(it holds {', '.join(sorted(keys)) or 'nothing'})"
                )
            extra = sorted(keys - set(KEYS))
            if extra:
                raise ModelFileError(f"{path} holds unexpected entries {', '.join(extra)}")
            arrays = {k: npz[k] for k in KEYS}  # reading checks each entry's CRC
    except ModelFileError:
        raise
    except DAMAGE as e:
        raise ModelFileError(f"{path} is damaged (truncated or corrupted): {type(e).__name__}: {e}") from None

    fmt = _text(arrays["format"], "format", path)
    if fmt != FORMAT:
        raise ModelFileError(f"{path} has format {fmt!r}, not {FORMAT!r}: it is not a microgradx model file")
    version = arrays["version"]
    if version.shape != () or version.dtype.kind not in "iu":
        raise ModelFileError(f"{path}: version must be an integer, got {version!r}")
    if int(version) != VERSION:
        raise ModelFileError(
            f"{path} is a version-{int(version)} model file; this microgradx reads version {VERSION}"
        )
    text = _text(arrays["architecture"], "architecture", path)
    try:
        architecture = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: the architecture is not valid JSON ({e})") from None
    if not isinstance(architecture, dict) or not isinstance(architecture.get("class"), str):
        raise ModelFileError(
            f"{path}: the architecture must be a JSON object with a 'class', got {text[:80]!r}"
        )
    params = arrays["parameters"]
    if params.ndim != 1 or params.dtype != np.float64:
        raise ModelFileError(
            f"{path}: parameters must be a flat float64 array, got {params.dtype} of shape {params.shape}"
        )
    return architecture, params


def _text(a: np.ndarray, key: str, path: Path) -> str:
    if a.shape != () or a.dtype.kind != "U":
        raise ModelFileError(f"{path}: {key} must be a string, got {a.dtype} of shape {a.shape}")
    return str(a)
