"""The lecture's worked examples, as the lecture derives them by hand."""

import math

import pytest

from microgradx import Value


@pytest.mark.parametrize("engine", ["numba", "python"])
def test_f_equals_u_plus_v_times_w(engine):
    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    f = (u + v) * w
    f.backward(engine=engine)
    assert f.data == 20.0
    assert (u.grad, v.grad, w.grad) == (4.0, 4.0, 5.0)  # ∂f/∂u = ∂f/∂v = w, ∂f/∂w = u + v
    assert f.grad == 1.0


@pytest.mark.parametrize("x", [-2.5, 0.0, 1.5, 7.0])
def test_chain_rule_example(x):
    """F(x) = (2x + 3)² = f(h(x)) with f(a) = a², h(x) = 2x + 3: F′(x) = 4(2x + 3)."""
    xv = Value(x)
    F = (2 * xv + 3) ** 2
    F.backward()
    assert F.data == pytest.approx((2 * x + 3) ** 2)
    assert xv.grad == pytest.approx(4 * (2 * x + 3))


@pytest.mark.parametrize("a", [-3.0, -0.5, 0.0, 0.7, 4.0])
def test_sigmoid_derivative(a):
    """σ′(a) = σ(a)(1 − σ(a)) (the lecture's middle step has a typo; its result is right)."""
    av = Value(a)
    s = av.sigmoid()
    s.backward()
    sigma = 1 / (1 + math.exp(-a))
    assert s.data == pytest.approx(sigma)
    assert av.grad == pytest.approx(sigma * (1 - sigma))
    assert av.grad == pytest.approx(math.exp(-a) / (1 + math.exp(-a)) ** 2)  # the correct middle step


@pytest.mark.parametrize("a", [-2.0, -0.1, 0.0, 0.3, 2.0])
def test_tanh_derivative(a):
    av = Value(a)
    t = av.tanh()
    t.backward()
    assert av.grad == pytest.approx(1 - math.tanh(a) ** 2)
    assert av.grad == pytest.approx(4 * (lambda s: s * (1 - s))(1 / (1 + math.exp(-2 * a))))  # 4σ′(2a)


@pytest.mark.parametrize("a,expected", [(-1.0, 0.0), (-1e-9, 0.0), (0.0, 0.0), (1e-9, 1.0), (3.0, 1.0)])
def test_relu_derivative_is_indicator(a, expected):
    av = Value(a)
    r = av.relu()
    r.backward()
    assert r.data == max(0.0, a)
    assert av.grad == expected


@pytest.mark.parametrize("yhat,y", [(0.3, 1.0), (2.0, -1.0), (-0.5, 0.25)])
def test_quadratic_loss_derivative(yhat, y):
    yh = Value(yhat)
    L = (yh - y) ** 2
    L.backward()
    assert yh.grad == pytest.approx(2 * (yhat - y))


@pytest.mark.parametrize("yhat,y", [(0.3, 1.0), (0.8, 0.0), (0.6, 0.25)])
def test_nll_derivative(yhat, y):
    """L = −y log ŷ − (1 − y) log(1 − ŷ): L′ = −y/ŷ + (1 − y)/(1 − ŷ) (the lecture's sign is a typo)."""
    yh = Value(yhat)
    L = -y * yh.log() - (1 - y) * (1 - yh).log()
    L.backward()
    assert yh.grad == pytest.approx(-y / yhat + (1 - y) / (1 - yhat))


def test_two_layer_network_backprop():
    """R(x) = f₂(w₂·f₁(w₁·x)), F = L(R(x), y): the lecture's a_k^δ, w_k^δ recursion by hand."""
    x, y = 0.8, 0.3
    w1, w2 = Value(0.5, label="w1"), Value(-1.2, label="w2")
    a1 = w1 * x
    phi1 = a1.tanh()
    a2 = w2 * phi1
    phi2 = a2.sigmoid()
    F = (phi2 - y) ** 2
    F.backward()
    # forward by hand
    A1 = 0.5 * x
    P1 = math.tanh(A1)
    A2 = -1.2 * P1
    P2 = 1 / (1 + math.exp(-A2))
    # backward: φ_K^δ = L′, a_k^δ = φ_k^δ f′(a_k), w_k^δ = a_k^δ φ_{k−1}, φ_{k−1}^δ = a_k^δ w_k
    phi2_d = 2 * (P2 - y)
    a2_d = phi2_d * P2 * (1 - P2)
    w2_d = a2_d * P1
    phi1_d = a2_d * -1.2
    a1_d = phi1_d * (1 - P1**2)
    w1_d = a1_d * x
    assert w2.grad == pytest.approx(w2_d)
    assert w1.grad == pytest.approx(w1_d)
    assert a1.grad == pytest.approx(a1_d)
    assert phi1.grad == pytest.approx(phi1_d)
