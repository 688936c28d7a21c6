"""Touchy numerics: saturating activations, from-logits losses at ±1e4, zeros in log and division.

Every case runs on each engine: the eager compiled sweep (`backward()`), the
pure-Python reference sweep (`backward(engine="python")`) and compiled lanes (with
and without tape passes), and they must agree bit for bit on what is nan or inf.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import microgradx
from microgradx import Value, losses

ENGINES = ("numba", "python", "lanes", "lanes-plain")


def run(f: Callable[[Value], Value], x0: float, engine: str) -> tuple[float, float]:
    """(f(x0), f'(x0)) by one engine; the lanes run three equal rows and must agree across them."""
    x = Value(x0)
    y = f(x)
    if engine in ("numba", "python"):
        y.backward(engine=engine)
        return y.data, x.grad
    step = microgradx.compile(y, inputs=[x], optimize=engine == "lanes")
    data = step(np.full((3, 1), x0))
    grad = step.backward(reduction="sum")[:, 0]
    np.testing.assert_array_equal(data, data[0])
    np.testing.assert_array_equal(grad, grad[0])
    return float(data[0]), float(grad[0])


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


# -- saturating activations ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("x0", [-1e4, -1000.0, -40.0, -1.5, 0.0, 2.5, 40.0, 1000.0, 1e4])
@pytest.mark.parametrize(
    "name, f, df",
    [
        ("sigmoid", sigmoid, lambda z: sigmoid(z) * sigmoid(-z)),
        ("tanh", math.tanh, lambda z: 1 / math.cosh(z) ** 2 if abs(z) < 700 else 0.0),
    ],
)
def test_sigmoid_and_tanh_stay_finite(engine, x0, name, f, df):
    data, grad = run(lambda x: getattr(x, name)(), x0, engine)
    assert math.isfinite(data) and math.isfinite(grad)
    assert data == pytest.approx(f(x0), rel=1e-15, abs=1e-300)
    assert grad == pytest.approx(df(x0), rel=1e-12, abs=1e-16)  # saturated: e^-40 rounds to 0


@pytest.mark.parametrize("engine", ENGINES)
def test_a_saturated_tanh_network_trains_without_nan(engine):
    """tanh(1000·x) then sigmoid(-1000·…): everything saturates, nothing becomes nan."""
    data, grad = run(lambda x: (1000 * (1000 * x).tanh()).sigmoid() * (x * 1000).sigmoid(), 1.0, engine)
    assert (data, grad) == (1.0, 0.0)


# -- the from-logits losses ----------------------------------------------------------------


# z = 0 exactly is left out: there the gradient is -y, not 1/2 - y (see the bug report of issue 6)
LOGITS = [-1e4, -1000.0, -40.0, -3.0, -1e-300, 0.5, 40.0, 1000.0, 1e4]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("y", [0.0, 1.0])
@pytest.mark.parametrize("z", LOGITS)
def test_bce_with_logits_is_finite_with_gradient_sigmoid_minus_y(engine, z, y):
    data, grad = run(lambda v: losses.bce_with_logits(v, y), z, engine)
    exact = max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
    assert data == pytest.approx(exact, rel=1e-13, abs=1e-15)  # log(1 + e^-40) rounds to 0
    assert grad == pytest.approx(sigmoid(z) - y, rel=1e-12, abs=1e-16)


def test_bce_with_logits_batched_with_targets_as_inputs():
    """One compiled graph, each row its own logit and label: loss and ∂/∂z per row."""
    z, y = Value(0.0), Value(0.0)
    step = microgradx.compile(losses.bce_with_logits(z, y), inputs=[z, y])
    zs = np.array(LOGITS * 2)
    ys = np.repeat([0.0, 1.0], len(LOGITS))
    loss = step(np.column_stack([zs, ys]))
    grad = step.backward(reduction="sum")
    want = np.maximum(zs, 0) - zs * ys + np.log1p(np.exp(-np.abs(zs)))
    np.testing.assert_allclose(loss, want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(grad[:, 0], [sigmoid(a) - b for a, b in zip(zs, ys, strict=True)], atol=1e-16)


def softmax_ce_exact(z: np.ndarray, t: int) -> tuple[float, np.ndarray]:
    m = z.max()
    lse = m + math.log(np.exp(z - m).sum())
    p = np.exp(z - lse)
    p[t] -= 1.0
    return lse - z[t], p


SOFTMAX_CASES = [
    ([1e4, -1e4, 0.0], 0),
    ([1e4, -1e4, 0.0], 1),
    ([1e4, 1e4 - 1.0, -3.0], 1),
    ([-1e4, -1e4], 0),
    ([1e4, 1e4, 1e4, 1e4], 3),
    ([-1e4, 1e4, 999.0, -1000.0], 2),
]


@pytest.mark.parametrize("engine", ["numba", "python"])
@pytest.mark.parametrize("logits, target", SOFTMAX_CASES)
def test_softmax_cross_entropy_is_finite_at_1e4(engine, logits, target):
    zs = [Value(z) for z in logits]
    loss = losses.softmax_cross_entropy(zs, target)
    loss.backward(engine=engine)
    want, dwant = softmax_ce_exact(np.array(logits), target)
    assert loss.data == pytest.approx(want, rel=1e-12, abs=1e-300)
    np.testing.assert_allclose([z.grad for z in zs], dwant, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("optimize", [True, False])
def test_softmax_cross_entropy_compiled_with_one_hot_rows(optimize):
    k = 4
    zs = [Value(0.0) for _ in range(k)]
    ys = [Value(0.0) for _ in range(k)]
    step = microgradx.compile(losses.softmax_cross_entropy(zs, ys), inputs=zs + ys, optimize=optimize)
    cases = [(c, t) for c, t in SOFTMAX_CASES if len(c) == k]
    rows = np.array([c + list(np.eye(k)[t]) for c, t in cases])
    loss = step(rows)
    grad = step.backward(reduction="sum")
    for r, (c, t) in enumerate(cases):
        want, dwant = softmax_ce_exact(np.array(c), t)
        assert loss[r] == pytest.approx(want, rel=1e-12)
        np.testing.assert_allclose(grad[r, :k], dwant, rtol=1e-12, atol=1e-15)
    assert np.isfinite(grad).all()


# -- zeros in log and division: inf as documented, and gradients that are not silently nan -----


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "what, f, x0, data, grad",
    [
        ("log 0 = -inf, d log = 1/x = +inf", lambda x: x.log(), 0.0, -math.inf, math.inf),
        ("log -0.0: the limit from below", lambda x: x.log(), -0.0, -math.inf, -math.inf),
        ("1/0 = inf, d(1/x) = -1/x² = -inf", lambda x: 1 / x, 0.0, math.inf, -math.inf),
        ("-1/0 = -inf", lambda x: -1 / x, 0.0, -math.inf, math.inf),
        ("x/0 at 1 = inf, d = 1/0 = inf", lambda x: x / 0.0, 1.0, math.inf, math.inf),
        ("x/0 at -1 = -inf", lambda x: x / 0.0, -1.0, -math.inf, math.inf),
        ("√0 = 0, d√x = 1/(2√x) = inf", lambda x: x.sqrt(), 0.0, 0.0, math.inf),
        ("x**0.5 at 0", lambda x: x**0.5, 0.0, 0.0, math.inf),
        ("x**-1 at 0", lambda x: x**-1, 0.0, math.inf, -math.inf),
        ("exp(1000) overflows to inf", lambda x: x.exp(), 1000.0, math.inf, math.inf),
    ],
)
def test_zeros_and_overflow_give_signed_infinities(engine, what, f, x0, data, grad):
    assert run(f, x0, engine) == (data, grad), what


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "what, f, x0, data, grad",
    [
        ("relu at 0: the subgradient 0", lambda x: x.relu(), 0.0, 0.0, 0.0),
        ("relu at -0.0", lambda x: x.relu(), -0.0, 0.0, 0.0),
        ("abs at 0: the subgradient 0", lambda x: x.abs(), 0.0, 0.0, 0.0),
        ("x·0 at 0", lambda x: x * 0, 0.0, 0.0, 0.0),
        ("0² and d x² = 2x = 0", lambda x: x**2, 0.0, 0.0, 0.0),
        ("x³ at 0", lambda x: x**3, 0.0, 0.0, 0.0),
        ("x¹ at 0", lambda x: x**1, 0.0, 0.0, 1.0),
        ("x⁰ = 1 everywhere, d = 0", lambda x: x**0, 0.0, 1.0, 0.0),
        ("x⁰ at inf", lambda x: x**0, math.inf, 1.0, 0.0),
        ("x ** Value(2) at 0", lambda x: x ** Value.const(2.0), 0.0, 0.0, 0.0),
        ("x ** Value(2) at -2", lambda x: x ** Value.const(2.0), -2.0, 4.0, -4.0),
        ("0 ** y at y = 2: d = 0·log 0 → 0", lambda y: Value.const(0.0) ** y, 2.0, 0.0, 0.0),
        ("2 ** y at 0", lambda y: 2.0**y, 0.0, 1.0, math.log(2.0)),
        ("exp(-1000) underflows to 0", lambda x: x.exp(), -1000.0, 0.0, 0.0),
        ("tanh(x)·0 at 1000", lambda x: x.tanh() * 0, 1000.0, 0.0, 0.0),
        ("max(x, x) at a tie", lambda x: losses.maximum([x, x * 1.0]), 1.0, 1.0, 1.0),
        ("hinge at the margin", lambda x: losses.hinge(x, 1.0), 1.0, 0.0, 0.0),
    ],
)
def test_finite_answers_stay_finite(engine, what, f, x0, data, grad):
    got = run(f, x0, engine)
    assert got == (data, grad), what


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "what, f, x0",
    [
        ("0/0", lambda x: x / x, 0.0),
        ("log of a negative number", lambda x: x.log() * x.log(), -1.0),
        ("√ of a negative number", lambda x: x.sqrt(), -1.0),
        ("0·log 0 (forward is 0·-inf)", lambda x: x * x.log(), 0.0),
        ("sin(inf)", lambda x: x.sin(), math.inf),
        ("x·0 at inf", lambda x: (x * 0) * 2, math.inf),
    ],
)
def test_undefined_values_are_nan_not_errors(engine, what, f, x0):
    data, _ = run(f, x0, engine)
    assert math.isnan(data), what


@pytest.mark.parametrize(
    "f, x0",
    [
        (lambda x: (x * x).sqrt(), 0.0),  # |x| at 0: no derivative, nan from inf·0
        (lambda x: x.exp().log(), 1000.0),  # exp overflowed: forward inf, gradient inf·0
        (lambda x: x.exp().log(), -1000.0),
        (lambda x: (1 + x.exp()).log(), 1000.0),  # softplus written naively
        (lambda x: losses.nll(x.sigmoid(), 0.0), 1000.0),  # use bce_with_logits
        (lambda x: x.sigmoid().log(), -1000.0),
    ],
)
def test_nan_gradients_where_the_forward_already_failed(f, x0):
    """No derivative (|x| at 0), or a forward that over/underflowed (the value is already
    ±inf where the true one is finite): the gradient is nan on every engine, never a
    plausible-looking wrong number. The fix is the stable formulation named beside each."""
    got = {engine: run(f, x0, engine) for engine in ENGINES}
    for data, grad in got.values():
        assert math.isnan(grad)
        assert data == got["python"][0]
