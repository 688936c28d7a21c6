"""`microgradx warmup`: compile (or load) every numba kernel a user can reach, ahead of time.

Each step below calls the kernels the way the package does, on a small graph that
uses every op, so that numba compiles exactly the signatures a program will ask for
and keeps them in its cache (see kernels/jit.py). When all are there it says so in the
cache's stamp, and every later process runs the numba kernels from its first call.
For container images and CI, and run in the background by the first process that
needs the kernels.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import numba
import numpy as np
from numba.core import event

from ..compiled import Compiled, compile
from ..core.engine import Value
from ..kernels import cache, jit
from ..nn import MLP
from ..optim import SGD, Adam


def _graph_of_every_op():
    """A small graph reading two inputs through every op, and a 2-4-4-1 MLP's hinge loss + L2."""
    x1, x2, y = Value(0.5, label="x1"), Value(-0.25, label="x2"), Value(1.0, label="y")
    model = MLP(2, [4, 4, 1], seed=0)
    p = model.parameters()[0]
    z = (x1 * p + x2 / (1.5 + p * p)) ** 2 - ((x1 * x1 + 0.5) ** p).log() + x2.exp().tanh()
    z = z + (x1 - x2).sigmoid() + x1.relu() + (x2 * x2 + 1.0).sqrt() + x1.sin() * x2.cos() + (-x1).abs()
    z = z + x1.step() * x2.sign()  # relu′ and abs′, the nodes of gradient graphs (modes.py)
    loss = (1 - y * model([x1, x2])).relu() + 1e-4 * sum(q * q for q in model.parameters()) + 1e-3 * z
    return [x1, x2, y], model, loss


def _scalar_sweeps() -> None:
    inputs, _, loss = _graph_of_every_op()
    loss.backward(engine="numba")
    loss.backward(engine="numba", check=True)


def _compiled_graphs() -> None:
    inputs, model, loss = _graph_of_every_op()
    rng = np.random.default_rng(0)
    for rows, threads in (
        (1, False),
        (100, False),
        (2 * Compiled.parallel_rows, False),
        (2 * Compiled.parallel_rows, True),
    ):
        # one row, a block, many blocks, and many blocks over numba's threads (compile(threads=True))
        X = rng.uniform(-1, 1, (rows, len(inputs)))
        step = compile(loss, inputs=inputs, threads=threads)
        step.forward(X)
        step.backward()
        for opt in (SGD(model.parameters(), lr=1e-3, momentum=0.9), Adam(model.parameters(), lr=1e-3)):
            step.train_step(X, opt)
            step.fit(X, opt, 2)
            for batch in sorted({max(1, rows // 3), rows}):  # mini-batches; many blocks, over threads
                step.fit(X, opt, epochs=1, batch_size=batch, seed=0, verbose=False)
            opt.step()


STEPS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("scalar sweeps (Value.backward)", _scalar_sweeps),
    ("compiled graphs: forward, backward, train_step, fit, epochs, optimizers", _compiled_graphs),
)


class Progress(event.Listener):
    """A progress bar over the steps; on a terminal it also names the function numba is compiling,
    in a log (not a terminal) a line every `every` seconds says how far a long step has got."""

    def __init__(self, stream: TextIO, width: int = 24, every: float = 10.0) -> None:
        self.stream, self.width, self.live = stream, width, stream.isatty()
        self.step, self.name = 0, ""
        self.compiled = 0  # functions numba compiled (the others were loaded from the cache)
        self.every, self.said = every, time.monotonic()  # a log's last line, when

    def show(self, note: str, done: bool = False) -> None:
        """Redraw the bar in place on a terminal; elsewhere (a log, CI) one line a finished step."""
        filled = self.width * self.step // len(STEPS)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.step}/{len(STEPS)} {self.name}{note}"
        if self.live:
            self.stream.write(f"\r{line}\033[K" + ("\n" if done else ""))
        elif done:
            self.stream.write(line + "\n")
        self.said = time.monotonic()
        self.stream.flush()

    def on_start(self, ev: event.Event) -> None:
        self.compiled += 1
        function = ev.data["dispatcher"].py_func
        name, ours = function.__name__, (function.__module__ or "").startswith("microgradx")
        if self.live:
            self.show(f": compiling {name}")
        elif ours and time.monotonic() - self.said >= self.every:  # a log would look stuck for a minute
            n = self.compiled
            self.stream.write(f"    {self.name}: {n} function{'s' * (n != 1)} compiled so far, now {name}\n")
            self.stream.flush()
            self.said = time.monotonic()

    def on_end(self, ev: event.Event) -> None:
        pass


def warmup(stream: TextIO = sys.stderr, lock_fd: int | None = None) -> tuple[float, int]:
    """Compile or load every kernel, with a progress bar on `stream`; returns the seconds taken (from
    the moment the lock is held, not counting a wait for another process's compile) and
    how many functions numba compiled (0: all were in the cache already). lock_fd: the warmup's
    lock, taken by the process that started this one (jit.py).

    Marks the cache ready (kernels/jit.py) when all are there; raises what numba raised if not (marking
    the cache failed, so that programs stop starting compiles that fail: not for an interrupt),
    and OSError if numba could not save the kernels (a full disk).
    """
    jit.State.numba = True  # this process runs the numba kernels, whatever MICROGRADX_JIT says
    jit.CompileNotice.quiet = True
    progress = Progress(stream)
    with jit.Lock(lock_fd), event.install_listener("numba:compile", progress):
        start = time.perf_counter()  # once the lock is ours: a wait for another compile is said apart
        try:
            for name, step in STEPS:
                t = time.perf_counter()
                progress.name = name
                progress.show("")
                step()
                progress.step += 1
                progress.show(f": {time.perf_counter() - t:.1f} s", done=True)
        except Exception as e:
            jit.mark_failed(f"{type(e).__name__}: {e}")
            raise
        if jit.cache_dir() is not None and not cache.KeyedLocator.can_write and progress.compiled:
            raise OSError(f"{cache.KeyedLocator.why}: the kernels were compiled but could not be kept")
        jit.mark_ready()
    return time.perf_counter() - start, progress.compiled


def in_a_thread(warm: Callable[..., tuple[float, int]], lock_fd: int | None) -> tuple[float, int]:
    """warm(lock_fd=lock_fd) in a worker thread, the main thread waiting for it: a Ctrl-C (SIGINT)
    reaches the main thread at once, not when numba's current compile returns (LLVM optimising
    one big kernel holds Python for tens of seconds, a minute on a loaded machine)."""
    done: dict[str, object] = {}

    def work() -> None:
        try:
            done["result"] = warm(lock_fd=lock_fd)
        except BaseException as e:  # raised again in the main thread
            done["error"] = e

    worker = threading.Thread(target=work, name="microgradx warmup", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
    if "error" in done:
        raise done["error"]  # type: ignore[misc]
    return done["result"]  # type: ignore[return-value]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `warmup` subcommand to the `microgradx` command line."""
    p = sub.add_parser(
        "warmup", help="compile every numba kernel now (once per machine)", description=__doc__
    )
    p.add_argument("--background", action="store_true", help=argparse.SUPPRESS)  # started by kernels/jit.py,
    p.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)  # with the lock it took,
    p.add_argument("--package", help=argparse.SUPPRESS)  # for the package it imported
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """The command: compile, say what was done (the background compile's log says it too)."""
    if args.background:
        os.nice(10)  # the user's own program comes first
        print(
            f"microgradx warmup in the background, process {os.getpid()}, "
            f"started {time.strftime('%Y-%m-%d %H:%M:%S')}:"
            f" compiling the kernels of {cache.PACKAGE} (key {cache.KEY[:16]}; numba {numba.__version__},"
            f" Python {sys.version.split()[0]})",
            file=sys.stderr,
            flush=True,
        )
    if args.package and Path(args.package).resolve() != cache.PACKAGE:
        print(
            f"this process imported microgradx from {cache.PACKAGE}, not from {args.package}: "
            "nothing compiled",
            file=sys.stderr,
        )
        return 2
    where = jit.cache_dir()
    if where is None:
        print(
            f"microgradx warmup: {cache.KeyedLocator.why}: compiled kernels cannot be kept. "
            "Set NUMBA_CACHE_DIR to a writable folder.",
            file=sys.stderr,
        )
        return 1
    if (
        jit.stamp_ready()
    ):  # a warmup finished for these sources: loading checks each (any missing is compiled)
        said = f"cached already in {where}: loading each to check it"
    else:
        said = f"compiling what is not yet cached in {where} (once per machine)"
    print(f"microgradx's numba kernels: {said}", file=sys.stderr, flush=True)
    try:
        seconds, compiled = in_a_thread(warmup, args.lock_fd)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: what numba compiled so far is kept; the next program (or `microgradx warmup`) "
            "goes on from there",
            file=sys.stderr,
            flush=True,
        )
        os._exit(130)  # the compile in the thread stops with the process (numba writes each file whole)
    if not compiled:
        print(f"all kernels were compiled and cached already (checked in {seconds:.1f} s)", file=sys.stderr)
        return 0
    print(
        f"all kernels compiled and cached in {seconds:.1f} s ({compiled} functions compiled)", file=sys.stderr
    )
    return 0
