"""The first run on a machine (issue 20): one compile per machine, importable anywhere, a cache
built ahead of time that serves every user read-only, the compile building the very package a
program imported, forks, and the same sums on every tier.

The tests that need a whole compile share one: `built`, eight programs started together on an
empty cache, whose one background compile fills the cache the later tests read."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.kernels import cache, jit, numpy_calls

PACKAGE = Path(microgradx.__file__).resolve().parent
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("MICROGRADX_", "NUMBA_"))}
ENV.pop("PYTHONPATH", None)

TRAIN = """
import json, sys
sys.path.insert(0, sys.argv[1])  # the package under test, imported from its own folder
import numpy as np
from numba.core import event
compiled = []
class Seen(event.Listener):
    def on_start(self, ev): compiled.append(ev.data["dispatcher"].py_func.__name__)
    def on_end(self, ev): pass
event.register("numba:compile", Seen())
import microgradx
from microgradx import Value
from microgradx.datasets import make_moons
from microgradx.nn import MLP
from microgradx.optim import SGD
X, labels = make_moons(50, noise=0.1, seed=1)
model = MLP(2, [16, 16, 1], seed=0)
xs = [Value(0.0), Value(0.0)]; y = Value(0.0)
loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
step = microgradx.compile(loss, inputs=xs + [y])
opt = SGD(model.parameters(), lr=0.5)
XY = np.column_stack([X, labels * 2.0 - 1.0])
losses = [float(step.train_step(XY, opt)) for _ in range(int(sys.argv[2]))]
jit = microgradx.kernels.jit
print(json.dumps({"losses": losses, "tier": jit.describe(), "compiled": compiled,
                  "file": microgradx.__file__, "child": getattr(jit.State.child, "pid", None)}))
"""


def public_dir() -> Path:
    """A temporary folder every user can read (pytest's are root's own)."""
    where = Path(tempfile.mkdtemp(prefix="microgradx-first-run-"))
    where.chmod(0o755)
    return where


def copy_package(root: Path) -> Path:
    """A copy of the package in root/microgradx (root is what goes on sys.path)."""
    shutil.copytree(PACKAGE, root / "microgradx", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def run(
    src: Path,
    steps: int,
    cwd: Path,
    user: str | None = None,
    python: tuple = (sys.executable, {}),
    **env: str,
) -> subprocess.Popen:
    """Start the moons training (TRAIN) importing the package from src, in a new process (as
    `user`, with `python`: an interpreter and what it needs in the environment)."""
    environ = dict(ENV, **python[1], **env)
    command = [python[0], "-c", TRAIN, str(src), str(steps)]
    if user:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--", *command]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ, cwd=cwd
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, timeout: float = 1200) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still running after {timeout} s"
        time.sleep(0.5)


def key_folder(cache_root: Path) -> Path:
    (folder,) = cache_root.rglob(cache.PREFIX + cache.KEY[:16])
    return folder


@pytest.fixture(scope="module")
def built():
    """Eight programs started together on an empty cache, each importing a copy of the package
    from its own folder (not the installed one), from another working directory: what they
    printed, and the cache their one background compile filled."""
    where = public_dir()
    src, cache_root, cwd = copy_package(where / "src"), where / "cache", where / "elsewhere"
    cwd.mkdir()
    procs = [run(src, 3, cwd, MICROGRADX_JIT="background", NUMBA_CACHE_DIR=str(cache_root)) for _ in range(8)]
    results = [finish(p) for p in procs]
    starters = [r for r in results if "in a background process" in r[1]]
    assert len(starters) == 1, [err for _, err in results]
    child = starters[0][0]["child"]
    wait_gone(child)
    yield where, src, cache_root, results, child
    shutil.rmtree(where, ignore_errors=True)


def test_eight_programs_started_together_make_one_compile_and_the_same_losses(built):
    """Before the fix each of the eight took the lock it had read free and started its own compile;
    and the compile ran `python -m microgradx` on the parent's path, so it compiled the installed
    package, not this copy, and the copy's cache never became ready."""
    where, src, cache_root, results, child = built
    losses = {tuple(r["losses"]) for r, _ in results}
    assert len(losses) == 1  # all on NumPy, the same numbers
    assert all(r["tier"] == "NumPy while numba compiles" and r["compiled"] == [] for r, _ in results)
    assert all(r["file"] == str(src / "microgradx" / "__init__.py") for r, _ in results)
    others = [err for _, err in results if "in another process" in err]
    assert len(others) == 7
    starter = next(err for _, err in results if "in a background process" in err)
    assert f"numba goes on compiling the kernels in process {child}" in starter  # said at exit
    folder = key_folder(cache_root)
    assert cache.read_stamp(folder) == {"key": cache.KEY, "ready": True}
    log = (folder / jit.LOG).read_text()
    assert (
        f"compiling the kernels of {src / 'microgradx'}" in log and "all kernels compiled and cached" in log
    )
    assert not alive(child)  # nothing left running
    # the next program runs on numba from its first call, compiling nothing
    again, err = finish(run(src, 2, where, MICROGRADX_JIT="background", NUMBA_CACHE_DIR=str(cache_root)))
    assert again["tier"] == "numba" and again["compiled"] == [] and err == ""
    assert np.allclose(again["losses"], results[0][0]["losses"][:2], rtol=1e-12, atol=0)


def test_the_compile_gives_each_kernel_one_signature_but_threads(built):
    """numba compiles a function once for each set of argument types it is called with, and links
    the code of all it calls into every caller again: the cache the one compile filled holds one
    of each kernel (a file a signature), two of those taking `threads` (None or True,
    kernels/chunks.py). Before the fix it held two of Adam's update: uint32 indices from the fused
    steps and int64 ones from Optimizer.step."""
    counts = Counter(f.name.split("-")[0] for f in key_folder(built[2]).rglob("*.nbc"))
    assert counts["matmul.product_into"] == counts["updates.adam_update"] == 1
    more = {}
    for name, n in counts.items():
        module, function = name.split(".")
        f = getattr(importlib.import_module(f"microgradx.kernels.{module}"), function)
        if n > (2 if "threads" in inspect.signature(f.py_func).parameters else 1):
            more[name] = n
    assert more == {}


def test_an_interrupted_compile_is_started_again_by_the_next_program():
    """SIGINT to the background compile: before the fix it wrote "compiling failed" in the
    stamp, and every later program ran on NumPy for good, pointing at a log that did not exist."""
    where = public_dir()
    try:
        cache_root = where / "cache"
        first, err = finish(
            run(PACKAGE.parent, 1, where, MICROGRADX_JIT="background", NUMBA_CACHE_DIR=str(cache_root))
        )
        child = first["child"]
        assert child and "in a background process" in err
        folder = key_folder(cache_root)
        deadline = time.monotonic() + 120
        while "compiling what is not yet cached" not in (folder / jit.LOG).read_text():
            assert time.monotonic() < deadline
            time.sleep(0.2)
        os.kill(child, signal.SIGINT)
        wait_gone(child, 60)
        assert "failed" not in cache.read_stamp(folder)
        assert "interrupted" in (folder / jit.LOG).read_text()
        second, err = finish(
            run(PACKAGE.parent, 1, where, MICROGRADX_JIT="background", NUMBA_CACHE_DIR=str(cache_root))
        )
        assert "in a background process" in err and "failed" not in err
        os.killpg(second["child"], signal.SIGTERM)
        wait_gone(second["child"], 60)
    finally:
        shutil.rmtree(where, ignore_errors=True)


WATCH = """
import sys, os, signal, time
import numpy as np
import microgradx
from microgradx.kernels import jit
x = microgradx.Value(0.0); p = microgradx.Value(1.0)
step = microgradx.compile(x * p, inputs=[x])
def call():
    jit.State.next_look = 0.0  # look now, not in a second
    step.forward(np.ones((3, 1)))
call()
for kill in range(2):
    pid = jit.State.child.pid
    os.kill(pid, signal.SIGKILL)
    while jit.State.child.poll() is None:
        time.sleep(0.05)
    call()
print(jit.describe(), jit.State.starts)
"""


def test_a_compile_that_dies_is_noticed_started_again_once_then_said(tmp_path):
    """Before the fix a program whose compile was killed stayed on NumPy without a word."""
    env = dict(ENV, MICROGRADX_JIT="background", NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", WATCH], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["NumPy", "2"]
    assert "ended before the kernels were all compiled" in done.stderr and "starting it again" in done.stderr
    assert (
        "ended again before the kernels were all compiled" in done.stderr
        and "running on NumPy" in done.stderr
    )


def test_a_lock_file_naming_a_live_unrelated_process_is_no_running_compile(tmp_path, monkeypatch):
    """A kept cache in a restarted container: its lock file names a pid that now belongs to
    another process. Before the fix that counted as a compile for 30 minutes, and `microgradx
    warmup` waited on it; the flock dies with the process that held it."""
    monkeypatch.setattr(jit, "cache_dir", lambda: tmp_path)
    (tmp_path / jit.LOCK).write_text(f"{os.getppid()}\n")  # alive, and compiling nothing
    assert jit.warmup_running() == 0
    fd = jit.take_lock(tmp_path)
    try:
        assert fd is not None and jit.warmup_running() == os.getpid()
        assert jit.take_lock(tmp_path) is None  # one holder at a time
    finally:
        os.close(fd)
    assert jit.warmup_running() == 0


def test_a_full_cache_disk_is_said_instead_of_starting_a_compile(tmp_path, monkeypatch, capsys):
    """Before the fix every process started a compile that died at once on a full disk, saying
    "compiling, about 40 s"."""
    started = []
    monkeypatch.setattr(jit, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(jit, "free_bytes", lambda folder: 1 << 20)
    monkeypatch.setattr(jit, "start_child", lambda folder, fd: started.append(fd))
    monkeypatch.setattr(jit.State, "given_up", False)
    monkeypatch.setattr(jit.State, "child", None)
    monkeypatch.setattr(jit.State, "said", set())
    jit.tend_warmup()
    assert started == [] and jit.State.given_up
    err = capsys.readouterr().err
    assert (
        "the disk holding numba's cache is full (1 MiB free" in err and "compiling" not in err.split(":")[1]
    )


def test_a_full_disk_while_numba_saves_leaves_the_kernel_in_memory(monkeypatch, capsys):
    """Foreground mode: before the fix numba's OSError [Errno 28] reached the user's call."""
    import errno

    from numba import njit
    from numba.core import caching

    def full(self, sig, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(caching.FunctionCache, "save_overload", full)
    monkeypatch.setattr(cache.KeyedLocator, "can_write", True)
    monkeypatch.setattr(cache.KeyedLocator, "why", "")

    def twice(x):
        return 2.0 * x

    twice.__module__ = "microgradx.test_only"
    jitted = njit(cache=True)(twice)
    cache.key_functions({"__name__": "microgradx.test_only", "twice": jitted})
    assert jitted(1.5) == 3.0
    assert not cache.KeyedLocator.can_write
    assert "the disk holding numba's cache is full" in capsys.readouterr().err


def test_only_folders_of_versions_unused_for_long_are_removed(tmp_path, monkeypatch):
    """Before the fix a warmup deleted every other key's folder: another venv's (another numba)
    live kernels too, which then compiled again at its next run."""
    here = tmp_path / (cache.PREFIX + cache.KEY[:16])
    live, dead = tmp_path / (cache.PREFIX + "0" * 16), tmp_path / (cache.PREFIX + "1" * 16)
    for folder in (here, live, dead):
        folder.mkdir()
        (folder / cache.STAMP).write_text("{}")
    old = time.time() - (cache.KEEP_DAYS + 1) * 24 * 3600
    for p in (dead, dead / cache.STAMP):
        os.utime(p, (old, old))
    monkeypatch.setattr(cache.KeyedLocator, "folder", here)
    assert cache.remove_other_versions() == [dead]
    assert here.is_dir() and live.is_dir() and not dead.exists()


def have_users() -> bool:
    return os.geteuid() == 0 and shutil.which("useradd") is not None and shutil.which("setpriv") is not None


USER = "microgradx-test"


@pytest.fixture(scope="module")
def user():
    if not have_users():
        pytest.skip("needs root, useradd and setpriv to run as another user")
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", USER], check=True)
    return USER


VERSION = "import sys; print(sys.version)"


def shared_python(user: str) -> tuple[str, dict]:
    """An interpreter that root and `user` both run as the same Python (the cache's key holds
    sys.version): this one, unless the user gets another (an interpreter under root's 0700
    home links the system's libpython for them); then the system's, on this one's packages."""

    def version(command: list[str], env: dict) -> str:
        done = subprocess.run([*command, "-c", VERSION], capture_output=True, text=True, env=dict(ENV, **env))
        return done.stdout.strip()

    as_user = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--"]
    theirs = version([*as_user, sys.executable], {})
    if theirs == sys.version:
        return sys.executable, {}
    site = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p.endswith("site-packages"))}
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).exists() and version([candidate], site) == theirs == version(
            [*as_user, candidate], site
        ):
            return candidate, site
    pytest.skip(f"no Python that root and {user} both run as the same version (theirs: {theirs})")


def read_only(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(
            mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
            | stat.S_IROTH
            | (stat.S_IXOTH if p.is_dir() else 0)
        )


def test_a_read_only_install_imports_and_trains_for_a_user_whose_home_is_not_writable(user):
    """Before the fix `import microgradx` raised "cannot cache function 'sigmoid': no locator
    available", even with MICROGRADX_JIT=off."""
    where = public_dir()
    try:
        src = copy_package(where / "src")
        read_only(src)
        env = {"HOME": "/nonexistent", "XDG_CACHE_HOME": "/nonexistent/.cache"}
        off, _ = finish(run(src, 2, where, user, MICROGRADX_JIT="off", **env))
        background, err = finish(run(src, 2, where, user, MICROGRADX_JIT="background", **env))
        assert off["tier"] == "NumPy, MICROGRADX_JIT=off" and background["tier"] == "NumPy"
        assert background["losses"] == off["losses"] and background["child"] is None
        assert "no writable folder for numba's cache" in err and "NUMBA_CACHE_DIR" in err
        lecture = (
            f"import sys; sys.path.insert(0, {str(src)!r}); from microgradx import Value\n"
            "u, v, w = Value(2.0), Value(3.0), Value(4.0); f = (u + v) * w; f.backward(engine='numba')\n"
            "print(f.data, u.grad, w.grad)"
        )
        command = [
            "setpriv",
            f"--reuid={user}",
            f"--regid={user}",
            "--clear-groups",
            "--",
            sys.executable,
            "-c",
        ]
        done = subprocess.run(
            [*command, lecture], capture_output=True, text=True,
            env=dict(ENV, MICROGRADX_JIT="foreground", **env),
            cwd=where, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["20.0", "4.0", "5.0"]
        assert "in memory, for this process only" in done.stderr
    finally:
        shutil.rmtree(where, ignore_errors=True)


WARMUP = "import sys; sys.path.insert(0, {src!r}); from microgradx.app.cli import main; sys.exit(main())"


def test_a_cache_built_by_root_serves_another_user_read_only_with_no_compile(built, user):
    """An image: root installs the package and runs `microgradx warmup`; the container runs as
    another user, with the install read-only and no writable home. Before the fix numba ignored
    the read-only cache and every start compiled anew in the background."""
    where, _, cache_root, results, _ = built
    python = shared_python(user)
    image = public_dir()
    try:
        src = copy_package(image / "src")
        if python[0] == sys.executable:  # the kernels compiled already, for this Python: warmup loads them
            shutil.copytree(
                key_folder(cache_root), src / "microgradx" / "__pycache__" / key_folder(cache_root).name
            )
            (src / "microgradx" / "__pycache__" / key_folder(cache_root).name / cache.STAMP).unlink()
        warm = subprocess.run(
            [python[0], "-c", WARMUP.format(src=str(src)), "warmup"],
            capture_output=True, text=True, env=dict(ENV, **python[1]), cwd=image, timeout=1800,
        )  # fmt: skip
        assert warm.returncode == 0, warm.stderr
        assert "__pycache__" in warm.stderr  # the cache beside the installed package
        read_only(src)
        env = {
            "HOME": "/nonexistent",
            "XDG_CACHE_HOME": "/nonexistent/.cache",
            "MICROGRADX_JIT": "background",
        }
        served, err = finish(run(src, 3, image, user, python, **env))
        assert served["tier"] == "numba" and served["compiled"] == [] and served["child"] is None, err
        assert err == ""
        assert np.allclose(served["losses"], results[0][0]["losses"], rtol=1e-12, atol=0)
    finally:
        shutil.rmtree(image, ignore_errors=True)


DISABLED = """
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import microgradx
from microgradx import Value
from microgradx.datasets import make_moons
from microgradx.nn import MLP
from microgradx.optim import Adam
X, labels = make_moons(40, noise=0.1, seed=1)
model = MLP(2, [16, 16, 1], seed=0)
xs = [Value(0.0), Value(0.0)]; y = Value(0.0)
loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
step = microgradx.compile(loss, inputs=xs + [y])
opt = Adam(model.parameters(), lr=0.05)
XY = np.column_stack([X, labels * 2.0 - 1.0])
losses = [float(step.train_step(XY, opt)) for _ in range(int(sys.argv[2]))]
loss.backward()
print(json.dumps({"losses": losses, "tier": microgradx.kernels.jit.describe()}))
"""


def test_numba_disable_jit_trains_the_moons_on_plain_python_kernels():
    """numba's debugging switch: before the fix the import failed ('function' object has no
    attribute 'py_func'). The plain Python kernels train as the compiled ones do."""
    outs = []
    for env in ({"NUMBA_DISABLE_JIT": "1"}, {}):
        done = subprocess.run(
            [sys.executable, "-c", DISABLED, str(PACKAGE.parent), "15"], capture_output=True, text=True,
            env=dict(os.environ, MICROGRADX_JIT="foreground", **env), timeout=900,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    python, compiled = outs
    assert python["tier"] == "Python kernels, NUMBA_DISABLE_JIT=1" and compiled["tier"] == "numba"
    np.testing.assert_allclose(python["losses"], compiled["losses"], rtol=1e-12, atol=0)


FORK = """
import os, sys, threading, multiprocessing as mp
import numpy as np
import microgradx
from microgradx.nn import MLP
from microgradx.optim import SGD
xs = [microgradx.Value(0.0), microgradx.Value(0.0)]
model = MLP(2, [8, 1], seed=0)
loss = model(xs) ** 2
step = microgradx.compile(loss, inputs=xs, threads=sys.argv[1] == "threads")
X = np.random.default_rng(0).uniform(-1, 1, (2 * microgradx.Compiled.parallel_rows, 2))
opt = SGD(model.parameters(), lr=1e-3)
step.train_step(X, opt)  # numba's threads are running now, if threads
held = threading.Event(); done = threading.Event()
def hold():  # a thread inside a compiled call that holds the store's lock at the fork
    with step.store.lock:
        held.set()
        done.wait()
threading.Thread(target=hold).start()
held.wait()
def work(k):
    return float(step.train_step(X, opt))
with mp.get_context("fork").Pool(2) as pool:
    print(len(pool.map(work, range(2))))
done.set()
"""


@pytest.mark.parametrize("threads", ["one thread", "threads"])
def test_a_fork_while_another_thread_is_in_a_compiled_call_does_not_hang(threads):
    """Before the fix the child's store lock stayed held (3 of 3 hung), and with threads=True
    GNU OpenMP's fork check killed the children (Pool.map never returned)."""
    done = subprocess.run(
        [sys.executable, "-c", FORK, threads], capture_output=True, text=True,
        env=dict(os.environ, MICROGRADX_JIT="foreground"), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2"]


def sums(numpy_tier: bool, monkeypatch) -> None:
    """x·1e-20 + p + q, a bias before the products (micrograd's neurons), and a layer of four
    neurons run as tiles: each compiled forward equals Value.data, whose order is the graph's."""
    if numpy_tier:
        monkeypatch.setattr(jit, "kernels_now", lambda: numpy_calls)
    x, p, q = Value(1.0), Value(1.0), Value(-1.0)
    f = x * 1e-20 + p + q
    assert f.data == 0.0 and microgradx.compile(f, inputs=[x]).forward(np.ones((3, 1))).tolist() == [0.0] * 3
    b, x1, x2 = Value(-1.0), Value(1.0), Value(1.0)
    g = sum((w * xi for w, xi in zip([Value(1.0), Value(1e-20)], [x1, x2])), b)  # micrograd's Neuron
    assert (
        g.data == 1e-20
        and microgradx.compile(g, inputs=[x1, x2]).forward(np.ones((2, 2))).tolist() == [1e-20] * 2
    )
    rows = [Value(1.0) for _ in range(8)]
    weights = [1.0, 0.0, 0.0, 0.0, 1e-20, 0.0, 0.0, 0.0]
    neurons = [(Value.dot([Value(w) for w in weights], rows) + Value(-1.0)).relu() for _ in range(4)]
    out = neurons[0] + neurons[1] + neurons[2] + neurons[3]  # relu(1e-20) would be 1e-20
    step = microgradx.compile(out, inputs=rows)
    assert step.split.vcode[:, 7].any() or numpy_tier  # tiles
    assert out.data == 0.0 and step.forward(np.ones((5, 8))).tolist() == [0.0] * 5


def test_an_optimised_sum_adds_in_the_graphs_order_on_numba(monkeypatch):
    """Before the fix numba's DOT added its uniform pairs first: x·1e-20 + p + q gave 1e-20."""
    sums(False, monkeypatch)


def test_an_optimised_sum_adds_in_the_graphs_order_on_numpy(monkeypatch):
    """Before the fix the NumPy tier added a leading bias after the products: 0, not 1e-20."""
    sums(True, monkeypatch)
