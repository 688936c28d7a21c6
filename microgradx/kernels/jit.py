"""When the numba kernels are compiled, and what runs until they are.

numba compiles the kernels (this folder) the first time a process needs them and keeps
the machine code in its on-disk cache (`cache=True`, see cache.py): tens of seconds on a 2-core
machine, once per machine and version; a later process loads the code in a fraction
of a second. So that a first run does not sit silent through that, the choice is set
by the environment variable MICROGRADX_JIT:

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
Under numba's own NUMBA_DISABLE_JIT=1 the kernels are plain Python functions, run as
they are in every mode.

One compile per machine: the process that decides to compile takes a file lock
(flock) in the cache's folder before it starts the background process, which inherits
it and holds it until it ends; the kernel lets go of the lock of a process that dies,
so a lock is never stale. A program watches the compile it started (or found running):
if it ends without the kernels (killed, interrupted), the program starts it again,
once; an interrupt is not a failure. The stamp in the key's folder (cache.py) says
whether every kernel is there; the warmup writes it when it is done.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numba
from numba.core import event

from . import cache, calls, numpy_calls

try:
    import fcntl
except ImportError:  # Windows: no flock; one compile per machine is not enforced there
    fcntl = None

MODES = ("background", "foreground", "off")
COMPILE_SECONDS = 90  # all the kernels on the project's 2-core machines (cold warmups, Dec. 2026: 84-104 s)
STAMP = cache.STAMP  # in the cache's folder: whether the kernels are all there
LOCK = "microgradx-warmup.lock"  # flock-ed by the one process compiling; holds its pid
LOG = "microgradx-warmup.log"  # what the background compile did
NEEDS_BYTES = 32 << 20  # free space the compiled kernels need, with room to spare (about 8 MiB)
STARTS = 2  # background compiles one program starts at most: the first and one more


def mode() -> str:
    """MICROGRADX_JIT, checked: one of MODES."""
    value = os.environ.get("MICROGRADX_JIT", "background").strip().lower() or "background"
    if value not in MODES:
        raise ValueError(f"MICROGRADX_JIT={value!r}: use one of {', '.join(MODES)}")
    return value


def cache_dir() -> Path | None:
    """The folder where numba caches the kernels of these sources (see cache.py); None if it has
    none (cache.KeyedLocator.why says why)."""
    return cache.folder()


read_stamp = cache.read_stamp


def write_stamp(folder: Path, **fields: object) -> None:
    """Write the stamp atomically (a reader never sees half of it)."""
    tmp = folder / f"{STAMP}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(fields))
        os.replace(tmp, folder / STAMP)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only or full cache: said where it matters


class State:
    """What this process knows: whether the kernels are in the cache, whether it runs them, and
    the warmup it started."""

    ready = False
    numba = False  # once True, every call runs the numba kernels
    said: set[str] = set()  # the messages on stderr, each said once
    next_look = 0.0  # when to look at the stamp and the compile again
    child: subprocess.Popen | None = None  # the warmup this process started, while it runs
    starts = 0  # how many this process started
    given_up = False  # no more compiling from this process: NumPy for the rest of the run


def ready() -> bool:
    """Whether the numba kernels are compiled and cached (looked up at most once a second)."""
    if State.ready:
        return True
    now = time.monotonic()
    if now >= State.next_look:
        State.next_look = now + 1.0
        State.ready = stamp_ready()
    return State.ready


def stamp_ready() -> bool:
    folder = cache_dir()
    if folder is None:
        return False
    stamp = read_stamp(folder)
    if stamp.get("ready") is True and stamp.get("key") == cache.KEY:
        cache.touch(folder)
        return True
    return False


def compiled() -> bool:
    """Whether this call should run the numba kernels (see MICROGRADX_JIT): in the foreground
    mode always, in the background mode once they are in the cache, in the off mode never
    (under NUMBA_DISABLE_JIT=1 the kernels are plain Python: always)."""
    if not State.numba:
        m = mode()
        if m == "foreground" or numba.config.DISABLE_JIT:
            State.numba = True
        elif m == "background":
            look = time.monotonic() >= State.next_look
            State.numba = ready()
            if look and not State.numba:
                tend_warmup()
    return State.numba


def kernels_now() -> ModuleType:
    """The entry points to call now: calls (numba) or numpy_calls, the same functions in NumPy."""
    return calls if State.numba or compiled() else numpy_calls


def describe() -> str:
    """What compiled graphs run on now, in a few words (for progress bars and reports)."""
    if numba.config.DISABLE_JIT:
        return "Python kernels, NUMBA_DISABLE_JIT=1"
    if State.numba:
        return "numba"
    if mode() == "off":
        return "NumPy, MICROGRADX_JIT=off"
    return "NumPy" if State.given_up or cache_dir() is None else "NumPy while numba compiles"


def say(message: str, kind: str = "") -> None:
    """One line on stderr, once per process for each kind of message."""
    if kind not in State.said:
        State.said.add(kind)
        print(f"microgradx: {message}", file=sys.stderr, flush=True)


def log_tail(folder: Path) -> str:
    """The background compile's last line of log, or ''."""
    try:
        lines = (folder / LOG).read_text(errors="replace").strip().splitlines()
        return lines[-1].strip() if lines else ""
    except OSError:
        return ""


def holder(folder: Path) -> int:
    """The pid of the process compiling into `folder` (holding its lock), 0 if none, -1 if one
    holds it but its pid is not written yet."""
    try:
        fd = os.open(folder / LOCK, os.O_RDONLY)
    except OSError:
        return 0  # no lock file: nobody ever compiled here
    if fcntl is None:
        os.close(fd)
        return 0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return 0  # nobody holds it
        except BlockingIOError:
            text = os.pread(fd, 64, 0).split()
            return int(text[0]) if text and text[0].isdigit() else -1
    finally:
        os.close(fd)


def warmup_running() -> int:
    """The pid of the process compiling the kernels (holding the warmup's lock), or 0."""
    folder = cache_dir()
    return holder(folder) if folder is not None else 0


def take_lock(folder: Path, wait: bool = False) -> int | None:
    """Open and flock the warmup's lock in `folder`: the file descriptor holding it, or None if
    another process holds it (wait=False) or it cannot be made (a read-only folder)."""
    try:
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        return None
    write_pid(fd, os.getpid())
    return fd


def write_pid(fd: int, pid: int) -> None:
    """Name the lock's holder in its file (for messages: the flock is what counts)."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{pid}\n".encode(), 0)
    except OSError:
        pass


def free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return NEEDS_BYTES


def tend_warmup() -> None:
    """Start the background warmup unless one (of any process) is running, or notice that the
    one this process started ended without the kernels, and start it again once or say so."""
    if State.given_up:
        return
    folder = cache_dir()
    if folder is None:
        State.given_up = True
        say(
            f"{cache.KeyedLocator.why}: running on NumPy (a hundred to a few hundred times slower a step). "
            "Set NUMBA_CACHE_DIR to a writable folder to compile once and keep the kernels, or "
            f"MICROGRADX_JIT=foreground to compile them in every process (about {COMPILE_SECONDS} s).",
            "no-cache",
        )
        return
    child = State.child
    if child is not None:
        if child.poll() is None:
            return  # still compiling
        State.child = None
        if stamp_ready():
            return
        why = log_tail(folder) or f"exit code {child.returncode}"
        if State.starts >= STARTS:
            give_up(
                f"the background compile (process {child.pid}) ended again before the kernels were all "
                f"compiled ({why}; log: {folder / LOG})"
            )
            return
        say(
            f"the background compile (process {child.pid}) ended before the kernels were all compiled "
            f"({why}; log: {folder / LOG}): starting it again.",
            "restart",
        )
    stamp = read_stamp(folder)
    if stamp.get("failed") == cache.KEY:
        give_up(
            f"compiling the numba kernels failed before ({stamp.get('why', 'see the log')}; "
            f"log: {folder / LOG})"
        )
        return
    if free_bytes(folder) < NEEDS_BYTES:
        give_up(
            f"the disk holding numba's cache is full ({free_bytes(folder) >> 20} MiB free in {folder}; "
            f"the kernels need about {NEEDS_BYTES >> 22} MiB): numba cannot keep them there"
        )
        return
    fd = take_lock(folder)
    if fd is None:
        other = holder(folder)
        say(
            f"numba is compiling the fast kernels in another process ({other if other > 0 else 'starting'}; "
            f"about {COMPILE_SECONDS} s, once per machine); until it is done, compiled graphs run on "
            "NumPy, a hundred to a few hundred times slower.",
            "other",
        )
        return
    try:
        if stamp_ready():  # the compile that held the lock finished in between
            return
        start_child(folder, fd)
    finally:
        os.close(fd)  # the child holds the lock now


def give_up(why: str) -> None:
    State.given_up = True
    say(f"{why}: running on NumPy. `microgradx warmup` compiles and shows what goes wrong.", "gave-up")


def start_child(folder: Path, fd: int) -> None:
    """Start `microgradx warmup --background` on this very package (the folder it was imported
    from comes first on the child's path), handing it the lock (fd)."""
    env = dict(os.environ, MICROGRADX_JIT="foreground")
    code = (
        f"import sys; sys.path.insert(0, {str(cache.PACKAGE.parent)!r}); "
        "from microgradx.app.cli import main; sys.exit(main())"
    )
    args = ["warmup", "--background", "--lock-fd", str(fd), "--package", str(cache.PACKAGE)]
    try:
        with open(folder / LOG, "w") as log:
            State.child = subprocess.Popen(
                [sys.executable, "-c", code, *args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, pass_fds=(fd,),
                start_new_session=True,  # a Ctrl-C in the terminal ends the user's program, not the compiling
            )  # fmt: skip
    except OSError as e:
        give_up(f"could not start compiling the numba kernels ({e})")
        return
    write_pid(fd, State.child.pid)
    State.starts += 1
    if State.starts == 1:
        say(
            f"numba is compiling the fast kernels in a background process ({State.child.pid}; about "
            f"{COMPILE_SECONDS} s, once per machine). Until it is done, compiled graphs run on NumPy (a "
            "hundred to a few hundred times slower a step) and Value.backward() on the Python sweep, and "
            "they move to numba as soon as it is. `microgradx warmup` compiles and waits; "
            "MICROGRADX_JIT=foreground makes the first call wait.",
            "start",
        )


@atexit.register
def say_what_goes_on() -> None:
    """At exit: a background compile this program started goes on without it."""
    child = State.child
    if child is not None and child.poll() is None:
        folder = cache_dir()
        print(
            f"microgradx: numba goes on compiling the kernels in process {child.pid} (log: {folder / LOG}); "
            "the next run will use them.",
            file=sys.stderr,
            flush=True,
        )


class Lock:
    """The warmup's lock, held for as long as the compiling goes on: taken here (waiting for a
    compile of another process to end), or handed over by the process that started this one."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = fd

    def __enter__(self) -> Lock:
        folder = cache_dir()
        if self.fd is None and folder is not None and cache.KeyedLocator.can_write:
            other = holder(folder)
            if other:
                print(
                    f"waiting for process {other}, which is compiling the kernels already",
                    file=sys.stderr,
                    flush=True,
                )
            self.fd = take_lock(folder, wait=True)
        elif self.fd is not None:
            write_pid(self.fd, os.getpid())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # lets go of the flock
            self.fd = None


def mark_ready() -> None:
    """Say in the stamp that every kernel is in the cache (the warmup's last step)."""
    folder = cache_dir()
    if folder is not None:
        write_stamp(folder, key=cache.KEY, ready=True)
        cache.remove_other_versions()
    State.ready = True


def mark_failed(why: str) -> None:
    """Say in the stamp that compiling failed (an error, not an interrupt), so that later
    processes do not start it again."""
    folder = cache_dir()
    if folder is not None:
        write_stamp(folder, key=cache.KEY, ready=False, failed=cache.KEY, why=why)


class CompileNotice(event.Listener):
    """Says once on stderr when numba starts compiling one of microgradx's functions in the
    foreground (a cache miss: loading from the cache sends no such event)."""

    quiet = False  # the warmup shows its own progress

    def on_start(self, ev: event.Event) -> None:
        # numba tells every listener of every compile in the process, the user's own functions too:
        # one made by exec has no module (None), another dispatcher may lack py_func; never fail theirs
        func = getattr(ev.data.get("dispatcher"), "py_func", None)
        module = getattr(func, "__module__", None) or ""
        if not CompileNotice.quiet and module.startswith(__package__ + "."):
            where = (
                "once per machine"
                if cache_dir() is not None
                else f"in memory, for this process only: {cache.KeyedLocator.why}"
            )
            say(
                f"numba is compiling microgradx's kernels, {func.__name__} first: about {COMPILE_SECONDS} s "
                f"for all, {where}, with nothing printed meanwhile (`microgradx warmup` compiles "
                "them ahead of time, with a progress bar).",
                "compile",
            )

    def on_end(self, ev: event.Event) -> None:
        pass


mode()  # a bad MICROGRADX_JIT is refused at import, naming the choices, not at the first call
event.register("numba:compile", CompileNotice())
