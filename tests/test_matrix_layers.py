"""Layers as matrix products (compiler/program.py's _kind, kernels/matrix_layers.py's
matrix_forward / matrix_back, kernels/matmul.py): the same numbers as the path without them
(Compiled.matrix_layers = False: the tiles and the plain DOTs), and as the lecture's matrix
algorithm (matrix.backprop), to 1e-12 relative."""

from __future__ import annotations

import numpy as np
import pytest

import microgradx
from microgradx import Value, matrix
from microgradx.compiled import Compiled
from microgradx.compiler import program
from microgradx.compiler.workspace import Workspace
from microgradx.kernels import calls, jit, numpy_calls
from microgradx.kernels.codes import MEMBERS, RUNS
from microgradx.losses import l2, softmax_cross_entropy
from microgradx.nn import ACTIVATIONS, MLP
from microgradx.optim import Adam

TOL = 1e-12


def close(got, want, what: str) -> None:
    """got = want to TOL relative to want's size (1 at least)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    worst = float(np.abs(got - want).max()) / scale if want.size else 0.0
    assert worst <= TOL, f"{what}: relative difference {worst:.1e}"


def kinds(step: Compiled) -> set[int]:
    """How the graph's groups run (column RUNS of each group's first DOT)."""
    vcode = step.split.vcode
    return set(vcode[vcode[:, MEMBERS] > 0, RUNS].tolist())


def mse_graph(model: MLP, nin: int):
    """One row's Σ over outputs of (ŷ − y)² (matrix.backprop's "mse"), its inputs x then y."""
    xs = [Value(0.0) for _ in range(nin)]
    out = model(xs)
    out = out if isinstance(out, list) else [out]
    ys = [Value(0.0) for _ in out]
    return Value.sum([(o - y) ** 2 for o, y in zip(out, ys)]), xs + ys


def compiled_both(loss: Value, inputs: list[Value]) -> tuple[Compiled, Compiled]:
    """The graph compiled with layers as matrix products, and without (the oracle)."""
    fast = microgradx.compile(loss, inputs=inputs)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Compiled, "matrix_layers", False)
        plain = microgradx.compile(loss, inputs=inputs)
    assert kinds(plain) <= {0, program.TILES}
    return fast, plain


def forward_backward(step: Compiled, X: np.ndarray):
    step.store.grad[:] = 0.0
    out = step.forward(X)
    dx = step.backward()
    return out, dx, step.store.grad.copy()


def digits_graph(nin: int, width: int, seed: int = 0):
    """The digits demo's graph (train_digits.py): softmax cross-entropy + 3e-4·Σp², a fresh model."""
    model = MLP(nin, [width, 10], seed=seed)
    xs, ys = [Value(0.0) for _ in range(nin)], [Value(0.0) for _ in range(10)]
    return model, softmax_cross_entropy(model(xs), ys) + l2(model.parameters(), 3e-4), xs + ys


def digits_rows(nin: int, rows: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.standard_normal((rows, nin)), np.eye(10)[rng.integers(0, 10, rows)]])


@pytest.mark.parametrize(
    ("nin", "width", "rows", "kind"),
    [(784, 128, 128, program.MATRIX), (64, 32, 128, program.MATRIX), (300, 12, 300, program.MATRIX)],
)
def test_the_benchmarks_networks_give_the_same_numbers_as_the_tiles(nin, width, rows, kind):
    """784-128-10 (matrix products both ways), the digits' 64-32-10 (tiles forward, matrix
    products back) and a 300-12-10 on 300 rows (two chunks of lanes, padding): outputs,
    parameters' and inputs' gradients, then three Adam steps of train_step, fit on one batch
    and fit by epochs of shuffled mini-batches (a short last one), each on its own copy."""
    X = digits_rows(nin, rows)
    _, loss, inputs = digits_graph(nin, width)
    fast, plain = compiled_both(loss, inputs)
    assert kind in kinds(fast)
    for got, want, what in zip(forward_backward(fast, X), forward_backward(plain, X), ("out", "dx", "grad")):
        close(got, want, what)
    results = []
    for matrix_layers in (True, False):
        model, loss, inputs = digits_graph(nin, width)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(Compiled, "matrix_layers", matrix_layers)
            step = microgradx.compile(loss, inputs=inputs)
        opt = Adam(model.parameters(), lr=0.01)
        losses = [step.train_step(X, opt) for _ in range(3)]
        losses += list(step.fit(X, opt, 2))
        history = step.fit(X, opt, epochs=2, batch_size=rows // 3 + 1, seed=5, verbose=False)
        losses += list(history.step_loss)
        results.append((np.array(losses), np.array([p.data for p in model.parameters()])))
    close(results[0][0], results[1][0], "losses")
    close(results[0][1], results[1][1], "parameters")


def random_mlp(rng: np.random.Generator) -> tuple[MLP, int]:
    """Depth 1-4, widths 1-300 (log-uniform: most small, some past the matrix products' thresholds),
    every activation, with or without bias; at most 25,000 parameters (a test's time)."""
    while True:
        depth = int(rng.integers(1, 5))
        sizes = np.exp(rng.uniform(0, np.log(300), depth + 1)).astype(int).clip(1, 300).tolist()
        if rng.random() < 0.3:  # often a layer of whole tiles on many rows
            sizes[int(rng.integers(0, depth))] = int(rng.choice([32, 64, 260]))
            sizes[1 + int(rng.integers(0, depth))] = int(rng.choice([4, 8, 12, 32]))
        if sum(a * b for a, b in zip(sizes, sizes[1:])) <= 25_000:
            break
    acts = [str(a) for a in rng.choice(list(ACTIVATIONS), depth)]
    model = MLP(
        sizes[0], sizes[1:], activation=acts, bias=bool(rng.random() < 0.5), seed=int(rng.integers(1e9))
    )
    return model, sizes[0]


def test_200_random_mlps_equal_the_tiles_and_the_lectures_matrix_algorithm():
    """Each network's mean squared-error loss over a batch of 1-40 rows: its gradients with layers as
    matrix products = without (the tiles and scalar DOTs) = matrix.backprop, to 1e-12 relative;
    the matrix products run on many of them, beside tiles and DOTs alone."""
    rng = np.random.default_rng(24)
    seen: set[int] = set()
    for _ in range(200):
        model, nin = random_mlp(rng)
        loss, inputs = mse_graph(model, nin)
        fast, plain = compiled_both(loss, inputs)
        seen |= kinds(fast)
        rows = int(rng.integers(1, 41))
        X = rng.uniform(-1, 1, (rows, len(inputs)))
        want, got = forward_backward(plain, X), forward_backward(fast, X)
        for a, b, what in zip(got, want, ("out", "dx", "grad")):
            close(a, b, what)
        bp = matrix.backprop(model, X[:, :nin], X[:, nin:], "mse")
        close(float(np.mean(got[0])), bp.loss, "loss")
        close(got[1][:, :nin], bp.g[0], "∂loss/∂x")
        for k, layer in enumerate(model.layers):  # the store's gradients are the last backward's, fast's
            close(layer.weight_grad, bp.W[k], f"∇W[{k + 1}]")
            if bp.b[k] is not None:
                close(layer.bias_grad, bp.b[k], f"∇b[{k + 1}]")
    assert {program.MATRIX, program.TILES, program.ALONE} <= seen


def test_forward_mode_and_second_derivatives_on_layers_as_matrices():
    """jvp, hvp and hessian run graphs compiled from this one's (modes.py): with the matrix products
    they give the numbers they give without."""
    model = MLP(260, [8, 2], seed=2, activation="tanh")
    loss, inputs = mse_graph(model, 260)
    fast, plain = compiled_both(loss, inputs)
    assert program.MATRIX in kinds(fast)
    rng = np.random.default_rng(3)
    X, dX = rng.uniform(-1, 1, (6, 262)), rng.uniform(-1, 1, (6, 262))
    v = rng.standard_normal(len(fast.parameters))
    for a, b in zip(fast.jvp(X, dX), plain.jvp(X, dX)):
        close(a, b, "jvp")
    close(fast.hvp(X, v), plain.hvp(X, v), "hvp")
    small = MLP(40, [4, 1], seed=4)
    loss, inputs = mse_graph(small, 40)
    fast, plain = compiled_both(loss, inputs)
    assert program.MATRIX in kinds(fast)
    X = rng.uniform(-1, 1, (5, 41))
    close(fast.hessian(X), plain.hessian(X), "hessian")


def test_the_numpy_tier_runs_layers_with_numpys_matmul_to_the_same_numbers(monkeypatch):
    """numpy_calls (what runs while numba compiles) does a layer as one @ each way: its
    forward, backward and Adam steps equal the numba kernels' on 784-128-10 and 64-32-10."""
    for nin, width in ((784, 128), (64, 32)):
        X = digits_rows(nin, 40)
        results = []
        for module in (calls, numpy_calls):
            monkeypatch.setattr(jit, "kernels_now", lambda m=module: m)
            model, loss, inputs = digits_graph(nin, width)
            step = microgradx.compile(loss, inputs=inputs)
            assert program.MATRIX in kinds(step)
            out, dx, grad = forward_backward(step, X)
            opt = Adam(model.parameters(), lr=0.01)
            losses = [step.train_step(X, opt) for _ in range(2)]
            results.append((out, dx, grad, losses, [p.data for p in model.parameters()]))
        for a, b, what in zip(*results, ("out", "dx", "grad", "losses", "parameters")):
            close(a, b, what)


def test_a_layer_whose_weights_are_not_in_a_row_runs_as_tiles():
    """Neurons reading the same weights in two orders (no row of W in the uniform values for one of
    them) cannot be a matrix product: the group runs as tiles, with the same numbers."""
    ws = [[Value(float(k + 40 * n) / 100) for k in range(40)] for n in range(4)]
    xs = [Value(0.0) for _ in range(40)]
    order = np.random.default_rng(0).permutation(40)
    neurons = [Value.dot(xs, w).tanh() for w in ws] + [
        Value.dot(xs, [w[k] for k in order]).tanh() for w in ws
    ]
    loss = Value.sum(neurons)
    fast, plain = compiled_both(loss, xs)
    assert kinds(fast) == {program.TILES}
    X = np.random.default_rng(1).uniform(-1, 1, (9, 40))
    for a, b, what in zip(forward_backward(fast, X), forward_backward(plain, X), ("out", "dx", "grad")):
        close(a, b, what)


@pytest.mark.parametrize(
    "order, reads_x",
    [("x then y", True), ("y then x", True), ("x backwards", False), ("x shuffled", False)],
)
def test_a_first_layer_reads_its_inputs_from_the_batch_whatever_their_columns(order, reads_x):
    """A first layer whose inputs are consecutive columns of the batch, at any offset, takes hᵀ
    from the batch's rows (matrix_layers.input_run); in another order it packs hᵀ from the lanes:
    both give the tiles' outputs, gradients and Adam steps, on two chunks of lanes."""
    from microgradx.kernels import matrix_layers

    nin, rows = 300, 300
    model, loss, (*xs, y0, y1) = mse_for_two(nin)
    columns = {"x then y": xs + [y0, y1], "y then x": [y0, y1] + xs, "x backwards": xs[::-1] + [y0, y1]}
    inputs = columns.get(order) or [xs[i] for i in np.random.default_rng(7).permutation(nin)] + [y0, y1]
    fast, plain = compiled_both(loss, inputs)
    vcode, vargs, in_rows = fast.split.vcode, fast.split.vargs, fast.in_rows
    first = int(np.flatnonzero((vcode[:, RUNS] == program.MATRIX) & (vcode[:, MEMBERS] > 0))[0])
    col0 = matrix_layers.input_run.py_func(vargs, vcode[first, 1], nin, in_rows)
    assert (col0 >= 0) == reads_x
    X = np.random.default_rng(8).uniform(-1, 1, (rows, nin + 2))
    for a, b, what in zip(forward_backward(fast, X), forward_backward(plain, X), ("out", "dx", "grad")):
        close(a, b, what)
    start = [p.data for p in model.parameters()]
    steps = []
    for step in (fast, plain):  # (both steps train the same parameters: each from the same start)
        for p, v in zip(model.parameters(), start):
            p.data = v
        opt = Adam(model.parameters(), lr=0.01)
        steps.append([step.train_step(X, opt) for _ in range(2)] + [p.data for p in model.parameters()])
    close(steps[0], steps[1], "Adam steps")


def test_a_hidden_layer_packs_its_rows_for_the_weights_gradient_on_two_chunks():
    """A hidden layer's ∇W = g hᵀ reads hᵀ packed from the lanes (a first layer's comes from the
    batch's rows): forward, backward and train_step's Adam steps equal the tiles' on 300 rows
    (two chunks of lanes, the second short) and on 29."""
    model = MLP(40, [64, 32, 10], seed=5)
    xs, ys = [Value(0.0) for _ in range(40)], [Value(0.0) for _ in range(10)]
    loss = softmax_cross_entropy(model(xs), ys) + l2(model.parameters(), 3e-4)
    fast, plain = compiled_both(loss, xs + ys)
    vcode = fast.split.vcode
    assert [int(vcode[i, RUNS]) for i in np.flatnonzero(vcode[:, MEMBERS] > 0)][:2] == [program.MATRIX] * 2
    start = [p.data for p in model.parameters()]
    for rows in (300, 29):
        X = digits_rows(40, rows, seed=rows)
        for a, b, what in zip(forward_backward(fast, X), forward_backward(plain, X), ("out", "dx", "grad")):
            close(a, b, what)
        steps = []
        for step in (fast, plain):
            for p, v in zip(model.parameters(), start):
                p.data = v
            opt = Adam(model.parameters(), lr=0.01)
            steps.append([step.train_step(X, opt) for _ in range(2)] + [p.data for p in model.parameters()])
        close(steps[0], steps[1], "Adam steps")


def mse_for_two(nin: int):
    """A relu layer of 8 on nin inputs, then 2 outputs; Σ (ŷ − y)² over them. Returns the model, the
    loss and its inputs, x then y."""
    model = MLP(nin, [8, 2], seed=9)
    loss, inputs = mse_graph(model, nin)
    return model, loss, inputs


@pytest.mark.parametrize("nin, width", [(128, 127), (40, 9), (300, 30)])
def test_a_layer_that_cannot_be_whole_tiles_runs_as_matrix_products(nin, width):
    """A layer whose neurons are not a multiple of four cannot run as tiles: from MATRIX_BACK_ROWS
    rows on it runs as matrix products both ways (each DOT ran alone before), with the numbers
    of the path without them, forward, backward and an Adam step."""
    _, loss, inputs = digits_graph(nin, width)
    fast, plain = compiled_both(loss, inputs)
    vcode = fast.split.vcode
    first_layer = int(np.flatnonzero(vcode[:, MEMBERS] == width)[0])
    assert vcode[first_layer, RUNS] == program.MATRIX
    assert program.MATRIX not in kinds(plain)
    X = digits_rows(nin, 70)
    for a, b, what in zip(forward_backward(fast, X), forward_backward(plain, X), ("out", "dx", "grad")):
        close(a, b, what)


@pytest.mark.parametrize(
    "sizes, kinds_expected",
    [
        ([784, 128, 10], [program.MATRIX, program.MATRIX]),  # an output layer of 10 on 128 rows
        ([64, 32, 10], [program.MATRIX, program.MATRIX]),  # the digits'
        ([40, 256, 24, 10], [program.MATRIX, program.MATRIX, program.ALONE]),  # 10 on 24 rows: alone
        ([20, 24, 24, 24], [program.TILES, program.TILES, program.TILES]),  # fewer than 32 rows: tiles
        ([40, 530, 9, 10], [program.MATRIX, program.MATRIX, program.ALONE]),  # no tiles: first, 9
        ([40, 64, 95, 7], [program.MATRIX, program.MATRIX, program.ALONE]),  # no tiles: many, 7
    ],
)
def test_how_each_layer_runs_follows_the_measured_rule(sizes, kinds_expected):
    """compiler/program.py's _kind, layer by layer: products both ways from 32 rows; below,
    whole tiles of four neurons; without whole tiles, products from 8 neurons (or a first
    layer), each DOT alone below (the figures are in _kind's docstring)."""
    model = MLP(sizes[0], sizes[1:], seed=0)
    loss, inputs = mse_graph(model, sizes[0])
    step = microgradx.compile(loss, inputs=inputs)
    vcode = step.split.vcode
    firsts = np.flatnonzero(vcode[:, MEMBERS] > 0)
    assert [int(vcode[i, MEMBERS]) for i in firsts] == sizes[1:]
    assert [int(vcode[i, RUNS]) for i in firsts] == kinds_expected


def test_a_workspace_short_of_scratch_rows_is_refused_not_overrun():
    """The matrix layers cut their index arrays and the product's scratch from the chunk's scratch
    rows (kernels/matrix_layers.py's scratch) and check no bounds as they write there: a workspace
    made with fewer rows than compiler/program.py's scratch_rows is refused, once, before any
    write."""
    model, loss, inputs = digits_graph(64, 48)
    step = microgradx.compile(loss, inputs=inputs)
    assert program.MATRIX in kinds(step)
    X = np.random.default_rng(0).standard_normal((40, 74))
    step.forward(X)  # the workspace, with its scratch rows
    ws = step.per_thread.state.ws
    short = Workspace(
        step.split.vcode.shape[0], step._uniform0.shape[1], 40, ws.counts[0], False, 74
    )  # no vcode
    step.per_thread.state.ws = short
    with pytest.raises(ValueError, match="fewer scratch rows than its matrix layers need"):
        step.forward(X)
