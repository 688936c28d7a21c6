"""Data sets as `(X, y)`: X float64 of shape (n, features), y the class of each row.

Toy 2-D classification sets, NumPy only and seeded (`make_moons`, `make_circles`,
`make_spirals`, `make_blobs`): the same `seed` gives the same data; `noise` is the
standard deviation of Gaussian noise added to each coordinate.

Real ones, small and well known, from scikit-learn (`load_digits`, `load_iris`,
`load_wine`, `load_breast_cancer`): they ship inside scikit-learn's wheel, so they
load offline; scikit-learn is the optional extra `pip install 'microgradx[data]'`.
They come as scikit-learn gives them, unscaled and in its order: split and scale
them with scikit-learn too (`train_test_split(..., stratify=y)`, `StandardScaler`).

Labels are class indices, y ∈ {0, 1, ..., k − 1} (int64). For a hinge loss, which
wants y ∈ {−1, +1}, use `y * 2 - 1`; for softmax cross-entropy, `one_hot(y, k)`.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .compiler.checks import random_seed

Seed = int | np.random.Generator | None


def _check(
    n_samples: object, noise: object, seed: object, call: str, least: int = 2
) -> tuple[int, np.random.Generator]:
    """n_samples, noise and seed checked, each error naming the call and the argument; the rows
    and the generator."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < least:
        raise ValueError(f"{call}: n_samples must be an integer >= {least}, got {n_samples!r}")
    _number(noise, "noise", call, ">= 0", lambda v: v >= 0.0)
    return int(n_samples), np.random.default_rng(random_seed(seed, f"{call}(seed)"))


def _number(x: object, name: str, call: str, bound: str, ok) -> float:
    """x as a finite number that `ok` holds for; a ValueError naming it otherwise (nan and inf
    too: they gave nan data without a word)."""
    if isinstance(x, bool) or not isinstance(x, Real) or not np.isfinite(x) or not ok(float(x)):
        finite = isinstance(x, Real) and not isinstance(x, bool) and np.isfinite(x)
        raise ValueError(
            f"{call}: {name} must be a number {bound}, got {x!r}{'' if finite else ' (not finite)'}"
        )
    return float(x)


def _finish(
    X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Add the noise and shuffle the rows, so classes are interleaved as in a real data set."""
    if noise > 0.0:
        X = X + rng.normal(0.0, noise, X.shape)
    order = rng.permutation(len(y))
    return X[order], y[order].astype(np.int64)


def make_moons(n_samples: int = 100, noise: float = 0.0, seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: the upper one is class 0, the lower (shifted) one class 1."""
    n, rng = _check(n_samples, noise, seed, "make_moons")
    n0 = n // 2
    t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n - n0)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    y = np.repeat([0, 1], [n0, n - n0])
    return _finish(np.vstack([upper, lower]), y, noise, rng)


def make_circles(
    n_samples: int = 100, noise: float = 0.0, factor: float = 0.5, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (class 0) around a circle of radius `factor` (class 1)."""
    n, rng = _check(n_samples, noise, seed, "make_circles")
    if isinstance(factor, bool) or not isinstance(factor, Real) or not 0.0 < factor < 1.0:
        raise ValueError(f"factor (inner radius / outer radius) must be in (0, 1), got {factor!r}")
    n0 = n // 2
    t0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, n - n0, endpoint=False)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = factor * np.column_stack([np.cos(t1), np.sin(t1)])
    y = np.repeat([0, 1], [n0, n - n0])
    return _finish(np.vstack([outer, inner]), y, noise, rng)


def make_spirals(
    n_samples: int = 300, classes: int = 3, noise: float = 0.0, turns: float = 1.0, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """`classes` arms winding out from the origin, arm k is class k (CS231n's spiral data).

    Points of an arm go from radius 0 to 1 while turning `turns` times half a circle;
    arms start 2π/classes apart.
    """
    n, rng = _check(n_samples, noise, seed, "make_spirals")
    if isinstance(classes, bool) or not isinstance(classes, Integral) or classes < 2:
        raise ValueError(f"classes must be an integer >= 2, got {classes!r}")
    if n < classes:
        raise ValueError(f"n_samples ({n}) must be at least classes ({classes})")
    turns = _number(turns, "turns", "make_spirals", "(half circles an arm turns)", lambda v: True)
    sizes = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    arms = []
    for k, m in enumerate(sizes):
        r = np.linspace(0.0, 1.0, m)
        angle = 2 * np.pi * k / classes + np.pi * turns * r
        arms.append(np.column_stack([r * np.cos(angle), r * np.sin(angle)]))
    y = np.repeat(np.arange(classes), sizes)
    return _finish(np.vstack(arms), y, noise, rng)


def make_blobs(
    n_samples: int = 100,
    centers: int | np.ndarray = 3,
    noise: float = 1.0,
    box: float = 5.0,
    seed: Seed = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters of standard deviation `noise` around `centers`: cluster k is class k.

    `centers` is a count (drawn uniformly in [-box, box]²) or an array of shape (k, 2).
    """
    n, rng = _check(n_samples, noise, seed, "make_blobs")
    box = _number(box, "box", "make_blobs", "> 0 (the centers' half width)", lambda v: v > 0.0)
    if isinstance(centers, Integral) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"centers must be >= 1, got {centers!r}")
        c = rng.uniform(-box, box, (int(centers), 2))
    else:
        c = np.asarray(centers, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != 2 or len(c) < 1:
            raise ValueError(f"centers must be a count or an array of shape (k, 2), got shape {c.shape}")
    k = len(c)
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    y = np.repeat(np.arange(k), sizes)
    return _finish(c[y], y, noise, rng)


def one_hot(y: np.ndarray, classes: int | None = None) -> np.ndarray:
    """Labels 0..k−1 as rows of k weights (float64), for softmax cross-entropy."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"one_hot(y): y must be a 1-D array of class indices 0..k-1, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        first = f", y[0] = {y.flat[0]}" if y.size else ""
        raise ValueError(
            f"one_hot(y): y must hold class indices 0..k-1 as integers, got dtype {y.dtype}{first} "
            "(whole numbers stored as floats: one_hot(y.astype(int)))"
        )
    if y.size and y.min() < 0:
        raise ValueError(f"one_hot(y): class indices start at 0, y holds {int(y.min())}")
    k = int(y.max()) + 1 if classes is None else classes
    if y.size and y.max() >= k:
        raise ValueError(f"one_hot(y, {k}): y holds class {int(y.max())}")
    return np.eye(k)[y]


DATASETS = {"moons": make_moons, "circles": make_circles, "spirals": make_spirals, "blobs": make_blobs}


# -- real data, from scikit-learn --------------------------------------------------------


def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's `load_<name>(return_X_y=True)` as float64 X and int64 y."""
    try:
        from sklearn import datasets as sklearn_datasets
    except ImportError as e:
        raise ImportError(
            f"load_{name}() reads the data set from scikit-learn, which is not installed ({e}): "
            "pip install 'microgradx[data]' (or pip install scikit-learn)"
        ) from e
    X, y = getattr(sklearn_datasets, f"load_{name}")(return_X_y=True)
    return np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits: X (1797, 64), each row an 8×8 image read row by row, pixels 0–16
    (ink); y (1797,) the digit, 0–9. `X[i].reshape(8, 8)` is image i."""
    return _load("digits")


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's irises: X (150, 4), sepal length and width, petal length and width in cm;
    y (150,) the species, 0 setosa, 1 versicolor, 2 virginica (50 each)."""
    return _load("iris")


def load_wine() -> tuple[np.ndarray, np.ndarray]:
    """Wines of three cultivars: X (178, 13), chemical analyses (alcohol, malic acid, ...,
    on very different scales: standardise them); y (178,) the cultivar, 0–2."""
    return _load("wine")


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Wisconsin breast cancer diagnoses: X (569, 30), measurements of cell nuclei;
    y (569,) 0 malignant (212 rows), 1 benign (357)."""
    return _load("breast_cancer")


# The real data sets by name: name -> a function returning (X, y).
LOADERS = {
    "digits": load_digits,
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
}
