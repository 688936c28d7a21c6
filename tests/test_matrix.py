"""microgradx.matrix: the lecture's K-layer forward pass and backpropagation, against the scalar graph.

Oracles: Value.backward() on the mean loss of the same model (and a compiled graph's
backward), PyTorch float64 autograd where installed, and the lecture's hand-derived
∂L/∂w₁, ∂L/∂w₂ of R(x) = f₂(w₂·f₁(w₁·x)).
"""

import math

import numpy as np
import pytest

import microgradx
from microgradx import Value, losses, matrix
from microgradx.nn import ACTIVATIONS, MLP, Layer, Neuron

LOSS_NAMES = list(matrix.LOSSES)
RTOL = 1e-12


def random_case(rng: np.random.Generator, k: int):
    """Case k: an MLP of depth 1–4, widths 1–16, random activations (each one in turn first), bias or
    not, one of the three losses in turn, rows 1–3, with inputs and targets that fit the loss."""
    loss = LOSS_NAMES[k % 3]
    depth = int(rng.integers(1, 5))
    sizes = [int(n) for n in rng.integers(1, 17, depth + 1)]
    names = list(ACTIVATIONS)
    acts = [names[(k + i) % len(names)] if i == 0 else str(rng.choice(names)) for i in range(depth)]
    if loss == "nll":
        sizes[-1], acts[-1] = 1, "sigmoid"
    if loss == "softmax_cross_entropy":
        sizes[-1] = max(sizes[-1], 2)
    bias = bool(k % 2)
    model = MLP(sizes[0], sizes[1:], acts, bias=bias, seed=int(rng.integers(1 << 30)))
    rows = int(rng.integers(1, 4))
    X = rng.normal(size=(rows, sizes[0]))
    if loss == "mse":
        Y = rng.normal(size=(rows, sizes[-1]))
    elif loss == "nll":
        Y = rng.integers(0, 2, size=(rows, 1)).astype(float)
    else:
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], rows)]
    return model, X, Y, loss


def scalar_loss(model, X, Y, loss):
    """The mean loss over the rows as one scalar graph (losses.NAMED by row, then losses.mean)."""
    rows = []
    for x, y in zip(X, Y, strict=True):
        out = model(list(x))
        rows.append(losses.NAMED[loss]([out] if isinstance(out, Value) else out, list(y)))
    return losses.mean(rows)


def assert_close(got, want, what):
    """|got − want| ≤ 1e-12 · max |want| over the array (exact where want is all zero)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, what
    scale = np.abs(want).max()
    assert np.all(np.abs(got - want) <= RTOL * scale), f"{what}: {np.abs(got - want).max()} vs scale {scale}"


def test_backprop_equals_the_scalar_graph_on_200_random_mlps():
    rng = np.random.default_rng(2024)
    seen = set()
    for k in range(200):
        model, X, Y, loss = random_case(rng, k)
        seen |= {(layer.activation, layer.bias is not None, loss) for layer in model.layers}
        result = matrix.backprop(model, X, Y, loss)
        L = scalar_loss(model, X, Y, loss)
        model.zero_grad()
        L.backward()
        assert result.loss == pytest.approx(L.data, rel=RTOL)
        for i, layer in enumerate(model.layers):
            assert_close(result.W[i], layer.weight_grad, f"case {k} ∇W[{i + 1}]")
            if layer.bias is None:
                assert result.b[i] is None
            else:
                assert_close(result.b[i], layer.bias_grad, f"case {k} ∇b[{i + 1}]")
    # every activation, with and without bias, under every loss (the output layer of nll is sigmoid)
    assert {(a, bias) for a, bias, _ in seen} == {(a, b) for a in ACTIVATIONS for b in (False, True)}
    assert {loss for *_, loss in seen} == set(LOSS_NAMES)


def test_backprop_equals_a_compiled_graphs_backward():
    """The same 200 cases compiled: one row's loss graph, backward of the mean over X's rows."""
    rng = np.random.default_rng(2024)
    for k in range(200):
        model, X, Y, loss = random_case(rng, k)
        xs = [Value(0.0) for _ in range(X.shape[1])]
        ys = [Value(0.0) for _ in range(Y.shape[1])]
        out = model(xs)
        graph = microgradx.compile(
            losses.NAMED[loss]([out] if isinstance(out, Value) else out, ys), inputs=xs + ys
        )
        mean = graph.forward(np.hstack([X, Y])).mean()
        model.zero_grad()
        graph.backward()
        result = matrix.backprop(model, X, Y, loss)
        assert mean == pytest.approx(result.loss, rel=RTOL)
        for i, layer in enumerate(model.layers):
            assert_close(result.W[i], layer.weight_grad, f"case {k} ∇W[{i + 1}] (compiled)")
            if layer.bias is not None:
                assert_close(result.b[i], layer.bias_grad, f"case {k} ∇b[{i + 1}] (compiled)")


def test_backprop_equals_pytorch_float64():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda a: a}
    rng = np.random.default_rng(7)
    for k in range(60):
        model, X, Y, loss = random_case(rng, k)
        linears = []
        for layer in model.layers:  # Layer.weight is nn.Linear's layout: copied as it is
            nout, nin = layer.weight.shape
            lin = torch.nn.Linear(nin, nout, bias=layer.bias is not None, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.weight))
                if layer.bias is not None:
                    lin.bias.copy_(torch.from_numpy(layer.bias))
            linears.append(lin)
        h = torch.from_numpy(X)
        for lin, layer in zip(linears, model.layers, strict=True):
            h = act[layer.activation](lin(h))
        y = torch.from_numpy(Y)
        if loss == "mse":
            L = ((h - y) ** 2).sum(dim=1).mean()
        elif loss == "nll":
            L = functional.binary_cross_entropy(h, y)
        else:
            L = functional.cross_entropy(h, y.argmax(dim=1))
        L.backward()
        result = matrix.backprop(model, X, Y, loss)
        assert result.loss == pytest.approx(L.item(), rel=RTOL)
        for i, lin in enumerate(linears):
            assert_close(result.W[i], lin.weight.grad.numpy(), f"case {k} ∇W[{i + 1}] against PyTorch")
            if lin.bias is not None:
                assert_close(result.b[i], lin.bias.grad.numpy(), f"case {k} ∇b[{i + 1}] against PyTorch")


@pytest.mark.parametrize(
    "w1, w2, x, y, f1, f2",
    [
        (0.5, -1.2, 0.8, 0.3, "tanh", "sigmoid"),  # tests/test_lecture.py's two-layer network
        (0.3, -0.5, -2.0, 0.1, "tanh", "sigmoid"),  # examples/two_layer.py's first point
        (1.5, 0.7, 0.4, -1.0, "relu", "linear"),
    ],
)
def test_the_lectures_two_layer_network(w1, w2, x, y, f1, f2):
    """R(x) = f₂(w₂·f₁(w₁·x)), no bias, L = (R − y)²: the lecture's chain rule by hand,
    ∂L/∂w₂ = L'(R) · f₂'(a₂) · f₁(a₁)
    ∂L/∂w₁ = L'(R) · f₂'(a₂) · w₂ · f₁'(a₁) · x."""
    model = MLP(1, [1, 1], activation=[f1, f2], bias=False)
    model.layers[0].weight = [[w1]]
    model.layers[1].weight = [[w2]]
    f = {"tanh": math.tanh, "sigmoid": lambda a: 1 / (1 + math.exp(-a)), "relu": lambda a: max(a, 0.0)}
    f["linear"] = lambda a: a
    df = {
        "tanh": lambda a: 1 - math.tanh(a) ** 2,
        "sigmoid": lambda a: f["sigmoid"](a) * (1 - f["sigmoid"](a)),
        "relu": lambda a: float(a > 0),
        "linear": lambda a: 1.0,
    }
    a1 = w1 * x
    a2 = w2 * f[f1](a1)
    R = f[f2](a2)
    dL = 2 * (R - y)
    by_hand_w2 = dL * df[f2](a2) * f[f1](a1)
    by_hand_w1 = dL * df[f2](a2) * w2 * df[f1](a1) * x
    result = matrix.backprop(model, [x], [y], "mse")
    assert result.loss == pytest.approx((R - y) ** 2, rel=1e-14)
    assert result.W[1].shape == (1, 1) and result.W[0].shape == (1, 1)
    assert result.W[1][0, 0] == pytest.approx(by_hand_w2, rel=1e-14)
    assert result.W[0][0, 0] == pytest.approx(by_hand_w1, rel=1e-14)
    assert result.b == [None, None]
    # and the lecture's intermediate deltas: a_k^δ = φ_k^δ f_k'(a_k), φ_{k-1}^δ = a_k^δ w_k
    assert result.delta[2][0] == pytest.approx(dL * df[f2](a2), rel=1e-14)
    assert result.g[1][0] == pytest.approx(dL * df[f2](a2) * w2, rel=1e-14)
    assert result.g[0][0] == pytest.approx(by_hand_w1 / x * w1, rel=1e-14)  # ∂L/∂x


def test_nll_of_one_sigmoid_output_by_hand():
    """The lecture's NLL with ŷ = σ(a[K]): L' = −y/ŷ + (1 − y)/(1 − ŷ) (its printed sign is a typo),
    and g ⊙ σ'(a) = ŷ − y."""
    w1, w2, x, y = 0.5, -1.2, 0.8, 1.0
    model = MLP(1, [1, 1], activation=["tanh", "sigmoid"], bias=False)
    model.layers[0].weight, model.layers[1].weight = [[w1]], [[w2]]
    h1 = math.tanh(w1 * x)
    yhat = 1 / (1 + math.exp(-w2 * h1))
    result = matrix.backprop(model, [x], [y], "nll")
    assert result.g[2][0] == pytest.approx(-y / yhat + (1 - y) / (1 - yhat), rel=1e-14)
    assert result.delta[2][0] == pytest.approx(yhat - y, rel=1e-13)
    assert result.W[1][0, 0] == pytest.approx((yhat - y) * h1, rel=1e-13)
    assert result.loss == pytest.approx(-math.log(yhat), rel=1e-14)


def test_nll_of_a_saturated_sigmoid_is_finite_and_equals_the_graph():
    """σ(±40) rounds to 1 or nearly 0: a confident right answer's loss was nan (0·ln 0) and so
    ∇W; as losses.nll, a term of weight 0 is 0, and the matrix algorithm equals the graph. A
    confident wrong answer is still inf, as its true loss is about |a|."""
    net = MLP(1, [1], activation=["sigmoid"], bias=False)
    X, Y = np.array([[1.0], [-1.0], [0.5]]), np.array([[1.0], [0.0], [1.0]])
    for w in (40.0, 900.0):
        net.layers[0].weight = [[w]]
        result = matrix.backprop(net, X, Y, "nll")
        L = scalar_loss(net, X, Y, "nll")
        net.zero_grad()
        L.backward()
        assert math.isfinite(result.loss) and np.isfinite(result.W[0]).all()
        assert result.loss == pytest.approx(L.data, rel=RTOL, abs=1e-300)
        assert_close(result.W[0], net.layers[0].weight_grad, f"∇W at w = {w}")
    with np.errstate(divide="ignore", invalid="ignore"):
        assert matrix.backprop(net, [[-1.0]], [[1.0]], "nll").loss == math.inf


def test_softmax_cross_entropy_of_huge_scores_keeps_its_loss():
    """log Σ e^z − y·z cancelled for scores from about 1e17: 1e300, 1e300, 0 gave 0, not log 2."""
    net = MLP(1, [3], activation=["linear"], bias=False)
    net.layers[0].weight = [[1e300], [1e300], [0.0]]
    result = matrix.backprop(net, [[1.0]], [[1.0, 0.0, 0.0]], "softmax_cross_entropy")
    assert result.loss == pytest.approx(math.log(2), rel=1e-15)


def test_forward_shapes_and_values():
    model = MLP(3, [4, 2], activation=["relu", "tanh"], seed=1)
    X = np.random.default_rng(0).normal(size=(5, 3))
    out = matrix.forward(model, X)
    assert [h.shape for h in out.h] == [(5, 3), (5, 4), (5, 2)]
    assert out.a[0] is None and [a.shape for a in out.a[1:]] == [(5, 4), (5, 2)]
    for x, row in zip(X, out.h[2], strict=True):
        assert [v.data for v in model(list(x))] == pytest.approx(row, rel=1e-14)
    one = matrix.forward(model, X[0])
    assert [h.shape for h in one.h] == [(3,), (4,), (2,)]
    assert one.h[2] == pytest.approx(out.h[2][0], rel=1e-15)
    result = matrix.backprop(model, X[0], [0.5, -0.5], "mse")
    assert [g.shape for g in result.g] == [(3,), (4,), (2,)] and result.delta[0] is None
    assert [W.shape for W in result.W] == [(4, 3), (2, 4)] and [b.shape for b in result.b] == [(4,), (2,)]


def test_one_output_takes_y_without_its_axis():
    model = MLP(2, [3, 1], activation=["tanh", "sigmoid"], seed=0)
    X = np.array([[0.1, 0.2], [0.3, -0.4]])
    a = matrix.backprop(model, X, np.array([1.0, 0.0]), "nll")
    b = matrix.backprop(model, X, np.array([[1.0], [0.0]]), "nll")
    assert a.loss == b.loss and all(np.array_equal(p, q) for p, q in zip(a.W, b.W, strict=True))
    one = matrix.backprop(model, X[0], 1.0, "nll")
    assert one.loss == matrix.backprop(model, X[:1], [1.0], "nll").loss


def test_a_single_layer_is_a_network_of_one_layer():
    layer = Layer(3, 2, "tanh", seed=4, bias=False)
    X = np.random.default_rng(1).normal(size=(4, 3))
    Y = np.random.default_rng(2).normal(size=(4, 2))
    result = matrix.backprop(layer, X, Y, "mse")
    L = scalar_loss(layer, X, Y, "mse")
    layer.zero_grad()
    L.backward()
    assert_close(result.W[0], layer.weight_grad, "∇W[1] of a Layer")


# -- bad input: a clear error, and nothing changed -----------------------------------------------


def snapshot(model):
    store, _ = model._bind()
    return store.data.copy(), store.grad.copy()


def unchanged(model, before):
    data, grad = snapshot(model)
    return np.array_equal(data, before[0]) and np.array_equal(grad, before[1])


@pytest.fixture
def net():
    model = MLP(2, [3, 2], activation=["tanh", "linear"], seed=0)
    scalar_loss(model, np.ones((1, 2)), np.array([[1.0, 0.0]]), "mse").backward()  # some grads to keep
    return model


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((Neuron(2), [1.0, 2.0], [1.0], "mse"), TypeError, "nn.MLP"),
        (([Layer(2, 3)], [1.0, 2.0], [1.0], "mse"), TypeError, "nn.MLP"),
        (("net", [1.0, 2.0, 3.0], [1.0, 0.0], "mse"), ValueError, "shape (2,)"),
        (("net", np.ones((4, 3)), np.ones((4, 2)), "mse"), ValueError, "(rows, 2)"),
        (("net", np.ones((0, 2)), np.ones((0, 2)), "mse"), ValueError, "got shape (0, 2)"),
        (("net", [1.0, np.nan], [1.0, 0.0], "mse"), ValueError, "nan or inf: X[1] = nan (1 of 2)"),
        (("net", [[1.0, 2.0], [3, -np.inf]], np.ones((2, 2)), "mse"), ValueError, "X[1, 1] = -inf (1 of 4)"),
        (("net", ["a", "b"], [1.0, 0.0], "mse"), TypeError, "real numbers"),
        (("net", [[1.0, 2.0], [3.0]], np.ones((2, 2)), "mse"), TypeError, "X[0] has 2 entries, X[1] has 1"),
        (("net", np.ones((2, 2)), [[1.0, 0.0], [1.0]], "mse"), TypeError, "Y[0] has 2 entries, Y[1] has 1"),
        (("net", np.ones((0, 2)), np.ones((0, 2)), "mse"), ValueError, "one row at least"),
        (("net", np.ones((4, 2)), np.ones((4, 3)), "mse"), ValueError, "output's shape (4, 2)"),
        (("net", np.ones((4, 2)), np.ones(4), "mse"), ValueError, "output's shape (4, 2)"),
        (("net", [1.0, 2.0], [1.0, 0.0], "mae"), ValueError, "unknown loss 'mae'"),
        (("net", [1.0, 2.0], [1.0, 0.0], "nll"), ValueError, "one sigmoid neuron"),
        (("net", [1.0, 2.0], [0.5, 0.2], "softmax_cross_entropy"), ValueError, "one-hot"),
        (("net", [1.0, 2.0], [1.0, np.inf], "mse"), ValueError, "Y holds nan or inf: Y[1] = inf (1 of 2)"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(net, args, error, words):
    model, X, Y, loss = args
    model = net if model == "net" else model
    before = snapshot(net)
    with pytest.raises(error) as caught:
        matrix.backprop(model, X, Y, loss)
    assert words in str(caught.value)
    if loss == "mse" and model is net and words.startswith("shape"):
        with pytest.raises(error):
            matrix.forward(model, X)
    assert unchanged(net, before)


def test_nll_targets_and_sigmoid_softmax_widths_are_checked():
    sig = MLP(2, [1], activation=["sigmoid"], seed=0)
    with pytest.raises(ValueError, match="labels 0 or 1"):
        matrix.backprop(sig, [1.0, 2.0], [2.0], "nll")
    with pytest.raises(ValueError, match="at least 2 outputs"):
        matrix.backprop(sig, [1.0, 2.0], [1.0], "softmax_cross_entropy")


def test_a_layer_with_mixed_activations_or_widths_is_refused(net):
    net.layers[1].neurons[0].activation = "relu"
    with pytest.raises(ValueError, match="one f_k per layer"):
        matrix.forward(net, [1.0, 2.0])
    model = MLP(2, [3, 4])
    model.layers.reverse()
    with pytest.raises(ValueError, match="layer 2 reads 2 inputs but layer 1 has 4 neurons"):
        matrix.forward(model, [1.0, 2.0, 3.0])


# -- microgradx explain --matrix ----------------------------------------------------------------------


def test_explain_matrix_shows_the_recursion_and_names_each_entry(capsys):
    from microgradx.app.cli import main
    from microgradx.viz.matrixview import small_mlp

    assert main(["explain", "--matrix", "--sizes", "2,3,2", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    model, x, y = small_mlp("2,3,2", None, "mse", False, 4)
    result = matrix.backprop(model, x, y, "mse")
    for line in ("g ← L'(h[2], y) = 2(ŷ − y)", "f_2'(a[2]) = linear'(a[2])", "f_1'(a[1]) = tanh'(a[1])",
                 "∇W[2] ← g h[1]ᵀ =", "∇W[1] ← g h[0]ᵀ =", "[ L2.n2.w1  L2.n2.w2  L2.n2.w3 ]"):  # fmt: skip
        assert line in out
    assert f"{result.W[1][1, 2]:+.4f}" in out and f"{result.W[0][2, 1]:+.4f}" in out
    assert "largest difference between ∇W and those .grad: " in out
    difference = float(out.split("those .grad: ")[1].split()[0])
    assert difference <= 1e-15


def test_explain_matrix_with_bias_and_nll(capsys):
    from microgradx.app.cli import main

    assert main(["explain", "--matrix", "--sizes", "3,2,1", "--loss", "nll", "--bias"]) == 0
    out = capsys.readouterr().out
    assert "sigmoid'(a[2])" in out and "∇b[2] ← g" in out and "∇b[1] is the .grad of L1.n1.b, L1.n2.b" in out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["explain", "--matrix", "u * 2", "u=1"], "--matrix explains a small MLP, not an expression"),
        (["explain", "--matrix", "--sizes", "2,x"], "--sizes takes layer widths"),
        (["explain", "--matrix", "--sizes", "2"], "at least two widths"),
        (["explain", "--matrix", "--activations", "tanh,swish"], "unknown activation 'swish'"),
        (["explain", "--matrix", "--loss", "nll", "--activations", "tanh,linear", "--sizes", "2,2,1"],
         "one sigmoid neuron"),
        (["explain", "--matrix", "--loss", "nll", "--activations", "tanh,linear", "--sizes", "2,2,1"],
         "end --sizes with 1 and --activations with sigmoid (like --sizes 2,2,1 --activations tanh,sigmoid)"),
        (["explain", "--matrix", "--loss", "nll", "--sizes", "2,3,2"], "like --sizes 2,3,1"),
        (["explain", "--matrix", "--sizes", "2,3", "--activations", "tanh,linear"],
         "one activation per layer (1 for --sizes 2,3, like linear)"),
        (["explain", "--matrix", "--loss", "softmax_cross_entropy", "--sizes", "2,3,1"],
         "end --sizes with 2 or more"),
        (["explain", "--mode", "forward"], "explain takes an expression"),
    ],
)  # fmt: skip
def test_explain_matrix_refuses_bad_options(argv, words, capsys):
    from microgradx.app.cli import main

    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_every_activation_of_nn_has_its_derivative_here():
    """A new activation in nn.ACTIVATIONS must bring its f and f' to matrix.ACTIVATIONS."""
    assert set(matrix.ACTIVATIONS) == set(ACTIVATIONS)
    a = np.linspace(-3.0, 3.0, 13) + 0.05  # off relu's kink
    for name, (f, df) in matrix.ACTIVATIONS.items():
        h = 1e-6
        assert df(a) == pytest.approx((f(a + h) - f(a - h)) / (2 * h), abs=1e-8), name
        assert f(a) == pytest.approx([ACTIVATIONS[name](Value(x)).data for x in a], rel=1e-15), name
