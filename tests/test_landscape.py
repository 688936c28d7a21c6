"""microgradx.landscape: profiles of the loss equal the loss point by point, curvature equals the
oracles' (PyTorch float64 where installed, central differences always), bad input changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import torch_function

import microgradx
from microgradx import Value, landscape
from microgradx.datasets import make_moons
from microgradx.nn import MLP


def moons_problem(sizes=(16, 16), activation="relu", rows=100, alpha=1e-4, seed=1337):
    """The README's moons loss (hinge, relu, + alpha·Σθ²), or a smooth one (tanh, squared error)."""
    X, labels = make_moons(rows, noise=0.1, seed=seed)
    Y = labels * 2.0 - 1.0
    model = MLP(2, [*sizes, 1], activation=activation, seed=seed, init="micrograd")
    params = model.parameters()
    xs, y = [Value(0.0, label="x1"), Value(0.0, label="x2")], Value(0.0, label="y")
    score = model(xs)
    data = (1 - y * score).relu() if activation == "relu" else (score - y) ** 2
    loss = data + alpha * Value.sum([p * p for p in params])
    step = microgradx.compile(loss, inputs=xs + [y])
    return model, step, np.column_stack([X, Y]), xs + [y]


def pointwise(step, rows, params, theta):
    """The oracle: set the parameters, forward, mean; the parameters put back."""
    before = [p.data for p in params]
    for p, t in zip(params, theta):
        p.data = float(t)
    try:
        return float(step.forward(rows).mean())
    finally:
        for p, t in zip(params, before):
            p.data = t


def values(params):
    return np.array([p.data for p in params])


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_plane_and_line_equal_the_loss_point_by_point(activation):
    model, step, rows, _ = moons_problem((6, 5), activation, rows=37)
    params = model.parameters()
    before = values(params)
    rng = np.random.default_rng(3)
    center = before + 0.1 * rng.standard_normal(before.size)
    d1, d2 = rng.standard_normal((2, before.size))
    p = landscape.plane(step, rows, center=center, directions=(d1, d2), span=0.7, n=9, wrt=params)
    assert p.loss.shape == (9, 9) and p.alpha.shape == p.beta.shape == (9,)
    np.testing.assert_array_equal(p.alpha, np.linspace(-0.7, 0.7, 9))
    for i, a in enumerate(p.alpha):
        for j, b in enumerate(p.beta):
            expected = pointwise(step, rows, params, center + a * d1 + b * d2)
            assert p.loss[i, j] == pytest.approx(expected, rel=1e-12, abs=0)
    start, end = before, before + rng.standard_normal(before.size)
    ln = landscape.line(step, rows, start, end, n=13, wrt=params)
    assert ln.t.shape == ln.loss.shape == (13,)
    for t, loss in zip(ln.t, ln.loss):
        expected = pointwise(step, rows, params, start + t * (end - start))
        assert loss == pytest.approx(expected, rel=1e-12, abs=0)
    np.testing.assert_array_equal(values(params), before)  # no parameter written


def test_many_grid_points_go_through_several_calls_and_in_step_parameters_order():
    """More points than one call's lanes (LANES // rows points a call), vectors in step.parameters'
    order (wrt=None), and wrt naming a part of the parameters (the rest held at their values)."""
    model, step, rows, _ = moons_problem((4,), "tanh", rows=300)
    order = step.parameters
    theta = values(order)
    rng = np.random.default_rng(0)
    d1, d2 = rng.standard_normal((2, theta.size))
    p = landscape.plane(step, rows, directions=(d1, d2), n=11)  # 121 points, 6 a call
    for i, j in [(0, 0), (3, 7), (10, 10), (5, 5), (10, 0)]:
        expected = pointwise(step, rows, order, theta + p.alpha[i] * d1 + p.beta[j] * d2)
        assert p.loss[i, j] == pytest.approx(expected, rel=1e-12, abs=0)
    assert p.loss[5, 5] == pytest.approx(step.forward(rows).mean(), rel=1e-12)  # the center
    part = model.layers[0].parameters()
    k = [order.index(q) for q in part]
    e1, e2 = rng.standard_normal((2, len(part)))
    q = landscape.plane(step, rows, directions=(e1, e2), n=4, wrt=part)
    for i, j in [(0, 3), (2, 1)]:
        full = theta.copy()
        full[k] += q.alpha[i] * e1 + q.beta[j] * e2
        assert q.loss[i, j] == pytest.approx(pointwise(step, rows, order, full), rel=1e-12, abs=0)


def test_a_network_too_large_for_many_lanes_goes_one_point_a_call(monkeypatch):
    """With the lanes' memory capped below one point's rows, each call takes one grid point."""
    monkeypatch.setattr(landscape, "MEMORY", 1)
    model, step, rows, _ = moons_problem((3,), "tanh", rows=30)
    params = model.parameters()
    theta = values(params)
    d1, d2 = np.random.default_rng(1).standard_normal((2, theta.size))
    p = landscape.plane(step, rows, directions=(d1, d2), n=3, wrt=params)
    assert landscape._sweeps(step).lanes == 1
    for i, j in [(0, 0), (1, 2), (2, 1)]:
        expected = pointwise(step, rows, params, theta + p.alpha[i] * d1 + p.beta[j] * d2)
        assert p.loss[i, j] == pytest.approx(expected, rel=1e-12, abs=0)


def test_default_directions_are_filter_normalised():
    """Each neuron's part of d1 and of d2 has the norm of that neuron's weights and bias (Li et al.)."""
    model, step, rows, _ = moons_problem((16, 16))
    params = model.parameters()
    theta = values(params)
    p = landscape.plane(step, rows, n=3, wrt=params, seed=5)
    where = {id(q): k for k, q in enumerate(params)}
    neurons = [n for layer in model.layers for n in layer.neurons]
    assert len(landscape.neurons(params)) == len(neurons) == 33
    for d in p.directions:
        for neuron in neurons:
            k = [where[id(q)] for q in neuron.parameters()]
            assert np.linalg.norm(d[k]) == pytest.approx(np.linalg.norm(theta[k]), rel=1e-12)
    d1, d2 = p.directions
    assert abs(d1 @ d2) < 0.5 * np.linalg.norm(d1) * np.linalg.norm(d2)  # two directions, not one
    again = landscape.plane(step, rows, n=3, wrt=params, seed=5)
    np.testing.assert_array_equal(again.directions[0], d1)  # seeded
    np.testing.assert_array_equal(again.loss, p.loss)


def test_spectrum_equals_central_differences_of_the_gradient():
    model, step, rows, xs = moons_problem((3, 3), "tanh", rows=20, alpha=1e-3)
    params = model.parameters()
    theta = values(params)

    def gradient(t):
        for q, v in zip(params, t):
            q.data = float(v)
        model.zero_grad()
        step.forward(rows)
        step.backward()
        return np.array([q.grad for q in params])

    h = 1e-5
    H = np.array([(gradient(theta + h * e) - gradient(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    gradient(theta)
    expected = np.linalg.eigvalsh((H + H.T) / 2)
    found = landscape.spectrum(step, rows, wrt=params)
    assert found.shape == (theta.size,)
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-7 * np.abs(expected).max())


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_spectrum_equals_pytorch_float64(activation):
    torch = pytest.importorskip("torch")
    model, step, rows, inputs = moons_problem((8, 8), activation)
    params = model.parameters()
    given = {x: torch.tensor(rows[:, k]) for k, x in enumerate(inputs)}
    f = torch_function(step.outputs, params, given)
    H = torch.autograd.functional.hessian(lambda v: f(v)[0].mean(), torch.tensor(values(params))).numpy()
    expected = np.linalg.eigvalsh(H)
    found = landscape.spectrum(step, rows, wrt=params)
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("smallest", [False, True])
@pytest.mark.parametrize("k", [1, 3])
def test_top_eigenvalues_by_lanczos_equal_the_spectrum_on_the_moons_network(k, smallest):
    model, step, rows, _ = moons_problem((16, 16))
    assert len(step.parameters) == 337
    every = landscape.spectrum(step, rows)
    expected = every[:k] if smallest else every[::-1][:k]
    found = landscape.top_eigenvalues(step, rows, k=k, smallest=smallest)
    np.testing.assert_allclose(found, expected, rtol=1e-6)


def test_lanczos_finds_repeated_eigenvalues_past_an_invariant_subspace():
    """L = Σ cₖ θₖ² with c = (3, 3, 3, 1, 1, 0.5): H = diag(2c) has three distinct eigenvalues, so
    the Krylov space of one vector is 3-dimensional and holds 6 once: the k largest need blocks of
    k vectors (k = 2: 2 + 2 + 1 dimensions, then an invariant subspace and a new random vector)."""
    c = [3.0, 3.0, 3.0, 1.0, 1.0, 0.5]
    theta = [Value(0.3 * k) for k in range(len(c))]
    x = Value(0.0)
    step = microgradx.compile(x + Value.sum([ck * t * t for ck, t in zip(c, theta)]), inputs=[x])
    rows = np.zeros((2, 1))
    np.testing.assert_allclose(landscape.top_eigenvalues(step, rows, k=4), [6, 6, 6, 2], rtol=1e-12)
    np.testing.assert_allclose(landscape.top_eigenvalues(step, rows, k=2), [6, 6], rtol=1e-12)
    np.testing.assert_allclose(landscape.top_eigenvalues(step, rows, k=1), [6], rtol=1e-12)
    np.testing.assert_allclose(
        landscape.top_eigenvalues(step, rows, k=3, smallest=True), [1, 2, 2], rtol=1e-12
    )


def test_index_is_the_fraction_of_negative_eigenvalues():
    assert landscape.index([-2.0, 2.0]) == 0.5
    assert landscape.index([1.0, 2.0, 3.0]) == 0.0
    assert landscape.index([-1.0, -2.0, 0.5, 4.0]) == 0.5
    assert landscape.index([-1e-17, 1.0, 2.0]) == 0.0  # an eigenvalue 0, as rounding leaves it
    assert landscape.index([-1e-17, 1.0, 2.0], tol=0) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="no eigenvalues"):
        landscape.index([])


@pytest.mark.parametrize(
    "eigenvalues, tol, match",
    [
        (
            [0.0, 1.0],
            -1.0,
            r"index\(tol=-1.0\): tol must be a finite number >= 0",
        ),  # it counted 0 as negative
        ([0.0, 1.0], np.nan, r"tol must be a finite number >= 0"),
        ([[1.0, -1.0], [2.0, 3.0]], None, r"a 1-D array of eigenvalues; got shape \(2, 2\)"),  # it flattened
        (np.float64(-1.0), None, r"a 1-D array of eigenvalues; got shape \(\)"),
    ],
)
def test_index_refuses_a_negative_tol_and_what_is_not_a_list_of_eigenvalues(eigenvalues, tol, match):
    with pytest.raises(ValueError, match=match):
        landscape.index(eigenvalues, tol=tol)


def test_a_plane_seeded_by_a_generator_or_none_still_draws(small):
    _, step, rows, _ = small
    a = landscape.plane(step, rows, n=3, seed=np.random.default_rng(5)).directions[0]
    np.testing.assert_array_equal(a, landscape.plane(step, rows, n=3, seed=5).directions[0])
    assert landscape.plane(step, rows, n=3, seed=None).loss.shape == (3, 3)


def test_the_saddle_of_the_lecture():
    """f(x, y) = x² − y² at the origin: gradient 0, Hessian eigenvalues exactly −2 and 2."""
    x, y = Value(0.0, label="x"), Value(0.0, label="y")
    f = x**2 - y**2
    assert microgradx.grad(f, [x, y]) == [0.0, 0.0]
    H = microgradx.hessian(f, [x, y])
    np.testing.assert_array_equal(H, [[2.0, 0.0], [0.0, -2.0]])
    assert np.linalg.eigvalsh(H).tolist() == [-2.0, 2.0]
    assert landscape.index(np.linalg.eigvalsh(H)) == 0.5


# -- bad input: a clear error, and no parameter changed --------------------------------------


@pytest.fixture
def small():
    model, step, rows, _ = moons_problem((3,), "tanh", rows=10)
    return model, step, rows, values(model.parameters())


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda s, r, t: landscape.line(s, r, t[:-1], t), ValueError, r"line\(start\).*one number"),
        (lambda s, r, t: landscape.line(s, r, t, t, n=1), ValueError, r"n >= 2"),
        (lambda s, r, t: landscape.line(s, r, t, t, n=2.5), TypeError, r"whole number >= 2"),
        (lambda s, r, t: landscape.plane(s, r, n=1), ValueError, r"points a side: n >= 2"),
        (lambda s, r, t: landscape.plane(s, r, n=2.5), TypeError, r"points a side, a whole number >= 2"),
        (lambda s, r, t: landscape.plane(s, r, directions=(t, t[:3])), ValueError, r"directions\[1\]"),
        (lambda s, r, t: landscape.plane(s, r, directions=(t,)), ValueError, r"two directions"),
        (lambda s, r, t: landscape.plane(s, r, center=t * np.nan), ValueError, r"center\[0\] is nan"),
        (lambda s, r, t: landscape.plane(s, r, span=0), ValueError, r"span must be"),
        (lambda s, r, t: landscape.plane(s, r[:, :2]), ValueError, r"shape \(rows, 3\)"),
        (lambda s, r, t: landscape.plane(s, r[:0]), ValueError, r"one row at least"),
        (lambda s, r, t: landscape.spectrum(s, r * np.inf), ValueError, r"row 0 of X is not finite"),
        (lambda s, r, t: landscape.top_eigenvalues(s, r, k=0), ValueError, r"k must be from 1"),
        (lambda s, r, t: landscape.top_eigenvalues(s, r, k=2.5), TypeError, r"whole number \(an int >= 1\)"),
        (lambda s, r, t: landscape.spectrum("step", r), TypeError, r"compiled loss graph"),
        # a seed is None, a NumPy Generator or a whole number >= 0, as fit(seed) takes it
        (lambda s, r, t: landscape.plane(s, r, seed="a"), TypeError, r"plane\(seed\) must be a whole number"),
        (
            lambda s, r, t: landscape.plane(s, r, seed=-1),
            ValueError,
            r"plane\(seed\) must be a whole number >= 0",
        ),
        (lambda s, r, t: landscape.plane(s, r, seed=1.5), TypeError, r"plane\(seed\) must be a whole number"),
        (lambda s, r, t: landscape.top_eigenvalues(s, r, seed="a"), TypeError, r"top_eigenvalues\(seed\)"),
        (lambda s, r, t: landscape.top_eigenvalues(s, r, tol=np.inf), ValueError, r"tol must be a finite"),
        (lambda s, r, t: landscape.top_eigenvalues(s, r, smallest="no"), TypeError, r"True or False"),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_no_parameter(small, call, error, match):
    model, step, rows, before = small
    with pytest.raises(error, match=match):
        call(step, rows, before)
    np.testing.assert_array_equal(values(model.parameters()), before)


def test_a_graph_of_several_outputs_is_not_a_loss(small):
    model, _, rows, before = small
    xs = [Value(0.0), Value(0.0), Value(0.0)]
    two = microgradx.compile([model(xs[:2]), model(xs[1:])], inputs=xs)
    for call in (
        lambda: landscape.plane(two, rows),
        lambda: landscape.line(two, rows, before, before),
        lambda: landscape.spectrum(two, rows),
        lambda: landscape.top_eigenvalues(two, rows),
    ):
        with pytest.raises(ValueError, match="2 outputs; the landscape is that of a scalar loss"):
            call()
    np.testing.assert_array_equal(values(model.parameters()), before)


def test_non_finite_parameters_are_named_and_left_as_they_are(small):
    model, step, rows, before = small
    params = model.parameters()
    params[4].data = float("nan")
    for call in (
        lambda: landscape.plane(step, rows),
        lambda: landscape.line(step, rows, before, before, wrt=params),
        lambda: landscape.spectrum(step, rows),
        lambda: landscape.top_eigenvalues(step, rows),
    ):
        with pytest.raises(ValueError, match=r"the parameter L1\.n2\.w2 is nan \(1 of 13 are not finite\)"):
            call()
    after = values(params)
    assert np.isnan(after[4])
    np.testing.assert_array_equal(np.delete(after, 4), np.delete(before, 4))


def test_plots_draw_the_profiles_and_the_path(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    model, step, rows, _ = moons_problem((3,), "tanh", rows=10)
    params = model.parameters()
    theta = values(params)
    path = np.array([theta + 0.1 * k for k in range(5)])
    p = landscape.plane(step, rows, n=5, wrt=params)
    np.testing.assert_allclose(p.coordinates(p.center + 0.3 * p.directions[0]), [[0.3, 0.0]], atol=1e-12)
    fig = p.plot(tmp_path / "plane.png", trajectory=path)
    assert len(fig.axes) == 3  # contours, their colour bar, the surface
    landscape.line(step, rows, path[0], path[-1], n=5, wrt=params).plot(tmp_path / "out" / "line.png")
    assert (tmp_path / "plane.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "out" / "line.png").read_bytes()[:4] == b"\x89PNG"


def test_a_plots_folder_that_cannot_be_made_is_named(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    model, step, rows, _ = moons_problem((3,), "tanh", rows=10)
    theta = values(model.parameters())
    notes = tmp_path / "notes.txt"
    notes.write_text("a file, not a folder")
    profile = landscape.line(step, rows, theta, theta + 0.1, n=3)
    with pytest.raises(OSError, match=f"not saving to {notes / 'line.png'}: {notes} is a file, not a folder"):
        profile.plot(notes / "line.png")


def test_plane_coordinates_refuse_what_is_not_a_list_of_parameter_vectors(small):
    _, step, rows, theta = small
    p = landscape.plane(step, rows, n=3)
    with pytest.raises(ValueError, match=r"shape \(k, 13\); got \(2, 13, 1\)"):
        p.coordinates(np.stack([theta, theta])[:, :, None])
