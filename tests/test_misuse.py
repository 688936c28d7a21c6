"""API misuse gets an error that names the mistake and the fix, and right use is not refused.

The kinds: a single thing where a list is wanted (a number or a Value as compile's outputs
or inputs, a Value or a model as an optimizer's parameters or a model's inputs); a string
where a list of names is wanted (optimize="dce", read letter by letter); a flag that is not
a bool (check="no" is truthy); NumPy's integers refused where an int is wanted; an empty
batch trained on (a mean over no rows); numbers and Values mistaken for each other.
"""

from __future__ import annotations

import numpy as np
import pytest

import microgradx
from microgradx import Value
from microgradx.nn import MLP, Layer
from microgradx.optim import SGD


@pytest.fixture
def graph():
    x, w = Value(0.0, label="x"), Value(2.0, label="w")
    y = (x * w).tanh()
    return x, w, y, microgradx.compile(y, inputs=[x]), SGD([w], lr=0.1)


X = np.array([[0.5], [1.0], [-1.0]])

MISUSE = [
    (
        "compile(3.0)",
        lambda x, w, y, c, o: microgradx.compile(3.0),
        TypeError,
        r"outputs must be a Value or a list of Values, got 3\.0 \(float\).*"
        r"like compile\(loss, inputs=\[x\]\)",
    ),
    ("compile(None)", lambda x, w, y, c, o: microgradx.compile(None), TypeError, r"got None \(NoneType\)"),
    ("compile('y')", lambda x, w, y, c, o: microgradx.compile("y"), TypeError, r"got 'y' \(str\)"),
    ("compile([])", lambda x, w, y, c, o: microgradx.compile([]), ValueError, "no outputs"),
    (
        "inputs=x",
        lambda x, w, y, c, o: microgradx.compile(y, inputs=x),
        TypeError,
        r"inputs must be a list of Values.*not a Value: for one input, write inputs=\[x\]",
    ),
    (
        "inputs=3",
        lambda x, w, y, c, o: microgradx.compile(y, inputs=3),
        TypeError,
        r"inputs must be a list of Values.*got 3 \(int\)",
    ),
    (
        "inputs={x}",
        lambda x, w, y, c, o: microgradx.compile(y, inputs={x, w}),
        TypeError,
        r"in the order of x's columns.*a set, which has no order: write inputs=\[x1, x2, \.\.\.\]",
    ),
    (
        "optimize='dce'",
        lambda x, w, y, c, o: microgradx.compile(y, inputs=[x], optimize="dce"),
        TypeError,
        r"optimize='dce'.*as a list, like optimize=\['dce'\] \(a string would be read letter by letter\)",
    ),
    (
        "optimize='all'",
        lambda x, w, y, c, o: microgradx.compile(y, inputs=[x], optimize="all"),
        TypeError,
        r"optimize='all'.*or True for all of them, False for none",
    ),
    (
        "optimize=1",
        lambda x, w, y, c, o: microgradx.compile(y, inputs=[x], optimize=1),
        TypeError,
        r"optimize=1.*use True \(all the passes\), False \(none\) or a list of pass names",
    ),
    (
        "check='no'",
        lambda x, w, y, c, o: microgradx.compile(y, inputs=[x], check="no"),
        TypeError,
        r"compile\(check\) must be True or False, got 'no'",
    ),
    (
        "threads=1",
        lambda x, w, y, c, o: microgradx.compile(y, inputs=[x], threads=1),
        TypeError,
        r"compile\(threads\) must be True or False, got 1",
    ),
    (
        "fit steps 2.0",
        lambda x, w, y, c, o: c.fit(X, o, 2.0),
        TypeError,
        r"fit\(steps\) must be a whole number \(an int >= 0\), got 2\.0 \(float\)",
    ),
    (
        "fit steps True",
        lambda x, w, y, c, o: c.fit(X, o, True),
        TypeError,
        r"fit\(steps\).*got True \(bool\)",
    ),
    ("fit every 2.5", lambda x, w, y, c, o: c.fit(X, o, 4, every=2.5), TypeError, r"fit\(every\).*2\.5"),
    (
        "fit every -1",
        lambda x, w, y, c, o: c.fit(X, o, 4, every=-1),
        ValueError,
        r"fit\(every\).*>= 0, got -1",
    ),
    (
        "fit(X, steps, opt)",
        lambda x, w, y, c, o: c.fit(X, 2, o),
        TypeError,
        r"fit needs an optimizer from microgradx\.optim, like SGD\(model\.parameters\(\), lr=0\.1\); "
        r"got 2 \(int\)",
    ),
    (
        "train_step(X, SGD)",
        lambda x, w, y, c, o: c.train_step(X, SGD),
        TypeError,
        "train_step needs an optimizer",
    ),
    (
        "fit callback=3",
        lambda x, w, y, c, o: c.fit(X, o, 2, every=1, callback=3),
        TypeError,
        r"callback must be a function of \(step, losses so far\)",
    ),
    (
        "fit lr='a'",
        lambda x, w, y, c, o: c.fit(X, o, 2, lr="a"),
        TypeError,
        r"fit\(lr='a'\): lr must be a number, a list of one number per step",
    ),
    (
        "train_step on 0 rows",
        lambda x, w, y, c, o: c.train_step(np.zeros((0, 1)), o),
        ValueError,
        r"train_step\(x\): x has no rows; a training step's loss is the mean over the batch's rows",
    ),
    (
        "fit on 0 rows",
        lambda x, w, y, c, o: c.fit(np.zeros((0, 1)), o, 3),
        ValueError,
        r"fit\(x\): x has no rows",
    ),
    (
        "backward(output=0.0)",
        lambda x, w, y, c, o: (c.forward(X), c.backward(output=0.0)),
        TypeError,
        r"backward\(output=0\.0\): output must be a whole number, 0\.\.0",
    ),
    (
        "forward(Values)",
        lambda x, w, y, c, o: c.forward([x]),
        TypeError,
        r"forward\(x\): x must hold real numbers.*it holds Values; give their numbers",
    ),
    (
        "Value(Value(2.0))",
        lambda x, w, y, c, o: Value(Value(2.0)),
        TypeError,
        r"^Value\(data\) must be a real number, got Value\(data=2\.0, grad=0\.0\) \(Value\): "
        r"use the Value itself, or its number, \.data$",
    ),
    (
        "SGD(model)",
        lambda x, w, y, c, o: SGD(MLP(2, [3]), lr=0.1),
        TypeError,
        r"SGD\(params\): give the model's parameters, SGD\(model\.parameters\(\), \.\.\.\)",
    ),
    (
        "SGD(w)",
        lambda x, w, y, c, o: SGD(w, lr=0.1),
        TypeError,
        r"give a list of Values, like SGD\(\[w\], \.\.\.\)",
    ),
    ("SGD(3)", lambda x, w, y, c, o: SGD(3, lr=0.1), TypeError, r"give a list of Values.*got 3 \(int\)"),
    (
        "model(x)",
        lambda x, w, y, c, o: MLP(1, [3])(x),
        TypeError,
        r"a model takes a list of inputs.*for one input, write model\(\[x\]\)",
    ),
    (  # a batch where one row belongs: it said "this neuron takes 2 inputs, got 100"
        "model(X)",
        lambda x, w, y, c, o: MLP(2, [3, 1])(np.zeros((100, 2))),
        TypeError,
        r"one row of 2 inputs .* got a batch of 100 rows: .*\[model\(x\) for x in X\].*\.forward\(X\)",
    ),
    (  # it said "this neuron takes 3 inputs, got 2" of a network the user called
        "MLP(x) of too few",
        lambda x, w, y, c, o: MLP(3, [4, 1])([Value(1.0), Value(2.0)]),
        ValueError,
        r"^this MLP takes 3 inputs, got 2$",
    ),
    (
        "Layer(x) of too many",
        lambda x, w, y, c, o: Layer(3, 2)([1.0, 2.0, 3.0, 4.0]),
        ValueError,
        r"^this layer takes 3 inputs, got 4$",
    ),
    (  # rows as lists, even as many as the inputs (a 2 x 2 batch passed the count before)
        "model(rows)",
        lambda x, w, y, c, o: MLP(2, [3, 1])([[0.0, 1.0], [1.0, 0.0]]),
        TypeError,
        r"one row of 2 inputs .* got a batch of 2 rows",
    ),
]


@pytest.mark.parametrize(
    "call, error, match", [case[1:] for case in MISUSE], ids=[case[0] for case in MISUSE]
)
def test_misuse_is_refused_naming_the_mistake_and_the_fix(graph, call, error, match):
    with pytest.raises(error, match=match):
        call(*graph)


def test_numpy_integers_are_whole_numbers(graph):
    """fit(X, opt, np.int64(2)) was refused; every and backward's output take them too."""
    x, w, y, step, opt = graph
    assert step.fit(X, opt, np.int64(2)).shape == (2,)
    calls = []
    step.fit(X, opt, np.int32(4), every=np.int64(2), callback=lambda k, losses: calls.append(k))
    assert calls == [2, 4] and opt.t == 6
    step.forward(X)
    np.testing.assert_array_equal(step.backward(output=np.int64(0)), step.backward(output=0))


def test_inputs_as_any_ordered_iterable(graph):
    """A tuple or a generator of Values is in order: taken as the list it makes."""
    x, w, y, _, _ = graph
    for inputs in ((x,), (v for v in [x])):
        step = microgradx.compile(y, inputs=inputs)
        assert step.inputs == [x]
        assert step.forward([0.5]) == pytest.approx(np.tanh(1.0))


def test_flags_and_pass_lists_that_are_right():
    x = Value(0.0)
    step = microgradx.compile(x * 2.0 + 1.0, inputs=[x], optimize=("fold", "dce"), check=np.bool_(True))
    assert step.check is True and step.forward([1.0]) == 3.0
    assert microgradx.compile(x * 2.0, inputs=[x], optimize=False, threads=np.bool_(False)).threads is False


def test_an_empty_batch_still_runs_forward_and_backward(graph):
    """Forward and backward of no rows give no rows (nothing is averaged): only training refuses."""
    x, w, y, step, opt = graph
    assert step.forward(np.zeros((0, 1))).shape == (0,)
    assert step.backward().shape == (0, 1)
    assert opt.t == 0 and w.data == 2.0


@pytest.mark.parametrize("tier", ["numba", "numpy"])
@pytest.mark.parametrize("call", ["train_step", "train_step on its fast path", "fit", "fit in batches"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_training_refuses_nan_or_inf_in_x_before_writing_anything(call, bad, tier, monkeypatch):
    """A nan in one row became nan in every weight it reached, and in Adam's moments, silently
    (a newcomer found it): each way in refuses x, naming the entry, and changes nothing, on
    both tiers (train_step's fast path leaves the check to the kernel: kernels/calls.py's
    all_finite, numpy_calls' isfinite)."""
    from microgradx.kernels import calls, jit, numpy_calls
    from microgradx.optim import Adam

    monkeypatch.setattr(jit, "kernels_now", lambda: calls if tier == "numba" else numpy_calls)

    model = MLP(3, [4, 1], seed=0)
    xs, y = [Value(0.0) for _ in range(3)], Value(0.0)
    step = microgradx.compile((model(xs) - y) ** 2, inputs=xs + [y])
    opt = Adam(model.parameters(), lr=0.01)
    rows = np.random.default_rng(0).normal(size=(8, 4))
    step.train_step(rows, opt)  # a finite step first: the fast path is ready, Adam has state
    before, state, t = [p.data for p in model.parameters()], opt.state.copy(), opt.t
    rows[5, 2] = bad
    run = {
        "train_step": lambda: step.train_step(rows.tolist(), opt),  # a list: the long way
        "train_step on its fast path": lambda: step.train_step(rows, opt),
        "fit": lambda: step.fit(rows, opt, 3),
        "fit in batches": lambda: step.fit(rows, opt, epochs=2, batch_size=4, seed=0),
    }[call]
    with pytest.raises(ValueError, match=rf"x holds nan or inf: x\[5, 2\] = {bad} \(1 of 32\).*finite"):
        run()
    assert [p.data for p in model.parameters()] == before and opt.t == t
    np.testing.assert_array_equal(opt.state, state)
    rows[5, 2] = 0.0
    assert np.isfinite(step.train_step(rows, opt))  # and the graph trains on after it


@pytest.mark.parametrize("row, col", [(0, 0), (130, 7), (299, 8), (200, 17), (299, 18)])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_train_steps_fast_path_finds_nan_or_inf_anywhere_in_the_rows(row, col, bad):
    """The kernel checks every entry of the rows (calls.all_finite), whichever chunk of the
    lanes (300 rows: three) and whichever of the eight-column passes that copy them into the
    lanes, or the columns after them, it is in: refused, and nothing changes."""
    model = MLP(18, [4, 1], seed=0)
    xs, y = [Value(0.0) for _ in range(18)], Value(0.0)
    step = microgradx.compile((model(xs) - y) ** 2, inputs=xs + [y])
    opt = SGD(model.parameters(), lr=0.01)
    rows = np.random.default_rng(0).normal(size=(300, 19))
    step.train_step(rows, opt)  # the fast path is ready
    before, t = [p.data for p in model.parameters()], opt.t
    rows[row, col] = bad
    with pytest.raises(ValueError, match=rf"x\[{row}, {col}\] = {bad} \(1 of 5700\)"):
        step.train_step(rows, opt)
    assert [p.data for p in model.parameters()] == before and opt.t == t


def test_training_a_graph_of_several_outputs_says_how_to_make_one_loss():
    x, w = Value(0.0), Value(2.0)
    step = microgradx.compile([x * w, (x * w).tanh()], inputs=[x])
    with pytest.raises(ValueError, match=r"the loss; this one has 2: compile the loss alone.*sum"):
        step.train_step(X, SGD([w], lr=0.1))
