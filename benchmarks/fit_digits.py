"""The digits floor: one `fit(epochs=60, batch_size=128)` call, its accuracy and its time, warm.

The digits demo's graph (64-32-10 relu MLP, softmax cross-entropy with the one-hot class
as inputs, + 3e-4·Σp²), Adam lr 3e-3, 60 epochs of shuffled batches of 128 rows, a
stratified quarter held out and scored after every epoch (fit's validation). For each
seed (the split, the weights and the batches): the held-out accuracy, and the wall time
of the whole `fit` call (every epoch's compiled call and its validation), median of
--repeat runs after one that loads the kernels, and of its steps alone (History.seconds).
Where PyTorch is installed, its accuracy at the same setting on the same splits (three
init seeds): what the floor asks of us, asked of it. Beside it, the same training as a
Python loop of one `train_step` per batch, the held-out rows scored after each epoch as
fit does (the demo before the epoch fit): the same numbers
to 1e-12, and the ratio of its time to fit's.

    python benchmarks/fit_digits.py            # seeds 0, 1, 2; about ten seconds warm
    python benchmarks/fit_digits.py --quick    # seed 0, one run
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("MICROGRADX_JIT", "foreground")  # time the numba kernels, compiled at first use

import numpy as np  # noqa: E402

import microgradx  # noqa: E402
from microgradx import Value, metrics  # noqa: E402
from microgradx.app.demo_real import split  # noqa: E402
from microgradx.datasets import one_hot  # noqa: E402
from microgradx.losses import l2, softmax_cross_entropy  # noqa: E402
from microgradx.nn import MLP  # noqa: E402
from microgradx.optim import Adam  # noqa: E402

EPOCHS, BATCH, LR, ALPHA = 60, 128, 3e-3, 3e-4


def build(seed: int):
    """The graph, model, optimizer and rows of the digits demo at this seed."""
    X_train, X_test, y_train, y_test, _ = split("digits", 0.25, seed)
    model = MLP(64, [32, 10], seed=seed)
    xs, ys = [Value(0.0) for _ in range(64)], [Value(0.0) for _ in range(10)]
    step = microgradx.compile(
        softmax_cross_entropy(model(xs), ys) + l2(model.parameters(), ALPHA), inputs=xs + ys
    )
    rows = np.column_stack([X_train, one_hot(y_train, 10)])
    test_rows = np.column_stack([X_test, one_hot(y_test, 10)])
    return step, model, Adam(model.parameters(), lr=LR), rows, test_rows, y_test


def epoch_fit(seed: int) -> tuple[float, float, np.ndarray, float]:
    """(seconds of the one fit call, final held-out accuracy, each step's loss, seconds of the steps)."""
    step, model, opt, rows, test_rows, y_test = build(seed)
    start = time.perf_counter()
    history = step.fit(rows, opt, epochs=EPOCHS, batch_size=BATCH, seed=seed, validation=(test_rows, y_test),
                       model=model, verbose=False)  # fmt: skip
    seconds = time.perf_counter() - start
    return seconds, float(history.val_accuracy[-1]), history.step_loss, float(history.seconds.sum())


def loop_of_train_steps(seed: int) -> tuple[float, np.ndarray]:
    """The same batches, one train_step each, the held-out rows scored after each epoch as fit does."""
    step, model, opt, rows, test_rows, y_test = build(seed)
    rng, losses = np.random.default_rng(seed), []
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = rng.permutation(len(rows))
        for first in range(0, len(rows), BATCH):
            losses.append(step.train_step(rows[order[first : first + BATCH]], opt))
        float(np.mean(step.forward(test_rows)))
        metrics.accuracy(y_test, metrics.predict(model, test_rows[:, :64]))
    return time.perf_counter() - start, np.array(losses)


def torch_accuracy(seed: int, init_seed: int) -> float | None:
    """PyTorch's held-out accuracy at the issue's setting on the same split (no L2 term: the issue's
    own run), float64, one thread, its default init and shuffling seeded by init_seed; None
    without torch. What the floor asks of us, asked of PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    X_train, X_test, y_train, y_test, _ = split("digits", 0.25, seed)
    torch.manual_seed(init_seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).double()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    X, y, gen = torch.tensor(X_train), torch.tensor(y_train), torch.Generator().manual_seed(init_seed)
    for _ in range(EPOCHS):
        order = torch.randperm(len(X), generator=gen)
        for first in range(0, len(X), BATCH):
            batch = order[first : first + BATCH]
            loss = torch.nn.functional.cross_entropy(net(X[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((net(torch.tensor(X_test)).argmax(1).numpy() == y_test).mean())


def main(argv: list[str] | None = None) -> dict[int, tuple[float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seed 0, one timed run")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per seed (default 5; quick 1)")
    args = parser.parse_args(argv)
    seeds = (0,) if args.quick else (0, 1, 2)
    repeat = args.repeat or (1 if args.quick else 5)
    epoch_fit(0)  # load (or compile) the kernels and the model's scoring graph: the timings are warm
    print(f"digits, MLP(64, [32, 10]) relu, Adam lr {LR:g}, {EPOCHS} epochs of {BATCH} rows, 25 % held out")
    print(f"{'seed':>4}  {'held-out accuracy':>17}  {'fit (one call)':>14}  {'its steps':>9}  "
          f"{'train_step loop':>15}  ratio")  # fmt: skip
    results = {}
    for seed in seeds:
        fits = [epoch_fit(seed) for _ in range(repeat)]
        loops = [loop_of_train_steps(seed) for _ in range(repeat)]
        np.testing.assert_allclose(fits[0][2], loops[0][1], rtol=1e-12)  # the same training
        fit_s = statistics.median(f[0] for f in fits)
        loop_s = statistics.median(loop[0] for loop in loops)
        steps_s = statistics.median(f[3] for f in fits)
        results[seed] = (fits[0][1], fit_s)
        print(f"{seed:>4}  {fits[0][1]:>17.1%}  {fit_s:>12.3f} s  {steps_s:>7.3f} s  {loop_s:>13.3f} s  "
              f"{loop_s / fit_s:5.2f}×")  # fmt: skip
    if not args.quick:
        accuracies = {seed: [torch_accuracy(seed, k) for k in range(3)] for seed in seeds}
        if None in accuracies[seeds[0]]:
            print("PyTorch: not installed, skipped (pip install torch)")
        else:
            print("PyTorch eager, same setting and splits (no L2 term), its init and shuffling seeds 0-2:")
            for seed, accs in accuracies.items():
                print(f"  seed {seed}: " + "  ".join(f"{a:.1%}" for a in accs))
    print("floors (one fit call on the digits):")
    for seed, (accuracy, seconds) in results.items():
        verdict = "PASS" if accuracy >= 0.97 else "FAIL"
        print(f"  {verdict}  seed {seed}: {accuracy:.1%} held out (floor >= 97 %)")
        verdict = "PASS" if seconds <= 1.0 else "FAIL"
        print(f"  {verdict}  seed {seed}: the fit call takes {seconds:.3f} s, warm (floor <= 1 s)")
    return results


if __name__ == "__main__":
    main()
