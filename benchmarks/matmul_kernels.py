"""Which matrix-product kernel a layer should run on: microgradx.kernels.matmul's against NumPy's `@`.

For the layer shapes of the networks the benchmarks train (784-128-10 and wider at 128
rows, the digits' 64-32-10 at 32 and 128 rows, the moons' 2-16-16-1 at 100 rows), the
three products of a layer, in the lanes' layout (a row of lanes per slot):

    forward    a = W h       (M × K) · (K × lanes)
    weights    ∇W = g hᵀ     (M × lanes) · (lanes × K)
    rows       ∇h = Wᵀ g     (K × M) · (M × lanes)

timed (best of several runs, one thread) for NumPy's `@` (OpenBLAS: the single-core
peak we measure against), numba's `np.dot` (BLAS through SciPy, where SciPy is
installed) and matmul.product (its tiles held in registers as simd.py's vectors), with its
packing of hᵀ for ∇W by `transposed` included (a first layer reads the batch's rows instead:
the `weights·x` lines). NumPy's and ours are timed in turn, so a busy spell slows both.
Then the compile seconds of matmul's kernels in a fresh process (an empty numba cache).

    python benchmarks/matmul_kernels.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from microgradx.kernels import matmul  # noqa: E402

SHAPES = (  # (M outputs, K inputs, lanes): a layer's
    (128, 784, 128),
    (256, 784, 128),
    (512, 784, 128),
    (256, 512, 128),
    (10, 128, 128),
    (32, 64, 128),
    (32, 64, 32),
    (10, 32, 128),
    (16, 16, 100),
    (16, 2, 100),
)


def best(run, repeat: int = 7) -> float:
    """Seconds per call: the best of `repeat` timings of enough calls to take a few ms."""
    return best_of_each([run], repeat)[0]


def best_of_each(runs: list, repeat: int = 7) -> list[float]:
    """Seconds per call of each run: the best of `repeat` timings of enough calls to take a few
    ms, the runs timed in turn within each repeat (interleaved: a busy spell slows them alike)."""
    counts = []
    for run in runs:
        run()
        t0 = time.perf_counter()
        run()
        counts.append(max(1, int(0.005 / max(time.perf_counter() - t0, 1e-7))))
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, n, kept in zip(runs, counts, times, strict=True):
            t0 = time.perf_counter()
            for _ in range(n):
                run()
            kept.append((time.perf_counter() - t0) / n)
    return [min(kept) for kept in times]


def numba_dot():
    """numba's np.dot (SciPy's BLAS), or None without SciPy."""
    try:
        import scipy  # noqa: F401
    except ImportError:
        return None

    @njit(cache=False)
    def dot(a, b, out):
        out[:] = np.dot(a, b)

    return dot


def ours(M: int, K: int, lanes: int, rng: np.random.Generator, first: bool = False):
    """The three products through matmul, on a lanes' layout like a compiled graph's: W's rows
    in a flat array of uniform values, h's and g's as rows of lanes. first: the layer reads
    the graph's inputs, so ∇W reads hᵀ as the batch's rows (a row of K inputs, then 10 more
    columns, the targets, as in the digits' and MNIST's rows), not packed by `transposed`."""
    u = rng.standard_normal(M * (K + 1))  # each neuron's K weights, then its bias
    w_start = np.arange(M, dtype=np.int64) * (K + 1)
    h = rng.standard_normal((K, lanes))
    g = rng.standard_normal((M, lanes))
    a = np.zeros((M, lanes))
    grad_u = np.zeros_like(u)
    grad_h = np.zeros((K, lanes))
    scratch = np.zeros(lanes * K)
    h_start = np.arange(K, dtype=np.int64) * lanes
    g_start = np.arange(M, dtype=np.int64) * lanes
    lane_k = np.arange(lanes, dtype=np.int64) * K
    each_k, each_lane = np.arange(K, dtype=np.int64), np.arange(lanes, dtype=np.int64)
    hf, gf, af, ghf = h.reshape(-1), g.reshape(-1), a.reshape(-1), grad_h.reshape(-1)

    def forward():
        a[:] = 0.0
        matmul.product(u, w_start, each_k, hf, h_start, lanes, af, g_start)

    batch = np.ascontiguousarray(np.column_stack([h.T, rng.standard_normal((lanes, 10))]))
    batch_k = np.arange(lanes, dtype=np.int64) * batch.shape[1]  # where each row starts

    def weights():
        if first:  # as matrix_layers.matrix_back: a first layer's hᵀ is the batch's rows
            matmul.product(gf, g_start, each_lane, batch.reshape(-1), batch_k, K, grad_u, w_start)
            return
        matmul.transposed(hf, h_start, lanes, scratch)
        matmul.product(gf, g_start, each_lane, scratch, lane_k, K, grad_u, w_start)

    def rows():
        matmul.product(u, each_k, w_start, gf, g_start, lanes, ghf, h_start)

    W = u.reshape(M, K + 1)[:, :K]
    forward()
    assert np.allclose(a, W @ h, rtol=1e-12, atol=1e-12 * np.abs(W @ h).max())
    grad_u[:] = 0.0
    weights()
    assert np.allclose(grad_u.reshape(M, K + 1)[:, :K], g @ h.T, rtol=1e-12, atol=1e-10)
    grad_h[:] = 0.0
    rows()
    assert np.allclose(grad_h, W.T @ g, rtol=1e-12, atol=1e-10)
    return (W, h, g), forward, weights, rows


def compile_seconds() -> str:
    """matmul's kernels' first calls in a fresh process with an empty numba cache."""
    code = (
        "import time, numpy as np\nt0 = time.perf_counter()\nfrom microgradx.kernels import matmul\n"
        "x = np.zeros(64); s = np.arange(4, dtype=np.int64)\nt1 = time.perf_counter()\n"
        "matmul.transposed(x, s, 4, x.copy())\nt2 = time.perf_counter()\n"
        "matmul.product(x, s, s, x, s, 4, x.copy(), s)\nt3 = time.perf_counter()\n"
        "print(f'transposed {t2 - t1:.2f} s, product {t3 - t2:.2f} s')\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, NUMBA_CACHE_DIR=folder)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return done.stdout.strip() or done.stderr[-500:]


def main() -> None:
    rng = np.random.default_rng(0)
    dot = numba_dot()
    print("GFLOP/s, one thread (best of 7, NumPy and ours interleaved); ours includes its packing")
    print("(weights·x: a first layer's ∇W, reading the batch's rows, with nothing to pack)")
    head = f"{'M × K × lanes':<18}{'':<10}{'NumPy @':>10}{'np.dot':>10}{'ours':>10}{'ours/NumPy':>12}"
    print(head)
    for M, K, lanes in SHAPES:
        (W, h, g), forward, weights, rows = ours(M, K, lanes, rng)
        flop = 2.0 * M * K * lanes
        out = np.zeros((M, lanes))
        cases = (
            ("forward", lambda W=W, h=h: W @ h, forward, (W, h, out)),
            ("weights", lambda g=g, h=h: g @ h.T, weights, None),
            ("rows", lambda W=W, g=g: W.T @ g, rows, None),
        )
        _, _, first_weights, _ = ours(M, K, lanes, np.random.default_rng(0), first=True)
        cases += (("weights·x", lambda g=g, h=h: g @ h.T, first_weights, None),)
        for name, peak, mine, dot_args in cases:
            t_np, t_ours = best_of_each([peak, mine])
            t_dot = best(lambda a=dot_args: dot(*a)) if dot is not None and dot_args else None
            cell = f"{flop / t_dot / 1e9:>10.1f}" if t_dot else f"{'—':>10}"
            print(
                f"{f'{M} × {K} × {lanes}':<18}{name:<10}{flop / t_np / 1e9:>10.1f}{cell}"
                f"{flop / t_ours / 1e9:>10.1f}{t_np / t_ours:>12.2f}"
            )
    print(f"compile, empty cache: {compile_seconds()}")


if __name__ == "__main__":
    main()
