"""One compiled graph, or two sharing parameters, called from several threads at once.

Each thread works in its own arrays (compiled.CallState: the lanes, the uniform values
and gradients, its last forward), and what the threads share, the parameters' Store,
is written under the store's lock: so every call gives what it gives alone, and the
gradients and updates add up as if the calls had come one after the other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np

import microgradx
from microgradx import Value
from microgradx.nn import MLP
from microgradx.optim import SGD


def run_threads(work, n_threads: int = 2) -> list:
    """work(k) in n_threads threads started together; their results, in thread order."""
    results: list = [None] * n_threads
    start = threading.Barrier(n_threads)

    def run(k: int) -> None:
        start.wait()
        results[k] = work(k)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def added(g: np.ndarray, times: int) -> np.ndarray:
    """g added to 0 `times` times, one after the other, as backward adds it into the store."""
    total = np.zeros_like(g)
    for _ in range(times):
        total += g
    return total


def test_one_graph_forward_and_backward_from_two_threads():
    """2 threads × 2,000 forward + backward calls on one compiled MLP(4, [32, 32, 1]) graph on
    1,000 rows: every output and every inputs' gradient is the one-thread result, bit for
    bit, and the parameters' gradients are its 4,000 backward calls added up."""
    model = MLP(4, [32, 32, 1], seed=0)
    xs = [Value(0.0) for _ in range(4)]
    step = microgradx.compile(model(xs), inputs=xs)
    X = np.random.default_rng(0).normal(size=(1000, 4))
    model.zero_grad()
    out = step.forward(X)
    x_grad = step.backward()
    g = step.store.grad.copy()
    model.zero_grad()
    calls = 2000

    def work(k: int) -> tuple[int, int]:
        wrong = 0
        for _ in range(calls):
            wrong += not np.array_equal(step.forward(X), out)
            wrong += not np.array_equal(step.backward(), x_grad)
        return wrong, calls

    results = run_threads(work)
    assert results == [(0, calls), (0, calls)]
    np.testing.assert_array_equal(step.store.grad, added(g, 2 * calls))


def test_training_steps_from_two_threads_take_turns():
    """Two threads each take 2,000 train_step calls with one SGD (momentum) on one graph: the steps
    take turns, so the parameters end where 4,000 steps in one thread take them, and the losses
    are the same 4,000 losses."""

    def build():
        model = MLP(2, [8, 8, 1], seed=3)
        xs, y = [Value(0.0), Value(0.0)], Value(0.0)
        loss = (1 - y * model(xs)).relu() + 1e-3 * sum(p * p for p in model.parameters())
        step = microgradx.compile(loss, inputs=xs + [y])
        return model, step, SGD(model.parameters(), lr=0.05, momentum=0.9)

    rng = np.random.default_rng(1)
    XY = np.column_stack([rng.normal(size=(100, 2)), rng.choice([-1.0, 1.0], size=100)])
    model, step, opt = build()
    alone = [step.train_step(XY, opt) for _ in range(4000)]
    model2, step2, opt2 = build()
    losses = run_threads(lambda k: [step2.train_step(XY, opt2) for _ in range(2000)])
    assert opt2.t == 4000
    np.testing.assert_array_equal([p.data for p in model2.parameters()], [p.data for p in model.parameters()])
    assert sorted(losses[0] + losses[1]) == sorted(alone)


def test_two_graphs_sharing_parameters_from_two_threads():
    """Two compiled graphs on the same parameters (one Store), each in its own thread: each
    thread's results are its graph's alone, and the store's gradients are both graphs' sums."""
    model = MLP(3, [16, 16, 1], seed=2)
    xs = [Value(0.0) for _ in range(3)]
    out = model(xs)
    graphs = [microgradx.compile(out, inputs=xs), microgradx.compile((out * out).tanh(), inputs=xs)]
    assert graphs[0].store is graphs[1].store
    X = np.random.default_rng(4).normal(size=(300, 3))
    alone = []
    for graph in graphs:
        model.zero_grad()
        alone.append((graph.forward(X), graph.backward(), graph.store.grad.copy()))
    model.zero_grad()
    calls = 500

    def work(k: int) -> int:
        wrong = 0
        for _ in range(calls):
            wrong += not np.array_equal(graphs[k].forward(X), alone[k][0])
            wrong += not np.array_equal(graphs[k].backward(), alone[k][1])
        return wrong

    assert run_threads(work) == [0, 0]
    np.testing.assert_allclose(graphs[0].store.grad, calls * (alone[0][2] + alone[1][2]), rtol=1e-9)


def test_thread_parallel_graphs_from_two_threads_take_turns_on_the_workqueue_layer(tmp_path):
    """numba's workqueue threading layer (where neither TBB nor OpenMP is installed) aborts the
    process when two threads run its parallel kernels at once: a graph compiled with
    threads=True, called from two threads, takes turns. In a fresh process on that layer."""
    script = tmp_path / "two_threads.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading
            import numba
            import numpy as np
            import microgradx
            from microgradx import Value
            from microgradx.nn import MLP

            model = MLP(4, [8, 8, 1], seed=0)
            xs = [Value(0.0) for _ in range(4)]
            step = microgradx.compile(model(xs), inputs=xs, threads=True)
            step.parallel_rows = 64
            X = np.random.default_rng(0).normal(size=(300, 4))
            out, x_grad = step.forward(X), step.backward()
            assert step._ws.parallel and numba.threading_layer() == "workqueue"
            wrong = [0, 0]

            def work(k):
                for _ in range(300):
                    wrong[k] += not np.array_equal(step.forward(X), out)
                    wrong[k] += not np.array_equal(step.backward(), x_grad)

            threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print("wrong", wrong)
            """
        )
    )
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["wrong", "[0,", "0]"]


def test_zero_grad_waits_for_a_writer_holding_the_store():
    """Module.zero_grad writes the gradients under the store's lock, as backward and the steps
    do: while another thread holds it (a backward running), the zeroing waits its turn."""
    model = MLP(2, [3, 1], seed=0)
    for p in model.parameters():
        p.grad = 1.0
    store = model.parameters()[0]._store
    assert store is not None
    done = threading.Event()
    with store.lock:  # what a backward in another thread holds while it adds its gradients
        zeroing = threading.Thread(target=lambda: (model.zero_grad(), done.set()))
        zeroing.start()
        assert not done.wait(0.2)  # blocked on the lock
        assert all(p.grad == 1.0 for p in model.parameters())
    zeroing.join(10)
    assert done.is_set() and all(p.grad == 0.0 for p in model.parameters())


def test_a_parameter_set_by_hand_waits_for_a_writer_holding_the_store():
    """Value.data and .grad of a bound parameter, and Module.load, write under the store's lock:
    set while a training step in another thread holds it, the write lands after the step
    (which writes the parameters back at its end) instead of being overwritten by it."""
    model = MLP(2, [3, 1], seed=0)
    p = model.parameters()[0]
    store = p._store
    assert store is not None
    writes = [lambda: setattr(p, "data", 5.0), lambda: setattr(p, "grad", 7.0)]
    for write in writes:
        done = threading.Event()
        with store.lock:
            writer = threading.Thread(target=lambda w=write, d=done: (w(), d.set()))
            writer.start()
            assert not done.wait(0.2)  # blocked on the lock
        writer.join(10)
        assert done.is_set()
    assert (p.data, p.grad) == (5.0, 7.0)


def test_numbas_threading_layer_is_chosen_only_when_a_graph_runs_over_threads(tmp_path):
    """numba's threading layer is the whole process's: importing microgradx and running graphs on
    one thread leave it as numba's default for the user's own parallel code; a graph compiled
    with threads=True asks for the fork-safe layer before its first parallel kernel (before,
    the import asked for it). In a fresh process, no NUMBA_THREADING_LAYER set."""
    script = tmp_path / "layer.py"
    script.write_text(
        textwrap.dedent(
            """
            import numba
            import numpy as np
            import microgradx
            from microgradx import Value
            from microgradx.nn import MLP

            default = numba.config.THREADING_LAYER
            model = MLP(4, [8, 1], seed=0)
            xs = [Value(0.0) for _ in range(4)]
            X = np.random.default_rng(0).normal(size=(300, 4))
            microgradx.compile(model(xs), inputs=xs).forward(X)
            after_serial = numba.config.THREADING_LAYER
            step = microgradx.compile(model(xs), inputs=xs, threads=True)
            step.parallel_rows = 64
            step.forward(X)
            assert step._ws.parallel
            print(default, after_serial, numba.config.THREADING_LAYER)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    env["NUMBA_NUM_THREADS"] = "2"
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    default, after_serial, after_parallel = run.stdout.split()
    assert after_serial == default == "default"
    assert after_parallel == "forksafe"
