"""Flattening to a tape, and how the tape prints."""

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
        "t0 = leaf               # u  data 2  grad 4",
        "t1 = leaf               # v  data 3  grad 4",
        "t2 = add t0 t1          # data 5  grad 4",
        "t3 = leaf               # w  data 4  grad 5",
        "t4 = mul t2 t3          # f  data 20  grad 1",
        "out t4",
    ]


def test_constants_and_nary_ops_in_the_tape():
    x = Value(2.0, label="x")
    y = Value.sum([x * 3, Value.dot([x], [x])])
    tape = flatten(y)
    ops = [Op(k) for k in tape.op]
    assert ops == [Op.LEAF, Op.CONST, Op.MUL, Op.DOT, Op.SUM]
    assert tape.consts.tolist() == [3.0]
    assert "const 3" in str(tape)
    assert "dot t0 t0" in str(tape)
    assert "sum t2 t3" in str(tape)


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
