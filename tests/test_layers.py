"""A layer as the lecture's matrix: Layer.weight/bias and their gradients, bias=False, one
activation per layer; saving, loading, drawing and compiling bias-free layers."""

import json

import numpy as np
import pytest

import microgradx
from microgradx import Value, draw, losses
from microgradx.nn import MLP, Layer, ModelFileError, Module, Neuron


def values(model):
    return np.array([p.data for p in model.parameters()])


def grads(model):
    return np.array([p.grad for p in model.parameters()])


def test_weight_is_a_row_per_neuron_and_bias_one_per_neuron():
    layer = Layer(3, 2, "tanh", seed=0)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    for row, b, neuron in zip(layer.weight, layer.bias, layer.neurons, strict=True):
        assert row.tolist() == [w.data for w in neuron.w] and b == neuron.b.data


def test_weight_and_bias_are_copies():
    layer = Layer(2, 2, seed=0)
    before = values(layer)
    layer.weight[0, 0] = 99.0
    layer.bias[:] = 99.0
    np.testing.assert_array_equal(values(layer), before)


def test_gradients_in_the_same_layout_after_backward():
    model = MLP(2, [3, 1], seed=0)
    model([0.5, -1.0]).backward()
    for layer in model.layers:
        assert layer.weight_grad.tolist() == [[w.grad for w in n.w] for n in layer.neurons]
        assert layer.bias_grad.tolist() == [n.b.grad for n in layer.neurons]


def test_setting_weight_and_bias_sets_the_values_and_a_compiled_graph_sees_them():
    model = MLP(2, [2, 1], seed=0)
    xs = [Value(0.0), Value(0.0)]
    graph = microgradx.compile(model(xs), inputs=xs)
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    model.layers[0].weight = W
    model.layers[0].bias = [0.5, -0.5]
    model.layers[1].weight = [[1.0, -1.0]]
    model.layers[1].bias = np.array([0.25])
    assert [w.data for w in model.layers[0].neurons[1].w] == [3.0, 4.0]
    assert model.layers[0].neurons[0].b.data == 0.5
    x = np.array([0.3, 0.2])
    h = np.maximum(W @ x + [0.5, -0.5], 0)
    assert graph.forward(x) == pytest.approx(h[0] - h[1] + 0.25, rel=1e-15)
    model.layers[0].weight = np.array([[1, 2], [3, 4]], dtype=np.int32)  # integers are numbers too
    assert model.layers[0].weight.dtype == np.float64


@pytest.mark.parametrize(
    "part, value, words",
    [
        ("weight", np.zeros((3, 2)), "shape (2, 3) (d_k × d_{k-1}: a row per neuron, a column per input), "
                                     "got shape (3, 2)"),
        ("weight", np.zeros(6), "got shape (6,)"),
        ("weight", [[1.0, np.nan, 0.0], [0.0, 0.0, 0.0]], "weight[0, 1] = nan"),
        ("bias", [1.0, np.inf], "bias[1] = inf"),
        ("bias", [1.0, 2.0, 3.0], "shape (2,) (one per neuron), got shape (3,)"),
    ],
)  # fmt: skip
def test_a_wrong_array_is_refused_naming_both_and_nothing_changes(part, value, words):
    layer = Layer(3, 2, seed=0)
    layer([1.0, 2.0, 3.0])[0].backward()
    before, before_grads = values(layer), grads(layer)
    with pytest.raises(ValueError) as caught:
        setattr(layer, part, value)
    assert words in str(caught.value) and f"Layer(3 -> 2, relu).{part}" in str(caught.value)
    np.testing.assert_array_equal(values(layer), before)
    np.testing.assert_array_equal(grads(layer), before_grads)


def test_a_non_numeric_array_is_refused():
    layer = Layer(1, 1, seed=0)
    with pytest.raises(TypeError, match="real numbers"):
        layer.weight = [["a"]]


@pytest.mark.parametrize(
    "part, value, where",
    [("weight", [[1.0, 2.0], [3.0]], "weight[0]"), ("bias", [1.0, [2.0, 3.0]], "bias[1]")],
)
def test_ragged_rows_are_refused_by_the_number_rule_naming_the_layer(part, value, where):
    # core/real.py's one rule, as compile's forward(x) applies it, not NumPy's "inhomogeneous shape"
    layer = Layer(2, 2, seed=0)
    before = values(layer)
    with pytest.raises(TypeError) as caught:
        setattr(layer, part, value)
    assert f"Layer(2 -> 2, relu).{part}" in str(caught.value) and where in str(caught.value)
    assert "inhomogeneous" not in str(caught.value)
    np.testing.assert_array_equal(values(layer), before)


def test_bias_false_builds_neurons_without_a_bias():
    n = Neuron(3, "tanh", seed=0, bias=False)
    assert n.b is None and len(n.parameters()) == 3 and [w.label for w in n.w] == ["w1", "w2", "w3"]
    assert n([1.0, 2.0, 3.0]).data == pytest.approx(np.tanh(sum((k + 1) * w.data for k, w in enumerate(n.w))))
    layer = Layer(3, 2, bias=False, seed=0)
    assert layer.bias is None and layer.bias_grad is None and len(layer.parameters()) == 6
    model = MLP(2, [4, 3, 1], bias=False, seed=0)
    assert len(model.parameters()) == 2 * 4 + 4 * 3 + 3 and all(layer.bias is None for layer in model.layers)
    assert "no bias" in repr(model) and "no bias" in repr(layer) and "no bias" in repr(n)
    with pytest.raises(ValueError, match="has no bias"):
        layer.bias = [1.0, 2.0]
    with pytest.raises(TypeError, match="bias must be True or False"):
        MLP(2, [1], bias=0)


def test_bias_false_draws_the_same_weights_as_with_bias():
    """The weights are drawn as with a bias, so a seed gives the same W either way."""
    np.testing.assert_array_equal(Layer(3, 2, seed=5).weight, Layer(3, 2, seed=5, bias=False).weight)


def test_one_activation_per_layer():
    model = MLP(2, [3, 3, 1], activation=["tanh", "relu", "sigmoid"], seed=0)
    assert [layer.activation for layer in model.layers] == ["tanh", "relu", "sigmoid"]
    assert MLP(2, [3, 1], activation=("tanh", None)).layers[1].activation == "linear"
    with pytest.raises(ValueError, match="2 activations for 3 layers"):
        MLP(2, [3, 3, 1], activation=["tanh", "relu"])
    with pytest.raises(ValueError, match="output_activation must be left out"):
        MLP(2, [3, 1], activation=["tanh", "relu"], output_activation="sigmoid")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP(2, [3, 1], activation=["swish", "relu"])


@pytest.mark.parametrize(
    "make",
    [
        lambda bias: MLP(2, [3, 2], activation=["tanh", "sigmoid"], bias=bias, seed=1),
        lambda bias: Layer(3, 2, "tanh", bias=bias, seed=1),
        lambda bias: Neuron(3, "sigmoid", bias=bias, seed=1),
    ],
)
def test_a_bias_free_module_saves_and_loads(tmp_path, make):
    model = make(False)
    model.save(tmp_path / "m.npz")
    built = Module.from_file(tmp_path / "m.npz")
    assert type(built) is type(model) and built.architecture() == model.architecture()
    assert model.architecture()["bias"] is False
    np.testing.assert_array_equal(values(built), values(model))
    with_bias = make(True)
    before = values(with_bias)
    with pytest.raises(ModelFileError, match="bias False in the file, '.missing.' here"):
        with_bias.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(values(with_bias), before)


def test_a_model_with_biases_writes_no_bias_entry(tmp_path):
    """Files saved before bias= existed have none, and still load into a model with biases."""
    model = MLP(2, [2, 1], seed=0)
    assert "bias" not in model.architecture()
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as npz:
        assert "bias" not in json.loads(str(npz["architecture"]))


def test_a_file_claiming_bias_true_is_refused(tmp_path):
    model = MLP(2, [2, 1], seed=0)
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as npz:
        entries = dict(npz)
    arch = json.loads(str(entries["architecture"]))
    entries["architecture"] = np.array(json.dumps({**arch, "bias": True}))
    np.savez(tmp_path / "edited.npz", **entries)
    with pytest.raises(ModelFileError, match="bias is written only as false"):
        MLP.from_file(tmp_path / "edited.npz")


def test_a_bias_free_graph_compiles_to_the_scalar_gradients():
    model = MLP(3, [4, 2], activation=["tanh", "linear"], bias=False, seed=3)
    xs, ys = [Value(0.0) for _ in range(3)], [Value(0.0) for _ in range(2)]
    graph = microgradx.compile(losses.total_mse(model(xs), ys), inputs=xs + ys)
    rows = np.random.default_rng(0).normal(size=(5, 5))
    model.zero_grad()
    compiled_loss = graph.forward(rows).mean()
    graph.backward()
    compiled = grads(model)
    model.zero_grad()
    L = losses.mean([losses.total_mse(model(list(r[:3])), list(r[3:])) for r in rows])
    L.backward()
    assert compiled_loss == pytest.approx(L.data, rel=1e-13)
    np.testing.assert_allclose(compiled, grads(model), rtol=1e-12, atol=1e-15)


def summarised(model, **options):
    xs = [Value(0.1 * (k + 1), label=f"x{k + 1}") for k in range(len(model.layers[0].neurons[0].w))]
    out = model(xs)
    return draw(out if isinstance(out, Value) else Value.sum(out), **options)


def test_draw_summarises_bias_free_layers_as_tables():
    model = MLP(3, [6, 5, 2], activation=["tanh", "relu", "linear"], bias=False, seed=0)
    source = summarised(model).source
    assert "3 layers of neurons as tables" in source
    for title in (
        "L1</b>: 6 tanh neurons of 3 inputs, no bias",
        "L2</b>: 5 relu neurons",
        "L3</b>: 2 linear",
    ):
        assert title in source
    assert ">b<" not in source  # no bias column


def test_draw_can_show_grad_w_beside_w():
    """grad_beside: each cell one number; the gradients a second matrix to the right, as weight_grad."""
    model = MLP(3, [6, 5, 1], activation=["tanh", "relu", "linear"], seed=0)
    picture = summarised(model, grad_beside=True)
    source = picture.source
    assert "then their" in source and ">grad w1<" in source and ">grad b<" in source
    out = model([0.1, 0.2, 0.3])
    model.zero_grad()
    out.backward()
    g = model.layers[0].weight_grad
    tip = 'tooltip="L1.n2.w3">'
    cells = [c for c in source.split("<td") if tip in c]
    assert len(cells) == 2  # L1.n2.w3 twice: its value in W, its gradient in the matrix beside
    assert f"{g[1, 2]:.3g}" in cells[1] and "<br/>" not in cells[0]
