"""The gallery script renders the lecture's graphs with the right gradients; the checked-in copies parse."""

from __future__ import annotations

import runpy
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

GALLERY = Path(__file__).resolve().parent.parent / "viz"
NAMES = ["chain_rule", "lecture_f", "two_layer", "neuron", "mlp", "lecture_f_tape"]


def texts(path: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}text")]


def test_gallery_renders_the_lecture_numbers(tmp_path):
    script = runpy.run_path(str(GALLERY / "render_gallery.py"))
    written = script["main"](tmp_path)
    assert sorted(p.name for p in written) == sorted([f"{n}.svg" for n in NAMES] + ["lecture_f.html"])
    chain = texts(tmp_path / "chain_rule.svg")
    assert "data 25.0000" in chain and "grad 20.0000" in chain  # F(1) = 25, F'(1) = 4(2 + 3)
    lecture = texts(tmp_path / "lecture_f.svg")
    assert {"t1", "data 20.0000", "grad 4.0000", "grad 5.0000"} <= set(lecture)
    neuron = texts(tmp_path / "neuron.svg")
    assert {"data 0.7071", "grad -1.5000", "grad 0.5000"} <= set(neuron)  # micrograd's x1, x2 gradients
    assert "φ1" in texts(tmp_path / "two_layer.svg")
    assert {"h1", "h2", "ŷ", "L"} <= set(texts(tmp_path / "mlp.svg"))


@pytest.mark.parametrize("name", NAMES)
def test_checked_in_pictures_parse(name):
    assert "grad" in " ".join(texts(GALLERY / f"{name}.svg"))
