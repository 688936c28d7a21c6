"""draw and draw_tape: the DOT text and the rendered SVG hold every node's label, value and gradient."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from microgradx import Op, Value, flatten
from microgradx.backprop import backward
from microgradx.viz import RendererNotFound, draw, draw_tape, find_renderer, render
from microgradx.viz.graph import NODE_LIMIT

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


def node_texts(svg: bytes | str) -> dict[str, list[str]]:
    """Each node's texts in a rendered picture, by its DOT name (n<slot> for a Value, o<slot> for an op)."""
    root = ET.fromstring(svg.encode() if isinstance(svg, str) else svg)
    out = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node":
            name = g.find(f"{SVG}title").text
            out[name] = [(t.text or "").replace("\xa0", " ") for t in g.iter(f"{SVG}text")]
    return out


def node_line(source: str, name: str) -> str:
    return next(line for line in source.splitlines() if line.strip().startswith(f"{name} ["))


def test_every_node_shows_its_name_value_and_gradient():
    f, u, v, w = lecture_graph()
    g = draw(f)
    nodes = node_texts(g.pipe(format="svg"))
    assert nodes["n0"] == ["u", "data 2.0000", "grad 4.0000"]
    assert nodes["n1"] == ["v", "data 3.0000", "grad 4.0000"]
    assert nodes["n2"] == ["t1", "data 5.0000", "grad 4.0000"]  # u + v, unnamed: the lecture's t1
    assert nodes["n3"] == ["w", "data 4.0000", "grad 5.0000"]
    assert nodes["n4"] == ["f", "data 20.0000", "grad 1.0000"]
    assert nodes["o2"] == ["+"] and nodes["o4"] == ["*"]  # op nodes show their symbols
    assert (
        "o2 -> n2" in g.source and "n0 -> o2" in g.source and "n1 -> o2" in g.source
    )  # operand → op → result


def test_show_grad_false_leaves_gradients_out():
    f, *_ = lecture_graph()
    nodes = node_texts(draw(f, show_grad=False).pipe(format="svg"))
    assert nodes["n4"] == ["f", "data 20.0000"]
    assert not any(t.startswith("grad") for texts in nodes.values() for t in texts)


def test_the_lecture_leaves_are_inputs_by_default():
    f, u, v, w = lecture_graph()
    src = draw(f).source
    for n in ("n0", "n1", "n3"):  # u, v, w: nobody's parameters, so inputs
        assert 'bgcolor="#d6eaff"' in node_line(src, n)
    assert 'bgcolor="#d4f5d4"' in node_line(src, "n4")  # f: the output
    for role in ("input", "output", "computed"):
        assert f">{role}</td>" in src  # the key: the roles the picture has
    for role in ("parameter", "constant"):
        assert f">{role}</td>" not in src  # and none it has not
    assert ">constant</td>" in draw(f * 2.0).source and ">parameter</td>" in draw(f, parameters=[w]).source


def test_inputs_and_parameters_override_the_roles():
    f, u, v, w = lecture_graph()
    src = draw(f, inputs=[u, v]).source  # as compile reads it: the leaves not named inputs are parameters
    assert 'bgcolor="#d6eaff"' in node_line(src, "n0") and 'bgcolor="#d6eaff"' in node_line(src, "n1")
    assert 'bgcolor="#ffe6bf"' in node_line(src, "n3")
    src = draw(f, parameters=[w]).source  # and the other way round
    assert 'bgcolor="#ffe6bf"' in node_line(src, "n3") and 'bgcolor="#d6eaff"' in node_line(src, "n0")
    c = Value(2.0, "x") * 3
    assert 'bgcolor="#eeeeee"' in draw(c).source  # the constant 3


def test_a_modules_an_optimizers_and_a_compiled_graphs_leaves_are_parameters():
    import microgradx
    from microgradx.nn import Neuron
    from microgradx.optim import SGD

    neuron = Neuron(2, seed=0)
    x1, x2 = Value(1.0, "x1"), Value(-2.0, "x2")
    src = draw(neuron([x1, x2])).source
    tape = flatten(neuron([x1, x2]))
    for s in tape.leaves.tolist():
        colour = "#ffe6bf" if tape.nodes[s] in neuron.parameters() else "#d6eaff"
        assert f'bgcolor="{colour}"' in node_line(src, f"n{s}"), tape.names()[s]
    a, b, x = Value(1.0, "a"), Value(2.0, "b"), Value(3.0, "x")
    SGD([a], lr=0.1)
    microgradx.compile(b * x, inputs=[x])
    src = draw(a * b * x).source
    assert 'bgcolor="#ffe6bf"' in node_line(src, "n0") and 'bgcolor="#ffe6bf"' in node_line(src, "n1")
    assert 'bgcolor="#d6eaff"' in node_line(src, "n3")  # x: an input of the compiled graph
    src = draw(
        a * x, parameters=neuron
    ).source  # a Module given: its parameters, and every other leaf an input
    assert 'bgcolor="#d6eaff"' in node_line(src, "n0")


def test_a_picture_shows_the_gradients_of_its_own_root():
    """Leftover gradients (training, another root, backward twice) never show: draw computes them."""
    f, u, v, w = lecture_graph()
    f.backward(engine="python")  # a second backward: u.grad is 8 now, as leaves accumulate
    g = u * 3
    g.label = "g"
    nodes = node_texts(draw(g).pipe(format="svg"))
    assert nodes["n0"] == ["u", "data 2.0000", "grad 3.0000"]  # ∂g/∂u, not ∂f/∂u accumulated
    assert nodes["n0"] != ["u", "data 2.0000", f"grad {u.grad:.4f}"]
    assert u.grad == 8.0  # and the Values were left as they were


def test_shade_fills_by_gradient_magnitude():
    f, *_ = lecture_graph()
    src = draw(f, shade=True).source
    assert "#ff6666" in node_line(src, "n3")  # w has the largest |grad| (5): the reddest fill
    assert "fill: |grad|" in src


def test_ordered_ops_label_their_operands():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    src = draw(x - y).source
    assert 'n0 -> o2 [label="1st"]' in src and 'n1 -> o2 [label="2nd"]' in src


def test_a_neurons_weighted_sum_pairs_each_weight_with_its_input():
    """The DOT node has a cell per term: weight k and input k both enter cell k."""
    from microgradx.nn import Neuron

    neuron = Neuron(3, seed=0)
    xs = [Value(0.1 * k, f"x{k}") for k in (1, 2, 3)]
    out = neuron(xs)
    src = draw(out).source
    tape = flatten(out)
    dot = next(i for i in range(len(tape)) if tape.op[i] == Op.DOT)
    slot = {id(node): i for i, node in enumerate(tape.nodes)}
    for k, (w, x) in enumerate(zip(neuron.w, xs, strict=True)):
        assert f"n{slot[id(w)]} -> o{dot}:p{k}:w" in src and f"n{slot[id(x)]} -> o{dot}:p{k}:w" in src
    assert node_texts(draw(out).pipe(format="svg"))[f"o{dot}"] == ["·", "·", "·", "Σ"]


LABEL = "two\nlines & <b>not bold</b> &alpha; \x00 nul\ttab " + "é" * 2500 + "漢" * 2500


def test_labels_of_any_text_render_as_written():
    """\\n breaks the line, & < > stay themselves, NUL shows as ␀, a tab as spaces, and 5,000
    non-ASCII characters come through whole; the SVG parses."""
    x = Value(1.0, label=LABEL)
    y = x * 2
    y.label = 42  # not a string: shown as text
    g = draw(y)
    nodes = node_texts(g.pipe(format="svg"))
    title = nodes["n0"][: nodes["n0"].index("data 1.0000")]
    assert title[0] == "two"
    assert "".join(title[1:]) == LABEL.split("\n")[1].replace("\x00", "␀").replace("\t", "    ")
    assert nodes["n2"][0] == "42"
    assert max(len(line.encode()) for line in g.source.splitlines()) < 16_384  # dot's string limit


def test_labels_that_utf8_cannot_hold_still_render():
    x = Value(1.0, label="lone \ud800 surrogate")
    assert node_texts(draw(x * 2).pipe(format="svg"))["n0"][0] == "lone \ufffd surrogate"


def test_pictures_ask_for_the_font_they_were_measured_in():
    """Sizes are measured in DejaVu Sans; an SVG viewer without it falls back to fonts no wider."""
    f, *_ = lecture_graph()
    g = draw(f)
    assert 'fontname="DejaVu Sans"' in g.source and "fontsize=11" in g.source
    svg = g.pipe(format="svg").decode()
    families = set(re.findall(r'font-family="([^"]*)"', svg))
    assert families == {"DejaVu Sans,Bitstream Vera Sans,Verdana,Arial,Helvetica,sans-serif"}


def test_a_picture_says_what_it_shows():
    f, *_ = lecture_graph()
    assert "the graph of f: 5 values" in repr(draw(f))
    assert "<microgradx.viz.render.Picture object" not in repr(draw(f))
    assert "the tape of f: 5 slots" in repr(draw_tape(f))


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


def png_size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height in pixels, from its header."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("width, depth", [(20, 25), (3, 300), (400, 1)])
def test_a_large_graph_is_summarised_to_fit_a_page(width, depth):
    """Wide, deep or both: only the part nearest the output is drawn, and the picture says so."""
    root = layered_graph(width, depth)
    g = draw(root)
    nodes = node_texts(g.pipe(format="svg"))
    values = [n for n in nodes if n.startswith("n")]
    assert 1 < len(values) <= NODE_LIMIT
    assert any(t.endswith("more values, not drawn") for t in nodes["hidden"])
    assert "summarised" in g.source
    assert max(png_size(g.pipe(format="png"))) <= 2000


def test_the_demos_network_fits_a_page_and_names_every_parameter():
    """MLP(2, [16, 16, 1]): each layer one table, W with a row per neuron; every parameter's place
    name is its table's, row's and column's (L2, n3, w1), and the cell's tooltip."""
    from microgradx.nn import MLP

    model = MLP(2, [16, 16, 1], seed=0)
    g = draw(model([Value(0.5, "x1"), Value(-0.3, "x2")]))
    svg = g.pipe(format="svg")
    assert max(png_size(g.pipe(format="png"))) <= 2000
    root = ET.fromstring(svg)
    tips = {a.get("{http://www.w3.org/1999/xlink}title") for a in root.iter(f"{SVG}a")}
    assert {p.label for p in model.parameters()} <= tips
    shown = svg_texts(svg)
    for layer in ("L1", "L2", "L3"):
        assert layer in shown
    assert {f"n{k}" for k in range(1, 17)} <= set(shown) and {"b", "w1", "w16"} <= set(shown)
    assert "· L1.n16" in shown  # column w16 of L2 multiplies L1's 16th neuron


def test_draw_tape_shows_slots_ops_and_values():
    f, *_ = lecture_graph()
    tape = backward(f, engine="python")
    src = draw_tape(tape).source
    for cell in ("t1", "0 leaf", "2 add", "4 mul", "0 1", "2 3", "u + v", "t1 * w", "leaves[2]", "20.0000"):
        assert f">{cell}</td>" in src
    assert "leaves = [0, 1, 3]" in src and "outputs = [4]" in src
    texts = svg_texts(draw_tape(tape).pipe(format="svg"))
    assert "4 mul" in texts and "20.0000" in texts


def test_draw_tape_of_constants_and_nary_ops():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    src = draw_tape(Value.dot([x, y], [y, x]) * 3).source
    assert ">consts[0] = 3</td>" in src
    assert ">args[0:4] = 0 1 1 0</td>" in src


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


def test_microgradx_viz_is_there_after_import_microgradx_yet_loads_only_when_used(tmp_path):
    """The core never imports viz (graphviz loads at first use), and `microgradx.viz.explore` just works."""
    code = (
        "import sys, microgradx\n"
        "assert 'microgradx.viz' not in sys.modules and 'graphviz' not in sys.modules\n"
        "from microgradx import Value\n"
        "u = Value(2.0, label='u')\n"
        "print(microgradx.viz.explore(u * u, 'square.html'))\n"
    )
    env = {**os.environ, "MICROGRADX_JIT": "off"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<svg" in (tmp_path / "square.html").read_text()
