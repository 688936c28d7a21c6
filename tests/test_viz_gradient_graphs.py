"""`draw` of gradient graphs: several roots at once, and `original=` marking the nodes a gradient graph
shares with the graph it differentiates (purple border, a key entry, the original's names)."""

from __future__ import annotations

import pytest
from test_viz import node_line, node_texts

import microgradx
from microgradx import Value
from microgradx.viz import draw
from microgradx.viz.graph import SHARED

BORDER = f'color="{SHARED}"'


def square() -> tuple[Value, Value]:
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    return x, y


def lecture() -> tuple[Value, Value, list[Value]]:
    """f = (u + v)·w, and t1 = u + v."""
    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    t1 = u + v
    f = t1 * w
    f.label = "f"
    return f, t1, [u, v, w]


def test_the_derivative_of_x_squared_is_drawn_on_x_itself():
    """dy/dx for y = x·x, built by hand as the reverse sweep builds it: x·1 + 1·x = x + x."""
    x, y = square()
    dydx = x + x
    src = draw(dydx, original=y).source
    assert BORDER in node_line(src, "n0") and 'border="3"' in node_line(src, "n0")  # x: y's own
    assert BORDER not in node_line(src, "n1")  # x + x: new
    assert f'<td border="3" {BORDER}>shared with the graph of y</td>' in src  # the key: what the border means
    nodes = node_texts(draw(dydx, original=y).pipe(format="svg"))
    assert nodes["n0"] == ["x", "data 3.0000", "grad 2.0000"]
    assert nodes["n1"] == ["t1", "data 6.0000", "grad 1.0000"]  # dy/dx = 2x = 6


def test_without_original_nothing_is_marked():
    x, y = square()
    src = draw(x + x).source
    assert SHARED not in src and "shared with" not in src


def test_several_gradients_at_once_keep_the_originals_names():
    """∂f/∂u = ∂f/∂v = w·1 and ∂f/∂w = t1·1, built by hand: one picture, t1 named as in f's own."""
    f, t1, (u, v, w) = lecture()
    grads = [w * 1.0, w * 1.0, t1 * 1.0]
    picture = draw(grads, original=f)
    nodes = node_texts(picture.pipe(format="svg"))
    values = {name: texts for name, texts in nodes.items() if name.startswith("n")}
    by_name = {texts[0]: name for name, texts in values.items() if texts[0] != "1"}
    assert set(by_name) == {"u", "v", "t1", "w", "t2", "t3", "t4"}  # f's t1, then the new ones
    assert values[by_name["t1"]][1] == "data 5.0000"  # t1 = u + v, as f's picture names it
    for shared in ("u", "v", "w", "t1"):
        assert BORDER in node_line(picture.source, by_name[shared]), shared
    for new in ("t2", "t3", "t4"):  # each gradient: an output, not f's
        assert BORDER not in node_line(picture.source, by_name[new])
        assert 'bgcolor="#d4f5d4"' in node_line(picture.source, by_name[new])
    assert [values[by_name[t]][1] for t in ("t2", "t3", "t4")] == [
        "data 4.0000",
        "data 4.0000",
        "data 5.0000",
    ]


def test_original_may_be_several_values_and_must_be_values():
    x, y = square()
    z = x.tanh()
    z.label = "z"
    src = draw(1 - z * z, original=[y, z]).source
    assert "shared with the original graph" in src
    with pytest.raises(TypeError, match="original must be a Value or a list of Values"):
        draw(x + x, original="y")


# -- with the engine's gradient graphs (microgradx.grad(..., create_graph=True)) --------------------------


def test_the_real_gradient_of_x_squared_is_drawn_on_x_itself():
    x, y = square()
    dydx = microgradx.grad(y, x, create_graph=True)  # x·1 + 1·x: one SUM node reading x twice
    picture = draw({"dy/dx": dydx}, original=y)
    nodes = node_texts(picture.pipe(format="svg"))
    values = {texts[0]: (name, texts) for name, texts in nodes.items() if name.startswith("n")}
    assert set(values) == {"x", "dy/dx"}  # nothing but x and the gradient: built from x itself
    assert BORDER in node_line(picture.source, values["x"][0])
    assert BORDER not in node_line(picture.source, values["dy/dx"][0])
    assert values["dy/dx"][1][1:] == ["data 6.0000", "grad 1.0000"]  # dy/dx = 2x = 6
    assert values["x"][1][1:] == ["data 3.0000", "grad 2.0000"]  # and d²y/dx² = 2, drawn at x


def test_the_lecture_gradients_are_fs_own_nodes():
    f, t1, (u, v, w) = lecture()
    grads = microgradx.grad(f, [u, v, w], create_graph=True)
    picture = draw(dict(zip(["∂f/∂u", "∂f/∂v", "∂f/∂w"], grads, strict=True)), original=f, show_grad=False)
    nodes = node_texts(picture.pipe(format="svg"))
    titles = {texts[0]: name for name, texts in nodes.items() if name.startswith("n")}
    assert set(titles) == {"u", "v", "w = ∂f/∂u = ∂f/∂v", "t1 = ∂f/∂w"}
    for name in titles.values():  # every node is f's: the gradients are made of f
        assert BORDER in node_line(picture.source, name)
    assert (
        nodes[titles["t1 = ∂f/∂w"]][1] == "data 5.0000"
        and nodes[titles["w = ∂f/∂u = ∂f/∂v"]][1] == "data 4.0000"
    )


def test_a_second_derivative_drawn_on_the_originals_nodes_matches_finite_differences():
    """F(x) = (2x + 3)² at x = 1: the gradient graph of F′ shows F′ = 20, and at x the gradient
    ∂F′/∂x = F″ = 8 (by hand, and by central differences of F′)."""
    x = Value(1.0, label="x")
    h = 2 * x + 3
    h.label = "h"
    F = h**2
    F.label = "F"
    dF = microgradx.grad(F, x, create_graph=True)
    nodes = node_texts(draw({"F′": dF}, original=F).pipe(format="svg"))
    by_title = {texts[0]: texts for name, texts in nodes.items() if name.startswith("n")}
    assert by_title["F′"][1] == "data 20.0000"
    second = float(by_title["x"][2].split()[1])
    eps = 1e-5

    def first(at: float) -> float:
        z = Value(at)
        return microgradx.grad((2 * z + 3) ** 2, z)

    assert second == 8.0 == pytest.approx((first(1 + eps) - first(1 - eps)) / (2 * eps), rel=1e-6)


def test_a_summarised_gradient_graph_frames_the_shared_parameters_in_its_tables():
    from microgradx.nn import MLP

    model = MLP(2, [4, 4, 1], seed=0)
    xs = [Value(0.5, label="x1"), Value(-0.3, label="x2")]
    loss = (model(xs) - 1.0) ** 2
    loss.label = "L"
    grads = microgradx.grad(loss, xs, create_graph=True)
    picture = draw({"∂L/∂x1": grads[0], "∂L/∂x2": grads[1]}, original=loss, limit=40)
    assert "layers of neurons as tables" in picture.description
    framed = picture.source.count(f'border="3" {BORDER} tooltip="L1.n')
    assert framed == 4 * 3  # layer 1's 4 neurons: 2 weights and a bias each, all L's
    assert "shared with the graph of L" in picture.source
