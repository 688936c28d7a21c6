"""Every contestant on one core: the speed floors compare one-thread steps.

Asking a library for one thread is not enough. JAX, under XLA_FLAGS for one thread, kept
1.2-1.3 cores busy (CPU time over wall time) on an idle 2-core machine, and ran differently
once its process was pinned to one core (train_digits.py's Adam steps, medians, consecutive
runs on an idle machine):

    JAX jit, free:    64-32-10  209 µs (1.26 cores)   784-128-10  1,639 µs (1.25 cores)
    JAX jit, pinned:  64-32-10  122-123 µs (1.00)     784-128-10  1,568-1,597 µs (1.00)

(microgradx's train_step took 75.6-76.3 and 1,427-1,469 µs both ways), so "JAX on one
thread" is only what it says when the process has one core. The timing scripts pin their
process, every thread it has and so every thread started later, to one CPU (Linux's
sched_setaffinity) before building any contestant, and print next to each time the cores
it kept busy: at most 1 when pinned. `--all-cores` leaves the process free.
"""

from __future__ import annotations

import os
import time

HELP = "leave the process free to use every core (by default it is pinned to one: see benchmarks/cores.py)"


def idlest(cpus: set[int], seconds: float = 0.2) -> int:
    """The CPU of `cpus` idle longest over the next `seconds` (/proc/stat's idle and iowait
    ticks), so that a pinned run does not share its core with the machine's other work; the
    lowest-numbered where /proc/stat cannot be read."""

    def idle_ticks() -> dict[int, int]:
        try:
            with open("/proc/stat") as f:
                rows = [line.split() for line in f if line.startswith("cpu") and line[3].isdigit()]
        except OSError:
            return {}
        return {int(row[0][3:]): int(row[4]) + int(row[5]) for row in rows}

    before = idle_ticks()
    time.sleep(seconds)
    after = idle_ticks()
    return max(sorted(cpus), key=lambda c: after.get(c, 0) - before.get(c, 0))


def pin(all_cores: bool = False) -> str:
    """Pin this process, every thread it has now and so every thread it starts later, to one
    CPU (the idlest), unless all_cores; returns what it did, for the report's first line."""
    if all_cores:
        return "all cores (--all-cores): a contestant's own threads may run beside it"
    if not hasattr(os, "sched_setaffinity"):
        return "all cores: this system cannot pin a process to one"
    cpus = os.sched_getaffinity(0)
    cpu = min(cpus) if len(cpus) == 1 else idlest(cpus)
    for task in os.listdir("/proc/self/task"):  # the threads a library may have started already
        os.sched_setaffinity(int(task), {cpu})
    return f"one core (every thread pinned to CPU {cpu}; --all-cores to free them)"
