"""Cold start: how long a new user waits, on an empty numba cache and once it is warm.

numba compiles the kernels (microgradx/kernels/) on first use (tens of seconds) and keeps the machine code in
its cache. By default (MICROGRADX_JIT=background, see microgradx/kernels/jit.py) a first run
does not wait for that: compiled graphs run on NumPy while one background process
compiles the kernels. This script measures what a user sees:

    Table A  a new user's first run, in the default background mode: each scenario in
             a fresh process on its own empty NUMBA_CACHE_DIR (cold), then in fresh
             processes on a cache filled by `microgradx warmup` (warm, median of --repeat)
    Table B  the same scenarios cold with MICROGRADX_JIT=foreground (compile at the first
             call and wait): what the background mode saves
    Table C  the time to a warm cache: `microgradx warmup` on an empty cache, and the
             seconds numba spends compiling each kernel (its "numba:compile" events,
             nested: a kernel's callees compile inside it)

The scenarios: import; import + the lecture's f = (u + v) * w and its first
Value.backward(); import + the README's moons graph (MLP 2-16-16-1, hinge + 1e-4·L2)
built and compiled + its first forward on 100 rows, or its first train_step, or its
first fit of 100 steps; the whole `microgradx demo`, without and with its pictures.

Each measurement is one child process (this script with --child SCENARIO): it times
its own steps with time.perf_counter ("inside": from before `import numba` to the
end) and reports them as JSON, with the numba compiles it waited for, while the
parent takes the wall time of the whole process (with the interpreter's start). A
cold child in the background mode starts the background compile; the parent ends it
(its process group: the pid the child reports, or the one in the cache's lock file)
before the next measurement, so that compiles do not pile up.

    python benchmarks/coldstart.py [--quick] [--repeat 3]

--quick: import, the first train_step and the demo only, and no Table B. Most of a
run is compiling: --quick takes the warmup's time (Table C) and half a minute more; a
full run adds Table B, about two and a half warmups more.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
LOCK = "microgradx-warmup.lock"  # jit.LOCK, in the cache folder of the sources (jit.cache_dir())
SHOW_COMPILES_ABOVE = 0.05  # seconds: Table C's tree leaves out what compiles faster


# -- the scenarios, run in a child process ---------------------------------------------


def lecture_backward() -> None:
    from microgradx import Value

    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    f = (u + v) * w
    f.backward()
    assert (f.data, u.grad, v.grad, w.grad) == (20.0, 4.0, 4.0, 5.0)


def moons():
    """The README's training block up to the loop: the compiled step, its optimizer and rows."""
    import numpy as np

    import microgradx
    from microgradx import Value
    from microgradx.datasets import make_moons
    from microgradx.nn import MLP
    from microgradx.optim import SGD

    X, labels = make_moons(100, noise=0.1, seed=1)
    Y = labels * 2.0 - 1.0
    model = MLP(2, [16, 16, 1], seed=0)
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    y = Value(0.0, label="y")
    loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
    step = microgradx.compile(loss, inputs=xs + [y])
    return step, SGD(model.parameters(), lr=1.0), np.column_stack([X, Y])


def first_forward() -> None:
    step, _, XY = moons()
    step.forward(XY)


def first_train_step() -> None:
    step, opt, XY = moons()
    step.train_step(XY, opt)


def first_fit() -> None:
    import numpy as np

    step, opt, XY = moons()
    step.fit(XY, opt, 100, lr=np.linspace(1.0, 0.1, 100))


def command(*args: str):
    """`microgradx ARGS...`, its output sent to stderr (stdout carries the child's report)."""

    def run() -> None:
        from microgradx.app.cli import main

        with tempfile.TemporaryDirectory(prefix="coldstart-out-") as out:
            with contextlib.redirect_stdout(sys.stderr):
                status = main([a.replace("{out}", out) for a in args])
        if status:
            raise SystemExit(f"microgradx {' '.join(args)} exited with {status}")

    return run


# name: (what the table says, the function, what runs until numba's kernels are there)
SCENARIOS = {
    "import": ("import microgradx", lambda: None, "-"),
    "backward": ("+ lecture graph, first Value.backward()", lecture_backward, "Python"),
    "forward": ("+ moons graph, compile, first forward", first_forward, "NumPy"),
    "train_step": ("+ moons graph, compile, first train_step", first_train_step, "NumPy"),
    "fit": ("+ moons graph, compile, fit 100 steps", first_fit, "NumPy"),
    "demo": ("microgradx demo --no-pictures", command("demo", "--no-pictures"), "NumPy"),
    "demo_pictures": ("microgradx demo (pictures to a temp folder)", command("demo", "-o", "{out}"), "NumPy"),
    "warmup": ("microgradx warmup", command("warmup"), "numba"),
}
QUICK = ("import", "train_step", "demo_pictures")
FLOORS = {  # (column, scenario): seconds of wall time, from the issue
    ("cold", "train_step"): 5.0,
    ("cold", "demo"): 10.0,
    ("cold", "demo_pictures"): 10.0,
    ("warm", "backward"): 0.5,
}


def listen_to_compiles() -> list[dict]:
    """Register a listener for numba's compile events; returns the list it fills, in the order
    the compiles started: {"name", "module", "depth", "args", "seconds"} (depth: how many
    compiles it ran inside; args: the argument types). A kernel loaded from the cache sends
    no event."""
    from numba.core import event

    class CompileLog(event.Listener):
        def __init__(self) -> None:
            self.entries: list[dict] = []
            self.stack: list[tuple[dict, float]] = []

        def on_start(self, ev: event.Event) -> None:
            func = ev.data["dispatcher"].py_func
            entry = {"name": func.__name__, "module": func.__module__, "depth": len(self.stack)}
            entry["args"] = [str(a) for a in ev.data["args"]]
            entry["seconds"] = 0.0
            self.entries.append(entry)
            self.stack.append((entry, time.perf_counter()))

        def on_end(self, ev: event.Event) -> None:
            entry, start = self.stack.pop()
            entry["seconds"] = time.perf_counter() - start

    log = CompileLog()
    event.register("numba:compile", log)
    return log.entries


def child(scenario: str) -> None:
    """Run one scenario in this fresh process and print its report as one line of JSON."""
    start = time.perf_counter()
    compiles = listen_to_compiles()  # imports numba: part of importing microgradx
    import microgradx  # noqa: F401

    SCENARIOS[scenario][1]()
    seconds = time.perf_counter() - start
    from microgradx.kernels import cache, jit

    pid = jit.State.child.pid if jit.State.child else None  # the background warmup it started
    report = {"seconds": seconds, "numba": jit.State.numba, "compiles": compiles, "warmup_pid": pid}
    report["key"] = cache.KEY  # what the cache is keyed on: the sources numba compiles, and more
    print(json.dumps(report), flush=True)


# -- the parent: fresh processes, caches and their background compiles ------------------


def run_child(scenario: str, cache: Path, mode: str) -> dict:
    """One measurement: the child's report, plus "wall", the seconds the whole process took."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), MICROGRADX_JIT=mode)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--child", scenario], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"--child {scenario} (MICROGRADX_JIT={mode}) failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.splitlines()[-1])
    report["wall"] = wall
    report["stderr"] = proc.stderr
    return report


def is_warmup(pid: int) -> bool:
    """Whether pid is alive and is a `microgradx warmup` leading its own process group."""
    try:
        if os.getpgid(pid) != pid:
            return False
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return b"warmup" in cmdline and state != "Z"


def end_warmup(cache: Path, reported: int | None) -> int | None:
    """End the background compile a child started on this cache; returns its pid, if there was one.

    The child reports the pid it started (jit.State.child); the lock file names it too once
    the warmup has started compiling. Its process group goes: it was started in a session of
    its own."""
    pids = {reported} if reported and reported > 0 else set()
    for lock in cache.rglob(LOCK):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pids.add(int(lock.read_text().split()[0]))
    ended = None
    for pid in pids:
        if not is_warmup(pid):
            continue
        ended = pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + 5.0
            while is_warmup(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if not is_warmup(pid):
                break
    return ended


def cold(scenario: str, mode: str) -> dict:
    """One measurement in a fresh process on a fresh, empty numba cache."""
    with tempfile.TemporaryDirectory(prefix="coldstart-cache-") as folder:
        cache = Path(folder)
        report: dict = {}
        try:
            report = run_child(scenario, cache, mode)
        finally:
            report["ended_warmup"] = end_warmup(cache, report.get("warmup_pid"))
        return report


def warm(scenario: str, cache: Path, repeat: int) -> dict:
    """The median of `repeat` measurements, each in a fresh process, on the filled cache."""
    reports = []
    for _ in range(repeat):
        report = run_child(scenario, cache, "background")
        report["ended_warmup"] = end_warmup(cache, report.get("warmup_pid"))
        reports.append(report)
    return {
        "wall": statistics.median(r["wall"] for r in reports),
        "seconds": statistics.median(r["seconds"] for r in reports),
        "numba": all(r["numba"] for r in reports),
        "compiles": [c for r in reports for c in r["compiles"]],
        "ended_warmup": next((r["ended_warmup"] for r in reports if r["ended_warmup"]), None),
        "keys": {r["key"] for r in reports},
    }


def compiled_seconds(report: dict) -> float:
    """The seconds this process waited for numba compiling microgradx's kernels."""
    ours = [c for c in report["compiles"] if c["module"].startswith("microgradx")]
    return sum(c["seconds"] for c in ours if c["depth"] == 0)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the tables --------------------------------------------------------------------------


def ran_on(scenario: str, report: dict) -> str:
    return "numba" if report["numba"] else SCENARIOS[scenario][2]


def floor_note(column: str, scenario: str, report: dict) -> str:
    floor = FLOORS.get((column, scenario))
    if floor is None:
        return ""
    return f"{column} <= {floor:g} s: {'ok' if report['wall'] <= floor else 'MISSED'}"


def print_table_a(scenarios: list[str], colds: dict, warms: dict, repeat: int) -> None:
    print("Table A: a new user's first run (MICROGRADX_JIT=background), seconds")
    print(f"  cold: fresh process, empty numba cache; warm: fresh process, cache filled (median of {repeat})")
    print("  wall: the whole process; inside: from `import numba` on; fg: waiting for numba to compile")
    print()
    width = max(len(SCENARIOS[s][0]) for s in scenarios)
    head = f"{'':{width}}  {'cold':>6} {'inside':>6} {'fg':>5} {'ran on':<7} "
    head += f"{'warm':>6} {'inside':>6} {'fg':>5} {'ran on':<7} {'cold/warm':>9}  floors"
    print(head)
    for s in scenarios:
        c, w = colds[s], warms[s]
        notes = [n for n in (floor_note("cold", s, c), floor_note("warm", s, w)) if n]
        line = f"{SCENARIOS[s][0]:{width}}  {c['wall']:6.2f} {c['seconds']:6.2f} {compiled_seconds(c):5.1f} "
        line += f"{ran_on(s, c):<7} {w['wall']:6.2f} {w['seconds']:6.2f} {compiled_seconds(w):5.1f} "
        line += f"{ran_on(s, w):<7} {c['wall'] / w['wall']:8.1f}×  {'; '.join(notes)}"
        print(line.rstrip())
    print()


def surprises(scenarios: list[str], colds: dict, warms: dict, warmup: dict) -> list[str]:
    """What the background mode should never do: wait for numba, or compile again on a warm cache."""
    found = []
    if any(warms[s]["keys"] != {warmup["key"]} for s in scenarios):
        found.append(
            "the cache key changed after the warmup (a file numba compiles was edited during this run): "
            "the warm column was not warm"
        )
    for s in scenarios:
        for column, report in (("cold", colds[s]), ("warm", warms[s])):
            waited = compiled_seconds(report)
            if waited > 0:
                names = sorted({c["name"] for c in report["compiles"] if c["depth"] == 0})
                found.append(f"{column} {s}: compiled {', '.join(names)} in the foreground ({waited:.1f} s)")
        if warms[s]["ended_warmup"]:
            pid = warms[s]["ended_warmup"]
            found.append(f"warm {s}: started a background compile on a warm cache (pid {pid})")
        if s != "import" and not warms[s]["numba"]:
            found.append(f"warm {s}: did not run on the numba kernels")
    return found


def print_table_b(scenarios: list[str], colds: dict, foregrounds: dict) -> None:
    print("Table B: what compiling costs: the same cold runs with MICROGRADX_JIT=foreground, seconds")
    print()
    width = max(len(SCENARIOS[s][0]) for s in scenarios)
    print(f"{'':{width}}  {'fg':>6} {'inside':>6} {'compile':>7}  {'bg':>6}  {'fg/bg':>6} {'saved':>6}")
    for s in scenarios:
        f, b = foregrounds[s], colds[s]
        line = f"{SCENARIOS[s][0]:{width}}  {f['wall']:6.2f} {f['seconds']:6.2f} {compiled_seconds(f):7.1f}  "
        line += f"{b['wall']:6.2f}  {f['wall'] / b['wall']:5.1f}× {f['wall'] - b['wall']:6.1f}"
        print(line)
    print("  fg: the foreground run's wall time; compile: numba compiling in it; bg: Table A's cold wall")
    print()


def compile_tree(entries: list[dict]) -> list[dict]:
    """The compiles (in start order, with depths) as a tree of {"name", "seconds", "children"}."""
    roots: list[dict] = []
    path: list[dict] = []  # the open nodes, one per depth
    for e in entries:
        name = e["name"] if e["module"].startswith("microgradx") else f"{e['name']} [{e['module']}]"
        node = {"name": name, "seconds": e["seconds"], "children": []}
        del path[e["depth"] :]
        (path[-1]["children"] if path else roots).append(node)
        path.append(node)
    return roots


def tree_lines(nodes: list[dict], prefix: str = "", top: bool = True) -> list[str]:
    """`name seconds` a line, children indented under ├ and └, what took <= SHOW_COMPILES_ABOVE left out."""
    shown = [n for n in nodes if n["seconds"] > SHOW_COMPILES_ABOVE]
    lines = []
    for k, node in enumerate(shown):
        last = k == len(shown) - 1
        branch, more = ("", "") if top else (("└ ", "  ") if last else ("├ ", "│ "))
        lines.append(f"{prefix}{branch}{node['name']} {node['seconds']:.1f}")
        lines += tree_lines(node["children"], prefix + more, top=False)
    return lines


def print_table_c(report: dict) -> None:
    total = compiled_seconds(report)
    print("Table C: time to a warm cache: `microgradx warmup` on an empty cache")
    print()
    inside = report["seconds"]
    print(f"wall {report['wall']:.1f} s (inside {inside:.1f} s), of which numba compiling {total:.1f} s")
    print(f"seconds per kernel (numba:compile events, nested; those above {SHOW_COMPILES_ABOVE} s):")
    for line in tree_lines(compile_tree(report["compiles"])):
        print(f"  {line}")
    print()
    again = compiled_again(report["compiles"])
    if again:
        print("compiled more than once (each time for other argument types):")
        for line in again:
            print(f"  {line}")
        print()


def compiled_again(entries: list[dict]) -> list[str]:
    """microgradx's functions that numba compiled more than once, with the arguments whose types
    differ between the first two compiles."""
    by_function: dict[tuple[str, str], list[dict]] = {}
    for e in entries:
        if e["module"].startswith("microgradx"):
            by_function.setdefault((e["module"], e["name"]), []).append(e)
    lines = []
    for (_, name), compiles in by_function.items():
        if len(compiles) < 2 or sum(c["seconds"] for c in compiles) <= SHOW_COMPILES_ABOVE:
            continue
        first, second = compiles[0]["args"], compiles[1]["args"]
        diff = [f"argument {k}: {a} / {b}" for k, (a, b) in enumerate(zip(first, second)) if a != b]
        if len(first) != len(second):
            diff.append(f"{len(first)} / {len(second)} arguments")
        seconds = " + ".join(f"{c['seconds']:.1f}" for c in compiles)
        lines.append(f"{name} ×{len(compiles)} ({seconds} s): {'; '.join(diff) or 'the same argument types'}")
    return lines


def machine() -> str:
    from importlib.metadata import version

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    python = sys.version.split()[0]
    return (
        f"{cpus} cores, load average {load}; Python {python}, numba {version('numba')}, "
        f"NumPy {version('numpy')}, llvmlite {version('llvmlite')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="import, first train_step, demo; no Table B")
    parser.add_argument("--repeat", type=int, default=None, help="warm runs, median of N (3; quick 1)")
    parser.add_argument("--child", choices=sorted(SCENARIOS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    repeat = args.repeat or (1 if args.quick else 3)
    scenarios = list(QUICK) if args.quick else [s for s in SCENARIOS if s != "warmup"]
    print(f"cold start, {time.strftime('%Y-%m-%d %H:%M')}: {machine()}")
    print()

    colds = {}
    for s in scenarios:
        colds[s] = cold(s, "background")
        say(f"cold {s}: {colds[s]['wall']:.2f} s (background compile ended: pid {colds[s]['ended_warmup']})")

    with tempfile.TemporaryDirectory(prefix="coldstart-cache-") as folder:
        cache = Path(folder)
        say("microgradx warmup on an empty cache ...")
        warmup = run_child("warmup", cache, "foreground")
        say(f"microgradx warmup: {warmup['wall']:.1f} s")
        warms = {}
        for s in scenarios:
            warms[s] = warm(s, cache, repeat)
            say(f"warm {s}: {warms[s]['wall']:.2f} s")

    print_table_a(scenarios, colds, warms, repeat)
    found = surprises(scenarios, colds, warms, warmup)
    print("Surprises (the background mode should never wait for numba):" + ("" if found else " none"))
    for line in found:
        print(f"  {line}")
    print()

    if not args.quick:
        foregrounds = {}
        for s in scenarios:
            foregrounds[s] = cold(s, "foreground")
            say(f"foreground {s}: {foregrounds[s]['wall']:.1f} s")
        print_table_b(scenarios, colds, foregrounds)

    print_table_c(warmup)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
