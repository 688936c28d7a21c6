"""Predictions for a batch in one compiled call, held to plain per-row Values; accuracy and the
confusion matrix held to scikit-learn's."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from microgradx import Value, compile, metrics
from microgradx.losses import softmax_cross_entropy
from microgradx.nn import MLP, Layer, Neuron
from microgradx.optim import Adam


def eager_scores(model, X: np.ndarray) -> np.ndarray:
    """The oracle: each row through the model as plain Values, one graph per row."""
    rows = []
    for row in X:
        out = model([Value(float(v)) for v in row])
        rows.append(out.data if isinstance(out, Value) else [o.data for o in out])
    return np.array(rows)


@pytest.fixture
def batch():
    return np.random.default_rng(0).normal(size=(37, 5))


@pytest.mark.parametrize(
    "model",
    [
        MLP(5, [7, 4], seed=1),
        MLP(5, [6, 6, 3], activation="tanh", seed=2),
        MLP(5, [4, 1], seed=3),
        Layer(5, 3, activation="sigmoid", seed=4),
        Neuron(5, activation="tanh", seed=5),
    ],
    ids=repr,
)
def test_scores_of_a_batch_equal_each_row_through_plain_values(model, batch):
    got = metrics.scores(model, batch)
    want = eager_scores(model, batch)
    assert got.shape == want.shape == ((37,) if want.ndim == 1 else (37, want.shape[1]))
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_scores_on_the_numpy_tier_too(numpy_tier, batch):
    model = MLP(5, [8, 3], seed=6)
    assert metrics.scores(model, batch) == pytest.approx(eager_scores(model, batch), rel=1e-12, abs=1e-12)


def test_the_model_is_compiled_once_and_scores_with_its_current_parameters(batch):
    model = MLP(5, [8, 3], seed=7)
    first = metrics.predictor(model)
    before = metrics.scores(model, batch)
    for p in model.parameters():  # train a little: the same compiled graph must see the new values
        p.data += 0.1
    after = metrics.scores(model, batch)
    assert metrics.predictor(model) is first
    assert not np.allclose(after, before)
    assert after == pytest.approx(eager_scores(model, batch), rel=1e-12, abs=1e-12)


def test_a_rebuilt_model_is_compiled_anew(batch):
    model = MLP(5, [8, 3], seed=8)
    first = metrics.predictor(model)
    model.layers[-1] = Layer(8, 2, activation="linear", seed=9)  # another last layer: 2 classes now
    assert metrics.predictor(model) is not first
    got = metrics.scores(model, batch)
    assert got.shape == (37, 2) and got == pytest.approx(eager_scores(model, batch), rel=1e-12, abs=1e-12)


def test_the_cache_does_not_keep_a_model_alive(batch):
    model = MLP(5, [8, 3], seed=10)
    metrics.scores(model, batch)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


def test_predict_is_the_largest_score_of_each_row(batch):
    model = MLP(5, [8, 4], seed=11)
    want = np.argmax(eager_scores(model, batch), axis=1)
    got = metrics.predict(model, batch)
    assert got.dtype == np.int64 and np.array_equal(got, want)
    assert len(set(got.tolist())) > 1  # the test means something: not every row is one class


@pytest.mark.parametrize("output, threshold", [(None, 0.0), ("tanh", 0.0), ("sigmoid", 0.5)])
def test_one_output_splits_two_classes_at_zero_or_at_one_half_for_a_sigmoid(output, threshold, batch):
    model = MLP(5, [8, 1], output_activation=output, seed=12)
    predictor = metrics.Predictor(model)
    assert predictor.threshold == threshold and predictor.classes == 2
    score = eager_scores(model, batch)
    got = predictor.predict(batch)
    assert np.array_equal(got, (score > threshold).astype(np.int64))
    assert 0 < got.sum() < got.size  # both classes occur, so the threshold is tested


def test_scores_of_a_model_trained_on_digits_give_scikit_learns_accuracy_and_confusion():
    """A trained 64-16-10 network: the compiled batch's labels are the plain Values' labels, and
    the metrics from them are scikit-learn's."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    from microgradx.datasets import load_digits, one_hot

    X, y = load_digits()
    X = X[:300] / 16.0
    y = y[:300]
    model = MLP(64, [16, 10], seed=0)
    xs = [Value(0.0) for _ in range(64)]
    ys = [Value(0.0) for _ in range(10)]
    step = compile(softmax_cross_entropy(model(xs), ys), inputs=xs + ys)
    step.fit(np.column_stack([X, one_hot(y, 10)]), Adam(model.parameters(), lr=0.01), 30)
    scores = metrics.scores(model, X)
    labels = metrics.predict(model, X)
    eager = np.argmax(eager_scores(model, X[:60]), axis=1)
    assert np.array_equal(labels[:60], eager)
    assert 0.5 < metrics.accuracy(y, labels) < 1.0  # trained, some rows wrong: off-diagonals
    assert metrics.accuracy(y, labels) == pytest.approx(sklearn_metrics.accuracy_score(y, labels), abs=0)
    assert metrics.accuracy(y, scores) == metrics.accuracy(y, labels)  # scores are read as their argmax
    want = sklearn_metrics.confusion_matrix(y, labels, labels=range(10))
    assert np.array_equal(metrics.confusion_matrix(y, labels), want)
    assert np.array_equal(metrics.confusion_matrix(y, scores, classes=10), want)


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_and_confusion_matrix_equal_scikit_learns(seed):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    y_true = rng.integers(0, k, 50)
    y_pred = np.where(rng.random(50) < 0.6, y_true, rng.integers(0, k, 50))
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(sklearn_metrics.accuracy_score(y_true, y_pred))
    want = sklearn_metrics.confusion_matrix(y_true, y_pred, labels=range(k + 1))  # a class never seen
    got = metrics.confusion_matrix(y_true, y_pred, classes=k + 1)
    assert got.dtype == np.int64 and np.array_equal(got, want)
    assert got[k].sum() == 0 and got[:, k].sum() == 0


def test_labels_from_scores():
    assert metrics.labels(np.array([[0.1, 0.7, 0.2], [3.0, -1.0, 0.0]])).tolist() == [1, 0]
    assert metrics.labels(np.array([-0.2, 0.0, 0.3])).tolist() == [0, 0, 1]
    assert metrics.labels(np.array([0.4, 0.6]), threshold=0.5).tolist() == [0, 1]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: metrics.scores(m, np.zeros((4, 3))), r"shape \(4, 3\); MLP\(5 .* \(rows, 5\)"),
        (lambda m: metrics.scores(m, np.zeros(5)), r"one row: X.reshape\(1, -1\)"),
        (lambda m: metrics.accuracy([0, 1], [0.5, 1.0]), "class indices 0, 1, ..., k-1.*metrics.labels"),
        (lambda m: metrics.accuracy([0, 1, 1], [0, 1]), "y_true has 3 rows but y_pred has 2"),
        (lambda m: metrics.accuracy([], []), "accuracy of no rows"),
        (lambda m: metrics.confusion_matrix([0, 2], [0, 1], classes=2), "the labels hold class 2"),
        (lambda m: metrics.confusion_matrix([[0, 1]], [0, 1]), r"y_true has shape \(1, 2\)"),
        (lambda m: metrics.labels(np.zeros((2, 2, 2))), r"scores have shape \(2, 2, 2\)"),
    ],
)
def test_mistakes_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call(MLP(5, [4, 3], seed=0))
