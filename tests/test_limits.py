"""Limits: empty batches, nan inputs, odd dtypes and layouts, deep graphs, and bytes per node.

Each odd input either works exactly as float64 C-ordered rows would, or is refused
with an error naming the shape or type expected. Memory per node is measured by
`measure()`; run this file as a script to measure a large graph by hand:

    python tests/test_limits.py 10000000 [LANES] [optimize]
"""

from __future__ import annotations

import gc
import math
import sys
import time
import tracemalloc

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.nn import MLP


@pytest.fixture
def net():
    """A 3-4-1 tanh network compiled with 3 inputs; returns (compiled, model, eager f)."""
    model = MLP(3, [4, 1], activation="tanh", seed=0)
    x = [Value(0.0) for _ in range(3)]
    step = microgradx.compile(model(x), inputs=x)

    def eager(row):
        return model([float(v) for v in row]).data

    return step, model, eager


ROWS = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [0.0, 3.0, 1.0]])


def param_grads(model: MLP) -> np.ndarray:
    return np.array([p.grad for p in model.parameters()])


# -- batches and dtypes -------------------------------------------------------------------


def test_a_batch_of_zero_rows(net):
    step, model, _ = net
    model.zero_grad()
    out = step(np.zeros((0, 3)))
    assert out.shape == (0,)
    dx = step.backward()
    assert dx.shape == (0, 3)
    assert not param_grads(model).any()  # nothing to sum: gradients untouched
    dx = step.backward(reduction="sum")
    assert dx.shape == (0, 3) and not param_grads(model).any()
    np.testing.assert_allclose(step(ROWS), [step(r) for r in ROWS])  # and the next batch is fine


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: np.rint(a * 4).astype(np.int64), id="int64"),
        pytest.param(lambda a: np.rint(a * 4).astype(np.int32), id="int32"),
        pytest.param(lambda a: a.astype(np.float32), id="float32"),
        pytest.param(lambda a: a.astype(np.float16), id="float16"),
        pytest.param(lambda a: np.asfortranarray(a), id="fortran"),
        pytest.param(lambda a: np.repeat(a, 2, axis=1)[:, ::2], id="strided-columns"),
        pytest.param(lambda a: np.repeat(a, 2, axis=0)[::2], id="strided-rows"),
        pytest.param(lambda a: np.ascontiguousarray(a.T).T, id="transposed"),
        pytest.param(lambda a: a[::-1][::-1], id="reversed-twice"),
        pytest.param(lambda a: a.tolist(), id="nested-lists"),
        pytest.param(lambda a: a > 0.3, id="bool"),
    ],
)
def test_odd_dtypes_and_layouts_work_like_float64_rows(net, convert):
    step, model, eager = net
    X = convert(ROWS)
    want = np.asarray(X, dtype=np.float64)
    model.zero_grad()
    out = step(X)
    dx = step.backward(reduction="sum")
    pg = param_grads(model)
    np.testing.assert_allclose(out, [eager(r) for r in want], rtol=1e-12)
    model.zero_grad()
    np.testing.assert_array_equal(out, step(np.ascontiguousarray(want)))
    np.testing.assert_array_equal(dx, step.backward(reduction="sum"))
    np.testing.assert_array_equal(pg, param_grads(model))


def test_a_float32_row_is_widened_not_rounded(net):
    """float32 inputs are converted to float64 once; the sweep itself is float64 throughout."""
    step, _, eager = net
    row = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    assert step(row) == pytest.approx(eager(row.astype(np.float64)), rel=1e-15)


def test_nan_in_one_row_stays_in_that_row(net):
    step, model, eager = net
    X = ROWS.copy()
    X[1, 2] = np.nan
    model.zero_grad()
    out = step(X)
    dx = step.backward(reduction="sum")
    assert math.isnan(out[1]) and np.isnan(dx[1]).all()
    np.testing.assert_allclose(out[[0, 2]], [eager(ROWS[0]), eager(ROWS[2])], rtol=1e-12)
    assert np.isfinite(dx[[0, 2]]).all()
    # parameter gradients are sums over rows: the nan row makes (some of) them nan, as it should
    assert np.isnan(param_grads(model)).any()


def test_inf_inputs_give_nan_or_inf_never_an_error(net):
    step, _, _ = net
    out = step(np.array([[np.inf, 0.0, 0.0], [-np.inf, np.inf, 1.0]]))
    step.backward()
    assert out.shape == (2,)


@pytest.mark.parametrize(
    "x, error, match",
    [
        (
            np.zeros((2, 4)),
            ValueError,
            r"shape \(2, 4\); this graph takes \(3,\) or \(rows, 3\): a column for each of "
            r"compile\(inputs=...\)'s 3",
        ),
        (np.zeros(2), ValueError, r"shape \(2,\)"),
        (np.zeros((1, 1, 3)), ValueError, r"shape \(1, 1, 3\)"),
        (np.zeros((0, 0)), ValueError, r"shape \(0, 0\)"),
        (np.array([[1, 2, "a"]], dtype=object), TypeError, "must hold real numbers"),
        ([[1.0, 2.0], [3.0]], TypeError, "must hold real numbers"),
        ("abc", TypeError, "must hold real numbers"),
        (None, TypeError, "x is None"),  # None is not a number (see test_numbers.py)
    ],
)
def test_bad_inputs_are_refused_with_the_shape_expected(net, x, error, match):
    step, _, _ = net
    with pytest.raises(error, match=match):
        step(x)


# -- deep graphs -----------------------------------------------------------------------------


def chain(n: int, x0: float = 0.5) -> tuple[Value, Value, Value, Value]:
    """n computed nodes: (t·w).tanh() + b repeated, w and b parameters; returns (out, x, w, b)."""
    x, w, b = Value(x0, label="x"), Value(0.9, label="w"), Value(0.01, label="b")
    t = x
    for i in range(n):
        k = i % 3
        t = t * w if k == 0 else (t.tanh() if k == 1 else t + b)
    return t, x, w, b


def chain_exact(n: int, x0: float, w: float = 0.9, b: float = 0.01) -> tuple[float, float]:
    """The chain's value and d/dx by forward-mode in plain Python (an independent oracle)."""
    t, dt = x0, 1.0
    for i in range(n):
        k = i % 3
        if k == 0:
            t, dt = t * w, dt * w
        elif k == 1:
            t = math.tanh(t)
            dt *= 1.0 - t * t
        else:
            t += b
    return t, dt


def test_a_million_node_chain_compiles_and_runs():
    """No recursion anywhere: flatten, split and both sweeps handle a 10⁶-deep chain.

    optimize=False: the tape passes are pure Python (about 5 µs a slot; see the report).
    """
    n = 1_000_000
    out, x, w, b = chain(n)
    step = microgradx.compile(out, inputs=[x], optimize=False)
    assert len(step.tape) == n + 3
    X = np.array([[0.5], [-2.0]])
    got = step(X)
    dx = step.backward(reduction="sum")
    for r, x0 in enumerate(X[:, 0]):
        f, df = chain_exact(n, x0)
        assert got[r] == pytest.approx(f, rel=1e-9)
        assert dx[r, 0] == pytest.approx(df, rel=1e-9, abs=1e-300)
    assert math.isfinite(w.grad) and math.isfinite(b.grad)


def test_a_deep_chain_with_the_tape_passes():
    n = 30_000
    out, x, _, _ = chain(n)
    step = microgradx.compile(out, inputs=[x])
    f, df = chain_exact(n, 0.25)
    assert step(np.array([0.25])) == pytest.approx(f, rel=1e-9)
    assert step.backward()[0] == pytest.approx(df, rel=1e-9, abs=1e-300)


# -- bytes per node ----------------------------------------------------------------------------


def traced() -> int:
    """Bytes currently allocated by Python and NumPy (tracemalloc), after a full collection."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def measure(n: int, lanes: int = 1, optimize: bool = False) -> dict[str, float]:
    """Bytes per node at each stage of a chain of n nodes, measured with tracemalloc.

    values         the graph's Value objects
    tape           a flattened tape: its arrays and its list of nodes
    compiled       what compile() keeps on top of the Values (its tape, the two programs)
    compile_peak   the most compile() holds at once, on top of the Values
    workspace      the forward/backward arrays for `lanes` rows
    seconds_*      wall time of each stage (tracemalloc slows allocation down)
    """
    warm, x0, _, _ = chain(10)  # load numba's compiled kernels first: they are not per-node memory
    microgradx.compile(warm, inputs=[x0], optimize=optimize)(np.full((lanes, 1), 0.5))
    microgradx.flatten(warm)
    tracemalloc.start()
    try:
        base = traced()
        t = time.perf_counter()
        out, x, _, _ = chain(n)
        timing = {"seconds_build": time.perf_counter() - t}
        values = traced()
        t = time.perf_counter()
        tape = microgradx.flatten(out)
        timing["seconds_flatten"] = time.perf_counter() - t
        tape_bytes = traced() - values
        del tape
        tracemalloc.reset_peak()
        t = time.perf_counter()
        step = microgradx.compile(out, inputs=[x], optimize=optimize)
        timing["seconds_compile"] = time.perf_counter() - t
        compile_peak = tracemalloc.get_traced_memory()[1] - values
        compiled = traced()
        t = time.perf_counter()
        step(np.full((lanes, 1), 0.5))
        step.backward()
        timing["seconds_forward_backward"] = time.perf_counter() - t
        ran = traced()
    finally:
        tracemalloc.stop()
    slots = len(step.tape)
    return {
        "nodes": slots,
        "values": (values - base) / slots,
        "tape": tape_bytes / slots,
        "compiled": (compiled - values) / slots,
        "compile_peak": compile_peak / slots,
        "workspace": (ran - compiled) / slots,
        "total": (ran - base) / slots,
        **timing,
    }


def test_bytes_per_node_stay_small():
    """Bounds that leave room for noise: a 10⁷-node graph must fit in a few GB."""
    m = measure(100_000, lanes=4)
    # a Value is 112 bytes as allocated, 16 more for the array of attributes of your own
    # (Python makes it with the object; a label goes there too), its float data 24
    assert m["values"] <= 160, m
    assert m["tape"] <= 20, m  # op int8 + a, b int32 + the node list's pointer: 17 bytes
    assert m["compiled"] <= 60, m
    assert m["workspace"] <= 4 * 16 + 4, m  # values and gradients, 8 bytes each per lane
    assert m["total"] <= 280, m  # the values' share above included


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    lanes = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    optimize = len(sys.argv) > 3 and sys.argv[3] == "optimize"
    for key, value in measure(n, lanes, optimize).items():
        print(f"{key:26s} {value:12.2f}")
    with open("/proc/self/status") as f:
        print(next(line for line in f if line.startswith("VmHWM")).strip())
