"""Fuzzing (hypothesis): the CLI's expression parser, and random graphs against the reference.

Parser: any text, bytes or nested expression gets a Value or a ValueError/TypeError
with a message — never another exception, never a hang. Graphs: every op, shared
subexpressions, constants and deep chains give the same values and gradients
compiled (with and without tape passes), batched or one row at a time, as the
pure-Python reference sweep.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import microgradx
from microgradx import Value
from microgradx.app import cli
from microgradx.app.expr import parse
from microgradx.backprop import sweep
from microgradx.core.tape import flatten

BINDINGS = {"u": 2.0, "v": 3.0, "w": 4.0}


def parse_or_refuse(text: str) -> None:
    """parse() answers with a Value or a ValueError/TypeError carrying a message."""
    try:
        out = parse(text, BINDINGS)
    except (ValueError, TypeError) as e:
        assert str(e).strip(), f"empty error message for {text!r}"
    else:
        assert isinstance(out, Value)


def explain_exit_status(text: str) -> int:
    """`microgradx explain -- TEXT u=2 v=3 w=4`: 0 with a result or 2 with an error line."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["explain", "--", text, "u=2", "v=3", "w=4"])
    if status == 0:
        assert "gradients:" in out.getvalue()
    else:
        assert status == 2
        assert err.getvalue().startswith("microgradx explain: ") and "Traceback" not in err.getvalue()
    return status


# -- the expression parser ---------------------------------------------------------------


@settings(max_examples=300, deadline=1000)
@given(st.text(max_size=120))
def test_parser_answers_any_text(text):
    parse_or_refuse(text)


@settings(max_examples=200, deadline=1000)
@given(st.binary(max_size=120))
def test_parser_answers_any_bytes(raw):
    parse_or_refuse(raw.decode("utf-8", errors="surrogateescape"))
    parse_or_refuse(raw.decode("latin-1"))


@settings(max_examples=50, deadline=1000)
@given(st.one_of(st.binary(max_size=20), st.integers(), st.none(), st.lists(st.integers(), max_size=3)))
def test_parser_refuses_non_strings_with_a_type_error(thing):
    try:
        parse(thing, BINDINGS)  # type: ignore[arg-type]
    except TypeError as e:
        assert "must be a string" in str(e)
    else:
        raise AssertionError(f"parse accepted {thing!r}")


ATOMS = st.sampled_from(
    ["u", "v", "w", "x", "0", "0.0", "-0.0", "1", "2.5", "1e308", "1e-320", "1e309", "10**400", "True",
     "'s'", "None", "[1]", "(u, v)", "u.__class__", "__import__", "lambda: 0", "u if v else w", "1j",
     "tanh", "f'{u}'", "..."]
)  # fmt: skip
FUNCS = ["exp", "log", "tanh", "sigmoid", "relu", "abs", "sqrt", "sin", "cos", "eval", "open", "__import__"]
OPS = ["+", "-", "*", "/", "**", "//", "%", "@", "<", " and ", "|"]


def nested(depth: int) -> st.SearchStrategy[str]:
    """Expressions built from a grammar a little wider than the parser's whitelist."""
    return st.recursive(
        ATOMS,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(OPS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(FUNCS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, st.sampled_from(FUNCS)).map(lambda t: f"({t[0]}).{t[1]}()"),
            inner.map(lambda e: f"-{e}"),
            st.tuples(inner, inner).map(lambda t: f"tanh({t[0]}, {t[1]})"),
            st.tuples(st.sampled_from(FUNCS), inner).map(lambda t: f"{t[0]}(x={t[1]})"),
        ),
        max_leaves=depth,
    )


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(nested(40))
def test_parser_answers_nested_expressions(text):
    parse_or_refuse(text)


@settings(max_examples=80, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(nested(25), st.text(max_size=60)))
def test_cli_explain_answers_or_says_why(text):
    explain_exit_status(text)


@settings(max_examples=20, deadline=3000)
@given(st.integers(1, 3000), st.sampled_from(["(", "-", "tanh(", "u+", "u**"]))
def test_deep_and_long_inputs_are_refused_quickly(n, piece):
    closing = ")" * n if piece.endswith("(") else ""
    parse_or_refuse(piece * n + "u" + closing)


def test_the_lecture_example_through_the_cli():
    assert explain_exit_status("(u + v) * w") == 0


# -- random graphs -----------------------------------------------------------------------
#
# Each op is applied to operands picked from all earlier nodes (so subexpressions are
# shared), sometimes with a constant; operands are shaped so that every op stays in
# its finite domain (log of x² + 1, a positive base for POW, ...), where all engines
# must agree to rounding.

POWC_EXPONENTS = [2, 3, 0.5, -1, 0, 1, -0.5]

# name -> f(x, y, z, c) with x, y, z earlier nodes and c a number
APPLY: dict[str, Callable[[Value, Value, Value, float], Value]] = {
    "neg": lambda x, y, z, c: -x,
    "exp": lambda x, y, z, c: x.tanh().exp(),
    "log": lambda x, y, z, c: (x * x + 1.0).log(),
    "tanh": lambda x, y, z, c: x.tanh(),
    "sigmoid": lambda x, y, z, c: x.sigmoid(),
    "relu": lambda x, y, z, c: (x + 0.3125).relu(),  # away from the kink at exact cancellations
    "abs": lambda x, y, z, c: abs(x + 0.3125),
    "sqrt": lambda x, y, z, c: (x * x + 0.25).sqrt(),
    "sin": lambda x, y, z, c: x.sin(),
    "cos": lambda x, y, z, c: x.cos(),
    "powc": lambda x, y, z, c: (x * x + 0.5) ** POWC_EXPONENTS[int(abs(c) * 7) % 7],
    "add": lambda x, y, z, c: x + y,
    "sub": lambda x, y, z, c: x - y,
    "mul": lambda x, y, z, c: x * y,
    "div": lambda x, y, z, c: x / (y * y + 1.0),
    "pow": lambda x, y, z, c: (x * x + 0.5) ** y.tanh(),  # POW: a Value exponent, a positive base
    "sum": lambda x, y, z, c: Value.sum([x, y, z, c]),
    "dot": lambda x, y, z, c: Value.dot([x, y, c], [z, x, y]),
    "radd": lambda x, y, z, c: c + x,
    "rsub": lambda x, y, z, c: c - x,
    "rmul": lambda x, y, z, c: c * x,
    "rdiv": lambda x, y, z, c: c / (x * x + 1.0),
    "rpow": lambda x, y, z, c: abs(c) ** x.tanh(),  # a constant base
}


@st.composite
def graphs(draw, max_leaves: int = 5, max_ops: int = 30) -> tuple[list[Value], Value]:
    n_leaves = draw(st.integers(1, max_leaves))
    nodes = [Value(draw(st.floats(-2, 2)), label=f"x{i}") for i in range(n_leaves)]
    for _ in range(draw(st.integers(1, max_ops))):
        name = draw(st.sampled_from(sorted(APPLY)))
        x, y, z = (nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(3))
        c = draw(st.floats(-3, 3).filter(lambda t: abs(t) > 1e-3))
        if draw(st.integers(0, 3)) == 0:
            y = Value.const(c)
        nodes.append(APPLY[name](x, y, z, c))
    out = nodes[-1]
    tape = flatten(out)
    return [tape.nodes[s] for s in tape.leaves], out


def reference(out: Value, leaves: list[Value]) -> tuple[float, np.ndarray]:
    """f and ∂f/∂leaf by the pure-Python reference sweep, at the leaves' current values."""
    tape = flatten(out)
    sweep(tape, "python")
    slot = {id(v): s for s, v in enumerate(tape.nodes)}
    return float(tape.data[tape.outputs[0]]), np.array([tape.grad[slot[id(v)]] for v in leaves])


def close(a: object, b: object) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_eager_backward_equals_the_reference(graph):
    leaves, out = graph
    f, df = reference(out, leaves)
    for v in leaves:
        v.grad = 0.0
    out.backward()  # the numba sweep
    close([out.data, *[v.grad for v in leaves]], [f, *df])
    for v in leaves:
        v.grad = 0.0
    out.backward(engine="python")
    close([out.data, *[v.grad for v in leaves]], [f, *df])


@settings(max_examples=60, deadline=None)
@given(graphs(), st.integers(1, 6), st.integers(0, 2**32 - 1), st.data())
def test_compiled_equals_plain_tape_equals_reference(graph, rows, seed, data):
    """optimize=True and optimize=False against the reference, row by row and batched."""
    leaves, out = graph
    n_in = data.draw(st.integers(0, len(leaves)))
    inputs, params = leaves[:n_in], leaves[n_in:]
    X = np.random.default_rng(seed).uniform(-2, 2, size=(rows, n_in))

    # the reference, one row at a time: outputs, input gradients, parameter gradients summed
    want_f, want_dx, want_dp = [], [], np.zeros(len(params))
    for r in range(rows):
        for v, x in zip(inputs, X[r], strict=True):
            v.data = float(x)
        f, df = reference(out, leaves)
        want_f.append(f)
        want_dx.append(df[:n_in])
        want_dp += df[n_in:]

    for optimize in (True, False):
        step = microgradx.compile(out, inputs=inputs, optimize=optimize)
        step.store.grad[:] = 0.0
        got = step(X)
        dx = step.backward(reduction="sum")
        close(got, want_f)
        close(dx.reshape(rows, n_in), np.reshape(want_dx, (rows, n_in)))
        close([p.grad for p in params], want_dp)
        # one row at a time (1-D input) gives the batch's rows
        for r in range(rows):
            step.store.grad[:] = 0.0
            assert isinstance(step(X[r]), float)
            close(step(X[r]), got[r])
            close(step.backward(reduction="sum"), dx[r])


# name -> the next link t -> f(t, w) of a deep chain, w a parameter
CHAIN: dict[str, Callable[[Value, Value], Value]] = {
    "tanh": lambda t, w: t.tanh(),
    "sin": lambda t, w: t.sin(),
    "sigmoid": lambda t, w: t.sigmoid(),
    "mulc": lambda t, w: t * 0.999,
    "addleaf": lambda t, w: t + w,
    "pow": lambda t, w: (t * t + 0.5) ** w.tanh(),
    "dot": lambda t, w: Value.dot([t, w], [0.5, t]),
    "sum": lambda t, w: Value.sum([t, w, -0.25]),
    "sqrt": lambda t, w: (t * t + 0.5).sqrt(),
    "log": lambda t, w: (t * t + 1.0).log(),
}


@settings(max_examples=6, deadline=None)
@given(st.lists(st.sampled_from(sorted(CHAIN)), min_size=1, max_size=8), st.integers(1000, 3000))
def test_deep_chains_compile_and_match_the_reference(pattern, length):
    """A chain of a few thousand nodes: no recursion anywhere, same answer as the reference."""
    x, w = Value(0.7, label="x"), Value(0.3, label="w")
    t = x
    for i in range(length):
        t = CHAIN[pattern[i % len(pattern)]](t, w)
    t = t + w * 0.5  # w is a parameter even if the pattern never reads it
    f, df = reference(t, [x, w])
    for optimize in (True, False):
        step = microgradx.compile(t, inputs=[x], optimize=optimize)
        step.store.grad[:] = 0.0
        got = step(np.array([[0.7], [0.7]]))
        dx = step.backward(reduction="sum")
        close(got, [f, f])
        close(dx[:, 0], [df[0], df[0]])
        close(w.grad, 2 * df[1])
