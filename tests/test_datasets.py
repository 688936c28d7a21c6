"""The toy data sets: shapes, labels, seeding, geometry, errors."""

from __future__ import annotations

import numpy as np
import pytest

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
    "make, match",
    [
        (lambda: make_moons(1), "n_samples must be an integer >= 2"),
        (lambda: make_moons(10.5), "n_samples"),
        (lambda: make_moons(10, noise=-0.1), "noise must be a number >= 0"),
        (lambda: make_circles(10, factor=1.5), r"factor .* must be in \(0, 1\)"),
        (lambda: make_spirals(10, classes=1), "classes must be an integer >= 2"),
        (lambda: make_spirals(2, classes=3), "at least classes"),
        (lambda: make_blobs(10, centers=np.zeros((3, 3))), "shape \\(k, 2\\)"),
    ],
)
def test_bad_arguments_give_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
