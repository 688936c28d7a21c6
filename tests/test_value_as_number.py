"""A Value where a number is expected (issue 21, item 1): its .data, as PyTorch's one-element tensors.

float(v), int(v), round(v, 2) and f"{v:.3f}" give the number; NumPy's functions say to
use the Value's method (np.exp(v): v.exp()), while its operators with a NumPy number on
the left still build the graph; repr(v) shows the numbers in full, as micrograd does.

math.exp(v) is the one the issue asked for that cannot be had with float(v): Python's math
functions call float(v) themselves, with no hook that could tell them from float(v) written
out. float(v) was kept (the issue lists it first, and torch's tensors behave the same way),
so math.exp(v) is math.exp(v.data), a plain number: tested here as the documented behaviour.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from microgradx import Value


def test_a_value_converts_to_its_number():
    loss = Value(0.42767811248845455, "loss")
    assert float(loss) == 0.42767811248845455 and type(float(loss)) is float
    assert round(loss, 2) == 0.43 and round(loss) == 0 and type(round(loss)) is int
    assert int(Value(2.7)) == 2 and int(Value(-2.7)) == -2  # toward 0, as int(2.7)
    assert f"{loss:.3f}" == "0.428" and f"{Value(1234.5):,.1f}" == "1,234.5" and f"{loss:.1%}" == "42.8%"
    assert f"{loss}" == str(loss) == repr(loss)  # no spec: the Value itself, as print shows it
    # the number of a computed node, and of a parameter whose number lives in a Store
    from microgradx.nn import MLP

    w = MLP(2, [1], seed=0).parameters()[0]
    assert float(w) == w.data and float(w * 2) == 2 * w.data


def test_numpy_functions_name_the_method_to_use():
    v = Value(0.5, "v")
    with pytest.raises(TypeError, match=r"np\.exp takes numbers and arrays, not a Value .*write v\.exp\(\)"):
        np.exp(v)
    with pytest.raises(TypeError, match=r"write v\.tanh\(\).* or np\.tanh\(v\.data\) for the number alone"):
        np.tanh(v)
    with pytest.raises(TypeError, match=r"np\.absolute .*write v\.abs\(\)"):
        np.abs(v)
    with pytest.raises(TypeError, match=r"np\.log1p .*write a Value's methods \(v\.exp\(\), v\.tanh"):
        np.log1p(v)
    # NumPy numbers on the left of an operator still build the graph, as before
    for y, want in ((np.float64(2.0) * v, 1.0), (np.int64(3) - v, 2.5), (np.float32(1.0) / v, 2.0)):
        assert isinstance(y, Value) and y.data == want
    assert (np.float64(2.0) > v) is True and (np.float64(0.1) >= v) is False
    y = np.float64(2.0) ** v
    y.backward()
    assert math.isclose(v.grad, math.log(2.0) * 2.0**0.5)
    # and an array of Values still maps np.exp onto v.exp() element by element (the object loop)
    out = np.exp(np.array([v]))
    assert isinstance(out[0], Value) and out[0].data == math.exp(0.5)


def test_math_functions_take_the_number_and_leave_the_graph():
    """The decision above: math.exp(v) is a float, computed from float(v); v.exp() keeps the graph."""
    v = Value(0.5)
    assert math.exp(v) == math.exp(0.5) and type(math.exp(v)) is float
    assert isinstance(v.exp(), Value)


def test_repr_shows_data_in_full_as_micrograd_does():
    assert repr(Value(0.42767811248845455)) == "Value(data=0.42767811248845455, grad=0.0)"
    u = Value(2.0, "u")
    f = u * 3
    f.backward()
    assert repr(u) == "Value('u', data=2.0, grad=3.0)"
    assert repr(f) == "Value(data=6.0, grad=1.0, op=mul)"
    shown = re.search(r"data=(.*?),", repr(Value(0.1 + 0.2))).group(1)
    assert float(shown) == 0.1 + 0.2  # read back, the same float
