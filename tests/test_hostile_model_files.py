"""Hostile model files: whatever bytes `load` and `from_file` are given, the answer is a
ModelFileError or the right model, never another exception, and a refusal is cheap.

Each hand-made archive below is one kind of lie a file can tell (an entry flagged as
encrypted or compressed, a .npy header claiming more data than the entry holds, an
architecture claiming a model far bigger than the values stored, JSON nested or
numbered past what Python parses), and each refusal is measured: within 1 s and
100 MB (tracemalloc's peak), with the model loaded into left as it was.
"""

from __future__ import annotations

import io
import json
import re
import struct
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from microgradx import serialize
from microgradx.nn import MLP, ModelFileError, Module

SECONDS = 1.0  # the most a refusal may take
BYTES = 100_000_000  # the most a refusal may allocate (tracemalloc's peak)


def model() -> MLP:
    """The model every file here is made from: 13 parameters."""
    return MLP(2, [3, 1], activation="tanh", seed=0)


def values(m: Module) -> np.ndarray:
    return np.array([p.data for p in m.parameters()])


def npy(array: np.ndarray) -> bytes:
    """An array as np.save writes it."""
    out = io.BytesIO()
    np.lib.format.write_array(out, array, allow_pickle=False)
    return out.getvalue()


def npy_claiming(header: str, data: bytes = b"") -> bytes:
    """A .npy entry with a header written by hand: it may claim anything about `data`."""
    text = header.encode("latin1")
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"  # padded to 64 bytes, as numpy writes it
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def entries(**changes: bytes) -> dict[str, bytes]:
    """The four entries of `model()`'s file, as .npy bytes, with some replaced."""
    good = {
        "format": npy(np.array(serialize.FORMAT)),
        "version": npy(np.array(serialize.VERSION)),
        "architecture": npy(np.array(json.dumps(model().architecture()))),
        "parameters": npy(values(model())),
    }
    return {**good, **changes}


def architecture(text: str) -> bytes:
    return npy(np.array(text))


def archive(
    members: dict[str, bytes] | list[tuple[str, bytes]],
    compression: int = zipfile.ZIP_STORED,
    encrypted: bool = False,
) -> bytes:
    """A zip of `.npy` members, as np.savez makes them, or compressed, or flagged as encrypted."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": a repeated entry is the point
        for name, data in members.items() if isinstance(members, dict) else members:
            z.writestr(name + ".npy", data)
    raw = bytearray(out.getvalue())
    if encrypted:  # set bit 0 of the flags in every local header and central directory record
        with zipfile.ZipFile(io.BytesIO(bytes(raw))) as z:
            infos = z.infolist()
        central = struct.unpack("<I", raw[-6:-2])[0]
        for info in infos:
            raw[info.header_offset + 6] |= 1
            raw[central + 8] |= 1
            name, extra, comment = struct.unpack("<HHH", raw[central + 28 : central + 34])
            central += 46 + name + extra + comment
    return bytes(raw)


def measured(call, path: Path) -> tuple[object, BaseException | None, float, int]:
    """Run call(path): (what it returned, what it raised, seconds, peak bytes allocated meanwhile)."""
    result = raised = None
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = call(path)
    except BaseException as e:  # reported to the test, which names it
        raised = e
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, raised, seconds, peak


def answer(path: Path, content: bytes) -> list[str]:
    """Load `content` with `load` and `from_file`: each refuses it cheaply or reads `model()`.

    Returns the refusals' messages. Anything else (another exception, a refusal that
    changed the model, a slow or costly one, other values than `model()`'s) fails.
    """
    path.write_bytes(content)
    want = values(model())
    target = MLP(2, [3, 1], activation="tanh", seed=1)
    before = values(target)
    messages = []
    for call in (target.load, Module.from_file):
        result, raised, seconds, peak = measured(call, path)
        assert raised is None or isinstance(raised, ModelFileError), (
            f"{call.__name__} raised {type(raised).__name__}: {raised}"
        )
        assert seconds < SECONDS, f"{call.__name__} took {seconds:.2f} s"
        assert peak < BYTES, f"{call.__name__} allocated {peak / 1e6:.0f} MB"
        if raised is None:
            np.testing.assert_array_equal(values(result), want)
        else:
            messages.append(str(raised))
            assert len(str(raised)) < 1000, "a message says what is wrong, not the whole file"
            if call is target.load:
                np.testing.assert_array_equal(values(target), before)
    return messages


def refused(path: Path, content: bytes, match: str) -> None:
    """Both `load` and `from_file` refuse `content` cheaply, with a message matching `match`."""
    messages = answer(path, content)
    assert len(messages) == 2, "load and from_file both refuse it"
    for message in messages:
        assert re.search(match, message), message


# -- each kind of lie, made by hand ----------------------------------------------------------

GOOD = entries()
HUGE_MLP = json.dumps({"class": "MLP", "nin": 10**6, "nouts": [10**4], "activations": ["relu"]})

HOSTILE = {
    "an entry flagged as encrypted": (archive(GOOD, encrypted=True), "entry format is encrypted"),
    "deflated entries": (
        archive(GOOD, zipfile.ZIP_DEFLATED),
        "compressed.*np.savez, not np.savez_compressed",
    ),
    "bzip2 entries": (archive(GOOD, zipfile.ZIP_BZIP2), "compressed"),
    "lzma entries": (archive(GOOD, zipfile.ZIP_LZMA), "compressed"),
    "an entry that is not .npy": (archive(entries(format=b"hello")), "entry format is not a .npy array"),
    "parameters that are not .npy": (archive(entries(parameters=b"\0" * 8)), "parameters is not a .npy"),
    "a header claiming 4e9 floats": (
        archive(
            entries(
                parameters=npy_claiming("{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000,), }")
            )
        ),
        r"claims float64 of shape \(4000000000,\), 32000000000 bytes, and holds 0",
    ),
    "a header claiming 1e8 characters": (
        archive(
            entries(format=npy_claiming("{'descr': '<U100000000', 'fortran_order': False, 'shape': (), }"))
        ),
        "entry format claims <U100000000",
    ),
    "a header claiming a negative shape": (
        archive(
            entries(parameters=npy_claiming("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"))
        ),
        r"entry parameters claims float64 of shape \(-1,\)",
    ),
    "a header numpy cannot parse": (
        archive(entries(format=npy_claiming("{'descr': 5, 'fortran_order': False, 'shape': (), }"))),
        "damaged.*the .npy header of entry format.*descr",
    ),
    "an entry written twice": (
        archive([*GOOD.items(), ("parameters", npy(np.zeros(13)))]),
        "entries parameters more than once",
    ),
    "an architecture nested 100,000 deep": (
        archive(entries(architecture=architecture("[" * 100_000 + "]" * 100_000))),
        "architecture is not valid JSON",
    ),
    "an architecture nested 500 deep": (
        archive(entries(architecture=architecture('{"class": "MLP", "nin": ' + "[" * 500 + "]" * 500 + "}"))),
        "nests more than 32 levels deep",
    ),
    "an architecture with a 5,000-digit number": (
        archive(entries(architecture=architecture('{"class": "MLP", "nin": ' + "7" * 5000 + "}"))),
        "architecture is not valid JSON.*4300 digits",
    ),
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_each_kind_of_hostile_archive_is_refused_quickly(tmp_path, kind):
    content, match = HOSTILE[kind]
    refused(tmp_path / "m.npz", content, match)


def test_an_architecture_claiming_more_parameters_than_the_file_holds_builds_nothing(tmp_path):
    """A 1.5 kB file claiming an MLP of 10 billion parameters: refused before one is built."""
    content = archive(entries(architecture=architecture(HUGE_MLP)))
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    _, raised, seconds, peak = measured(Module.from_file, path)
    assert isinstance(raised, ModelFileError), repr(raised)
    assert "has 10000010000 parameters, but the file holds 13 values" in str(raised)
    assert seconds < SECONDS and peak < BYTES
    refused(path, content, "another architecture|10000010000 parameters")


@pytest.mark.parametrize(
    "arch, match",
    [
        ({"class": "Neuron", "nin": 10**30, "activation": "relu"}, "has 10{29}1 parameters"),
        ({"class": "Layer", "nin": 2, "nout": 3, "activation": "relu", "extra": 1}, "described by nin, nout"),
        (
            {"class": "MLP", "nin": 2, "nouts": "31", "activations": ["tanh"]},
            "nouts must be a non-empty list",
        ),
        ({"class": "MLP", "nin": 2, "nouts": [3, 1], "activations": ["tanh", [1]]}, "cannot build a MLP"),
        ({"class": "MLP", "nin": 2.0, "nouts": [3, 1], "activations": ["tanh", "linear"]}, "nin must be"),
    ],
)
def test_from_file_checks_every_field_before_building(tmp_path, arch, match):
    path = tmp_path / "m.npz"
    path.write_bytes(archive(entries(architecture=architecture(json.dumps(arch)))))
    _, raised, seconds, peak = measured(Module.from_file, path)
    assert isinstance(raised, ModelFileError) and re.search(match, str(raised)), raised
    assert seconds < SECONDS and peak < BYTES


def test_a_good_hand_made_archive_is_read(tmp_path):
    """The pieces above make a good file when none of them lies: the checks refuse only lies."""
    assert answer(tmp_path / "m.npz", archive(GOOD)) == []
