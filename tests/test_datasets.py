"""The toy data sets: shapes, labels, seeding, geometry, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from microgradx import datasets
from microgradx.datasets import DATASETS, make_blobs, make_circles, make_moons, make_spirals, one_hot


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shapes_labels_and_seeding(name):
    make = DATASETS[name]
    X, y = make(n_samples=101, noise=0.1, seed=4)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64 and y.min() == 0
    X2, y2 = make(n_samples=101, noise=0.1, seed=4)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = make(n_samples=101, noise=0.1, seed=5)
    assert not np.array_equal(X, X3)


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = make_moons(50, seed=0)
    assert set(y) == {0, 1} and np.bincount(y).tolist() == [25, 25]
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1.0) and (upper[:, 1] >= -1e-12).all()
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)


def test_circles_radii():
    X, y = make_circles(40, factor=0.3, seed=0)
    r = np.hypot(*X.T)
    assert np.allclose(r[y == 0], 1.0) and np.allclose(r[y == 1], 0.3)


def test_spirals_have_k_classes_of_nearly_equal_size():
    X, y = make_spirals(100, classes=3, seed=0)
    assert np.bincount(y).tolist() == [34, 33, 33]
    assert np.hypot(*X.T).max() == pytest.approx(1.0)


def test_blobs_gather_around_their_centers():
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    X, y = make_blobs(200, centers=centers, noise=0.5, seed=0)
    for k in range(2):
        assert np.allclose(X[y == k].mean(axis=0), centers[k], atol=0.2)


def test_one_hot():
    assert one_hot(np.array([2, 0])).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="holds class 3"):
        one_hot(np.array([3]), 3)


@pytest.mark.parametrize(
    "y, match",
    [  # each said only "y must be a 1-D array of class indices 0..k-1", naming no value
        ([-1, 1], "class indices start at 0, y holds -1"),
        ([0.0, 1.5], r"as integers, got dtype float64, y\[0\] = 0\.0 .*one_hot\(y\.astype\(int\)\)"),
        ([[0, 1]], r"1-D array .* got shape \(1, 2\)"),
    ],
)
def test_one_hot_names_the_label_it_cannot_take(y, match):
    with pytest.raises(ValueError, match=match):
        one_hot(y, 3)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: make_moons(1), "n_samples must be an integer >= 2"),
        (lambda: make_moons(10.5), "n_samples"),
        (lambda: make_moons(10, noise=-0.1), "noise must be a number >= 0"),
        (lambda: make_circles(10, factor=1.5), r"factor .* must be in \(0, 1\)"),
        (lambda: make_spirals(10, classes=1), "classes must be an integer >= 2"),
        (lambda: make_spirals(2, classes=3), "at least classes"),
        (lambda: make_blobs(10, centers=np.zeros((3, 3))), "shape \\(k, 2\\)"),
        # nan or inf gave nan data without a word
        (
            lambda: make_moons(10, noise=float("nan")),
            r"make_moons: noise must be a number >= 0, got nan \(not",
        ),
        (
            lambda: make_spirals(30, turns=float("inf")),
            r"make_spirals: turns must be a number .*inf \(not finite",
        ),
        (lambda: make_blobs(10, box=float("nan")), "make_blobs: box must be a number > 0"),
        (lambda: make_blobs(10, box=-5.0), "make_blobs: box must be a number > 0"),
    ],
)
def test_bad_arguments_give_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals, make_blobs])
@pytest.mark.parametrize("seed", ["a", -1, 2.5, [1, 2]])
def test_a_seed_that_is_not_a_whole_number_is_refused_naming_it(make, seed):
    """NumPy's own message named neither the call nor the argument ("SeedSequence expects int or
    sequence of ints"); a Generator, None or a whole number >= 0 is taken."""
    with pytest.raises((TypeError, ValueError), match=rf"{make.__name__}\(seed\)"):
        make(30, seed=seed)
    X1, _ = make(30, seed=np.random.default_rng(3))
    X2, _ = make(30, seed=np.random.default_rng(3))
    assert np.array_equal(X1, X2)


# -- the real data sets (scikit-learn's, the `data` extra) --------------------------------

REAL = {  # name: (rows, features, rows per class), as the data sets' own documentation gives them
    "digits": (1797, 64, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]),
    "iris": (150, 4, [50, 50, 50]),
    "wine": (178, 13, [59, 71, 48]),
    "breast_cancer": (569, 30, [212, 357]),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_data_sets_are_scikit_learns_as_float_features_and_integer_classes(name):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.LOADERS[name]()
    assert datasets.LOADERS[name] is getattr(datasets, f"load_{name}")
    rows, features, per_class = REAL[name]
    assert X.shape == (rows, features) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (rows,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == per_class
    bunch = getattr(sklearn_datasets, f"load_{name}")()
    assert np.array_equal(X, bunch.data) and np.array_equal(y, bunch.target)


def test_digits_rows_are_8x8_images_of_ink_0_to_16():
    pytest.importorskip("sklearn")
    X, y = datasets.load_digits()
    assert X.min() == 0.0 and X.max() == 16.0 and np.array_equal(X, np.round(X))
    zeros, ones = X[y == 0].mean(axis=0).reshape(8, 8), X[y == 1].mean(axis=0).reshape(8, 8)
    assert zeros[3:5, 3:5].mean() < zeros[3:5, [1, 6]].mean()  # a 0 is a ring: empty middle, inked sides
    assert ones[3:5, 3:5].mean() > ones[3:5, [1, 6]].mean()  # a 1 is a stroke down the middle


@pytest.mark.parametrize("name", sorted(REAL))
def test_without_scikit_learn_the_error_names_the_extra(name, monkeypatch):
    for module in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` fails as if not installed
    with pytest.raises(ImportError, match=rf"load_{name}\(\).*pip install 'microgradx\[data\]'"):
        datasets.LOADERS[name]()
