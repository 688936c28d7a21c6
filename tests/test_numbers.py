"""Numbers are numbers (issue 14, item 7): one rule for what a number is, everywhere.

microgradx/real.py holds it: a real number that fits in a float64 (ints, floats, bools
as 0 and 1, any numbers.Real, NumPy's integer, floating and bool scalars, 0-d arrays of
those). Text, complex numbers, None and ints beyond float64 are refused the same way by
Value(data), operators, comparisons, Value.data, forward's arrays, fit's learning rates
and the optimizers' settings, with an error that names the value and says what to give.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.nn import MLP
from microgradx.optim import SGD, Adam

NOT_NUMBERS = [
    ("'3'", "3", TypeError, r"got '3' \(str\): text, not a number"),
    ("np.str_('3')", np.str_("3"), TypeError, r"got np\.str_\('3'\) \(str_\): text, not a number"),
    ("np.array('2.5')", np.array("2.5"), TypeError, "text, not a number"),
    ("np.bytes_", np.bytes_(b"3"), TypeError, "text, not a number"),
    ("np.complex128(1+2j)", np.complex128(1 + 2j), TypeError, r"\(complex128\): a complex number"),
    ("np.array(1j)", np.array(1j), TypeError, "a complex number"),
    ("1+2j", 1 + 2j, TypeError, "a complex number"),
    ("None", None, TypeError, r"got None \(NoneType\): nothing"),
    ("np.array(None)", np.array(None), TypeError, "nothing"),
    ("[1.0]", [1.0], TypeError, "a sequence where one number belongs"),
    ("np.array([1.0])", np.array([1.0]), TypeError, r"an array of shape \(1,\), not one number"),
    ("10**400", 10**400, ValueError, r"10000000… \(an int of 401 digits\), too large for a float64"),
    ("-10**400", -(10**400), ValueError, "too large for a float64"),
    ("Fraction(10**400)", Fraction(10**400, 3), ValueError, "too large for a float64"),
]
NUMBERS = [
    (3, 3.0),
    (2.5, 2.5),
    (np.float32(0.5), 0.5),
    (np.int64(-4), -4.0),
    (np.uint8(7), 7.0),
    (np.array(2.5), 2.5),
    (np.array(3, dtype=np.int16), 3.0),
    (Fraction(1, 4), 0.25),
    (10**300, 1e300),
    (float("inf"), float("inf")),
    (True, 1.0),  # 0 and 1, as Python and NumPy count a bool
    (np.False_, 0.0),
]


@pytest.mark.parametrize("name, x, error, match", NOT_NUMBERS, ids=[n[0] for n in NOT_NUMBERS])
def test_value_refuses_what_is_not_a_number_naming_it(name, x, error, match, recwarn):
    with pytest.raises(error, match=r"^Value\(data\).*" + match):
        Value(x)
    assert not recwarn.list  # no ComplexWarning on the way


@pytest.mark.parametrize("name, x, error, match", NOT_NUMBERS, ids=[n[0] for n in NOT_NUMBERS])
def test_every_place_that_takes_a_number_refuses_the_same(name, x, error, match):
    v = Value(1.0)
    takers = {
        "Value.data": lambda: setattr(v, "data", x),
        "Value.grad": lambda: setattr(v, "grad", x),
        "v + x": lambda: v + x,
        "x * v": lambda: x * v,
        "v ** x": lambda: v**x,
        "Value.const": lambda: Value.const(x),
        "Value.sum": lambda: Value.sum([v, x]),
        "SGD(lr)": lambda: SGD([v], lr=x),
        "Adam(eps)": lambda: Adam([v], eps=x),
    }
    for where, take in takers.items():
        with pytest.raises(error) as info:
            take()
        assert repr(x)[:8] in str(info.value), f"{where} does not name the value: {info.value}"
        if error is ValueError:
            assert "too large for a float64" in str(info.value), where
    assert v.data == 1.0 and v.grad == 0.0


@pytest.mark.parametrize("x, expected", NUMBERS)
def test_numbers_are_taken_everywhere(x, expected):
    v = Value(x)
    assert v.data == expected and type(v.data) is float
    assert (Value(1.0) * x).data == expected
    w = Value(0.0)
    w.data = x
    assert w.data == expected
    if np.isfinite(expected) and expected >= 0:
        assert SGD([w], lr=x).lr == expected


def test_comparisons_take_numbers_and_refuse_the_rest():
    v = Value(2.0)
    assert v < 10**400 and v > -(10**400) and v < np.float32(3) and v >= np.array(2)
    for x in ("3", np.str_("3"), np.complex128(1), None):
        with pytest.raises(TypeError):
            v < x  # noqa: B015


def test_operators_name_the_expression():
    expected = r"unsupported operand in Value \+ np\.str_\('3'\): str_ is not a number"
    with pytest.raises(TypeError, match=expected):
        Value(1.0) + np.str_("3")
    with pytest.raises(ValueError, match=r"the number in 10000000… \(an int of 401 digits\) \* Value is"):
        10**400 * Value(1.0)


def test_an_int_too_long_to_print_is_named_by_its_size():
    with pytest.raises(ValueError, match=r"an int of about 5001 digits, too large"):
        Value(10**5000)


@pytest.fixture
def step():
    x = [Value(0.0), Value(0.0)]
    w = Value(0.5)
    return microgradx.compile((x[0] * w + x[1]).tanh(), inputs=x), w


BAD_BATCHES = [
    ("None in an object array", np.array([[1.0, None]], dtype=object), r"x\[0, 1\] is None \(NoneType\)"),
    ("None in a list", [[1.0, 2.0], [None, 2.0]], r"x\[1, 0\] is None"),
    ("text in a list", [["1", "2"]], r"x\[0, 0\] is '1' \(str\): text"),
    ("np.str_ array", np.array([["1", "2"]]), "an array of text"),
    ("complex in a list", [[1j, 2.0]], r"x\[0, 0\] is 1j \(complex\): a complex number"),
    ("complex array", np.ones((1, 2), dtype=complex), "an array of complex numbers"),
    ("None", None, r"x is None"),
    # rows of different lengths: the row that differs is named beside the first, not x[0] alone
    ("a short row", [[1, 2], [3]], r"rows of one length; x\[0\] has 2 entries, x\[1\] has 1 entry$"),
    ("a short third row", [[1, 2], [3, 4], [5]], r"x\[0\] has 2 entries, x\[2\] has 1 entry$"),
    ("a number among rows", [[1, 2], 3], r"x\[0\] has 2 entries, x\[1\] is one number$"),
    # a Value in a batch: its number belongs there (not "use the Value itself", Value(data)'s hint)
    (
        "Values in rows",
        [[Value(0.1), 2.0]],
        r"x\[0, 0\] is Value\(data=0.1.*a Value, where an array of numbers belongs; give its number, .data$",
    ),
]


@pytest.mark.parametrize("name, x, match", BAD_BATCHES, ids=[b[0] for b in BAD_BATCHES])
def test_forward_refuses_batches_that_do_not_hold_numbers(step, name, x, match, recwarn):
    graph, _ = step
    with pytest.raises(TypeError, match=r"^forward\(x\): x must hold real numbers.*" + match):
        graph.forward(x)
    assert not recwarn.list


def test_forward_refuses_an_int_too_large_naming_where(step):
    graph, _ = step
    with pytest.raises(ValueError, match=r"forward\(x\): x\[0, 1\] is .*too large for a float64"):
        graph.forward([[1, 10**400]])


def test_forward_takes_numbers_in_any_form(step):
    graph, _ = step
    expected = graph.forward(np.array([[1.0, 2.0], [3.0, 4.0]]))
    for X in (
        [[1, 2], [3, 4]],
        [[1.0, np.float32(2)], [Fraction(3), np.int64(4)]],
        np.array([[1, 2], [3, 4]], dtype=object),
        np.array([[1, 2], [3, 4]], dtype=np.int8),
        [[True, 2], [3, 4]],  # a bool is 0 or 1, as in the bool arrays forward takes
        [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    ):
        assert np.array_equal(graph.forward(X), expected)


def test_fit_learning_rates_follow_the_rule(step):
    graph, w = step
    opt = SGD([w], lr=0.1)
    X = np.ones((4, 2))
    for lr in ("0.1", ["0.1", "0.1"], [0.1, None], lambda k: "0.1", [1j, 0.1]):
        with pytest.raises(TypeError, match=r"lr must be a number.*(text|None|complex)"):
            graph.fit(X, opt, 2, lr=lr)
    assert graph.fit(X, opt, 2, lr=[np.float32(0.5), Fraction(1, 4)]).shape == (2,)


def test_optimizer_settings_follow_the_rule():
    v = Value(1.0)
    opt = SGD([v], lr=np.array(0.5))  # a 0-d array holds a number: taken, as Value(np.array(0.5)) is
    assert opt.lr == 0.5
    for bad in (np.str_("0.1"), np.complex128(0.1), None, np.array("0.1")):
        with pytest.raises(TypeError, match="lr must be a real number"):
            opt.lr = bad
    with pytest.raises(ValueError, match="momentum is .* too large"):
        opt.momentum = 10**400
    assert opt.lr == 0.5


def test_predictor_scores_follow_the_rule():
    from microgradx import metrics

    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match=r"X must hold real numbers; X\[0, 1\] is None"):
        metrics.predict(model, np.array([[1.0, None]], dtype=object))


def test_no_complex_warning_anywhere():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for take in (lambda: Value(np.complex128(1)), lambda: Value(1.0) * np.complex64(2)):
            with pytest.raises(TypeError, match="complex"):
                take()
