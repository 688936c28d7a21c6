"""A grid search on the digits, learning rate × hidden width × seed, each configuration in its own process.

joblib runs the configurations: `joblib.Parallel` over `delayed(train_one)(...)`, on
its default backend, loky (a pool of local worker processes, n_jobs of them). The
same code runs on a cluster by switching joblib's backend around the call, with
nothing else changed; a Dask scheduler or a Ray cluster (their packages installed,
`pip install "dask[distributed]"` or `pip install ray`):

    from dask.distributed import Client                 from ray.util.joblib import register_ray
    client = Client("tcp://scheduler:8786")             register_ray()  # after ray.init(address=...)
    with joblib.parallel_config(backend="dask"):        with joblib.parallel_config(backend="ray"):
        results = sweep(lrs, widths, seeds)                 results = sweep(lrs, widths, seeds)

(`--backend dask` and `--backend ray` below do that, on `--address` or a cluster of
their own on this machine.) Each configuration is the digits demo's training
(microgradx.app.demo_real.train: a stratified 75/25 split, an MLP 64-width-10, softmax
cross-entropy + 3e-4·Σp², Adam on shuffled batches of 128), the seed drawing the
split, the weights and the batches. Printed: every configuration, best test accuracy
first, then each (lr, width)'s mean over the seeds.

The numba kernels come from numba's on-disk cache (microgradx/kernels/jit.py), which each
worker process loads in a fraction of a second. On a machine whose cache is still
empty, every worker would compile them for about a minute (MICROGRADX_JIT=foreground),
or train on NumPy until a background compile is done (the default): 5 s for a 60-epoch
configuration at width 32, against 0.15 s on numba. So before starting the workers
this script fills the cache once, here (`microgradx warmup`, about a minute, once per
machine; MICROGRADX_JIT=off skips it, and the workers run NumPy). On a cluster, run
`microgradx warmup` once on every machine (or in its image) first.

    python examples/sweep.py                                   # 18 configurations, every core
    python examples/sweep.py --lr 0.003 0.01 --width 32 128 --seed 0 1 2 --epochs 30 --n-jobs 2
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import joblib
import numpy as np

from microgradx.app.demo_real import train
from microgradx.kernels import jit


class Result(NamedTuple):
    """One configuration trained: its settings and how it did on the held-out digits."""

    lr: float
    width: int
    seed: int
    test_accuracy: float  # on the quarter of the digits it never trained on
    train_accuracy: float
    loss: float  # the last epoch's mean training loss (cross-entropy + L2)
    seconds: float  # its training, in its worker
    kernels: str  # what its steps ran on at the end: "numba", or NumPy (jit.describe())
    worker: int  # the process id that trained it


def train_one(lr: float, width: int, seed: int, epochs: int) -> Result:
    """Train MLP(64, [width, 10]) on the digits with Adam at `lr` for `epochs` epochs, seeded by `seed`."""
    t = train("digits", layers=(width,), epochs=epochs, lr=lr, seed=seed)
    return Result(
        lr, width, seed, t.test_accuracy, t.train_accuracies[-1], t.losses[-1], t.seconds, t.kernels[-1],
        os.getpid(),
    )  # fmt: skip


def sweep(
    lrs: Sequence[float], widths: Sequence[int], seeds: Sequence[int], epochs: int = 60, n_jobs: int = -1
) -> list[Result]:
    """Every (lr, width, seed) trained by train_one through joblib, on the backend in force (loky
    unless a `joblib.parallel_config` says otherwise), `n_jobs` at a time (-1: one per core).

    Returns the results sorted best first: highest test accuracy, then lowest training loss.
    """
    grid = list(itertools.product(lrs, widths, seeds))
    if not grid:
        raise ValueError("an empty grid: give at least one learning rate, one width and one seed")
    jobs = (joblib.delayed(train_one)(lr, width, seed, epochs) for lr, width, seed in grid)
    results = joblib.Parallel(n_jobs=n_jobs)(jobs)
    return sorted(results, key=lambda r: (-r.test_accuracy, r.loss))


def fill_kernel_cache() -> None:
    """Compile the numba kernels into the cache here, once, unless they are there: the workers then
    load them instead of each compiling them (or training on NumPy meanwhile). See the top.
    `microgradx warmup` does it (and waits for a warmup another process has started)."""
    if jit.mode() == "off" or jit.ready():
        return
    print("the numba kernels are not in the cache yet: compiling them once, before the workers start",
          flush=True)  # fmt: skip
    subprocess.run([sys.executable, "-m", "microgradx", "warmup"], check=True)


@contextlib.contextmanager
def backend(name: str, address: str | None, n_jobs: int) -> Iterator[None]:
    """joblib's backend `name` in force: loky here, or a Dask or Ray cluster (at `address`, or one
    started on this machine, n_jobs processes of one thread), closed at the end."""
    if name == "loky":
        with joblib.parallel_config(backend="loky"):
            yield
        return
    extra = {"dask": "dask[distributed]", "ray": "ray"}[name]
    try:
        if name == "dask":
            from dask.distributed import Client
        else:
            import ray
            from ray.util.joblib import register_ray
    except ImportError as e:
        raise SystemExit(f"--backend {name} needs {e.name}, not installed: pip install '{extra}'") from None
    workers = n_jobs if n_jobs > 0 else None
    if name == "dask":
        with Client(address) if address else Client(n_workers=workers, threads_per_worker=1):
            with joblib.parallel_config(backend="dask"):
                yield
        return
    ray.init(address=address, num_cpus=None if address else workers)
    register_ray()
    try:
        with joblib.parallel_config(backend="ray"):
            yield
    finally:
        ray.shutdown()


def report(results: list[Result], seconds: float) -> None:
    workers = len({r.worker for r in results})
    processes = f"{workers} worker process{'es' * (workers != 1)}"
    print(f"{len(results)} configurations in {seconds:.1f} s on {processes}, best first:")
    print(
        f"{'lr':>8}{'width':>7}{'seed':>6}{'test acc':>10}{'train acc':>11}{'loss':>9}{'seconds':>9}  kernels"
    )
    for r in results:
        print(
            f"{r.lr:>8g}{r.width:>7}{r.seed:>6}{r.test_accuracy:>10.1%}{r.train_accuracy:>11.1%}"
            f"{r.loss:>9.4f}{r.seconds:>9.2f}  {r.kernels}"
        )
    print(f"mean over the seeds, best first:\n{'lr':>8}{'width':>7}{'seeds':>6}{'test acc':>10}")
    groups = {}
    for r in results:
        groups.setdefault((r.lr, r.width), []).append(r.test_accuracy)
    means = sorted(groups.items(), key=lambda kv: -np.mean(kv[1]))
    for (lr, width), accuracies in means:
        print(f"{lr:>8g}{width:>7}{len(accuracies):>6}{np.mean(accuracies):>10.1%}")
    (lr, width), accuracies = means[0]
    mean, n = np.mean(accuracies), len(accuracies)
    print(f"best: lr {lr:g}, width {width}, test accuracy {mean:.1%} (mean of {n} seed{'s' * (n > 1)})")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, nargs="+", default=[0.003, 0.01, 0.03])
    parser.add_argument("--width", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--seed", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--n-jobs", type=int, default=-1, help="processes at once (-1: one per core)")
    parser.add_argument("--backend", choices=["loky", "dask", "ray"], default="loky")
    parser.add_argument("--address", default=None, help="the Dask scheduler's or Ray cluster's address")
    args = parser.parse_args(argv)
    fill_kernel_cache()
    start = time.perf_counter()
    with backend(args.backend, args.address, args.n_jobs):
        results = sweep(args.lr, args.width, args.seed, args.epochs, args.n_jobs)
    report(results, time.perf_counter() - start)


if __name__ == "__main__":
    main()
