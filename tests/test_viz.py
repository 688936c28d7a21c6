"""draw and draw_tape: the DOT text and the rendered SVG hold every node's label, value and gradient."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import pytest

from microgradx import Value
from microgradx.backprop import backward
from microgradx.viz import RendererNotFound, draw, draw_tape, find_renderer, render
from microgradx.viz.graph import DETAIL_LIMIT

SVG = "{http://www.w3.org/2000/svg}"


def lecture_graph() -> tuple[Value, Value, Value, Value]:
    """The lecture's f = (u + v) * w at u=2, v=3, w=4, after backward."""
    u, v, w = Value(2.0, "u"), Value(3.0, "v"), Value(4.0, "w")
    f = (u + v) * w
    f.label = "f"
    f.backward(engine="python")
    return f, u, v, w


def svg_texts(svg: bytes | str) -> list[str]:
    """Every <text> in an SVG, which must parse as XML."""
    root = ET.fromstring(svg.encode() if isinstance(svg, str) else svg)
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_dot_holds_labels_values_and_gradients():
    f, u, v, w = lecture_graph()
    src = draw(f).source
    assert "{ u | data 2.0000 | grad 4.0000 }" in src
    assert "{ v | data 3.0000 | grad 4.0000 }" in src
    assert "{ w | data 4.0000 | grad 5.0000 }" in src
    assert "{ f | data 20.0000 | grad 1.0000 }" in src
    assert "{ t2 | data 5.0000 | grad 4.0000 }" in src  # u + v, unnamed: its tape slot
    assert 'label="+"' in src and 'label="*"' in src  # op nodes show their symbols
    assert "o2 -> n2" in src and "n0 -> o2" in src and "n1 -> o2" in src  # operand → op → result


def test_show_grad_false_leaves_gradients_out():
    f, *_ = lecture_graph()
    src = draw(f, show_grad=False).source
    assert "{ f | data 20.0000 }" in src
    assert "| grad" not in src


def test_roles_are_coloured_and_explained_in_a_legend():
    f, u, v, w = lecture_graph()
    src = draw(f, inputs=[u, v]).source
    lines = {line.split()[0]: line for line in src.splitlines() if "shape=record" in line}
    assert "#d6eaff" in lines["n0"] and "#d6eaff" in lines["n1"]  # u, v: inputs
    assert "#ffe6bf" in lines["n3"]  # w: a leaf not in inputs, so a parameter
    assert "#d4f5d4" in lines["n4"]  # f: the output
    for role in ("input", "parameter", "constant", "output"):
        assert f">{role}</td>" in src
    c = Value(2.0, "x") * 3
    assert "#eeeeee" in draw(c).source  # the constant 3


def test_shade_fills_by_gradient_magnitude():
    f, *_ = lecture_graph()
    src = draw(f, shade=True).source
    w_line = next(line for line in src.splitlines() if "{ w |" in line)
    assert "#ff6666" in w_line  # w has the largest |grad| (5): the reddest fill
    assert "fill: |grad|" in src


def test_ordered_ops_label_their_operands():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    src = draw(x - y).source
    assert 'n0 -> o2 [label="1st"' in src and 'n1 -> o2 [label="2nd"' in src


def test_record_characters_in_labels_are_escaped():
    x = Value(1.0, "a|b{c}")
    src = draw(x * 2).source
    assert r"a\|b\{c\}" in src
    assert "a|b{c}" in svg_texts(draw(x * 2).pipe(format="svg"))


def test_bad_rankdir_is_refused():
    f, *_ = lecture_graph()
    with pytest.raises(ValueError, match="rankdir"):
        draw(f, rankdir="sideways")


def test_svg_parses_and_holds_values_and_gradients(tmp_path):
    f, *_ = lecture_graph()
    out = render(draw(f), tmp_path / "f.svg")
    texts = svg_texts(out.read_bytes())
    for expected in ("u", "v", "w", "f", "data 20.0000", "grad 4.0000", "grad 5.0000", "+", "*"):
        assert expected in texts


def test_png_and_dot_files(tmp_path):
    f, *_ = lecture_graph()
    png = render(draw(f), tmp_path / "f.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert render(draw(f), tmp_path / "f.gv").read_text() == draw(f).source
    with pytest.raises(ValueError, match=r"\.svg"):
        render(draw(f), tmp_path / "f.pdf")


def test_jupyter_display_renders_svg_and_png():
    f, *_ = lecture_graph()
    g = draw(f)
    bundle = g._repr_mimebundle_()
    assert "data 20.0000" in svg_texts(bundle["image/svg+xml"])
    assert g._repr_mimebundle_(include=["image/png"])["image/png"].startswith(b"\x89PNG")


def test_picture_render_writes_source_and_picture(tmp_path):
    f, *_ = lecture_graph()
    out = draw(f).render(tmp_path / "f", format="svg")
    assert out.endswith("f.svg")
    assert "grad 5.0000" in svg_texts(open(out, "rb").read())
    assert (tmp_path / "f").read_text().startswith("digraph")


def test_without_a_renderer_the_error_names_both_installs(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(RendererNotFound) as e:
        find_renderer()
    assert "apt-get install graphviz" in str(e.value) and "pip install graphviz-pure" in str(e.value)
    f, *_ = lecture_graph()
    g = draw(f)
    assert "data 20.0000" in g.source  # the DOT source needs no renderer
    with pytest.raises(RendererNotFound):
        render(g, tmp_path / "f.svg")


def layered_graph(width: int, depth: int) -> Value:
    """A dense net of tanh units, width × depth, summed: about 4·width·depth nodes."""
    xs = [Value(0.1 * i, f"x{i}") for i in range(width)]
    for d in range(depth):
        xs = [((xs[i] * 0.5 + xs[(i + 1) % width]) * (0.1 * d)).tanh() for i in range(width)]
    return sum(xs[1:], xs[0])


def test_a_2000_node_graph_renders_summarised(tmp_path):
    root = layered_graph(20, 25)
    root.backward(engine="python")
    g = draw(root)
    src = g.source
    assert src.count("shape=record") > 2000
    assert "summarised" in src and "o" + "1 [" not in src  # op nodes folded into results
    texts = svg_texts(render(g, tmp_path / "big.svg").read_bytes())
    assert any(t.startswith("summarised:") for t in texts)
    assert sum(t.startswith("grad ") for t in texts) > 2000


def test_beyond_the_limit_only_the_part_near_the_output_is_drawn():
    root = layered_graph(20, 45)
    src = draw(root).source
    assert "earlier nodes not drawn" in src
    assert src.count("shape=record") == 3000
    assert DETAIL_LIMIT < 3000


def test_draw_tape_shows_slots_ops_and_values():
    f, *_ = lecture_graph()
    tape = backward(f, engine="python")
    src = draw_tape(tape).source
    for cell in ("t0", "0 leaf", "2 add", "4 mul", "t0 t1", "t2 t3", "leaves[2]", "20.0000", "5.0000"):
        assert f">{cell}</td>" in src
    assert "leaves = [0, 1, 3]" in src and "outputs = [4]" in src
    texts = svg_texts(draw_tape(tape).pipe(format="svg"))
    assert "4 mul" in texts and "20.0000" in texts


def test_draw_tape_of_constants_and_nary_ops():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    src = draw_tape(Value.dot([x, y], [y, x]) * 3).source
    assert ">consts[0] = 3</td>" in src
    assert ">args[0:4] = t0 t1 t1 t0</td>" in src


def test_draw_tape_of_an_optimised_compiled_tape():
    """A compiled graph's tape has slots the passes made (no Value behind them): still drawn."""
    import microgradx
    from microgradx.nn import MLP

    model = MLP(2, [3, 1], seed=0)
    xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
    loss = (1 - Value(1.0, label="y") * model(xs)).relu()
    step = microgradx.compile(loss, inputs=xs)
    assert any(node is None for node in step.tape.nodes)  # the passes' constant 1
    source = microgradx.draw_tape(step.tape).source
    assert "dot" in source and "x1" in source
