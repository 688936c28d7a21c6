"""The gallery script draws the lecture's graphs with the right gradients; the checked-in copies match it."""

from __future__ import annotations

import json
import re
import runpy
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

GALLERY = Path(__file__).resolve().parent.parent / "viz"
NAMES = [
    "chain_rule",
    "lecture_f",
    "two_layer",
    "neuron",
    "mlp",
    "moons_mlp",
    "lecture_f_tape",
    "lecture_f_grad",
    "chain_rule_grad",
]
PAGES = ["lecture_f.html", "lecture_f_forward.html"]
SVG = "{http://www.w3.org/2000/svg}"
README_WIDTH = 660  # points: GitHub shows a README about 880 px wide


def texts(path: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(path).getroot().iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gallery")
    written = runpy.run_path(str(GALLERY / "render_gallery.py"))["main"](out)
    assert sorted(p.name for p in written) == sorted([f"{n}.svg" for n in NAMES] + PAGES)
    return out


def test_gallery_renders_the_lecture_numbers(made):
    chain = texts(made / "chain_rule.svg")
    assert "data 25.0000" in chain and "grad 20.0000" in chain  # F(1) = 25, F'(1) = 4(2 + 3)
    lecture = texts(made / "lecture_f.svg")
    assert {"t1", "data 20.0000", "grad 4.0000", "grad 5.0000"} <= set(lecture)
    neuron = texts(made / "neuron.svg")
    assert {"data 0.7071", "grad -1.5000", "grad 0.5000"} <= set(neuron)  # micrograd's x1, x2 gradients
    assert "φ1" in texts(made / "two_layer.svg")
    assert {"L1.n1", "L1.n2", "L1.n2.w1", "L2.n1.b", "ŷ", "L"} <= set(texts(made / "mlp.svg"))


def test_the_lecture_graph_has_one_name_per_node_in_every_view(made):
    """u + v is t1 in the picture, the tape picture and the page, as in the lecture."""
    picture = texts(made / "lecture_f.svg")
    assert picture[picture.index("t1") + 1] == "data 5.0000"
    tape = texts(made / "lecture_f_tape.svg")
    row = tape[tape.index("t1") - 1 : tape.index("t1") + 4]
    assert row == ["2", "t1", "2 add", "0 1", "u + v"]  # slot 2 of the tape is named t1
    page = (made / "lecture_f.html").read_text()
    blob = json.loads(re.search(r'id="microgradx-steps">(.*?)</script>', page, re.S).group(1))
    assert [s["name"] for s in blob["slots"]] == ["u", "v", "t1", "w", "f"]


def test_the_gallery_network_reads_at_readme_width(made):
    """The 2-2-1 MLP is no wider than a README, so its text shows at the size it was set in."""
    svg = ET.parse(made / "mlp.svg").getroot()
    assert float(svg.attrib["width"].removesuffix("pt")) <= README_WIDTH
    sizes = {float(t.attrib["font-size"]) for t in svg.iter(f"{SVG}text")}
    assert min(sizes) >= 9


@pytest.mark.parametrize("name", NAMES)
def test_checked_in_pictures_are_the_scripts_current_output(made, name):
    shown = " ".join(texts(GALLERY / f"{name}.svg"))
    assert "grad" in shown or (name == "lecture_f_grad" and "∂f/∂w" in shown)  # three gradients: no sum
    assert texts(GALLERY / f"{name}.svg") == texts(made / f"{name}.svg")  # run viz/render_gallery.py


def test_the_gradient_graphs_are_built_on_the_originals_nodes(made):
    """∂f/∂u = ∂f/∂v = w and ∂f/∂w = t1 are f's own nodes; F′(x) = 20 is built on F's h and x, and
    the gradient drawn at x is F″(x) = 8."""
    from microgradx.viz.graph import SHARED

    lecture = texts(made / "lecture_f_grad.svg")
    assert {"w = ∂f/∂u = ∂f/∂v", "t1 = ∂f/∂w", "shared with the graph of f"} <= set(lecture)
    chain = texts(made / "chain_rule_grad.svg")
    assert chain[chain.index("F′") + 1] == "data 20.0000"  # F′(1) = 4(2 + 3)
    assert chain[chain.index("x") + 1 : chain.index("x") + 3] == ["data 1.0000", "grad 8.0000"]  # F″ = 8
    assert "h" in chain and "shared with the graph of F" in chain
    assert SHARED in (made / "chain_rule_grad.svg").read_text()  # the shared nodes' border


def test_the_forward_mode_page_of_the_lecture_graph(made):
    page = (made / "lecture_f_forward.html").read_text()
    blob = json.loads(re.search(r'id="microgradx-steps">(.*?)</script>', page, re.S).group(1))
    assert blob["mode"] == "forward" and blob["wrt"] == "u"
    assert [s["value"] for s in blob["steps"] if s["phase"] == "tangent"] == [1.0, 0.0, 1.0, 0.0, 4.0]


@pytest.mark.parametrize("name", PAGES)
def test_checked_in_pages_are_the_scripts_current_output(made, name):
    steps = re.compile(r'id="microgradx-steps">(.*?)</script>', re.S)
    ours, theirs = (GALLERY / name).read_text(), (made / name).read_text()
    assert steps.search(ours).group(1) == steps.search(theirs).group(1)  # run viz/render_gallery.py
