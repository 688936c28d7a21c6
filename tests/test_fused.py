"""Fused training: train_step and fit do exactly what micrograd's four-line Python loop does."""

from __future__ import annotations

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.datasets import make_moons
from microgradx.nn import MLP
from microgradx.optim import SGD, Adam
from microgradx.training.steps import optimizer_slots


def setup(seed: int = 0, init: str = "pytorch"):
    model = MLP(2, [8, 8, 1], seed=seed, init=init)
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    y = Value(0.0, label="y")
    loss = (1 - y * model(xs)).relu() + 1e-4 * sum(p * p for p in model.parameters())
    X, labels = make_moons(60, noise=0.1, seed=seed)
    XY = np.column_stack([X, labels * 2.0 - 1.0])
    return model, microgradx.compile(loss, inputs=xs + [y]), XY


def values(model: MLP) -> list[float]:
    return [p.data for p in model.parameters()]


def python_loop(model, step, opt, XY, lrs):
    losses = []
    for lr in lrs:
        losses.append(step.forward(XY).mean())
        model.zero_grad()
        step.backward()
        opt.lr = lr
        opt.step()
    return np.array(losses)


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: SGD(ps, lr=0.5),
        lambda ps: SGD(ps, lr=0.3, momentum=0.9, weight_decay=1e-3),
        lambda ps: Adam(ps, lr=0.02),
    ],
    ids=["sgd", "sgd-momentum", "adam"],
)
def test_fit_equals_the_python_loop(make_opt):
    m1, s1, XY = setup()
    m2, s2, _ = setup()
    o1, o2 = make_opt(m1.parameters()), make_opt(m2.parameters())
    lrs = np.linspace(o1.lr, o1.lr / 10, 25)
    expected = python_loop(m1, s1, o1, XY, lrs)
    got = s2.fit(XY, o2, 25, lr=lrs)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(
        [p.data for p in m2.parameters()], [p.data for p in m1.parameters()], rtol=1e-9, atol=1e-12
    )
    assert o2.lr == pytest.approx(lrs[-1])


@pytest.mark.parametrize("rule", ["sgd-momentum", "adam"])
@pytest.mark.parametrize("which", ["all", "the last two layers", "all, the first first, the rest shuffled"])
@pytest.mark.parametrize("call", ["fit", "fit in batches", "train_step"])
def test_the_last_step_writes_the_store_as_the_loop_leaves_it(rule, which, call):
    """After a training call the store holds what the Python loop leaves, the values and the
    last step's gradients (layout.params_out), and the next call starts from them: with the
    optimizer on all of the graph's parameters in their order (one run, updated in place), on
    a part of them, and on all in another order."""
    m1, s1, XY = setup(2)
    m2, s2, _ = setup(2)

    def chosen(model: MLP) -> list[Value]:
        ps = model.parameters()
        if which == "the last two layers":
            return [p for layer in model.layers[1:] for p in layer.parameters()]
        if which.startswith("all, the first"):
            rest = ps[1:]
            return ps[:1] + [rest[i] for i in np.random.default_rng(0).permutation(len(rest))]
        return ps

    def make(ps: list[Value]):
        return SGD(ps, lr=0.1, momentum=0.9) if rule == "sgd-momentum" else Adam(ps, lr=0.02)

    o1, o2 = make(chosen(m1)), make(chosen(m2))
    for _ in range(2):  # the second call starts from what the first left in the store
        if call == "fit in batches":
            expected = python_loop(m1, s1, o1, XY[:32], [o1.lr])
            expected = np.append(expected, python_loop(m1, s1, o1, XY[32:], [o1.lr]))
            got = s2.fit(XY, o2, epochs=1, batch_size=32, shuffle=False).step_loss
        else:
            steps = 3 if call == "fit" else 1
            expected = python_loop(m1, s1, o1, XY, [o1.lr] * steps)
            got = s2.fit(XY, o2, steps) if call == "fit" else [s2.train_step(XY, o2)]
        np.testing.assert_allclose(got, expected, rtol=1e-10)
        np.testing.assert_allclose(values(m2), values(m1), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose([p.grad for p in m2.parameters()], [p.grad for p in m1.parameters()],
                                   rtol=1e-10, atol=1e-13)  # fmt: skip


def test_train_step_is_one_step_of_the_loop():
    m1, s1, XY = setup(1)
    m2, s2, _ = setup(1)
    o1, o2 = SGD(m1.parameters(), lr=0.7), SGD(m2.parameters(), lr=0.7)
    for _ in range(3):
        expected = python_loop(m1, s1, o1, XY, [0.7])[0]
        assert s2.train_step(XY, o2) == pytest.approx(expected, rel=1e-12)
    assert [p.data for p in m2.parameters()] == pytest.approx([p.data for p in m1.parameters()], rel=1e-10)
    assert [p.grad for p in m2.parameters()] == pytest.approx([p.grad for p in m1.parameters()], rel=1e-10)


def test_fit_reports_progress_and_learns():
    model, step, XY = setup(2, init="micrograd")  # micrograd's demo: its lr schedule suits its init
    seen = []
    losses = step.fit(XY, SGD(model.parameters(), lr=1.0), 100, lr=lambda k: 1.0 - 0.9 * k / 100,
                      every=25, callback=lambda k, ls: seen.append((k, ls[-1])))  # fmt: skip
    assert [k for k, _ in seen] == [25, 50, 75, 100]
    assert losses.shape == (100,) and losses[-1] < losses[0]
    xs = [Value(0.0), Value(0.0)]
    score = microgradx.compile(model(xs), inputs=xs)
    accuracy = np.mean(np.sign(score.forward(XY[:, :2])) == XY[:, 2])
    assert accuracy > 0.9


def test_hand_changes_to_parameters_are_seen_by_the_next_fused_step():
    model, step, XY = setup(3)
    opt = SGD(model.parameters(), lr=0.0)  # lr 0: only the hand change moves anything
    before = step.train_step(XY, opt)
    for p in model.parameters():
        p.data = 0.0
    assert step.train_step(XY, opt) == pytest.approx(1.0)  # all-zero network: hinge 1 on every row
    assert before != pytest.approx(1.0)


def test_fit_errors():
    model, step, XY = setup()
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        step.fit(XY, opt, -1)
    with pytest.raises(ValueError, match="3 learning rates for 5 steps"):
        step.fit(XY, opt, 5, lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"learning rate of step 1 is nan; each must be a finite number"):
        step.fit(XY, opt, 2, lr=[0.1, float("nan")])
    # the entry named, whichever form the rates take (a newcomer's array said only "must be finite")
    with pytest.raises(ValueError, match=r"step 0 is -1.0; .* 0 or more \(1 of 2 are not\)"):
        step.fit(XY, opt, 2, lr=np.array([-1.0, 0.1]))
    with pytest.raises(ValueError, match=r"step 2 is -inf; .*\(2 of 4 are not\)"):
        step.fit(XY, opt, 4, lr=lambda k: 0.1 if k < 2 else -np.inf)
    other = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="different stores"):
        step.fit(XY, other, 1)
    assert step.fit(XY, opt, 0).shape == (0,)


def test_an_optimizer_with_a_parameter_outside_the_graph_still_matches_the_loop():
    """The fused steps update in the graph's own values only when every optimized parameter
    is in the graph; with one more parameter they go through the store, to the same result."""
    m1, s1, XY = setup(4)
    m2, s2, _ = setup(4)
    extra1, extra2 = Value(0.5), Value(0.5)
    o1 = SGD(m1.parameters() + [extra1], lr=0.3, weight_decay=0.1)
    o2 = SGD(m2.parameters() + [extra2], lr=0.3, weight_decay=0.1)
    expected = python_loop(m1, s1, o1, XY, [0.3] * 5)
    got = s2.fit(XY, o2, 5)
    assert optimizer_slots(s2, o2.binding()[1]).shape[0] == 1  # the path through the store
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(
        [p.data for p in m2.parameters()], [p.data for p in m1.parameters()], rtol=1e-12
    )
    assert extra2.data == pytest.approx(extra1.data) and extra2.data < 0.5  # weight decay moved it


def test_fit_needs_a_single_output():
    x = Value(0.0)
    w = Value(1.0)
    step = microgradx.compile([x * w, x + w], inputs=[x])
    with pytest.raises(ValueError, match="one output"):
        step.fit(np.zeros((3, 1)), SGD([w], lr=0.1), 2)


@pytest.mark.parametrize(
    "make_opt, change",
    [
        (lambda ps: SGD(ps, lr=0.5), lambda o, k: setattr(o, "lr", 0.5 / (k + 1))),
        (lambda ps: SGD(ps, lr=0.3), lambda o, k: setattr(o, "momentum", 0.2 * k)),
        (lambda ps: SGD(ps, lr=0.3), lambda o, k: setattr(o, "weight_decay", 0.01 * k)),
        (lambda ps: Adam(ps, lr=0.02), lambda o, k: setattr(o, "beta1", 0.9 - 0.1 * k)),
    ],
    ids=["lr", "momentum", "weight_decay", "adam-beta1"],
)
def test_train_step_sees_settings_changed_between_steps(make_opt, change):
    """train_step keeps its kernel's arguments between steps: a setting changed in between
    must still reach the next step, as it reaches the Python loop's opt.step()."""
    m1, s1, XY = setup(5)
    m2, s2, _ = setup(5)
    o1, o2 = make_opt(m1.parameters()), make_opt(m2.parameters())
    for k in range(4):
        change(o1, k)
        change(o2, k)
        expected = python_loop(m1, s1, o1, XY, [o1.lr])[0]
        assert s2.train_step(XY, o2) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(values(m2), values(m1), rtol=1e-10)
    assert o2.t == o1.t == 4


def test_train_step_follows_new_rows_a_new_optimizer_and_a_forward_in_between():
    m1, s1, XY = setup(6)
    m2, s2, _ = setup(6)
    o1, o2 = SGD(m1.parameters(), lr=0.4), SGD(m2.parameters(), lr=0.4)
    a1, a2 = Adam(m1.parameters(), lr=0.01), Adam(m2.parameters(), lr=0.01)
    batches = [XY, XY[:20].copy(), XY[:20].copy(), XY]
    for k, rows in enumerate(batches):
        opt1, opt2 = (o1, o2) if k % 2 == 0 else (a1, a2)
        expected = python_loop(m1, s1, opt1, rows, [opt1.lr])[0]
        assert s2.train_step(rows, opt2) == pytest.approx(expected, rel=1e-12)
        s2.forward(XY[:7])  # another batch size in between: a new workspace
    np.testing.assert_allclose(values(m2), values(m1), rtol=1e-10)
    with pytest.raises(ValueError, match="different stores"):
        s2.train_step(XY, SGD([Value(1.0)], lr=0.1))
    with pytest.raises(TypeError, match="needs an optimizer"):
        s2.train_step(XY, "sgd")


@pytest.mark.parametrize("n_inputs", [1, 2, 3])
def test_a_first_layer_on_few_inputs_trains_as_the_loop_does(n_inputs):
    """In the fused steps nobody wants the inputs' gradients, so a tiled first layer on three
    inputs or fewer takes its gradients in one pass a tile (kernels/tiles.py's first_layer_back), relus
    masked on the fly: here with one pre-activation also read past its relu (so that relu is
    not fused) and 45 rows (so the tiles run on padding lanes too), against the Python loop."""

    def build():
        model = MLP(n_inputs, [8, 4, 1], seed=n_inputs)
        xs = [Value(0.0) for _ in range(n_inputs)]
        y = Value(0.0)
        first = model.layers[0]
        z = [Value.dot(n.w, xs) + n.b for n in first.neurons]
        h = [zi.relu() for zi in z]
        out = model.layers[2](model.layers[1](h))
        loss = (1 - y * out).relu() + 0.1 * z[5] * z[5] + 1e-3 * sum(p * p for p in model.parameters())
        step = microgradx.compile(loss, inputs=xs + [y])
        return model, step

    m1, s1 = build()
    m2, s2 = build()
    rng = np.random.default_rng(n_inputs)
    rows = np.column_stack([rng.normal(size=(45, n_inputs)), np.sign(rng.normal(size=45))])
    code = s2.split.vcode
    tiled = code[:, 7] == 1
    assert tiled.sum() == 12 and code[tiled, 6].sum() == 11  # two tiled layers, one relu not fused
    o1, o2 = SGD(m1.parameters(), lr=0.2), SGD(m2.parameters(), lr=0.2)
    expected = python_loop(m1, s1, o1, rows, [0.2] * 4)
    np.testing.assert_allclose(s2.fit(rows, o2, 4), expected, rtol=1e-12)
    np.testing.assert_allclose(values(m2), values(m1), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose([p.grad for p in m2.parameters()], [p.grad for p in m1.parameters()],
                               rtol=1e-10, atol=1e-13)  # fmt: skip


@pytest.mark.parametrize("shift", [0, 3])
@pytest.mark.parametrize("make_opt", [lambda ps: SGD(ps, lr=0.3, momentum=0.9), lambda ps: Adam(ps, lr=0.05)])
def test_a_lone_step_updating_the_store_equals_the_loop(shift, make_opt):
    """train_step's one step a call writes the updated values into the store (kernels/layout.py's
    store_shift), at the parameters' store index, which is their uniform slot plus `shift`: 3
    when another graph put three other parameters first in their store."""

    def build():
        model = MLP(2, [8, 8, 1], seed=4)
        xs, y = [Value(0.0), Value(0.0)], Value(0.0)
        if shift:  # three parameters first in the store: another graph's
            extra = [Value(0.5), Value(0.25), Value(2.0)]
            microgradx.compile(sum(e * e for e in extra) + model(xs), inputs=xs)
        step = microgradx.compile((1 - y * model(xs)).relu(), inputs=xs + [y])
        prog = step._pack()
        assert (prog[1], prog[2]) == (shift, 0)  # the store's run and the uniform values'
        return model, step

    (m1, s1), (m2, s2) = build(), build()
    X, labels = make_moons(40, noise=0.1, seed=2)
    XY = np.column_stack([X, labels * 2.0 - 1.0])
    o1, o2 = make_opt(m1.parameters()), make_opt(m2.parameters())
    for _ in range(3):
        expected = python_loop(m1, s1, o1, XY, [o1.lr])[0]
        assert s2.train_step(XY, o2) == pytest.approx(expected, rel=1e-12)
        assert values(m2) == pytest.approx(values(m1), rel=1e-12)
        grads1, grads2 = [p.grad for p in m1.parameters()], [p.grad for p in m2.parameters()]
        assert grads2 == pytest.approx(grads1, rel=1e-12)
    assert s2.forward(XY) == pytest.approx(s1.forward(XY), rel=1e-12)  # the next call reads the store


def test_the_inputs_gradients_left_by_a_step_are_not_seen_by_backward_or_the_check():
    """A training step does not zero the inputs' rows of gradients (kernels/chunks.py's
    inputs_first): the target's row keeps what the steps added. backward(), which hands out the
    inputs' gradients, starts them from 0; check=True zeroes them before it reads every gradient."""
    model, step, XY = setup(5)
    opt = SGD(model.parameters(), lr=0.0)  # lr 0: the parameters stay, the steps only leave gradients
    for _ in range(3):
        step.train_step(XY, opt)
    rows = step.per_thread.state.ws.grads[0, step.in_rows[2], : XY.shape[0]]
    assert np.any(rows != 0.0)  # the target's row, as the steps left it
    step.forward(XY)
    _, fresh, _ = setup(5)
    fresh.forward(XY)
    assert step.backward() == pytest.approx(fresh.backward(), rel=1e-12, abs=1e-300)

    xs, y = [Value(0.0), Value(0.0)], Value(0.0)
    checked = microgradx.compile((1 - y * model(xs)).relu(), inputs=xs + [y], check=True)
    opt = SGD(model.parameters(), lr=0.01)
    checked.fit(XY, opt, 1)
    checked.per_thread.state.ws.grads[:, checked.in_rows] = np.nan  # what no step computes or reads
    assert np.all(np.isfinite(checked.fit(XY, opt, 3)))  # no FloatingPointError about an input's gradient
