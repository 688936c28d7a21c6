"""Flattening to a tape, and how the tape prints."""

import json

import numpy as np

from microgradx import Op, Value, flatten
from microgradx.backprop import sweep


def test_tape_is_topological(lecture_graph):
    u, v, w, f = lecture_graph
    tape = flatten(f)
    assert len(tape) == 5
    for i in range(len(tape)):
        assert all(s < i for s in tape.operands(i))
    assert [tape.nodes[s] for s in tape.leaves] == [u, v, w]
    assert tape.nodes[tape.outputs[0]] is f


def test_lecture_tape_exact_text(lecture_graph):
    u, v, w, f = lecture_graph
    f.label = "f"
    tape = flatten(f)
    sweep(tape)
    assert str(tape).splitlines() == [
        "u = leaf                # data 2  grad 4",
        "v = leaf                # data 3  grad 4",
        "t1 = add u v            # data 5  grad 4",
        "w = leaf                # data 4  grad 5",
        "f = mul t1 w            # data 20  grad 1",
        "out f",
    ]


def test_constants_and_nary_ops_in_the_tape():
    x = Value(2.0, label="x")
    y = Value.sum([x * 3, Value.dot([x], [x])])
    tape = flatten(y)
    ops = [Op(k) for k in tape.op]
    assert ops == [Op.LEAF, Op.CONST, Op.MUL, Op.DOT, Op.SUM]
    assert tape.consts.tolist() == [3.0]
    assert str(tape).splitlines() == [
        "x = leaf",
        "3 = const 3",
        "t1 = mul x 3",
        "t2 = dot x x",
        "t3 = sum t1 t2",
        "out t3",
    ]


def test_shared_node_gets_one_slot():
    a = Value(1.0)
    b = a + a
    c = b * b
    tape = flatten(c)
    assert len(tape) == 3
    assert tape.a[1] == tape.b[1] == 0


def test_several_outputs_share_one_tape():
    x = Value(1.0)
    y1, y2 = x * 2, x + 1
    tape = flatten([y1, y2])
    assert len(tape) == 5
    assert tape.outputs.size == 2


def test_tape_bytes_per_node_in_scalar_mode():
    x = Value(0.5)
    v = x
    for i in range(10_000):
        v = (v * x).tanh() if i % 2 else v + x
    tape = flatten(v)
    sweep(tape)
    assert tape.nbytes / len(tape) <= 40


def test_arrays_have_compact_types():
    tape = flatten(Value(1.0) + 2)
    assert tape.op.dtype == np.int8
    assert tape.a.dtype == tape.b.dtype == np.int32


def test_names_number_the_unlabelled_nodes_like_the_lecture():
    """t1, t2, … count the unlabelled computed nodes; leaves without a label are leaf1, leaf2, …;
    a label's second holder gets @2, and a name a label already holds is skipped."""
    u, v = Value(2.0, label="u"), Value(3.0)
    t = (u + v) * u
    assert flatten(t).names() == ["u", "leaf1", "t1", "t2"]
    s = u + v
    s.label = "t1"  # a label holding a generated name: the generated one moves on
    assert flatten(s * 2 + v).names() == ["u", "leaf1", "t1", "2", "t2", "t3"]
    twins = Value(1.0, label="x") * Value(2.0, label="x")
    assert flatten(twins).names() == ["x", "x@2", "t1"]


def test_names_that_are_not_plain_words_are_quoted_in_the_printout():
    x = Value(1.0, label="R − y")
    y = x * Value(2.0, label="a\nb")
    y.label = 7  # not a string: printed as text, not an error
    assert str(flatten(y)).splitlines() == [
        '"R − y" = leaf',
        '"a\\nb" = leaf',
        '7 = mul "R − y" "a\\nb"',
        "out 7",
    ]


def test_a_name_that_would_reorder_or_hide_the_line_is_escaped_in_the_printout():
    """A right-to-left override (U+202E) showed the rest of its line reversed; a zero-width
    space hid in the name. Each is written as its JSON escape, and the name reads back."""
    x = Value(1.0, label="ab\u202ecd")
    y = x * Value(2.0, label="p\u200bq")
    lines = str(flatten(y)).splitlines()
    assert lines[:2] == ['"ab\\u202ecd" = leaf', '"p\\u200bq" = leaf']
    assert all(c.isprintable() for line in lines for c in line)
    assert json.loads(lines[0].split(" = ")[0]) == "ab\u202ecd"


def test_tape_shows_as_a_table_in_notebooks(lecture_graph):
    u, v, w, f = lecture_graph
    tape = flatten(f)
    sweep(tape)
    html = tape._repr_html_()
    assert "<th>slot</th><th>name</th><th>op</th><th>operands</th><th>data</th><th>grad</th>" in html
    assert "<tr><td>2</td><td>t1</td><td>add</td><td>u v</td><td>5</td><td>4</td></tr>" in html
    x = Value(1.0, label="<b>")
    assert "&lt;b&gt;" in flatten(x * 2)._repr_html_() and "<b>" not in flatten(x * 2)._repr_html_()
