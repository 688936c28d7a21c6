"""microgradx.compile: flatten once, replay on rows and batches, with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.kernels.codes import RUNS, TILES


@pytest.fixture
def f_graph():
    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    return u, v, w, microgradx.compile((u + v) * w, inputs=[u, v])


def test_one_row_gives_a_float_and_the_lecture_gradients(f_graph):
    u, v, w, step = f_graph
    assert step.parameters == [w]
    out = step.forward([2, 3])
    assert isinstance(out, float) and out == 20.0
    assert step.backward().tolist() == [4.0, 4.0]
    assert w.grad == 5.0


def test_batch_gives_one_output_per_row_and_mean_or_sum_reduction(f_graph):
    u, v, w, step = f_graph
    X = np.array([[2.0, 3.0], [1.0, 1.0], [0.0, -1.0]])
    out = step.forward(X)
    assert out.shape == (3,)
    assert out.tolist() == [20.0, 8.0, -4.0]
    gx = step.backward(reduction="sum")
    assert gx.shape == (3, 2) and (gx == 4.0).all()
    assert w.grad == 5 + 2 - 1  # Σ over rows of u + v
    w.grad = 0.0
    gx = step.backward()  # mean: each row seeded with 1/3
    assert gx == pytest.approx(np.full((3, 2), 4 / 3))
    assert w.grad == pytest.approx(6 / 3)


def test_parameters_accumulate_like_leaves(f_graph):
    u, v, w, step = f_graph
    step.forward([2, 3])
    step.backward()
    step.backward()
    assert w.grad == 10.0


def test_next_forward_sees_parameter_updates_made_by_hand(f_graph):
    u, v, w, step = f_graph
    step.forward([2, 3])
    step.backward()
    w.data -= 0.1 * w.grad  # a plain SGD step, micrograd-style
    assert w.data == pytest.approx(3.5)
    assert step.forward([2, 3]) == pytest.approx(17.5)


def test_list_of_outputs_gives_one_column_each():
    x = Value(0.0, label="x")
    p = Value(2.0)
    step = microgradx.compile([x * p, x + p, (x * x)], inputs=[x])
    out = step.forward(np.array([[1.0], [3.0]]))
    assert out.shape == (2, 3)
    assert out.tolist() == [[2.0, 3.0, 1.0], [6.0, 5.0, 9.0]]
    with pytest.raises(ValueError, match="3 outputs"):
        step.backward()
    gx = step.backward(output=2, reduction="sum")
    assert gx[:, 0].tolist() == [2.0, 6.0]
    assert step.forward([1.0]).tolist() == [2.0, 3.0, 1.0]


@pytest.mark.parametrize("block_rows", [256, 4])
def test_outputs_of_every_chunk_land_in_their_rows(block_rows):
    """The kernel writes the outputs row by row, from every chunk of rows, a uniform output
    (one that does not depend on x) on every row too."""
    x, y, p = Value(0.0), Value(0.0), Value(1.5)
    step = microgradx.compile([x * p + y, p * p, (x - y).relu()], inputs=[x, y])
    step.block_rows = block_rows  # 4: eleven chunks, the last one short
    rows = np.random.default_rng(1).normal(size=(42, 2))
    out = step.forward(rows)
    expected = np.column_stack(
        [rows[:, 0] * 1.5 + rows[:, 1], np.full(42, 2.25), np.maximum(rows[:, 0] - rows[:, 1], 0)]
    )
    np.testing.assert_array_equal(out, expected)
    single = microgradx.compile(x * p + y, inputs=[x, y])
    single.block_rows = block_rows
    np.testing.assert_array_equal(single.forward(rows), expected[:, 0])


def test_compiled_matches_eager_on_a_neuron():
    rng = np.random.default_rng(0)
    xs = [Value(0.0, label=f"x{i}") for i in range(3)]
    ws = [Value(float(w)) for w in rng.normal(size=3)]
    b = Value(0.1)
    out = (Value.dot(xs, ws) + b).tanh()
    step = microgradx.compile(out, inputs=xs)
    X = rng.normal(size=(5, 3))
    batch = step.forward(X)
    for r in range(5):
        for x, val in zip(xs, X[r]):
            x.data = val
        eager = (sum((w * x for w, x in zip(ws, xs)), b)).tanh()
        assert batch[r] == pytest.approx(eager.data, rel=1e-13)


def test_constant_only_graph_and_empty_batch():
    x = Value(1.0)
    step = microgradx.compile(x * 2 + 1, inputs=[x])
    assert step.forward(np.zeros((0, 1))).shape == (0,)
    assert step.backward().shape == (0, 1)


@pytest.mark.parametrize(
    "x,error,match",
    [
        ([1.0], ValueError, r"shape \(1,\).*takes \(2,\)"),
        (np.zeros((3, 3)), ValueError, r"shape \(3, 3\)"),
        (np.zeros((2, 2, 2)), ValueError, "shape"),
        (["a", "b"], TypeError, "real numbers"),
        ([1 + 1j, 2.0], TypeError, "complex"),
        (None, TypeError, "x is None"),  # None is not a number (see test_numbers.py)
    ],
)
def test_bad_input_shapes_and_types(f_graph, x, error, match):
    step = f_graph[3]
    with pytest.raises(error, match=match):
        step.forward(x)


def test_ints_float32_and_non_contiguous_inputs_work(f_graph):
    step = f_graph[3]
    assert step.forward(np.array([2, 3])) == 20.0
    assert step.forward(np.array([2, 3], dtype=np.float32)) == 20.0
    X = np.array([[2.0, 9.0, 3.0], [1.0, 9.0, 1.0]])[:, ::2]
    assert not X.flags.c_contiguous
    assert step.forward(X).tolist() == [20.0, 8.0]


def test_backward_before_forward_is_an_error(f_graph):
    with pytest.raises(RuntimeError, match="forward"):
        f_graph[3].backward()


def test_bad_reduction_is_named(f_graph):
    step = f_graph[3]
    step.forward([1, 2])
    with pytest.raises(ValueError, match="reduction='avg'"):
        step.backward(reduction="avg")


def test_inputs_must_be_leaves_of_the_graph():
    u, v = Value(1.0), Value(2.0)
    s = u + v
    f = s * 2
    with pytest.raises(ValueError, match="computed from other Values"):
        microgradx.compile(f, inputs=[s])
    with pytest.raises(ValueError, match="not in the graph"):
        microgradx.compile(f, inputs=[Value(3.0)])
    with pytest.raises(ValueError, match="twice"):
        microgradx.compile(f, inputs=[u, u])
    with pytest.raises(TypeError, match="float"):
        microgradx.compile(f, inputs=[1.0])
    with pytest.raises(TypeError, match="not a Value"):
        microgradx.compile([f, 3.0], inputs=[u])


def test_two_compiled_graphs_share_parameters():
    x = Value(0.0)
    w = Value(2.0)
    g1 = microgradx.compile(x * w, inputs=[x])
    g2 = microgradx.compile(x * w + w, inputs=[x])
    g1.forward([3.0])
    g1.backward()
    g2.forward([3.0])
    g2.backward()
    assert w.grad == 3.0 + 4.0
    w.data = 1.0
    assert g1.forward([3.0]) == 3.0 and g2.forward([3.0]) == 4.0


def test_rows_split_over_threads_give_the_same_results():
    """Large batches run in chunks over threads (numba prange): same outputs and gradients."""
    rng = np.random.default_rng(1)
    xs = [Value(0.0) for _ in range(3)]
    ws = [Value(float(w)) for w in rng.normal(size=3)]
    h = (Value.dot(xs, ws) + 0.5).tanh()
    out = (h * xs[0] + ws[0] * ws[1]).relu() + h / 3
    serial = microgradx.compile(out, inputs=xs)
    split = microgradx.compile(out, inputs=xs, threads=True)
    split.parallel_rows = 10  # 37 rows: chunks of 19 and 18 on two threads
    assert serial.threads is False and split.threads is True
    X = rng.normal(size=(37, 3))
    np.testing.assert_allclose(split.forward(X), serial.forward(X), rtol=1e-14)
    before = split.store.grad.copy()
    gx_split = split.backward(reduction="sum")
    g_split = split.store.grad - before
    before = serial.store.grad.copy()
    gx_serial = serial.backward(reduction="sum")
    g_serial = serial.store.grad - before
    np.testing.assert_allclose(gx_split, gx_serial, rtol=1e-13)
    np.testing.assert_allclose(g_split, g_serial, rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize(
    "sizes", [(3, [5, 6, 2]), (4, [8, 8, 4]), (8, [4, 12, 4]), (2, [4, 8, 2]), (3, [8, 5, 4])]
)
def test_a_network_matches_the_reference_sweep_row_by_row(activation, sizes):
    """Layers become DOTs that share their rows (grouped in the backward sweep; in tiles of
    four neurons × four rows when the widths allow): check every gradient against the
    pure-Python reference sweep, one row at a time."""
    from microgradx.nn import MLP

    nin, widths = sizes
    model = MLP(nin, widths, activation=activation, seed=4)
    xs = [Value(0.0, label=f"x{i}") for i in range(nin)]
    out = model(xs)
    loss = (out[0] * out[1]).tanh() + out[0]
    step = microgradx.compile(loss, inputs=xs)
    assert step.split.vgroups.size > 0  # the layers were grouped
    if any(width % 4 == 0 for width in widths[:-1]):
        assert (step.split.vcode[:, RUNS] == TILES).any()  # some layer runs as tiles
    X = np.random.default_rng(2).normal(size=(7, nin))
    model.zero_grad()
    step.forward(X)
    gx = step.backward(reduction="sum")
    compiled_grads = np.array([p.grad for p in model.parameters()])
    model.zero_grad()
    for r, row in enumerate(X):
        for x, v in zip(xs, row):
            x.data = float(v)
            x.grad = 0.0
        loss.backward(engine="python")
        assert [x.grad for x in xs] == pytest.approx(gx[r], rel=1e-10, abs=1e-12)
    reference_grads = np.array([p.grad for p in model.parameters()])
    np.testing.assert_allclose(compiled_grads, reference_grads, rtol=1e-10, atol=1e-12)


def matches_the_python_sweep(step, out: Value, xs: list[Value], params: list[Value], X: np.ndarray) -> None:
    """The compiled graph's values and gradients (inputs' and parameters') on the rows X are
    the pure-Python sweep's, row by row."""
    for p in params:
        p.grad = 0.0
    values = step.forward(X)
    gx = step.backward(reduction="sum")
    compiled = np.array([p.grad for p in params])
    for p in params:
        p.grad = 0.0
    for r, row in enumerate(X):
        for x, v in zip(xs, row):
            x.data, x.grad = float(v), 0.0
        out.backward(engine="python")
        assert out.data == pytest.approx(values[r], rel=1e-12)
        np.testing.assert_allclose(gx[r], [x.grad for x in xs], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(compiled, [p.grad for p in params], rtol=1e-10, atol=1e-12)


def test_a_tiled_layer_with_some_relus_not_fused_matches_the_reference_sweep():
    """A layer of eight neurons over six inputs runs as tiles (a quad of rows and two left
    over); two of its pre-activations are also read elsewhere, so their relus stay apart
    from their DOT rows while their tile-mates' are fused. Values and every gradient,
    inputs' included, against the pure-Python sweep row by row."""
    rng = np.random.default_rng(11)
    xs = [Value(0.0, label=f"x{i}") for i in range(6)]
    params, zs = [], []
    for _ in range(8):
        ws = [Value(float(w)) for w in rng.normal(size=6)]
        b = Value(float(rng.normal()))
        params += ws + [b]
        zs.append(Value.dot(ws, xs) + b)
    hs = [z.relu() for z in zs]
    out = Value.sum(h * (k + 1) for k, h in enumerate(hs)) + zs[1] * zs[6]
    step = microgradx.compile(out, inputs=xs)
    code = step.split.vcode
    tiled = code[:, 7] == 1
    assert tiled.sum() == 8 and 0 < code[tiled, 6].sum() < 8  # fused and unfused relus in the tiles
    matches_the_python_sweep(step, out, xs, params, rng.normal(size=(21, 6)))


@pytest.mark.parametrize("rows", [45, 301])
def test_tiles_on_the_padding_lanes_leave_the_rows_exact(rows):
    """Tiles run on every lane of a row, the padding past the batch included (45 rows: three
    lanes of padding; 301: two blocks, the last a row short). The ops before the tiles run
    on the batch's rows only: here log, which on a padding lane's 0 would give -inf, and
    0·inf = nan in the weights' sums. Every gradient against the Python sweep, row by row."""
    rng = np.random.default_rng(12)
    xs = [Value(0.0, label=f"x{i}") for i in range(4)]
    logs = [x.log() for x in xs]
    params, hs = [], []
    for _ in range(8):
        ws = [Value(float(w)) for w in rng.normal(size=4)]
        b = Value(float(rng.normal()))
        params += ws + [b]
        hs.append((Value.dot(ws, logs) + b).relu())
    out = Value.sum(h * (k - 3.5) for k, h in enumerate(hs)).tanh()
    step = microgradx.compile(out, inputs=xs)
    assert (step.split.vcode[:, RUNS] == TILES).sum() == 8  # the layer runs as tiles
    matches_the_python_sweep(step, out, xs, params, rng.uniform(0.1, 3.0, size=(rows, 4)))
    ws = step._ws
    assert ws.vals.shape[2] > ws.counts.max() or ws.counts[-1] < ws.counts[0]  # there was padding


@pytest.mark.parametrize("rows", [31, 32, 33, 47])
def test_huge_finite_parameters_give_no_nan_through_the_padding_lanes(rows):
    """Padding lanes (from 33 rows a block: lanes rounded up to whole cache lines) hold a
    layer's output for zero inputs until each tile sets them back to 0. Here that output
    overflows: relu(1e300) from the first layer's bias, times the second layer's weights of
    1e300, is inf; the third layer's tile summing g·x over the lanes then made 0·inf = nan
    in its weights' gradients. On the batch's rows the first layer is dead (x1 + x2 > 1),
    so every real value and gradient is finite: compiled and eager agree, row by row."""
    from microgradx.nn import MLP

    model = MLP(2, [8, 8, 4, 1], seed=0)
    first, second = model.layers[0], model.layers[1]
    for neuron in first.neurons:  # w·x + b = 1e300·(1 - x1 - x2) < 0 on every row
        for w in neuron.w:
            w.data = -1e300
        neuron.b.data = 1e300
    for neuron in second.neurons:
        for w in neuron.w:
            w.data = 1e300
        neuron.b.data = 1.0
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    out = model(xs)
    step = microgradx.compile(out, inputs=xs)
    assert (step.split.vcode[:, RUNS] == TILES).sum() == 20  # every hidden layer runs as tiles
    X = np.random.default_rng(rows).uniform(0.6, 1.5, size=(rows, 2))
    params = model.parameters()
    matches_the_python_sweep(step, out, xs, params, X)
    assert np.isfinite([p.grad for p in params]).all()


@pytest.mark.parametrize("foreign", [False, True])
def test_parameters_in_store_order_move_in_one_run_or_one_by_one(foreign):
    """An MLP's parameters take the uniform slots in their store's order, so the kernels copy
    them in and out as one run; a store with a foreign value among them takes the path one
    parameter at a time. Both give the eager engine's values and gradients."""
    from microgradx.core.engine import bind
    from microgradx.nn import MLP

    model = MLP(2, [4, 1], seed=3)
    params = model.parameters()
    if foreign:  # another Value bound between the model's parameters in the store
        bind(params[:3] + [Value(0.5)] + params[3:])
    xs = [Value(0.0), Value(0.0)]
    loss = (model(xs) * xs[1]).tanh() + 0.1 * sum(p * p for p in params)
    step = microgradx.compile(loss, inputs=xs)
    X = np.array([[0.3, -1.2]])
    model.zero_grad()
    value = step.forward(X)[0]
    step.backward()
    prog = step.kernel_args(step._ws)[0]
    assert (prog[1] < 0) == foreign  # one run, or one by one
    compiled = [p.grad for p in params]
    model.zero_grad()
    xs[0].data, xs[1].data = X[0]
    eager = (model(xs) * xs[1]).tanh() + 0.1 * sum(p * p for p in params)
    eager.backward()
    assert value == pytest.approx(eager.data, rel=1e-12)
    assert compiled == pytest.approx([p.grad for p in params], rel=1e-12, abs=1e-15)


def test_a_compiled_graph_follows_its_parameters_into_a_new_store():
    """After a second graph binds the parameters (and one more Value) into a new store, in
    its own order, the first graph finds them there: the same values and gradients as the
    eager engine, before and after."""
    from microgradx.nn import MLP

    model = MLP(2, [4, 1], seed=5)
    params = model.parameters()
    xs = [Value(0.0), Value(0.0)]
    loss = model(xs).tanh() + 0.1 * sum(p * p for p in params)
    step = microgradx.compile(loss, inputs=xs)
    X = np.array([[0.4, -0.7]])

    def compiled_and_eager():
        model.zero_grad()
        value = step.forward(X)[0]
        step.backward()
        compiled = [p.grad for p in params]
        model.zero_grad()
        xs[0].data, xs[1].data = X[0]
        eager = model(xs).tanh() + 0.1 * sum(p * p for p in params)
        eager.backward()
        assert value == pytest.approx(eager.data, rel=1e-12)
        assert compiled == pytest.approx([p.grad for p in params], rel=1e-12, abs=1e-15)

    compiled_and_eager()
    store = step.store
    extra = Value(0.3)
    microgradx.compile(extra * params[-1] + sum(reversed(params)), inputs=[])  # a new store, another order
    assert params[0]._store is not store
    compiled_and_eager()
    assert step.store is params[0]._store


@pytest.mark.parametrize("block_rows,parallel_rows", [(40, 10**9), (40, 1), (64, 1)])
def test_blocks_of_rows_padded_to_cache_lines_agree(block_rows, parallel_rows):
    """Rows in blocks (each slot's lanes padded to a cache line from 32 rows a block on),
    serial or over threads: the same outputs and gradients as one plain block."""
    from microgradx.nn import MLP

    model = MLP(2, [6, 5, 1], seed=7)
    xs = [Value(0.0), Value(0.0)]
    loss = (model(xs) - xs[0]).tanh()
    X = np.random.default_rng(5).normal(size=(100, 2))
    plain = microgradx.compile(loss, inputs=xs)
    plain.block_rows = 10**9
    blocked = microgradx.compile(loss, inputs=xs, threads=True)
    blocked.block_rows, blocked.parallel_rows = block_rows, parallel_rows
    np.testing.assert_allclose(blocked.forward(X), plain.forward(X), rtol=1e-13)
    assert blocked._ws.vals.shape[0] > 1 and blocked._ws.vals.shape[2] % 8 == 0  # padded blocks
    before = blocked.store.grad.copy()
    gx_blocked = blocked.backward(reduction="sum")
    g_blocked = blocked.store.grad - before
    before = plain.store.grad.copy()
    gx_plain = plain.backward(reduction="sum")
    np.testing.assert_allclose(gx_blocked, gx_plain, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_blocked, plain.store.grad - before, rtol=1e-11, atol=1e-14)


def test_the_program_is_packed_once_across_batch_sizes(f_graph):
    """A new batch size makes a new workspace, not a new packed program (it depends only on
    where the parameters are); moving the parameters to another store does repack it."""
    u, v, w, step = f_graph
    assert step.forward(np.ones((3, 2))).tolist() == [2 * w.data] * 3
    prog = step.kernel_args(step._ws)[0]
    assert step.forward(np.ones((5, 2))).tolist() == [2 * w.data] * 5
    assert step.kernel_args(step._ws)[0] is prog
    microgradx.compile(w * Value(2.0))  # binds w into a new store
    assert step.forward([1.0, 1.0]) == pytest.approx(2 * w.data)
    assert step.kernel_args(step._ws)[0] is not prog
