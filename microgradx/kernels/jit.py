"""When the numba kernels are compiled, and what runs until they are.

numba compiles the kernels (this folder) the first time a process needs them and keeps
the machine code in its on-disk cache (`cache=True`): tens of seconds on a 2-core machine, once
per machine and version; a later process loads the code in a fraction of a second.
So that a first run does not sit silent through that, the choice is set by the
environment variable MICROGRADX_JIT:

    background (the default)  until the cache holds the numba kernels, compiled graphs
                              run on numpy_calls.py (calls.py's entry points in NumPy,
                              nothing to compile) and Value.backward() on the Python
                              reference sweep, while one background process
                              (`microgradx warmup --background`) compiles the kernels
                              into the cache; a running program moves to them as soon
                              as they are there
    foreground                compile at the first call and wait (the tests do this)
    off                       never compile: NumPy and the Python sweeps only

`microgradx warmup` compiles every kernel ahead of time, for container images and CI.

The stamp in the numba cache's folder for these sources (cache.py) says whether every
kernel is there; the background warmup writes it when it is done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from numba.core import event

from . import cache, calls, numpy_calls

MODES = ("background", "foreground", "off")
COMPILE_SECONDS = 40  # all the kernels, on this project's 2-core machines (benchmarks/coldstart.py)
STAMP = "microgradx-jit.json"  # in the cache's folder: whether the kernels are all there
LOCK = "microgradx-warmup.lock"  # held by the one background warmup


def mode() -> str:
    """MICROGRADX_JIT, checked: one of MODES."""
    value = os.environ.get("MICROGRADX_JIT", "background").strip().lower() or "background"
    if value not in MODES:
        raise ValueError(f"MICROGRADX_JIT={value!r}: use one of {', '.join(MODES)}")
    return value


def cache_dir() -> Path:
    """The folder where numba caches the kernels of these sources (see cache.py)."""
    return cache.folder()


def read_stamp(folder: Path) -> dict:
    try:
        stamp = json.loads((folder / STAMP).read_text())
        return stamp if isinstance(stamp, dict) else {}
    except (OSError, ValueError):
        return {}


def write_stamp(folder: Path, **fields: object) -> None:
    """Write the stamp atomically (a reader never sees half of it)."""
    tmp = folder / f"{STAMP}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(fields))
        os.replace(tmp, folder / STAMP)
    except OSError:
        pass  # a read-only cache: numba cannot keep kernels there either


class State:
    """What this process knows: whether the kernels are in the cache, whether it runs them, and
    the warmup it started."""

    ready = False
    numba = False  # once True, every call runs the numba kernels
    said = False  # the one message on stderr
    next_look = 0.0  # when to look at the stamp again
    looked = False  # for a warmup: started one, or found one running, or found it failed
    child: subprocess.Popen | None = None  # the warmup this process started


def ready() -> bool:
    """Whether the numba kernels are compiled and cached (looked up at most once a second)."""
    if State.ready:
        return True
    now = time.monotonic()
    if now >= State.next_look:
        State.next_look = now + 1.0
        stamp = read_stamp(cache_dir())
        State.ready = stamp.get("ready") is True and stamp.get("key") == cache.KEY
    return State.ready


def compiled() -> bool:
    """Whether this call should run the numba kernels (see MICROGRADX_JIT): in the foreground
    mode always, in the background mode once they are in the cache, in the off mode never."""
    if not State.numba:
        m = mode()
        State.numba = m == "foreground" or (m == "background" and ready())
        if m == "background" and not State.numba:
            start_warmup()
    return State.numba


def kernels_now() -> ModuleType:
    """The entry points to call now: calls (numba) or numpy_calls, the same functions in NumPy."""
    return calls if State.numba or compiled() else numpy_calls


def describe() -> str:
    """What compiled graphs run on now, in a few words (for progress bars and reports)."""
    if State.numba:
        return "numba"
    return "NumPy, MICROGRADX_JIT=off" if mode() == "off" else "NumPy while numba compiles"


def say(message: str) -> None:
    """One line on stderr, once per process."""
    if not State.said:
        State.said = True
        print(f"microgradx: {message}", file=sys.stderr, flush=True)


def warmup_running() -> int:
    """The pid of a live process holding the warmup's lock (taken within 30 minutes), or 0."""
    lock = cache_dir() / LOCK
    try:
        pid = int(lock.read_text().split()[0])
        os.kill(pid, 0)  # raises if there is no such process
        return pid if time.time() - lock.stat().st_mtime < 30 * 60 else 0
    except (OSError, ValueError, IndexError):
        return 0  # no lock, or its process is gone


def start_warmup() -> None:
    """Start the background warmup, unless one (of any process) is already running."""
    if State.looked:
        return
    State.looked = True
    folder = cache_dir()
    pid = warmup_running()
    if pid:
        say(
            f"numba is compiling the fast kernels in another process (about {COMPILE_SECONDS} s, once "
            "per machine); until it is done, compiled graphs run on NumPy, a hundred to a few hundred "
            "times slower."
        )
        return
    if read_stamp(folder).get("failed") == cache.KEY:
        say(
            f"compiling the numba kernels failed before ({folder / 'microgradx-warmup.log'}): "
            "running on NumPy. `microgradx warmup` tries again and shows the error."
        )
        return
    env = dict(os.environ, MICROGRADX_JIT="foreground")
    try:
        log = open(folder / "microgradx-warmup.log", "w")  # noqa: SIM115 (the child writes it)
        State.child = subprocess.Popen(
            [sys.executable, "-m", "microgradx", "warmup", "--background"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,  # a Ctrl-C in the terminal ends the user's program, not the compiling
        )  # fmt: skip
        log.close()
    except OSError as e:
        say(f"could not start compiling the numba kernels ({e}): running on NumPy.")
        return
    say(
        f"numba is compiling the fast kernels in a background process (about {COMPILE_SECONDS} s, once per "
        "machine). Until it is done, compiled graphs run on NumPy (a hundred to a few hundred times slower "
        "a step) and Value.backward() on the Python sweep, and they move to numba as soon as it is. "
        "`microgradx warmup` compiles and waits; MICROGRADX_JIT=foreground makes the first call wait."
    )


class Lock:
    """The warmup's lock file: taken for as long as the compiling goes on."""

    def __init__(self) -> None:
        self.path = cache_dir() / LOCK

    def __enter__(self) -> Lock:
        try:
            self.path.write_text(f"{os.getpid()}\n")
        except OSError:
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.path.read_text().split()[0] == str(os.getpid()):
                self.path.unlink()
        except (OSError, IndexError):
            pass


def mark_ready() -> None:
    """Say in the stamp that every kernel is in the cache (the warmup's last step)."""
    write_stamp(cache_dir(), key=cache.KEY, ready=True)
    State.ready = True
    cache.remove_other_versions()


def mark_failed() -> None:
    """Say in the stamp that compiling failed, so that later processes do not start it again."""
    write_stamp(cache_dir(), key=cache.KEY, ready=False, failed=cache.KEY)


class CompileNotice(event.Listener):
    """Says once on stderr when numba starts compiling one of microgradx's functions in the
    foreground (a cache miss: loading from the cache sends no such event)."""

    quiet = False  # the warmup shows its own progress

    def on_start(self, ev: event.Event) -> None:
        func = ev.data["dispatcher"].py_func
        if not CompileNotice.quiet and func.__module__.startswith(__package__ + "."):
            say(
                f"numba is compiling microgradx's kernels, {func.__name__} first: about {COMPILE_SECONDS} s "
                "for all, once per machine, with nothing printed meanwhile (`microgradx warmup` compiles "
                "them ahead of time, with a progress bar)."
            )

    def on_end(self, ev: event.Event) -> None:
        pass


mode()  # a bad MICROGRADX_JIT is refused at import, naming the choices, not at the first call
event.register("numba:compile", CompileNotice())
