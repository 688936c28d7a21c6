"""jit.py: the numba cache can never serve stale kernels, the first run needs no compiling, and
what the warmup compiles is all a program asks for."""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numba.core import event
from numba.core.registry import CPUDispatcher

import microgradx
from microgradx import Value
from microgradx.app import warmup
from microgradx.kernels import cache, calls, jit, numpy_calls
from microgradx.nn import MLP
from microgradx.optim import SGD, Adam

PACKAGE = Path(microgradx.__file__).resolve().parent

SEEN = """
import sys
from numba.core import event
from numba.core.registry import CPUDispatcher
compiled = []
class Seen(event.Listener):
    def on_start(self, ev): compiled.append(ev.data["dispatcher"].py_func.__name__)
    def on_end(self, ev): pass
event.register("numba:compile", Seen())
"""  # a new process's record of what numba compiles

LECTURE = (
    SEEN
    + """
from microgradx import Value
u, v, w = Value(2.0), Value(3.0), Value(4.0)
f = (u + v) * w
f.backward(engine="numba")
print(f.data, u.grad, v.grad, w.grad, "compiled" if compiled else "loaded")
"""
)


def run_copy(root: Path, code: str, cache: Path, **env: str) -> subprocess.CompletedProcess:
    """Run `code` in a new process importing the copy of the package under root."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MICROGRADX_")}
    environ.update(PYTHONPATH=str(root), NUMBA_CACHE_DIR=str(cache), MICROGRADX_JIT="foreground", **env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=600, cwd=root
    )


def test_a_change_to_the_op_codes_recompiles_instead_of_running_stale_kernels(tmp_path):
    """numba keys a kernel's cache on its own file alone; the op codes live in core/ops.py. Build a
    cache, swap the codes of add and sub in core/ops.py, run again: still f = 20 and the lecture's
    gradients, because jit.py saw the change and had numba compile anew (before the fix the
    cached kernel ran add's slot as a subtraction: f = (2 - 3)·4 = -4)."""
    root, cache = tmp_path / "src", tmp_path / "cache"
    shutil.copytree(PACKAGE, root / "microgradx", ignore=shutil.ignore_patterns("__pycache__"))
    first = run_copy(root, LECTURE, cache)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["20.0", "4.0", "4.0", "5.0", "compiled"]
    assert run_copy(root, LECTURE, cache).stdout.split()[-1] == "loaded"  # the cache works

    ops = root / "microgradx" / "core" / "ops.py"
    text = ops.read_text()
    lines = text.splitlines(keepends=True)
    add_row = next(line for line in lines if line.startswith("    OpInfo(Op.ADD, "))
    sub_row = next(line for line in lines if line.startswith("    OpInfo(Op.SUB, "))
    swapped = text.replace(add_row + sub_row, sub_row + add_row)  # the table lists ops in code order
    swapped = swapped.replace("    ADD = 2\n    SUB = 3\n", "    ADD = 3\n    SUB = 2\n")
    assert swapped.count("ADD = 3") == 1 and swapped.index(sub_row) < swapped.index(add_row)
    ops.write_text(swapped)
    changed = run_copy(root, LECTURE, cache)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.split() == ["20.0", "4.0", "4.0", "5.0", "compiled"]


def test_the_first_run_on_an_empty_cache_compiles_nothing_in_the_foreground(tmp_path):
    """MICROGRADX_JIT=off: the README's training runs on NumPy at once, numba compiles nothing,
    and it trains as the numba kernels do."""
    code = (
        SEEN
        + """
import numpy as np, microgradx, microgradx.kernels.jit
from microgradx import Value
from microgradx.nn import MLP
from microgradx.optim import SGD
from microgradx.datasets import make_moons
X, labels = make_moons(100, noise=0.1, seed=1)
model = MLP(2, [16, 16, 1], seed=0)
xs = [Value(0.0), Value(0.0)]; y = Value(0.0)
loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
step = microgradx.compile(loss, inputs=xs + [y])
opt = SGD(model.parameters(), lr=1.0)
XY = np.column_stack([X, labels * 2.0 - 1.0])
for k in range(100):
    opt.lr = 1.0 - 0.9 * k / 100
    batch_loss = step.train_step(XY, opt)
loss.backward()
print(batch_loss, len(compiled), microgradx.kernels.jit.describe())
"""
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MICROGRADX_")}
    environ.update(NUMBA_CACHE_DIR=str(tmp_path), MICROGRADX_JIT="off")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=300
    )
    assert out.returncode == 0, out.stderr
    loss, compiles, where = out.stdout.split(maxsplit=2)
    assert float(loss) < 0.1 and compiles == "0" and where.strip() == "NumPy, MICROGRADX_JIT=off"
    assert not list(tmp_path.rglob("*.nbc"))  # nothing compiled, nothing cached


class Compiles(event.Listener):
    """The names of the functions numba compiles (cache misses) while it is registered."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_start(self, ev: event.Event) -> None:
        self.names.append(ev.data["dispatcher"].py_func.__name__)

    def on_end(self, ev: event.Event) -> None:
        pass


def test_what_the_warmup_compiles_is_all_that_user_calls_ask_for():
    """After the warmup's steps, batches of every layout and dtype, learning rates of any kind
    and every entry point compile nothing more: a program never waits for numba again."""

    for _, step in warmup.STEPS:
        step()
    seen = Compiles()
    with event.install_listener("numba:compile", seen):
        x1, x2, y = Value(0.0), Value(0.0), Value(0.0)
        model = MLP(2, [8, 1], seed=3)
        loss = (1 - y * model([x1, x2])).relu() + 1e-4 * sum(p * p for p in model.parameters())
        step = microgradx.compile(loss, inputs=[x1, x2, y])
        checked = microgradx.compile(loss, inputs=[x1, x2, y], check=True)
        threaded = microgradx.compile(loss, inputs=[x1, x2, y], threads=True)  # numba's threads
        many = np.random.default_rng(1).uniform(-1, 1, (2 * microgradx.Compiled.parallel_rows, 3))
        threaded.forward(many)
        threaded.backward()
        threaded.train_step(many, Adam(model.parameters(), lr=1e-3))
        # epochs of batches of many blocks, over the threads (missing from the warmup until 2026-12-07)
        threaded.fit(many, Adam(model.parameters(), lr=1e-3), epochs=1, batch_size=len(many), verbose=False)
        threaded.fit(many, SGD(model.parameters(), lr=1e-3), 2)
        base = np.random.default_rng(0).uniform(-1, 1, (50, 3))
        batches = [
            base,
            np.asfortranarray(base),
            base[::2],
            np.repeat(base, 2, axis=1)[:, ::2],
            base.astype(np.float32),
            np.rint(base * 3).astype(np.int64),
            base.tolist(),
            base[0],
        ]
        ro = base.copy()
        ro.flags.writeable = False
        batches.append(ro)
        for X in batches:
            step.forward(X)
            step.backward()
            checked.forward(X)
            checked.backward()
            for opt in (SGD(model.parameters(), lr=0.1), Adam(model.parameters(), lr=1)):
                if np.ndim(X) == 2:
                    step.train_step(X, opt)
                    step.fit(X, opt, 3, lr=np.linspace(1, 0.1, 6)[::2])
                    step.fit(X, opt, 2, lr=1)
                    step.fit(X, opt, 2, lr=lambda k: 0.1)
                    labels = (np.asarray(X, dtype=float)[:, 2] > 0).astype(int)
                    step.fit(X, opt, epochs=2, batch_size=16, seed=0, validation=(X, labels), model=model)
                    step.fit(X, opt, epochs=1, batch_size=7, shuffle=False, lr=lambda k: 0.1, verbose=False)
                opt.step()
        # a layer as matrix products (compiler/program.py _kind: 260 rows), every entry point
        wide = MLP(260, [8, 2], seed=1)
        xs = [Value(0.0) for _ in range(260)]
        wide_step = microgradx.compile(Value.sum([o * o for o in wide(xs)]), inputs=xs)
        X = np.random.default_rng(1).uniform(-1, 1, (40, 260))
        wide_step.forward(X)
        wide_step.backward()
        wide_opt = Adam(wide.parameters(), lr=0.01)
        wide_step.train_step(X, wide_opt)
        wide_step.fit(X, wide_opt, 2)
        wide_step.fit(X, wide_opt, epochs=1, batch_size=16, seed=0, verbose=False)
        wide_step.jvp(X, X)
        wide_step.hvp(X[:3], np.ones(len(wide_step.parameters)))
        loss.backward()
        loss.backward(check=True)
        # forward mode and second derivatives run their graphs on the same kernels (modes.py)
        for X in (base, base[0]):
            step.jvp(X, X)
            checked.jvp(X, X)
        step.hvp(base, np.ones(len(step.parameters)))
        step.hessian(base[:5])
        microgradx.hessian(loss, model.parameters()[:4])
        microgradx.compile(microgradx.grad(loss, [x1, x2], create_graph=True), inputs=[x1, x2, y]).forward(
            base
        )
    assert seen.names == []


@pytest.mark.parametrize("bad", ["sometimes", "numba"])
def test_a_bad_mode_is_refused_with_the_choices(monkeypatch, bad):
    monkeypatch.setenv("MICROGRADX_JIT", bad)
    with pytest.raises(ValueError, match=re.escape("use one of background, foreground, off")):
        jit.mode()


def kernel_files() -> list[str]:
    """Every .py file under the package's kernels folder, subfolders too, walked here afresh."""
    return sorted(p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "kernels").rglob("*.py"))


def modules() -> list[str]:
    """Every module of the package, subfolders too (viz and app need graphviz: imported all the same)."""
    return sorted(
        "microgradx." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        for p in PACKAGE.rglob("*.py")
        if p.name != "__main__.py"
    )


def test_every_file_numba_compiles_is_in_the_cache_key():
    """Every module of the package with numba functions, in any folder, sits in kernels/, is in
    cache.SOURCES and keys every one of its functions' caches (it ends with
    cache.key_functions(globals())); what those modules import from the package is in the key
    too. (The old guard globbed the top folder only: after the move it checked nothing.)"""
    assert set(kernel_files()) <= set(cache.SOURCES) and "core/ops.py" in cache.SOURCES
    jitted = set()
    for name in modules():
        module = importlib.import_module(name)
        mine = [
            f
            for f in vars(module).values()
            if isinstance(f, CPUDispatcher) and f.py_func.__module__ == module.__name__
        ]
        if not mine:
            continue
        path = Path(module.__file__).resolve().relative_to(PACKAGE).as_posix()
        jitted.add(path)
        assert path.startswith("kernels/"), f"{path}: numba code lives in the kernels folder, under the key"
        for f in mine:
            assert isinstance(f._cache, cache.KeyedCache), f"{path}: {f.__name__} is not keyed"
        assert (
            (PACKAGE / path)
            .read_text()
            .rstrip()
            .splitlines()[-1]
            .startswith("cache.key_functions(globals())")
        ), path
    assert {"kernels/scalar.py", "kernels/lanes.py", "kernels/tiles.py", "kernels/calls.py"} <= jitted
    for path in jitted:
        tree = ast.parse((PACKAGE / path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = (PACKAGE / path).parent
                for _ in range(node.level - 1):
                    base = base.parent
                target = base.joinpath(*(node.module or "").split(".")) if node.module else base
                files = [target.with_suffix(".py")] if node.module else []
                files += [base / f"{alias.name}.py" for alias in node.names]
                for f in files:
                    if f.exists():
                        assert f.relative_to(PACKAGE).as_posix() in cache.SOURCES, (path, f)


@pytest.mark.parametrize("name", kernel_files() + ["core/ops.py"])
def test_a_change_to_any_kernel_file_changes_the_key(tmp_path, name):
    """Edit any one source of the kernels, in any folder (one comment line more), and the key
    changes: numba then compiles into another folder instead of running stale machine code.
    An unchanged copy of the package, elsewhere, has the same key."""
    copy = tmp_path / "microgradx"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert cache.source_key(copy) == cache.KEY
    with open(copy / name, "a") as f:
        f.write("# a change\n")
    assert cache.source_key(copy) != cache.KEY


def test_a_new_kernel_file_in_a_subfolder_is_in_the_key(tmp_path):
    """A file added to the kernels folder, even in a new subfolder, is a source without a word in
    cache.py: the key changes."""
    copy = tmp_path / "microgradx"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "kernels" / "more").mkdir()
    (copy / "kernels" / "more" / "extra.py").write_text("X = 1\n")
    assert "kernels/more/extra.py" in cache.sources(copy)
    assert cache.source_key(copy) != cache.KEY


def test_functions_of_one_name_and_line_in_two_files_never_share_a_cache_file(tmp_path):
    """numba names a cache file by the file's basename, the function's name and the locator's
    disambiguator, and every kernel file caches into the one key folder: two files named alike
    (kernels/scalar.py and another scalar.py) with a function of the same name on the same line
    would overwrite each other's machine code, were the line alone the disambiguator."""
    made = []
    for package in ("first", "second"):
        path = tmp_path / package / "scalar.py"
        path.parent.mkdir()
        path.write_text("def forward(x):\n    return x\n")
        namespace = {"__name__": f"microgradx.{package}.scalar"}  # (the package's: its locator)
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        made.append(namespace["forward"])
    a, b = (cache.KeyedImpl(f) for f in made)
    assert made[0].__code__.co_firstlineno == made[1].__code__.co_firstlineno
    assert a.locator.get_cache_path() == b.locator.get_cache_path()  # one folder for all
    assert a.filename_base != b.filename_base


def test_background_mode_starts_one_warmup_and_moves_to_numba_once_it_is_done(tmp_path, monkeypatch, capsys):
    """Until the stamp says the kernels are cached: NumPy, and one background `microgradx warmup`
    started (not one a call); once it says so, the numba kernels, within a second."""
    started = []

    class FakePopen:
        pid = 12345

        def __init__(self, args, **kwargs):
            started.append((args, kwargs))

        def poll(self):
            return None  # compiling

    monkeypatch.setenv("MICROGRADX_JIT", "background")
    monkeypatch.setattr(jit, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(jit.subprocess, "Popen", FakePopen)
    for name, value in (
        ("numba", False),
        ("ready", False),
        ("next_look", 0.0),
        ("child", None),
        ("starts", 0),
    ):
        monkeypatch.setattr(jit.State, name, value)
    monkeypatch.setattr(jit.State, "said", set())
    monkeypatch.setattr(jit.State, "given_up", False)
    jit.write_stamp(tmp_path, key=cache.KEY, ready=False)
    tiers = []
    for _ in range(3):
        tiers.append(jit.kernels_now())
        jit.State.next_look = 0.0  # as a second later
    assert tiers == [numpy_calls] * 3
    assert len(started) == 1
    args, kwargs = started[0]
    assert args[1] == "-c" and str(cache.PACKAGE.parent) in args[2]  # the package this process imported
    assert args[3:] == [
        "warmup",
        "--background",
        "--lock-fd",
        str(kwargs["pass_fds"][0]),
        "--package",
        str(cache.PACKAGE),
    ]
    assert kwargs["env"]["MICROGRADX_JIT"] == "foreground" and kwargs["start_new_session"]
    assert "compiling the fast kernels in a background process (12345" in capsys.readouterr().err
    monkeypatch.setattr(jit.State, "child", None)
    jit.write_stamp(tmp_path, key="another version's key", ready=True)
    jit.State.next_look = 0.0
    assert jit.kernels_now() is numpy_calls  # a stamp for other sources is not ours
    jit.write_stamp(tmp_path, key=cache.KEY, ready=True)
    jit.State.next_look = 0.0
    assert jit.kernels_now() is calls and jit.describe() == "numba"


def test_the_warmup_command_compiles_every_kernel_and_marks_the_cache_ready():
    """`microgradx warmup` in a new process (sharing this process's numba cache): a bar to 3/3,
    then the stamp says ready for these sources."""
    environ = {k: v for k, v in os.environ.items() if k != "MICROGRADX_JIT"}
    done = subprocess.run(
        [sys.executable, "-m", "microgradx", "warmup"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(warmup.STEPS)}/{len(warmup.STEPS)}" in done.stderr
    assert re.search(r"all kernels (were )?compiled and cached", done.stderr)
    stamp = jit.read_stamp(jit.cache_dir())
    assert stamp["ready"] is True and stamp["key"] == cache.KEY == cache.source_key()


def test_a_bad_mode_is_refused_at_import_not_at_the_first_call():
    environ = dict(os.environ, MICROGRADX_JIT="sometimes")
    done = subprocess.run(
        [sys.executable, "-c", "import microgradx"], capture_output=True, text=True, env=environ
    )
    assert done.returncode != 0
    assert "MICROGRADX_JIT='sometimes': use one of background, foreground, off" in done.stderr


def test_warmup_counts_its_seconds_from_the_lock_not_the_wait_for_another_compile(monkeypatch):
    """`microgradx warmup` started while another process compiles waits for its lock ("waiting for
    process N"), then finds everything cached: it said "checked in 60.8 s", the wait included."""

    @contextlib.contextmanager
    def slow_lock(fd=None):  # another process's compile holds the lock for a while
        time.sleep(1.0)
        yield

    monkeypatch.setattr(jit, "Lock", slow_lock)
    monkeypatch.setattr(jit, "mark_ready", lambda: None)  # nothing compiled here: leave the stamp alone
    monkeypatch.setattr(warmup, "STEPS", [("nothing", lambda: None)])
    seconds, compiled = warmup.warmup(io.StringIO())
    assert compiled == 0
    assert seconds < 0.5, seconds


def test_the_warmup_log_says_how_far_a_long_step_has_got():
    """In a log (not a terminal) the bar wrote a line a finished step only: a new user watching the
    background compile's log saw "1/2 scalar sweeps" for 85 s and thought it stuck."""
    log = io.StringIO()
    progress = warmup.Progress(log, every=0.0)
    progress.name = "compiled graphs"
    progress.show("")
    for function in (calls.run_forward, calls.train_steps):
        progress.on_start(event.Event("numba:compile", event.EventStatus.START, {"dispatcher": function}))
    lines = log.getvalue().splitlines()
    assert lines == [
        "    compiled graphs: 1 function compiled so far, now run_forward",
        "    compiled graphs: 2 functions compiled so far, now train_steps",
    ]


def test_numba_compiling_the_users_own_functions_is_left_alone():
    """microgradx listens to every numba compile in the process (its notice, jit.CompileNotice):
    the user's own njit functions compile and run, one made by exec too (its __module__ is None:
    the listener's `func.__module__.startswith` raised AttributeError inside numba's compile)."""
    import numba

    namespace: dict = {}
    exec("def plus_one(x):\n    return x + 1\n", namespace)
    assert namespace["plus_one"].__module__ is None
    assert numba.njit(namespace["plus_one"])(41) == 42
    assert numba.njit(lambda x: 2 * x)(21) == 42
