"""Hostile model files: whatever bytes `load` and `from_file` are given, the answer is a
ModelFileError or the right model, never another exception, and a refusal is cheap.

Each hand-made archive below is one kind of lie a file can tell (an entry flagged as
encrypted or compressed, a .npy header claiming more data than the entry holds, an
architecture claiming a model far bigger than the values stored, JSON nested or
numbered past what Python parses), and each refusal is measured: within 1 s and
100 MB (tracemalloc's peak), with the model loaded into left as it was. The fuzz test
(hypothesis, derandomized) throws byte flips, truncations and random archives built
from the same pieces.
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# -- fuzz: byte flips, truncations, lying zip records, archives made of random pieces -------

FUZZ = settings(
    derandomize=True,  # seeded: the same examples every run
    database=None,
    deadline=None,  # each answer is timed by `answer` itself, under its own limit
    suppress_health_check=[HealthCheck.too_slow],  # making lzma and bzip2 archives takes time
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, bytes]:
    """A scratch path, and the bytes `model().save` writes."""
    path = tmp_path_factory.mktemp("fuzz") / "m.npz"
    model().save(path)
    return path, path.read_bytes()


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_fuzz_byte_flips(saved, data):
    path, raw = saved
    damaged = bytearray(raw)
    flips = st.tuples(st.integers(0, len(raw) - 1), st.integers(1, 255))
    for i, x in data.draw(st.lists(flips, min_size=1, max_size=6)):
        damaged[i] ^= x
    answer(path, bytes(damaged))


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_fuzz_truncations(saved, data):
    path, raw = saved
    n = data.draw(st.integers(0, len(raw) - 1))
    answer(path, raw[:n] + data.draw(st.binary(max_size=32)))


def central_records(raw: bytes) -> list[int]:
    """Where each central directory record of a zip (without a comment) starts."""
    start, count = struct.unpack("<I", raw[-6:-2])[0], struct.unpack("<H", raw[-12:-10])[0]
    records = []
    for _ in range(count):
        records.append(start)
        name, extra, comment = struct.unpack("<HHH", raw[start + 28 : start + 34])
        start += 46 + name + extra + comment
    return records


# Fields whose values are claims about the file: (offset in its record, struct format).
CENTRAL_FIELDS = [(10, "<H"), (20, "<I"), (24, "<I"), (28, "<H"), (30, "<H"), (32, "<H"), (42, "<I")]
LOCAL_FIELDS = [(8, "<H"), (18, "<I"), (22, "<I"), (26, "<H"), (28, "<H")]
END_FIELDS = [(8, "<H"), (10, "<H"), (12, "<I"), (16, "<I"), (20, "<H")]


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_fuzz_lying_zip_records(saved, data):
    """Sizes, offsets, counts and methods in the zip's records, set to anything."""
    path, raw = saved
    lied = bytearray(raw)
    central = central_records(raw)
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        local = [info.header_offset for info in z.infolist()]
    places = (
        [(c, f) for c in central for f in CENTRAL_FIELDS]
        + [(h, f) for h in local for f in LOCAL_FIELDS]
        + [(len(raw) - 22, f) for f in END_FIELDS]
    )
    for start, (offset, fmt) in data.draw(st.lists(st.sampled_from(places), min_size=1, max_size=3)):
        biggest = 2 ** (8 * struct.calcsize(fmt)) - 1
        value = data.draw(st.one_of(st.integers(0, biggest), st.sampled_from([0, 1, biggest, biggest // 2])))
        struct.pack_into(fmt, lied, start + offset, value)
    answer(path, bytes(lied))


COUNTS = st.one_of(
    st.integers(-2, 4), st.integers(0, 10**15), st.booleans(), st.floats(), st.text(max_size=3), st.none()
)
ACTIVATION = st.one_of(
    st.sampled_from(["relu", "tanh", "sigmoid", "linear", "gelu"]), st.none(), st.integers()
)
SIZES = st.one_of(st.integers(1, 4), COUNTS)
NAMES = st.sampled_from(["relu", "tanh", "sigmoid", "linear"])
ARCHITECTURES = st.one_of(
    # near the real thing: each of these builds, or is refused, by from_file's checks
    st.fixed_dictionaries(
        {
            "class": st.just("MLP"),
            "nin": SIZES,
            "nouts": st.lists(SIZES, max_size=3),
            "activations": st.lists(NAMES, max_size=3),
        }
    ),
    st.fixed_dictionaries({"class": st.just("Layer"), "nin": SIZES, "nout": SIZES, "activation": NAMES}),
    st.fixed_dictionaries({"class": st.just("Neuron"), "nin": SIZES, "activation": NAMES}),
    # further off
    st.fixed_dictionaries(
        {"class": st.sampled_from(["MLP", "Layer", "Neuron", "Module", ""])},
        optional={
            "nin": COUNTS,
            "nout": COUNTS,
            "nouts": st.one_of(st.lists(COUNTS, max_size=4), COUNTS),
            "activation": ACTIVATION,
            "activations": st.one_of(st.lists(ACTIVATION, max_size=4), ACTIVATION),
        },
    ),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=12,
    ),
).map(json.dumps) | st.sampled_from(
    ["[" * 3000 + "]" * 3000, "1" * 5000, '{"class": "MLP"', "", "\0", HUGE_MLP]
)
HEADERS = st.builds(
    "{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}".format,
    st.sampled_from(
        [
            "'<f8'",
            "'>f8'",
            "'<f4'",
            "'<i8'",
            "'|u1'",
            "'<U16'",
            "'<U0'",
            "'|V8'",
            "'O'",
            "5",
            "[('a', '<f8')]",
        ]
    ),
    st.sampled_from(["False", "True", "1", "'no'"]),
    st.lists(st.integers(-3, 2**62), max_size=3).map(lambda dims: repr(tuple(dims))),
)
SMALL_ARRAYS = st.sampled_from(
    [np.array(1.5), np.array(2**62), np.zeros((2, 2)), np.array(b"x"), np.array(["a", "b"]), np.zeros(0)]
    + [np.zeros(13, np.float32), np.full(13, np.nan), np.zeros(10**4)]
)


def lies(key: str) -> st.SearchStrategy[bytes]:
    """What an archive may hold under `key` instead of its good entry."""
    anything = st.one_of(
        st.binary(max_size=64),
        st.builds(npy_claiming, HEADERS, st.one_of(st.binary(max_size=128), st.just(b"\0" * 104))),
        st.builds(npy_claiming, st.text(st.characters(max_codepoint=255), max_size=60)),
        SMALL_ARRAYS.map(npy),
    )
    if key == "architecture":
        return st.one_of(ARCHITECTURES.map(architecture), anything)
    return anything


def one_in(n: int) -> st.SearchStrategy[bool]:
    return st.integers(0, n - 1).map(lambda k: k == 0)


@st.composite
def hand_made_archives(draw) -> bytes:
    """Mostly good entries with one or two lies among them, so that every check is reached;
    now and then a missing or extra entry, compression, the encrypted flag, bytes before the zip."""
    lying = draw(st.sets(st.sampled_from(serialize.KEYS), min_size=1, max_size=2))
    chosen = [(key, draw(lies(key)) if key in lying else GOOD[key]) for key in serialize.KEYS]
    if draw(one_in(20)):
        chosen.remove(draw(st.sampled_from(chosen)))
    if draw(one_in(8)):
        names = st.sampled_from(["extra", "format", "a/../b", ""])
        chosen += draw(st.lists(st.tuples(names, st.binary(max_size=16)), min_size=1, max_size=2))
    others = [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
    compression = draw(st.sampled_from(others)) if draw(one_in(10)) else zipfile.ZIP_STORED
    content = archive(draw(st.permutations(chosen)), compression, encrypted=draw(one_in(10)))
    return (draw(st.binary(min_size=1, max_size=4)) if draw(one_in(10)) else b"") + content


@settings(FUZZ, max_examples=120)
@given(content=hand_made_archives())
def test_fuzz_hand_made_archives(saved, content):
    path, _ = saved
    answer(path, content)


@settings(FUZZ, max_examples=120)
@given(text=ARCHITECTURES)
def test_fuzz_architectures(saved, text):
    """A good archive with any architecture: from_file checks it all before building anything."""
    path, _ = saved
    answer(path, archive(entries(architecture=architecture(text))))


@settings(FUZZ, max_examples=100)
@given(key=st.sampled_from(serialize.KEYS), header=HEADERS, data=st.binary(max_size=256))
def test_fuzz_npy_headers(saved, key, header, data):
    """One entry's .npy header, claiming any dtype and shape, whatever data follows it."""
    path, _ = saved
    answer(path, archive(entries(**{key: npy_claiming(header, data)})))
