"""Edge cases of the gradients: masks, signs of overflow, exact zeros (found by the numerics review)."""

import math

import numpy as np
import pytest

import microgradx
from microgradx import Value, losses

ENGINES = ("numba", "python", "lanes")


def run(f, x0, engine):
    x = Value(x0)
    y = f(x)
    if engine != "lanes":
        y.backward(engine=engine)
        return y.data, x.grad
    step = microgradx.compile(y, inputs=[x])
    return float(step(np.array([x0]))), float(step.backward()[0])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("y", [0.0, 1.0])
@pytest.mark.parametrize("z", [0.0, -0.0])
def test_bce_with_logits_gradient_at_zero_is_half_minus_y(engine, z, y):
    """losses.py: relu'(0) = 0 and |z|'(0) = 0 each pick a side; the smooth loss has σ(0) − y = ½ − y."""
    assert run(lambda v: losses.bce_with_logits(v, y), z, engine) == (math.log(2.0), 0.5 - y)


@pytest.mark.parametrize("engine", ENGINES)
def test_relu_dead_side_passes_no_nan_back(engine):
    """sqrt(relu(x)) is 0 for x < 0, so its derivative is 0; relu's backward multiplies inf·0 = nan."""
    assert run(lambda x: x.relu().sqrt(), -1.0, engine) == (0.0, 0.0)
    assert run(lambda x: x.relu().log(), -1.0, engine)[1] == 0.0


@pytest.mark.parametrize("engine", ENGINES)
def test_abs_gradient_of_nan_is_nan_on_every_engine(engine):
    """kernels.sign(nan) is 0.0; the op table's _sign(nan) is nan."""
    assert math.isnan(run(lambda x: x.abs(), math.nan, engine)[1])


@pytest.mark.parametrize("engine", ENGINES)
def test_overflowing_odd_power_of_a_negative_number_is_minus_inf(engine):
    """ops._pow turns every OverflowError into +inf; (-1e200)**3 is -inf (as NumPy and the kernels say)."""
    assert run(lambda x: x**3, -1e200, engine)[0] == -math.inf
    assert run(lambda x: x ** Value.const(3.0), -1e200, engine)[0] == -math.inf


def test_complex_input_is_refused_without_a_warning(recwarn):
    x = Value(0.0)
    step = microgradx.compile(x * 2.0, inputs=[x])
    with pytest.raises(TypeError, match="complex"):
        step(np.ones((1, 1), complex))
    assert not [w for w in recwarn if issubclass(w.category, np.exceptions.ComplexWarning)]
