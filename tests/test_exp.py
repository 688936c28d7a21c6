"""kernels/exp.py: the lane sweeps' e^x equals math.exp to an ulp over the whole float64
range, at the edges of overflow and underflow, and on ±inf and nan; compiled as the lane
sweeps compile it (fastmath "contract"), and as the plain Python it is under NUMBA_DISABLE_JIT=1."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

import microgradx
from microgradx import Value
from microgradx.kernels import exp as fast
from microgradx.losses import softmax

EDGES = [
    0.0, -0.0, 1.0, -1.0, 0.5 * math.log(2), -0.5 * math.log(2), 1e-300, -1e-300, 5e-324,
    709.782712893384, 709.7827128933841, 709.79, 710.0, 711.0, 1e300,  # the last finite e^x, then inf
    -708.39641853226408, -708.4, -720.0, -745.1332191019411, -745.1332191019412, -745.2, -746.0, -1e300,
]  # fmt: skip


@njit(error_model="numpy", fastmath={"contract"})  # as kernels/codes.py's uncounted_forward
def lanes(x, out):
    for j in range(x.size):
        out[j] = fast.exp(x[j])


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many float64s apart a and b are (both finite and >= 0, as e^x is)."""
    return np.abs(a.view(np.int64) - b.view(np.int64))


def numbers() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate(
        [
            rng.uniform(-750.0, 712.0, 10**6),  # the whole range, subnormal results and overflow included
            rng.standard_normal(10**6) * 5.0,  # where softmax's logits live
            rng.uniform(-1e-8, 1e-8, 10**4),
            np.array(EDGES),
        ]
    )


def test_exp_is_within_an_ulp_of_math_exp_everywhere():
    x = numbers()
    got = np.empty_like(x)
    lanes(x, got)
    want = np.array([math.exp(v) if v <= 709.782712893384 else math.inf for v in x.tolist()])  # (raises)
    finite = np.isfinite(want)
    assert ulps(got[finite], want[finite]).max() <= 1
    assert (got[~finite] == math.inf).all()  # overflow is inf, not nan or a large number
    assert (got[x < -745.2] == 0.0).all()
    assert np.count_nonzero(ulps(got[finite], want[finite])) < 0.1 * finite.sum()  # most are equal


def test_exp_of_infinities_and_nan():
    x = np.array([math.inf, -math.inf, math.nan, -math.nan])
    got = np.empty_like(x)
    lanes(x, got)
    assert got[0] == math.inf and got[1] == 0.0 and math.isnan(got[2]) and math.isnan(got[3])


def test_the_python_exp_is_within_an_ulp_of_math_exp_too():
    """What runs under NUMBA_DISABLE_JIT=1: the same arithmetic, bits through struct (without
    the compiled one's fused multiply-adds, so not always its last bit)."""
    x = np.concatenate([np.array(EDGES), np.random.default_rng(1).uniform(-750, 709, 2000)])
    plain = np.array([fast.exp.py_func(v) for v in x.tolist()])
    want = np.array([math.exp(v) if v <= 709.782712893384 else math.inf for v in x.tolist()])
    finite = np.isfinite(want)
    assert ulps(plain[finite], want[finite]).max() <= 1 and (plain[~finite] == math.inf).all()


def test_a_batch_of_softmax_rows_equals_the_rows_one_by_one_and_the_eager_graph():
    """The lane sweeps (this exp) against the scalar sweeps (math.exp) and Value's own."""
    zs = [Value(0.0) for _ in range(5)]
    probs = softmax(zs)
    loss = Value.sum(p * p for p in probs) + Value.sum(z.exp() for z in zs)
    step = microgradx.compile(loss, inputs=zs)
    X = np.random.default_rng(2).uniform(-30, 30, size=(64, 5))
    batch = step.forward(X)
    grads = step.backward(reduction="sum")
    for r in range(X.shape[0]):
        assert step.forward(X[r]) == pytest.approx(batch[r], rel=1e-14, abs=0)
        np.testing.assert_allclose(step.backward(), grads[r], rtol=1e-13, atol=0)
        row = [Value(float(v)) for v in X[r]]
        eager = Value.sum(p * p for p in softmax(row)) + Value.sum(z.exp() for z in row)
        assert eager.data == pytest.approx(batch[r], rel=1e-14, abs=0)
