"""Neuron, Layer, MLP: outputs, parameter order, seeding, binding, and compiled = eager."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.nn import INITS, MLP, Layer, Neuron


def test_neuron_computes_f_of_w_dot_x_plus_b():
    n = Neuron(2, activation="tanh", seed=0)
    w1, w2, b = (p.data for p in n.parameters())
    b = 0.3
    n.b.data = b
    assert n([0.5, -1.0]).data == pytest.approx(math.tanh(w1 * 0.5 - w2 + b))


@pytest.mark.parametrize(
    "activation, f",
    [
        ("relu", lambda a: max(a, 0.0)),
        ("tanh", math.tanh),
        ("sigmoid", lambda a: 1 / (1 + math.exp(-a))),
        ("linear", lambda a: a),
        (None, lambda a: a),
    ],
)
def test_each_activation(activation, f):
    n = Neuron(3, activation=activation, seed=1)
    x = [0.2, -0.7, 1.1]
    a = sum(p.data * xi for p, xi in zip(n.w, x, strict=True)) + n.b.data
    assert n(x).data == pytest.approx(f(a))


def test_layer_returns_a_list_or_a_single_value():
    assert len(Layer(2, 3, seed=0)([1.0, 2.0])) == 3
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), Value)


def test_mlp_parameters_in_micrograds_order():
    model = MLP(2, [3, 1], seed=0)
    expected = []
    for layer in model.layers:
        for n in layer.neurons:
            expected += n.w + [n.b]
    assert model.parameters() == expected
    assert len(expected) == (2 + 1) * 3 + (3 + 1) * 1


def test_mlp_hidden_activation_and_linear_output_by_default():
    model = MLP(2, [4, 4, 1], activation="tanh")
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", "linear"]
    model = MLP(2, [4, 1], output_activation="sigmoid")
    assert [layer.activation for layer in model.layers] == ["relu", "sigmoid"]


def test_repr_shows_the_architecture():
    assert repr(MLP(2, [16, 16, 1], seed=0)) == "MLP(2 -> 16 relu -> 16 relu -> 1 linear; 337 parameters)"
    assert repr(Layer(3, 2, "tanh")) == "Layer(3 -> 2, tanh)"
    assert repr(Neuron(3, "sigmoid")) == "Neuron(3, sigmoid)"


def test_seed_makes_initialisation_reproducible():
    a, b, c = MLP(2, [5, 1], seed=7), MLP(2, [5, 1], seed=7), MLP(2, [5, 1], seed=8)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [p.data for p in a.parameters()] != [p.data for p in c.parameters()]


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: MLP(2, [1], seed="a"), TypeError, r"MLP\(seed\) must be a whole number"),
        (lambda: Layer(2, 2, seed=1.5), TypeError, r"Layer\(seed\) must be a whole number"),
        (lambda: Neuron(2, seed=-1), ValueError, r"Neuron\(seed\) must be a whole number >= 0, got -1"),
    ],
)
def test_a_seed_that_is_not_a_whole_number_is_refused_naming_it(make, error, match):
    """NumPy's own errors ("SeedSequence expects int or sequence of ints", "expected non-negative
    integer") named neither the call nor the argument."""
    with pytest.raises(error, match=match):
        make()


def test_a_generator_or_none_still_seeds_a_model():
    a = MLP(2, [3, 1], seed=np.random.default_rng(4))
    assert [p.data for p in a.parameters()] == [p.data for p in MLP(2, [3, 1], seed=4).parameters()]
    assert len(MLP(2, [3, 1], seed=None).parameters()) == 13


def test_mlp_parameters_share_one_store_from_construction():
    model = MLP(2, [3, 1], seed=0)
    stores = {id(p._store) for p in model.parameters()}
    assert len(stores) == 1 and model.parameters()[0]._store is not None
    x = [Value(0.0), Value(0.0)]
    assert microgradx.compile(model(x), inputs=x).store is model.parameters()[0]._store


def test_zero_grad_clears_every_gradient():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    layer = model.layers[0]  # a part of the model zeroes just its own slice
    model([1.0, -1.0]).backward()
    layer.zero_grad()
    assert all(p.grad == 0.0 for p in layer.parameters())


def test_zero_grad_after_a_parameter_moved_to_another_store():
    model = MLP(2, [2, 1], seed=0)
    extra = Value(2.0)
    x = [Value(0.0), Value(0.0)]
    step = microgradx.compile(model(x) + extra, inputs=x)  # extra joins: a new store
    step.forward([1.0, 1.0])
    step.backward()
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert extra.grad == 1.0


def test_compiled_predictions_equal_plain_value_evaluation():
    model = MLP(2, [8, 8, 1], activation="tanh", seed=3)
    x = [Value(0.0), Value(0.0)]
    out = microgradx.compile(model(x), inputs=x)
    X = np.random.default_rng(0).normal(size=(20, 2))
    got = out.forward(X)
    want = [model([Value(a), Value(b)]).data for a, b in X]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_multi_output_mlp_returns_a_list():
    out = MLP(2, [4, 3], seed=0)([0.1, 0.2])
    assert isinstance(out, list) and len(out) == 3


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MLP(2, []), "non-empty list"),
        (lambda: MLP(2, 16), "non-empty list"),
        (lambda: MLP(0, [1]), r"MLP\(nin\) must be a positive integer"),
        (lambda: MLP(2, [4, 0]), "each of MLP"),
        (lambda: MLP(2, [4, 1], activation="gelu"), "unknown activation 'gelu'"),
        (lambda: Neuron(2.5), "positive integer"),
    ],
)
def test_bad_arguments_give_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_number_of_inputs():
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        MLP(2, [3, 1], seed=0)([1.0, 2.0, 3.0])


def test_parameters_and_neuron_outputs_are_labelled_by_place():
    """L2.n3.w1 is layer 2's third neuron's first weight; a neuron's output carries its place."""
    model = MLP(2, [3, 2, 1], seed=0)
    labels = [p.label for p in model.parameters()]
    assert labels[:4] == ["L1.n1.w1", "L1.n1.w2", "L1.n1.b", "L1.n2.w1"]
    assert labels[-3:] == ["L3.n1.w1", "L3.n1.w2", "L3.n1.b"]
    assert len(set(labels)) == len(labels)
    hidden = model.layers[1]([Value(0.1), Value(0.2), Value(0.3)])
    assert [h.label for h in hidden] == ["L2.n1", "L2.n2"]
    assert model([Value(0.1), Value(0.2)]).label == "L3.n1"
    assert [p.label for p in Layer(2, 2).parameters()] == ["n1.w1", "n1.w2", "n1.b", "n2.w1", "n2.w2", "n2.b"]
    assert [p.label for p in Neuron(2).parameters()] == ["w1", "w2", "b"]


def test_a_modules_parameters_share_a_store_from_the_start():
    """Pictures tell parameters from inputs by it: a leaf in a Store is a Module's, an optimizer's or a
    compiled graph's parameter."""
    for module in (Neuron(3), Layer(3, 2), MLP(3, [2, 1])):
        stores = {id(p._store) for p in module.parameters()}
        assert len(stores) == 1 and module.parameters()[0]._store is not None


# -- initialisation: PyTorch's by default, micrograd's by name -------------------------------


def uniform_ks_distance(values: np.ndarray, bound: float) -> float:
    """Kolmogorov–Smirnov distance between the values' empirical CDF and uniform(-bound, bound)'s."""
    x = np.sort(values)
    cdf = (x + bound) / (2 * bound)
    n = len(x)
    return float(max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max()))


@pytest.mark.parametrize("nin", [1, 2, 16, 64, 300])
def test_default_init_draws_uniformly_within_one_over_root_fan_in(nin):
    """PyTorch's nn.Linear: weights and bias uniform in ±1/√fan_in. A seeded draw of 400 neurons
    never passes the bound, comes within 2 % of it, and is spread as a uniform is (the KS distance
    below its 1 % critical value, 1.63/√n)."""
    layer = Layer(nin, 400, seed=nin)
    bound = 1 / math.sqrt(nin)
    weights = np.array([w.data for n in layer.neurons for w in n.w])
    biases = np.array([n.b.data for n in layer.neurons])
    for values in (weights, biases):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.98 * bound
        assert uniform_ks_distance(values, bound) < 1.63 / math.sqrt(len(values))


def test_default_init_scales_each_layer_by_its_own_fan_in():
    model = MLP(64, [32, 10], seed=0)
    for layer, nin in zip(model.layers, (64, 32), strict=True):
        values = np.array([p.data for p in layer.parameters()])
        assert np.abs(values).max() <= 1 / math.sqrt(nin)
        assert np.abs(values).max() > 0.95 / math.sqrt(nin)
    neuron = Neuron(4, seed=0)
    assert all(abs(p.data) <= 0.5 for p in neuron.parameters()) and neuron.b.data != 0.0


@pytest.mark.parametrize("seed", [0, 1, 1337])
def test_micrograd_init_draws_exactly_what_every_model_drew_before_init_existed(seed):
    """One generator seeded by `seed`; each neuron in turn, layer by layer, takes nin weights from
    uniform(-1, 1), and its bias is 0 (micrograd's init, drawn by NumPy as before)."""
    rng = np.random.default_rng(seed)
    want = []
    for nin, nout in ((3, 4), (4, 4), (4, 1)):
        for _ in range(nout):
            want += [*rng.uniform(-1.0, 1.0, nin), 0.0]
    assert [p.data for p in MLP(3, [4, 4, 1], seed=seed, init="micrograd").parameters()] == want
    rng = np.random.default_rng(seed)
    want = [v for _ in range(3) for v in (*rng.uniform(-1.0, 1.0, 5), 0.0)]
    assert [p.data for p in Layer(5, 3, seed=seed, init="micrograd").parameters()] == want
    want = [*np.random.default_rng(seed).uniform(-1.0, 1.0, 2), 0.0]
    assert [p.data for p in Neuron(2, "tanh", seed, init="micrograd").parameters()] == want


def test_init_changes_only_the_first_values():
    """The same architecture, labels and seeding whatever the init; only the drawn values differ."""
    a, b = MLP(2, [3, 1], seed=4), MLP(2, [3, 1], seed=4, init="micrograd")
    assert repr(a) == repr(b) and a.architecture() == b.architecture()
    assert [p.label for p in a.parameters()] == [p.label for p in b.parameters()]
    assert [p.data for p in a.parameters()] == [p.data for p in MLP(2, [3, 1], seed=4).parameters()]
    assert [p.data for p in a.parameters()] != [p.data for p in b.parameters()]
    assert sorted(INITS) == ["micrograd", "pytorch"]


@pytest.mark.parametrize(
    "make",
    [
        lambda init: Neuron(2, init=init),
        lambda init: Layer(2, 3, init=init),
        lambda init: MLP(2, [3, 1], init=init),
    ],
    ids=["Neuron", "Layer", "MLP"],
)
@pytest.mark.parametrize("init", ["kaiming", "PyTorch", None, 1])
def test_an_unknown_init_is_refused_naming_the_choices(make, init):
    choices = "use one of 'pytorch', 'micrograd'"
    with pytest.raises(ValueError, match=rf"unknown init {re.escape(repr(init))}: {choices}"):
        make(init)
