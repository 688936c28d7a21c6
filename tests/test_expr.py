"""The expression parser builds the right graphs and refuses everything outside its whitelist."""

from __future__ import annotations

import math
import time
import warnings

import pytest

from microgradx import Value
from microgradx.app.expr import MAX_CHARS, parse, parse_bindings, printable
from microgradx.core.ops import Op


def lecture() -> dict[str, Value]:
    return {name: Value(x, label=name) for name, x in parse_bindings(["u=2", "v=3", "w=4"]).items()}


def test_the_lecture_expression_and_its_gradients():
    leaves = lecture()
    f = parse("(u + v) * w", leaves)
    assert f.data == 20.0 and f.op == Op.MUL
    f.backward(engine="python")
    assert (leaves["u"].grad, leaves["v"].grad, leaves["w"].grad) == (4.0, 4.0, 5.0)


def test_bound_numbers_become_labelled_leaves():
    f = parse("u * v", {"u": 2.0, "v": 3.0})
    a, b = f.operands
    assert (a.label, a.data, b.label, b.data) == ("u", 2.0, "v", 3.0)


def test_a_name_used_twice_is_one_leaf():
    leaves = lecture()
    f = parse("u * u", leaves)
    f.backward(engine="python")
    assert leaves["u"].grad == 4.0  # d(u²)/du = 2u


@pytest.mark.parametrize(
    "text, expected",
    [
        ("tanh(u - v)", math.tanh(-1.0)),
        ("(u - v).tanh()", math.tanh(-1.0)),
        ("exp(u) + log(v) + sqrt(w)", math.exp(2) + math.log(3) + 2.0),
        ("sigmoid(u) * relu(-v) + abs(-w)", 4.0),
        ("sin(u) ** 2 + u.cos() ** 2", 1.0),
        ("-u + +v", 1.0),
        ("u / w - 2 ** 3", -7.5),
        ("u ** v", 8.0),
        ("2 ** -u", 0.25),
        ("u * 1e-3", 0.002),
    ],
)
def test_arithmetic_and_op_methods(text, expected):
    assert parse(text, lecture()).data == pytest.approx(expected)


def test_numbers_alone_are_folded_not_noded():
    f = parse("u * (2 + 3)", lecture())
    assert f.operands[1].op == Op.CONST and f.operands[1].data == 5.0


@pytest.mark.parametrize(
    "text, says",
    [
        ("__import__('os')", "dunder name __import__"),
        ("__builtins__", "dunder name __builtins__"),
        ("u.__class__", "attribute access .__class__"),
        ("u.__add__(v)", "dunder name __add__"),
        ("u.data", "attribute access .data"),
        ("u.tanh", "attribute access .tanh"),
        ("(lambda: 1)()", "lambda"),
        ("[x for x in ()]", "comprehensions"),
        ("{x: 1 for x in ()}", "comprehensions"),
        ("open('f')", "call of open"),
        ("exec('1')", "call of exec"),
        ("eval('u')", "call of eval"),
        ("getattr(u, 'data')", "call of getattr"),
        ("import os", "not an expression"),
        ("u = 1", "not an expression"),
        ("u ** 10**10", "exponent 1e+10 is too large"),
        ("9**9**9", "is too large"),
        ("u ** -1000", "is too large"),
        ("u + " * 25_000 + "u", f"the limit is {MAX_CHARS:,}"),
        ("'a'", "strings"),
        ("f'{u}'", "strings"),
        ("u[0]", "subscripts"),
        ("(u, v)", "tuples"),
        ("u if v else w", "if-else"),
        ("u < v", "comparisons"),
        ("u // v", "operator //"),
        ("u @ v", "operator @"),
        ("~u", "operator ~"),
        ("True * u", "bool literals"),
        ("1j * u", "complex literals"),
        ("x + u", "unknown name 'x'"),
        ("tanh", "tanh is a function"),
        ("tanh(u, v)", "exactly one operand"),
        ("2(u)", "refused call of '2': only functions are called; to multiply, write *"),
        ("(u + v)(w)", "refused call of 'u + v'"),
        ("u.exp(1)", "exactly one operand"),
        ("(u := 3)", "assignment"),
        ("-" * 100 + "u", "nested more than"),
        ("u + " * 240 + "u", "parts; the limit is"),
        ("u" + ".tanh()" * 100, "nested more than"),
        ("(" * 300 + "u" + ")" * 300, "not an expression"),
        ("2 + 3", "uses no bound names"),
        ("", "not an expression"),
    ],
)
def test_refused_with_a_clear_message(text, says):
    start = time.perf_counter()
    with pytest.raises(ValueError) as e:
        parse(text, lecture())
    assert says in str(e.value)
    assert time.perf_counter() - start < 5  # refused at once, never evaluated


def test_bindings_are_checked():
    assert parse_bindings(["u=2", "v=-3.5", "w=1e3"]) == {"u": 2.0, "v": -3.5, "w": 1000.0}
    for bad, says in [
        (["u"], "NAME=VALUE"),
        (["u=two"], "not a number"),
        (["__class__=1"], "bad name"),
        (["1u=1"], "bad name"),
        (["tanh=1"], "function name"),
        (["u=1", "u=2"], "bound twice"),
    ]:
        with pytest.raises(ValueError, match=says):
            parse_bindings(bad)


def test_e_and_pi_are_known_unless_bound():
    f = parse("e ** u * pi", lecture())
    assert f.data == pytest.approx(math.e**2 * math.pi)
    g = parse("e * u", {"e": 3.0, "u": 2.0})  # a name bound on the command line comes first
    assert g.data == 6.0 and g.operands[0].label == "e"


@pytest.mark.parametrize(
    "text, suggestion",
    [
        ("tahn(u)", "did you mean tanh?"),
        ("(u + v).tahn()", "did you mean tanh?"),
        ("sigmod(u)", "did you mean sigmoid?"),
        ("Exp(u)", "did you mean exp?"),
        ("ww * u", "did you mean w?"),
        ("U + v", "did you mean u?"),
        ("pie * u", "did you mean pi?"),
    ],
)
def test_misspelt_names_get_a_suggestion(text, suggestion):
    with pytest.raises(ValueError) as e:
        parse(text, lecture())
    assert suggestion in str(e.value)


def test_no_suggestion_when_nothing_is_close():
    with pytest.raises(ValueError) as e:
        parse("x + u", lecture())
    assert "did you mean" not in str(e.value) and "bind it after the expression, like x=1.5" in str(e.value)


@pytest.mark.parametrize(
    "text, says",
    [
        ("u * 1if u else 2", "invalid decimal literal"),
        ("0x1for", "invalid hexadecimal literal"),
        ('"\\d" * u', "invalid escape sequence"),
    ],
)
def test_dubious_syntax_is_refused_without_a_warning(text, says):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=says):
            parse(text, lecture())
    assert [str(w.message) for w in caught] == []


CONTROLS = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if chr(c) not in "\n\t"]
BIDI = ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]


@pytest.mark.parametrize("char", CONTROLS + BIDI)
def test_printable_escapes_every_control_character(char):
    shown = printable(f"u # {char}x\nnext line\tcolumn")
    assert char not in shown and repr(char)[1:-1] in shown
    assert shown.endswith("x\nnext line\tcolumn")  # line breaks and tabs are layout, kept
