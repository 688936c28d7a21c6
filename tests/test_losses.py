"""Each loss: its value, its gradient against central differences and the lecture's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx
from microgradx import Value
from microgradx.core.ops import Op
from microgradx.losses import (
    bce_with_logits,
    hinge,
    l2,
    logsumexp,
    maximum,
    mean,
    mse,
    nll,
    softmax,
    softmax_cross_entropy,
)
from microgradx.nn import MLP


def grad_of(f, *xs: float) -> tuple[float, list[float]]:
    """f's value and its gradient in each argument, by Value.backward()."""
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def central(f, *xs: float, h: float = 1e-6) -> list[float]:
    """Central differences of f (on Values, evaluated at .data) in each argument."""
    grads = []
    for i in range(len(xs)):
        up = [Value(x + h * (j == i)) for j, x in enumerate(xs)]
        down = [Value(x - h * (j == i)) for j, x in enumerate(xs)]
        grads.append((f(*up).data - f(*down).data) / (2 * h))
    return grads


CASES = [
    (mse, (0.3, 1.0)),
    (mse, (-2.0, 0.5)),
    (nll, (0.3, 1.0)),
    (nll, (0.8, 0.0)),
    (nll, (0.6, 0.25)),
    (bce_with_logits, (2.5, 1.0)),
    (bce_with_logits, (-1.5, 1.0)),
    (bce_with_logits, (0.7, 0.0)),
    (hinge, (0.2, 1.0)),
    (hinge, (0.4, -1.0)),
    (hinge, (1.5, 1.0)),
]


@pytest.mark.parametrize("loss, args", CASES)
def test_gradient_matches_central_differences(loss, args):
    _, g = grad_of(loss, *args)
    assert g == pytest.approx(central(loss, *args), rel=1e-5, abs=1e-7)


def test_quadratic_derivative_is_2_yhat_minus_y():
    value, (d_yhat, d_y) = grad_of(mse, 0.3, 1.0)
    assert value == pytest.approx(0.49)
    assert d_yhat == pytest.approx(2 * (0.3 - 1.0))
    assert d_y == pytest.approx(-2 * (0.3 - 1.0))


@pytest.mark.parametrize("p, y", [(0.3, 1.0), (0.8, 0.0), (0.6, 0.25)])
def test_nll_derivative_is_minus_y_over_p_plus_one_minus_y_over_one_minus_p(p, y):
    value, (d_p, _) = grad_of(nll, p, y)
    assert value == pytest.approx(-y * math.log(p) - (1 - y) * math.log(1 - p))
    assert d_p == pytest.approx(-y / p + (1 - y) / (1 - p))


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    a = Value(0.7)
    s = a.sigmoid()
    s.backward()
    assert a.grad == pytest.approx(s.data * (1 - s.data))


@pytest.mark.parametrize("z, y", [(3.0, 1.0), (-2.0, 1.0), (0.5, 0.0), (-4.0, 0.0)])
def test_bce_with_logits_equals_nll_of_sigmoid_and_has_gradient_sigma_minus_y(z, y):
    value, (d_z, _) = grad_of(bce_with_logits, z, y)
    assert value == pytest.approx(nll(Value(z).sigmoid(), y).data)
    assert d_z == pytest.approx(1 / (1 + math.exp(-z)) - y)


def test_bce_with_logits_is_finite_where_nll_of_sigmoid_is_not():
    value, (d_z, _) = grad_of(bce_with_logits, 800.0, 0.0)
    assert value == pytest.approx(800.0) and d_z == pytest.approx(1.0)
    value, (d_z, _) = grad_of(bce_with_logits, -800.0, 0.0)
    assert value == 0.0 and d_z == pytest.approx(0.0)


@pytest.mark.parametrize("a, y", [(40.0, 1.0), (-40.0, 0.0), (900.0, 1.0), (-800.0, 0.0)])
def test_nll_of_a_confident_right_answer_is_0_where_the_sigmoid_rounds(a, y):
    """σ(40) is 1.0 in float64: ln(1 − p) = −inf, and (1 − y)·ln(1 − p) was 0·(−inf) = nan,
    for the loss and every gradient behind it (a compiled step then made every weight nan).
    A term of weight 0 is 0 (0·ln 0 = 0): the loss is its true e^−|a| rounded, +0.0."""
    value, (d, _) = grad_of(lambda z, t: nll(z.sigmoid(), t), a, y)
    assert value == 0.0 and math.copysign(1.0, value) == 1.0
    assert abs(d) <= 1e-17  # σ(a) − y, 4.2e-18 at |a| = 40, 0 where σ rounds
    z, t = Value(0.0), Value(0.0)
    step = microgradx.compile(nll(z.sigmoid(), t), inputs=[z, t])  # the label an input: POW, not POWC
    out = step.forward(np.array([[a, y], [0.3, 1.0]]))
    assert out[0] == 0.0 and out[1] == pytest.approx(math.log1p(math.exp(-0.3)), rel=1e-15)
    step.backward()
    assert np.isfinite(z.grad) and np.isfinite(t.grad)


def test_nll_of_0_or_1_labels_is_y_log_p_to_the_last_bit():
    """Each term written −ln(p^y): for y of 0 or 1, p^1 = p and p^0 = 1 exactly, so the loss and
    its gradient are the lecture's formulas' to the last bit."""
    for p0, y in [(0.3, 1.0), (1e-30, 0.0), (1 - 1e-12, 1.0), (0.999, 0.0), (0.5, 0.0)]:
        p = Value(p0)
        loss = nll(p, y)
        loss.backward()
        assert loss.data == -y * math.log(p0) - (1 - y) * math.log(1 - p0)
        assert p.grad == -y / p0 + (1 - y) / (1 - p0)


def test_softmax_cross_entropy_keeps_the_loss_of_huge_logits():
    """m + log Σ e^(z−m) − y·z cancelled: logits 1e300, 1e300, 0 gave 0, not log 2; from about 1e17 on."""
    for target in (0, [1.0, 0.0, 0.0]):
        zs = [Value(1e300), Value(1e300), Value(0.0)]
        loss = softmax_cross_entropy(zs, target)
        loss.backward()
        assert loss.data == pytest.approx(math.log(2), rel=1e-15)
        assert [z.grad for z in zs] == [-0.5, 0.5, 0.0]
    zs, ys = [Value(0.0) for _ in range(3)], [Value(0.0) for _ in range(3)]
    step = microgradx.compile(softmax_cross_entropy(zs, ys), inputs=zs + ys)
    out = step.forward(np.array([[3e17, 3e17, 1.0, 0, 1, 0], [1.0, 2.0, 3.0, 0.2, 0.3, 0.7]]))
    assert out[0] == pytest.approx(math.log(2), rel=1e-15)
    # soft targets that do not sum to 1 keep their meaning: logsumexp(z) − y·z
    want = math.log(sum(math.exp(v) for v in (1.0, 2.0, 3.0))) - (0.2 + 0.6 + 2.1)
    assert out[1] == pytest.approx(want, rel=1e-14)


def test_hinge_is_zero_beyond_the_margin_and_minus_y_inside():
    assert grad_of(hinge, 1.5, 1.0) == (0.0, [0.0, 0.0])
    value, (d_score, _) = grad_of(hinge, 0.4, -1.0)
    assert value == pytest.approx(1.4) and d_score == pytest.approx(1.0)


def test_maximum_is_exact_and_routes_the_gradient_to_the_largest():
    vs = [Value(x) for x in (0.5, 3.25, -1.0, 2.0)]
    m = maximum(vs)
    m.backward()
    assert m.data == 3.25
    assert [v.grad for v in vs] == [0.0, 1.0, 0.0, 0.0]


def test_softmax_cross_entropy_value_and_gradient_softmax_minus_one_hot():
    z = np.array([1.0, -0.5, 2.0])
    vs = [Value(x) for x in z]
    loss = softmax_cross_entropy(vs, 2)
    loss.backward()
    p = np.exp(z) / np.exp(z).sum()
    assert loss.data == pytest.approx(-math.log(p[2]))
    assert [v.grad for v in vs] == pytest.approx(p - np.eye(3)[2])
    assert sum(s.data for s in softmax(vs)) == pytest.approx(1.0)


def test_softmax_cross_entropy_gradient_matches_central_differences():
    def f(a, b, c):
        return softmax_cross_entropy([a, b, c], [0.0, 1.0, 0.0])

    args = (0.3, -1.2, 0.9)
    _, g = grad_of(f, *args)
    assert g == pytest.approx(central(f, *args), rel=1e-5, abs=1e-7)


def test_logsumexp_is_stable_for_huge_logits():
    assert logsumexp([Value(1000.0), Value(1000.0)]).data == pytest.approx(1000 + math.log(2))


def test_softmax_cross_entropy_compiled_replays_correctly_on_other_rows():
    """The stabilising max is a graph, not a build-time constant: rows far from the first agree."""
    zs = [Value(0.0) for _ in range(3)]
    ys = [Value(0.0) for _ in range(3)]
    step = microgradx.compile(softmax_cross_entropy(zs, ys), inputs=zs + ys)
    rows = np.array([[0.0, 0.0, 0.0, 1, 0, 0], [900.0, 1.0, -3.0, 0, 1, 0], [-5.0, 2.0, 700.0, 0, 0, 1]])
    out = step.forward(rows)
    for row, got in zip(rows, out, strict=True):
        want = softmax_cross_entropy([Value(x) for x in row[:3]], int(np.argmax(row[3:]))).data
        assert math.isfinite(got) and got == pytest.approx(want)


def test_l2_and_mean():
    ps = [Value(1.0), Value(-2.0)]
    penalty = l2(ps, 0.5)
    penalty.backward()
    assert penalty.data == pytest.approx(2.5)
    assert [p.grad for p in ps] == pytest.approx([1.0, -2.0])  # d/dp α p² = 2αp
    assert mean([Value(1.0), Value(2.0), Value(6.0)]).data == pytest.approx(3.0)


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="at least 2 logits"):
        softmax_cross_entropy([Value(1.0)], 0)
    with pytest.raises(ValueError, match="not one of 0..2"):
        softmax_cross_entropy([Value(1.0)] * 3, 3)
    with pytest.raises(ValueError, match="2 one-hot weights for 3 logits"):
        softmax_cross_entropy([Value(1.0)] * 3, [1.0, 0.0])
    with pytest.raises(TypeError, match="class index"):
        softmax_cross_entropy([Value(1.0)] * 3, "a")
    with pytest.raises(ValueError, match="no parameters"):
        l2([], 1e-4)
    with pytest.raises(ValueError, match="no losses"):
        mean([])
    with pytest.raises(TypeError, match="not a number or a Value"):
        mse(Value(1.0), "1")


def _squares_dot(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, int]:
    """A DOT's args as the tape holds them (x1 … xn, then w1 … wn), and n."""
    xs, ws = zip(*pairs, strict=True)
    return np.array(xs + ws, dtype=np.uint32), len(pairs)


@pytest.mark.parametrize(
    "pairs, start",
    [
        ([(k, k) for k in range(200)], 0),  # losses.l2: Σ p², the parameters in order
        ([(300, 301)] + [(k, k) for k in range(200)], 1),  # micrograd's 0.1 * sum(p * p for p ...)
        ([(k, k) for k in range(100)] + [(500, 500)] + [(k, k) for k in range(100, 200)], 101),  # a jump
        ([(k, k) for k in range(100)] + [(3, 4)] + [(k, k) for k in range(100, 200)], 101),  # not a square
        ([(k, k) for k in range(150)] + [(7, 8)], 151),  # ends in a product: none
        ([(k, k) for k in range(200, 0, -1)], 200),  # backwards: none
        ([(0, 1)] * 150 + [(k, k) for k in range(63)], 213),  # a run shorter than SQUARES_FROM: none
        ([(0, 1)] * 150 + [(k, k) for k in range(64)], 150),
        ([(k, k) for k in range(40)], 40),  # a short DOT: not looked at
    ],
)
def test_squares_from_finds_the_trailing_run_of_squares(pairs, start):
    """kernels/scalar.py's squares_from: the first pair of the DOT's trailing run x·x over
    consecutive slots, or n (the DOT added pair by pair, in the graph's order)."""
    from microgradx.kernels import scalar

    args, n = _squares_dot(pairs)
    assert scalar.squares_from.py_func(args, 0, n) == min(start, n)
    # and squares_runs, the same rule in NumPy for a packed program: the DOT after two others
    op = np.array([Op.DOT, Op.ADD, Op.DOT], dtype=np.uint32)
    program_args = np.concatenate([np.array([7, 8], np.uint32), args])
    squares = scalar.squares_runs(op, np.array([2, 0, 0]), np.array([2 * n, 0, 2]), program_args)
    assert squares.tolist() == [min(start, n), 0, 1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 90)), min_size=1, max_size=4))
def test_squares_runs_equals_squares_from_on_runs_jumps_and_products(pieces):
    """The NumPy form (squares_runs, once a packed program) and the kernels' (squares_from, a
    DOT at a time) find the same start on DOTs built of runs of squares, jumps and products."""
    from microgradx.kernels import scalar

    pairs, slot = [], 0
    for kind, length in pieces:  # 0, 1: a run of squares from the next slot, or after a jump;
        slot += 0 if kind == 0 else 50  # 2: products; 3: squares of one slot
        for k in range(length):
            x = slot + k if kind < 2 else slot
            pairs.append((x, x + 1) if kind == 2 else (x, x))
        slot += length
    args, n = _squares_dot(pairs)
    squares = scalar.squares_runs(np.array([Op.DOT], np.uint32), np.array([0]), np.array([2 * n]), args)
    assert squares[0] == scalar.squares_from.py_func(args, 0, n)


@pytest.mark.parametrize("form", ["l2", "micrograd", "shuffled"])
def test_an_l2_penalty_over_many_parameters_equals_the_reference_sweep(form):
    """A sum of squares over >= SQUARES_FROM parameters (the scalar sweeps' vectorised run,
    added in partial sums) gives the reference sweep's loss and gradients to rounding, compiled
    on a batch and through Value.backward(engine="numba"); the parameters in the store's order
    (l2, micrograd's generator form) or shuffled (pair by pair, in the graph's order)."""
    model = MLP(3, [20, 10, 1], seed=3)
    params = model.parameters()
    if form == "shuffled":
        params = [params[i] for i in np.random.default_rng(0).permutation(len(params))]
    xs = [Value(0.5), Value(-1.0), Value(2.0)]
    penalty = 0.1 * sum(p * p for p in params) if form == "micrograd" else l2(params, 0.1)
    loss = model(xs) ** 2 + penalty

    def grads(engine: str) -> np.ndarray:
        for p in model.parameters():
            p.grad = 0.0
        loss.backward(engine=engine)
        return np.array([p.grad for p in model.parameters()])

    expected = grads("python")
    assert np.allclose(grads("numba"), expected, rtol=1e-12, atol=1e-15)
    step = microgradx.compile(loss, inputs=xs)
    assert step.forward(np.array([[0.5, -1.0, 2.0]]))[0] == pytest.approx(loss.data, rel=1e-14)
    assert np.allclose(grads_of(step, model), expected, rtol=1e-12, atol=1e-15)
    assert np.abs(expected).max() > 0.1


def grads_of(step: microgradx.Compiled, model: MLP) -> np.ndarray:
    """The model's parameters' gradients from a backward of the compiled step's last forward."""
    for p in model.parameters():
        p.grad = 0.0
    step.backward()
    return np.array([p.grad for p in model.parameters()])
