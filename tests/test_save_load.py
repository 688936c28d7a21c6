"""Saving and loading modules: round trips, atomic writes, and every kind of bad file refused."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import microgradx
from microgradx import Value, serialize
from microgradx.nn import MLP, Layer, ModelFileError, Module, Neuron

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


def values(model: Module) -> np.ndarray:
    return np.array([p.data for p in model.parameters()])


def write_npz(path: Path, **arrays: object) -> None:
    """An npz written by hand, like a model file but with chosen entries."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def good_entries(model: Module) -> dict[str, np.ndarray]:
    return {
        "format": np.array(serialize.FORMAT),
        "version": np.array(serialize.VERSION),
        "architecture": np.array(json.dumps(model.architecture())),
        "parameters": values(model),
    }


@pytest.fixture
def saved(tmp_path: Path) -> tuple[MLP, Path]:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    path = tmp_path / "model.npz"
    model.save(path)
    return model, path


# -- round trips ----------------------------------------------------------------------------


def test_load_restores_parameters_in_place(saved):
    model, path = saved
    other = MLP(2, [3, 1], activation="tanh", seed=1)
    assert not np.array_equal(values(other), values(model))
    assert other.load(path) is other
    np.testing.assert_array_equal(values(other), values(model))
    x = [0.5, -1.5]
    assert other(x).data == model(x).data


def test_from_file_builds_the_same_model(saved):
    model, path = saved
    for built in (MLP.from_file(path), Module.from_file(str(path))):
        assert isinstance(built, MLP)
        assert built.architecture() == model.architecture()
        np.testing.assert_array_equal(values(built), values(model))
        assert built([0.25, 2.0]).data == model([0.25, 2.0]).data


@pytest.mark.parametrize(
    "make",
    [
        lambda: Neuron(3, "sigmoid", seed=2),
        lambda: Layer(3, 2, "linear", seed=3),
        lambda: MLP(1, [1], output_activation="sigmoid", seed=4),
        lambda: MLP(3, [4, 4, 2], activation="relu", output_activation="tanh", seed=5),
    ],
)
def test_round_trip_of_each_module_kind(tmp_path, make):
    model = make()
    model.save(tmp_path / "m.npz")
    built = Module.from_file(tmp_path / "m.npz")
    assert type(built) is type(model) and built.architecture() == model.architecture()
    np.testing.assert_array_equal(values(built), values(model))


@pytest.mark.parametrize("saved_init, loading_init", [("micrograd", "pytorch"), ("pytorch", "micrograd")])
def test_a_file_loads_into_a_model_built_with_either_init(tmp_path, saved_init, loading_init):
    """The init only draws a model's first values, and a file holds every value: so the file records
    no init, and loads into a model drawn either way (files saved before init= existed included)."""
    model = MLP(2, [3, 1], activation="tanh", seed=0, init=saved_init)
    model.save(tmp_path / "m.npz")
    assert "init" not in model.architecture()
    target = MLP(2, [3, 1], activation="tanh", seed=1, init=loading_init)
    np.testing.assert_array_equal(values(target.load(tmp_path / "m.npz")), values(model))
    np.testing.assert_array_equal(values(MLP.from_file(tmp_path / "m.npz")), values(model))
    before = {"class": "MLP", "nin": 2, "nouts": [3, 1], "activations": ["tanh", "linear"]}  # as saved before
    write_npz(tmp_path / "old.npz", **{**good_entries(model), "architecture": np.array(json.dumps(before))})
    np.testing.assert_array_equal(values(target.load(tmp_path / "old.npz")), values(model))


def test_hidden_activations_edited_by_hand_survive(tmp_path):
    model = MLP(2, [2, 2, 1], activation="relu", seed=0)
    for n in model.layers[1].neurons:
        n.activation = "tanh"
    model.save(tmp_path / "m.npz")
    built = MLP.from_file(tmp_path / "m.npz")
    assert [layer.activation for layer in built.layers] == ["relu", "tanh", "linear"]


def test_file_holds_the_documented_entries(saved):
    model, path = saved
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(serialize.KEYS)
        assert str(npz["format"]) == "microgradx-model" and int(npz["version"]) == 1
        assert json.loads(str(npz["architecture"])) == {
            "class": "MLP",
            "nin": 2,
            "nouts": [3, 1],
            "activations": ["tanh", "linear"],
        }
        np.testing.assert_array_equal(npz["parameters"], values(model))


def test_loading_writes_through_to_compiled_graphs(saved):
    """A graph compiled before the load sees the loaded values: they go into the shared Store."""
    model, path = saved
    other = MLP(2, [3, 1], activation="tanh", seed=7)
    x = [Value(0.0), Value(0.0)]
    step = microgradx.compile(other(x), inputs=x)
    rows = np.array([[0.5, -1.0], [2.0, 0.25]])
    before = step(rows)
    other.load(path)
    after = step(rows)
    expected = [model(list(r)).data for r in rows]
    assert not np.allclose(before, expected)
    np.testing.assert_allclose(after, expected, rtol=1e-12)


def test_loading_into_a_submodule_writes_into_the_parent_store(saved, tmp_path):
    model, _ = saved
    neuron = model.layers[0].neurons[1]
    neuron.save(tmp_path / "n.npz")
    other = MLP(2, [3, 1], activation="tanh", seed=9)
    store_before = other._bind()[0]
    other.layers[0].neurons[1].load(tmp_path / "n.npz")
    assert other._bind()[0] is store_before
    np.testing.assert_array_equal(values(other.layers[0].neurons[1]), values(neuron))


def test_a_hand_built_module_saves_and_loads_with_the_default_architecture(tmp_path):
    class Pair(Module):
        def __init__(self) -> None:
            self.a, self.b = Value(1.0), Value(2.0)

        def parameters(self) -> list[Value]:
            return [self.a, self.b]

    p = Pair()
    p.save(tmp_path / "p.npz")
    q = Pair()
    q.a.data = 5.0
    q.load(tmp_path / "p.npz")
    assert (q.a.data, q.b.data) == (1.0, 2.0)
    with pytest.raises(ModelFileError, match="from_file cannot build.*model.load"):
        Module.from_file(tmp_path / "p.npz")


def test_new_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        MLP(1, [1], seed=0).save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644


# -- atomic writes ---------------------------------------------------------------------------


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "model.npz")


def test_error_mid_write_leaves_the_old_file_intact(saved, monkeypatch):
    model, path = saved
    old_bytes = path.read_bytes()

    def half_then_fail(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(serialize.np, "savez", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [3, 1], activation="tanh", seed=1).save(path)
    assert path.read_bytes() == old_bytes
    assert leftovers(path.parent) == []
    monkeypatch.undo()
    np.testing.assert_array_equal(values(MLP.from_file(path)), values(model))


def test_failed_rename_leaves_the_old_file_intact(saved, monkeypatch):
    _, path = saved
    old_bytes = path.read_bytes()

    def fail(src, dst):
        raise PermissionError("rename refused")

    monkeypatch.setattr(serialize.os, "replace", fail)
    with pytest.raises(PermissionError):
        MLP(2, [3, 1], activation="tanh", seed=1).save(path)
    assert path.read_bytes() == old_bytes
    assert leftovers(path.parent) == []


def test_interrupt_mid_write_leaves_the_old_file_intact(saved, monkeypatch):
    _, path = saved
    old_bytes = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialize.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        MLP(2, [3, 1], activation="tanh", seed=1).save(path)
    assert path.read_bytes() == old_bytes
    assert leftovers(path.parent) == []


def crash_while_saving(path: Path) -> None:
    """Save to `path` in another process that dies inside fsync, before the rename, running no cleanup."""
    script = textwrap.dedent(
        f"""
        import os
        from microgradx import serialize
        from microgradx.nn import MLP
        serialize.os.fsync = lambda fd: os._exit(9)
        MLP(2, [3, 1], activation="tanh", seed=1).save({str(path)!r})
        """
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=120).returncode == 9


def test_process_killed_mid_write_leaves_the_old_file_intact(saved):
    """A real crash: the process dies inside fsync, before the rename, and runs no cleanup."""
    model, path = saved
    old_bytes = path.read_bytes()
    crash_while_saving(path)
    assert path.read_bytes() == old_bytes
    np.testing.assert_array_equal(values(MLP.from_file(path)), values(model))
    # the crash leaves only a hidden temporary file, never a half-written model.npz
    assert all(name.startswith(".model.npz.") and name.endswith(".tmp") for name in leftovers(path.parent))


def test_saving_over_a_file_replaces_it(saved):
    _, path = saved
    new = MLP(2, [3, 1], activation="tanh", seed=11)
    new.save(path)
    np.testing.assert_array_equal(values(MLP.from_file(path)), values(new))
    assert leftovers(path.parent) == []


def test_the_next_save_removes_what_crashed_saves_left(saved):
    model, path = saved
    crash_while_saving(path)
    first = leftovers(path.parent)
    crash_while_saving(path)  # removes the first crash's file before it crashes in turn
    assert len(first) == 1 and len(leftovers(path.parent)) == 1 and leftovers(path.parent) != first
    (path.parent / ".model.npz.00000000abcd.tmp").write_bytes(b"an older crash's")
    others = [".other.npz.0123456789ab.tmp", ".model.npz.tmp", "model.npz.0123456789ab.tmp", "notes.txt"]
    for name in others:
        (path.parent / name).write_bytes(b"not ours")
    model.save(path)
    assert leftovers(path.parent) == sorted(others)  # only this file's temporary files are removed


@pytest.mark.skipif(fcntl is None, reason="without fcntl a save cannot tell a running save's file")
def test_a_running_save_keeps_its_temporary_file(saved):
    """A temporary file whose save is still writing (it holds the lock) is not an orphan."""
    model, path = saved
    running = path.parent / ".model.npz.0123456789ab.tmp"
    with open(running, "wb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        model.save(path)
        assert leftovers(path.parent) == [running.name]
    model.save(path)
    assert leftovers(path.parent) == []


@pytest.mark.skipif(fcntl is None, reason="without fcntl a save cannot tell a running save's file")
def test_a_save_whose_new_file_is_taken_for_an_orphan_takes_another(saved, monkeypatch):
    """Another save may remove our temporary file between its creation and our lock: we start over."""
    model, path = saved
    taken = []

    def flock(fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_EX and not taken:  # our own lock, the first time: another save cleans
            taken.append(leftovers(path.parent))
            serialize._remove_orphans(path)
        fcntl.flock(fd, operation)

    monkeypatch.setattr(serialize, "fcntl", SimpleNamespace(**{**vars(fcntl), "flock": flock}))
    new = MLP(2, [3, 1], activation="tanh", seed=3)
    new.save(path)
    assert len(taken[0]) == 1  # the temporary file existed, unlocked, and was removed
    assert leftovers(path.parent) == []
    np.testing.assert_array_equal(values(MLP.from_file(path)), values(new))


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_saving_over_a_file_keeps_its_permissions(saved, mode):
    model, path = saved
    path.chmod(mode)
    old = os.umask(0o022)
    try:
        model.save(path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode


def test_saving_through_a_symlink_writes_the_file_it_leads_to(tmp_path):
    """A link (relative, through another link, in another directory) stays a link; its file changes."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "best").mkdir()
    real = tmp_path / "runs" / "model.npz"
    MLP(2, [3, 1], activation="tanh", seed=0).save(real)
    (tmp_path / "best" / "latest.npz").symlink_to("../runs/model.npz")
    link = tmp_path / "best" / "model.npz"
    link.symlink_to("latest.npz")
    new = MLP(2, [3, 1], activation="tanh", seed=5)
    new.save(link)
    assert link.is_symlink() and (tmp_path / "best" / "latest.npz").is_symlink()
    np.testing.assert_array_equal(values(MLP.from_file(real)), values(new))
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["model.npz"]
    assert sorted(p.name for p in (tmp_path / "best").iterdir()) == ["latest.npz", "model.npz"]


def test_saving_through_a_dangling_symlink_creates_its_file(tmp_path):
    link = tmp_path / "model.npz"
    link.symlink_to("checkpoints-model.npz")
    MLP(1, [1], seed=0).save(link)
    assert link.is_symlink() and (tmp_path / "checkpoints-model.npz").is_file()


def test_a_symlink_loop_is_refused_saying_so(tmp_path):
    (tmp_path / "a.npz").symlink_to("b.npz")
    (tmp_path / "b.npz").symlink_to("a.npz")
    with pytest.raises(ModelFileError, match="not saving to .*a.npz .*a symlink that never reaches a file"):
        MLP(1, [1], seed=0).save(tmp_path / "a.npz")
    assert (tmp_path / "a.npz").is_symlink() and (tmp_path / "b.npz").is_symlink()


def test_saving_to_what_is_not_a_regular_file_is_refused_and_leaves_it(tmp_path):
    """A FIFO, a device (here through a link to /dev/null) or a directory is never replaced."""
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    null = tmp_path / "null.npz"
    null.symlink_to(os.devnull)
    model = MLP(1, [1], seed=0)
    with pytest.raises(ModelFileError, match=r"model.npz: it is a FIFO \(named pipe\), not a regular file"):
        model.save(fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    with pytest.raises(
        ModelFileError, match=r"null.npz \(a symlink to /dev/null\): it is a character device"
    ):
        model.save(null)
    assert null.is_symlink() and stat.S_ISCHR(os.stat(os.devnull).st_mode)
    with pytest.raises(ModelFileError, match="it is a directory, not a regular file.*or to a new name"):
        model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "null.npz"]


def test_loading_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            MLP(1, [1], seed=0).load(fifo)
            outcome.append(None)
        except BaseException as e:
            outcome.append(e)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # blocked in open(): give it a writer, so that it ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
        pytest.fail("load blocked on a FIFO, waiting for a writer")
    assert isinstance(outcome[0], ModelFileError), outcome
    assert "is a FIFO (named pipe), not a regular file" in str(outcome[0])


def test_loading_a_directory_or_a_device_is_refused_saying_what_it_is(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory, not a regular file"):
        MLP(1, [1], seed=0).load(tmp_path)
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(ModelFileError, match=r"zero \(a symlink to /dev/zero\) is a character device"):
        Module.from_file(tmp_path / "zero")


# -- bad files: a clear error and the model left unchanged -----------------------------------


def refused(model: Module, path: Path, match: str) -> None:
    before = values(model)
    with pytest.raises(ModelFileError, match=match):
        model.load(path)
    np.testing.assert_array_equal(values(model), before)


def test_wrong_architecture_names_what_differs(saved):
    _, path = saved
    refused(MLP(2, [4, 1], activation="tanh", seed=1), path, r"nouts \[3, 1\] in the file, \[4, 1\] here")
    refused(MLP(2, [3, 1], activation="relu", seed=1), path, r"activations.*'tanh'.*'relu'")
    refused(MLP(5, [3, 1], activation="tanh", seed=1), path, "nin 2 in the file, 5 here")
    refused(Neuron(2, seed=1), path, "class 'MLP' in the file, 'Neuron' here")
    with pytest.raises(ModelFileError, match="holds a MLP, not a Neuron"):
        Neuron.from_file(path)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"format": np.array("someone-else")}, "format 'someone-else'"),
        ({"version": np.array(2)}, "version-2 model file; this microgradx reads version 1"),
        ({"version": np.array(1.5)}, "version must be an integer"),
        ({"format": np.array([1, 2])}, "format must be a string"),
        ({"architecture": np.array("{not json")}, "architecture is not valid JSON"),
        ({"architecture": np.array("[1, 2]")}, "must be a JSON object with a 'class'"),
        ({"parameters": np.zeros(12)}, "holds 12 parameter values; this MLP has 13"),
        ({"parameters": np.zeros(13, np.float32)}, "flat float64 array, got float32"),
        ({"parameters": np.zeros((13, 1))}, r"shape \(13, 1\)"),
        ({"parameters": np.full(13, np.nan)}, r"13 of 13 parameters are not finite.*allow_nonfinite=True"),
        ({"extra": np.zeros(1)}, "unexpected entries extra"),
    ],
)
def test_bad_entries_are_refused(tmp_path, change, match):
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    entries = {**good_entries(model), **change}
    path = tmp_path / "bad.npz"
    write_npz(path, **entries)
    refused(MLP(2, [3, 1], activation="tanh", seed=1), path, match)


@pytest.mark.parametrize("key", serialize.KEYS)
def test_missing_entry_is_named(tmp_path, key):
    entries = good_entries(MLP(2, [3, 1], seed=0))
    del entries[key]
    write_npz(tmp_path / "bad.npz", **entries)
    refused(MLP(2, [3, 1], seed=1), tmp_path / "bad.npz", f"lacks {key}")


def test_pickled_entries_are_never_unpickled(tmp_path):
    entries = good_entries(MLP(2, [3, 1], seed=0))
    entries["architecture"] = np.array([{"class": "MLP"}], dtype=object)
    write_npz(tmp_path / "bad.npz", **entries)
    refused(MLP(2, [3, 1], seed=1), tmp_path / "bad.npz", "pickled Python objects.*never unpickles")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "is empty"),
        (b"hello, I am a text file\n", "starts with b'hell'"),
        (b"\x93NUMPY\x01\x00v\x00", "not a zip archive"),
    ],
)
def test_non_npz_files_are_refused(tmp_path, content, match):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    refused(MLP(2, [3, 1], seed=1), path, f"not a microgradx model file.*{match}")


def test_a_plain_npy_file_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(13))
    refused(MLP(2, [3, 1], seed=1), tmp_path / "x.npy", "not a zip archive")


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        MLP(2, [3, 1]).load(tmp_path / "nowhere.npz")


def test_every_truncation_is_refused(saved):
    model, path = saved
    raw = path.read_bytes()
    target = MLP(2, [3, 1], activation="tanh", seed=1)
    before = values(target)
    for n in range(len(raw)):
        path.write_bytes(raw[:n])
        with pytest.raises(ModelFileError):
            target.load(path)
    np.testing.assert_array_equal(values(target), before)


def test_corrupted_bytes_are_refused_or_harmless(saved):
    """Flip each byte in turn: either a ModelFileError, or (bytes zip ignores) the exact values."""
    model, path = saved
    raw = path.read_bytes()
    want = values(model)
    target = MLP(2, [3, 1], activation="tanh", seed=1)
    start = values(target)
    n_refused = 0
    for i in range(len(raw)):
        damaged = bytearray(raw)
        damaged[i] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            target.load(path)
        except ModelFileError:
            n_refused += 1
            np.testing.assert_array_equal(values(target), start)
        else:
            np.testing.assert_array_equal(values(target), want)
            for p, x in zip(target.parameters(), start, strict=True):
                p.data = x
    assert n_refused > len(raw) // 2  # the parameters, names and CRCs are all checked


# -- non-finite parameters --------------------------------------------------------------------


def test_saving_nan_is_refused_and_keeps_the_old_checkpoint(saved):
    model, path = saved
    old_bytes = path.read_bytes()
    diverged = MLP(2, [3, 1], activation="tanh", seed=1)
    diverged.parameters()[4].data = float("nan")
    with pytest.raises(ModelFileError, match=r"not saving.*parameters\(\)\[4\] = nan.*allow_nonfinite=True"):
        diverged.save(path)
    assert path.read_bytes() == old_bytes
    assert leftovers(path.parent) == []


def test_nonfinite_values_pass_when_allowed(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    model.parameters()[0].data = float("inf")
    model.parameters()[1].data = float("nan")
    model.save(tmp_path / "m.npz", allow_nonfinite=True)
    refused(MLP(2, [3, 1], seed=1), tmp_path / "m.npz", "2 of 13 parameters are not finite")
    built = MLP.from_file(tmp_path / "m.npz", allow_nonfinite=True)
    got = values(built)
    assert got[0] == np.inf and np.isnan(got[1])
    np.testing.assert_array_equal(got[2:], values(model)[2:])


# -- the folder a model file goes in ---------------------------------------------------------


def test_saving_into_missing_folders_makes_them(tmp_path):
    """As `draw -o`, the demo's -o and every plot's path do; it failed on a FileNotFoundError naming
    '.../missing/dir/.m.npz.3fb0280a1460.tmp', a temporary file the user never asked for."""
    model = MLP(2, [3, 1], seed=0)
    path = tmp_path / "missing" / "dir" / "m.npz"
    model.save(path)
    np.testing.assert_array_equal(values(MLP.from_file(path)), values(model))
    assert [p.name for p in path.parent.iterdir()] == ["m.npz"]


def test_a_folder_that_cannot_be_made_is_named_not_a_temporary_file(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("a file, not a folder")
    model = MLP(1, [1], seed=0)
    for path in (notes / "m.npz", notes / "sub" / "m.npz"):
        with pytest.raises(OSError) as refused:
            model.save(path)
        assert str(refused.value) == (
            f"not saving to {path}: {notes} is a file, not a folder; choose a folder you can write to"
        )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="Linux's /proc, where not even root makes a file")
def test_a_folder_that_takes_no_file_is_named_not_a_temporary_file():
    model = MLP(1, [1], seed=0)
    with pytest.raises(FileNotFoundError) as refused:
        model.save("/proc/microgradx-models/m.npz")
    assert str(refused.value) == (
        "not saving to /proc/microgradx-models/m.npz: the folder /proc/microgradx-models cannot be made "
        "(No such file or directory); choose a folder you can write to"
    )
    with pytest.raises(OSError) as refused:
        model.save("/proc/m.npz")
    assert str(refused.value).startswith(
        "not saving to /proc/m.npz: no file can be made in the folder /proc ("
    )
    assert ".tmp" not in str(refused.value)


@pytest.mark.parametrize("call", ["save", "load", "from_file"])
@pytest.mark.parametrize("path", [3, None, ["m.npz"]])
def test_a_path_that_is_not_one_is_refused_naming_the_call(call, path, tmp_path, monkeypatch):
    """os.fspath's "expected str, bytes or os.PathLike object, not int" named neither the call
    nor the argument; nothing is written."""
    monkeypatch.chdir(tmp_path)
    model = MLP(2, [3, 1], seed=0)
    run = {"save": model.save, "load": model.load, "from_file": MLP.from_file}[call]
    with pytest.raises(TypeError, match=r"(save|load)\(path\): path must be a str or a pathlib\.Path"):
        run(path)
    assert not list(tmp_path.iterdir())
