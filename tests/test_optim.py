"""SGD and Adam against updates computed by hand in NumPy."""

from __future__ import annotations

import re

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.kernels import updates
from microgradx.nn import MLP
from microgradx.optim import SGD, Adam


def params_with_grads(data, grads) -> list[Value]:
    ps = [Value(d) for d in data]
    for p, g in zip(ps, grads, strict=True):
        p.grad = g
    return ps


def test_plain_sgd_step_is_p_minus_lr_grad_and_visible_in_data():
    ps = params_with_grads([1.0, -2.0, 0.5], [0.5, -1.0, 2.0])
    SGD(ps, lr=0.1).step()
    assert [p.data for p in ps] == pytest.approx([0.95, -1.9, 0.3])


def test_sgd_with_momentum_and_weight_decay_two_steps_by_hand():
    p0, g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 0.25]), np.array([-1.0, 2.0])
    lr, mu, wd = 0.1, 0.9, 0.01
    ps = params_with_grads(p0, g1)
    opt = SGD(ps, lr=lr, momentum=mu, weight_decay=wd)
    opt.step()
    v1 = g1 + wd * p0
    p1 = p0 - lr * v1
    assert [p.data for p in ps] == pytest.approx(p1)
    for p, g in zip(ps, g2, strict=True):
        p.grad = g
    opt.lr = 0.05  # a schedule changes lr between steps
    opt.step()
    v2 = mu * v1 + (g2 + wd * p1)
    assert [p.data for p in ps] == pytest.approx(p1 - 0.05 * v2)


def test_adam_first_two_steps_by_hand():
    p0, g1, g2 = np.array([1.0, -2.0, 0.0]), np.array([0.5, -0.1, 3.0]), np.array([-0.2, -0.1, 1.0])
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    ps = params_with_grads(p0, g1)
    opt = Adam(ps, lr=lr, betas=(b1, b2), eps=eps)
    opt.step()
    m, v = (1 - b1) * g1, (1 - b2) * g1**2
    p1 = p0 - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
    assert [p.data for p in ps] == pytest.approx(p1, rel=1e-12)
    assert p1 == pytest.approx(p0 - lr * np.sign(g1))  # Adam's first step is lr·sign(g)
    for p, g in zip(ps, g2, strict=True):
        p.grad = g
    opt.step()
    m, v = b1 * m + (1 - b1) * g2, b2 * v + (1 - b2) * g2**2
    p2 = p1 - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    assert [p.data for p in ps] == pytest.approx(p2, rel=1e-12)


def test_zero_grad_zeroes_only_its_parameters():
    ps = params_with_grads([1.0, 2.0], [3.0, 4.0])
    other = ps[0] * ps[1]
    SGD(ps, lr=0.1).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]
    assert other.data == 2.0


def test_optimizer_shares_the_models_store_and_the_compiled_graph_sees_each_step():
    model = MLP(2, [3, 1], seed=0)
    x = [Value(0.0), Value(0.0)]
    out = microgradx.compile(model(x), inputs=x)
    opt = SGD(model.parameters(), lr=0.5)
    assert opt.binding()[0] is out.store
    before = out.forward([1.0, 2.0])
    out.backward()
    opt.step()
    after = out.forward([1.0, 2.0])
    assert after == pytest.approx(model([Value(1.0), Value(2.0)]).data)
    assert after < before  # a gradient step down the output


def test_optimizer_rebinds_when_a_parameter_moves():
    ps = params_with_grads([1.0, 2.0], [1.0, 1.0])
    opt = SGD(ps, lr=1.0)
    extra = Value(5.0)
    microgradx.compile(ps[0] * ps[1] * extra)  # binds ps and extra into a new store
    opt.step()
    assert [p.data for p in ps] == [0.0, 1.0]


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: SGD([], lr=0.1), ValueError, "no parameters"),
        (lambda: SGD([1.0], lr=0.1), TypeError, r"params\[0\] is float"),
        (lambda: SGD([Value(1.0) + 1], lr=0.1), ValueError, "not a leaf"),
        (lambda: SGD([Value(1.0)], lr="0.1"), TypeError, "lr must be a real number"),
        (lambda: SGD([Value(1.0)], lr=-1.0), ValueError, r"lr must be 0 or more, got -1\.0"),
        # it said "lr must be in [0, inf], got inf": an interval that holds inf, and nan no number
        (lambda: SGD([Value(1.0)], lr=float("inf")), ValueError, "lr must be a finite number, got inf"),
        (lambda: SGD([Value(1.0)], lr=float("nan")), ValueError, "lr must be a finite number, got nan"),
        (lambda: SGD([Value(1.0)], lr=0.1, momentum=1.0), ValueError, "momentum"),
        (lambda: Adam([Value(1.0)], lr=0.1, betas=0.9), ValueError, "betas must be a pair"),
        (lambda: Adam([Value(1.0)], lr=0.1, betas=(0.9, 1.5)), ValueError, r"betas\[1\]"),
        (lambda: Adam([Value(1.0)], lr=0.1, eps=-1.0), ValueError, "eps"),
    ],
)
def test_bad_inputs_give_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_lr_setter_validates():
    opt = Adam([Value(1.0)], lr=0.1)
    with pytest.raises(TypeError, match="lr must be a real number"):
        opt.lr = None
    opt.lr = np.float64(0.5)
    assert opt.lr == 0.5


def test_settings_are_checked_when_changed_later_too():
    opt = SGD([Value(1.0)], lr=0.1, momentum=0.5)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1\.0"):
        opt.momentum = 1.0
    with pytest.raises(TypeError, match="weight_decay must be a real number"):
        opt.weight_decay = "0.1"
    assert opt.momentum == 0.5 and opt.settings.tolist() == [0.1, 0.5, 0.0]
    adam = Adam([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="eps must be a finite number, got inf"):
        adam.eps = float("inf")
    with pytest.raises(AttributeError):
        adam.m = np.zeros(1)  # the moments are updated in place, never replaced


@pytest.mark.parametrize(
    "rule, settings",
    [
        (updates.ADAM_RULE, [0.01, 0.9, 0.999, 1e-8, 0.01]),
        (updates.SGD_RULE, [0.05, 0.9, 0.01]),
        (updates.SGD_RULE, [0.05, 0.0, 0.0]),
    ],
    ids=["adam", "sgd-momentum", "sgd-plain"],
)
def test_one_run_of_parameters_steps_exactly_as_through_their_indices(rule, settings):
    """kernels/updates.py's fast loops (the parameters one run of the store, as a compiled graph's
    are) give the very numbers of their loops through the indices (here the same parameters
    listed backwards, their state too), bit for bit, over three steps."""
    n = 1000
    start = np.random.default_rng(0).standard_normal((2, n + 5))
    settings = np.array(settings)
    run, backwards = np.arange(2, n + 2), np.arange(n + 1, 1, -1)
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(n + 5) for _ in range(3)]
    out = []
    for idx, moments in ((run, slice(None)), (backwards, slice(None, None, -1))):
        k = 2 if rule == updates.ADAM_RULE else 1  # numbers of state a parameter, side by side
        store, state = start.copy(), np.zeros((1, k * n))
        for t, g in enumerate(grads, start=1):
            store[1] = g
            updates.update(rule, store, idx, state, settings, t)
        out.append((store[0].copy(), state.reshape(n, k)[moments].copy()))
    assert not np.array_equal(out[0][0], start[0])
    assert np.array_equal(out[0][0], out[1][0])
    assert np.array_equal(out[0][1], out[1][1])


ROWS = np.random.default_rng(2).standard_normal((16, 4))  # 3 inputs, then the target


def fitted(model: MLP, opt, steps: int) -> list[float]:
    """model's parameter values after `steps` fit steps on ROWS of its compiled squared error."""
    xs, y = [Value(0.0) for _ in range(3)], Value(0.0)
    microgradx.compile((model(xs) - y) ** 2, inputs=xs + [y]).fit(ROWS, opt, steps)
    return [p.data for p in model.parameters()]


@pytest.mark.parametrize(
    "kind, settings", [(Adam, {"lr": 0.05, "betas": (0.8, 0.99)}), (SGD, {"lr": 0.1, "momentum": 0.9})]
)
def test_training_resumed_from_a_saved_state_dict_steps_as_if_never_stopped(tmp_path, kind, settings):
    model = MLP(3, [4, 1], seed=5)
    opt = kind(model.parameters(), **settings)
    fitted(model, opt, 5)
    model.save(tmp_path / "model.npz")
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    never_stopped = fitted(model, opt, 5)
    again = MLP.from_file(tmp_path / "model.npz")
    fresh = kind(again.parameters(), lr=1.0)  # other settings, no state: the file's replace them
    fresh.load_state_dict(np.load(tmp_path / "opt.npz"))
    assert fresh.t == 5 and fresh.lr == settings["lr"]
    assert fitted(again, fresh, 5) == never_stopped  # to the last bit
    assert np.array_equal(fresh.state, opt.state) and fresh.t == opt.t == 10


def test_a_state_dict_that_does_not_fit_is_refused_naming_why_and_changes_nothing(tmp_path):
    model = MLP(3, [4, 1], seed=5)
    opt = Adam(model.parameters(), lr=0.05)
    fitted_state = opt.state_dict() | {"state": np.ones(2 * 21), "t": 3, "beta1": 0.5}
    model.save(tmp_path / "model.npz")
    np.savez(tmp_path / "sgd.npz", **SGD(model.parameters(), lr=0.1, momentum=0.9).state_dict())
    negative_v = np.ones(2 * 21)
    negative_v[2 * 4 + 1] = -1.0  # v[4], a running mean of squares, below 0: √v would be nan
    bad = {
        "no t": ({k: v for k, v in fitted_state.items() if k != "t"}, "no t"),
        "another kind": (np.load(tmp_path / "sgd.npz"), "saved from SGD, and this optimizer is Adam"),
        "a model's file": (np.load(tmp_path / "model.npz"), "this is a model's file (model.save)"),
        "something else": ({"lr": 0.1}, "not an optimizer's state, with no 'optimizer' entry"),
        "a negative v": (fitted_state | {"state": negative_v}, "v[4] is -1.0 (1 of 21 are < 0), but v >= 0"),
        "fewer parameters": (fitted_state | {"state": np.ones(2 * 5)}, "shape is (10,)"),
        "a matrix": (fitted_state | {"state": np.ones((2, 21))}, "shape is (2, 21)"),
        "text": (fitted_state | {"state": np.array(["a"] * 42)}, "shape is (42,) (<U1)"),
        "nan": (fitted_state | {"state": np.full(42, np.nan)}, "nan or inf"),
        "negative t": (fitted_state | {"t": -1}, "t, the steps taken"),
        "fractional t": (fitted_state | {"t": 2.5}, "t, the steps taken"),
        "beta1 of 1": (fitted_state | {"beta1": 1.0}, "beta1 must be in [0, 1)"),
    }
    before = opt.state_dict()
    for case, (saved, message) in [*bad.items(), ("a path", (str(tmp_path / "sgd.npz"), "np.load(path)"))]:
        with pytest.raises(TypeError if case == "a path" else ValueError, match=re.escape(message)):
            opt.load_state_dict(saved)
        after = opt.state_dict()
        assert after.keys() == before.keys(), case
        assert all(np.array_equal(after[k], before[k]) for k in after), case
    opt.load_state_dict(fitted_state)
    assert opt.t == 3 and opt.beta1 == 0.5 and np.array_equal(opt.m, np.ones(21))
