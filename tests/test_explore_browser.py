"""The step-through page, opened in headless Chromium: after N steps it shows the right values and gradients.

Chromium's `--dump-dom` prints the page after its script ran; `#step=N` opens it after
N steps. Skipped only when no chromium is installed (`.ci/run` installs Debian's).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from microgradx import Value
from microgradx.viz import explore
from microgradx.viz.explore import page_data

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    BROWSER is None, reason="chromium is not installed (apt-get install chromium)"
)


def lecture() -> tuple[Value, list[Value]]:
    u, v, w = Value(2.0, "u"), Value(3.0, "v"), Value(4.0, "w")
    f = (u + v) * w
    f.label = "f"
    return f, [u, v, w]


def dump_dom(page: Path, fragment: str, tmp_path: Path) -> str:
    """The page's DOM after its script ran, as headless Chromium sees it."""
    profile = tmp_path / f"profile-{fragment.replace('=', '-')}"
    done = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            f"{page.resolve().as_uri()}#{fragment}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def cell(dom: str, cell_id: str) -> str:
    m = re.search(rf'id="{cell_id}"[^>]*>([^<]*)<', dom)
    assert m, f"no element {cell_id} in the page"
    return unescape(m.group(1))


def test_page_data_lists_both_sweeps():
    f, _ = lecture()
    data = page_data(f)
    phases = [s["phase"] for s in data["steps"]]
    assert phases == ["forward"] * 5 + ["backward"] * 5
    assert data["steps"][-1]["text"] == "∂f/∂v += ∂f/∂t1 · ∂(u + v)/∂v = 4 · 1 = 4"
    assert [s["name"] for s in data["slots"]] == ["u", "v", "t1", "w", "f"]


def test_page_is_self_contained(tmp_path):
    f, inputs = lecture()
    html = explore(f, tmp_path / "backprop.html", inputs=inputs).read_text()
    assert "<svg" in html and 'id="prev"' in html and 'id="next"' in html
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    blob = re.search(r'id="microgradx-steps">(.*?)</script>', html, re.S).group(1)
    assert len(json.loads(blob)["steps"]) == 10


@needs_browser
def test_steps_show_values_then_gradients_in_chromium(tmp_path):
    f, inputs = lecture()
    page = explore(f, tmp_path / "backprop.html", inputs=inputs)

    start = dump_dom(page, "step=0", tmp_path)
    assert 'data-step="0"' in start
    assert cell(start, "data-4") == "—" and cell(start, "grad-0") == "—"

    forward = dump_dom(page, "step=5", tmp_path)  # the forward sweep done: f = 20, no gradients yet
    assert cell(forward, "data-4") == "20.0000" and cell(forward, "data-2") == "5.0000"
    assert cell(forward, "grad-4") == "—"
    assert cell(forward, "step-text") == "f = t1 * w = 20"
    assert "data 20.0000" in forward  # the picture's own node text is updated too

    seed = dump_dom(page, "step=6", tmp_path)
    assert cell(seed, "step-text") == "∂f/∂f = 1" and cell(seed, "grad-4") == "1.0000"

    middle = dump_dom(page, "step=8", tmp_path)  # w has its gradient, u and v not yet
    assert cell(middle, "grad-3") == "5.0000" and cell(middle, "grad-2") == "4.0000"
    assert cell(middle, "grad-0") == "—"
    assert cell(middle, "step-text") == "∂f/∂w += ∂f/∂f · ∂(t1 * w)/∂w = 1 · 5 = 5"
    assert cell(middle, "step-rule") == "w^δ += f^δ · t1"
    assert re.search(r'class="node[^"]*current', middle)  # the node at work is highlighted

    end = dump_dom(page, "step=end", tmp_path)  # the reverse sweep done: the lecture's gradients
    assert 'data-step="10"' in end
    assert [cell(end, f"grad-{k}") for k in (0, 1, 3, 4)] == ["4.0000", "4.0000", "5.0000", "1.0000"]
    assert "grad 4.0000" in end and "grad 5.0000" in end
    assert "step 10 of 10" in end


@needs_browser
def test_gradients_accumulate_in_chromium(tmp_path):
    u = Value(3.0, "u")
    f = u * u
    f.label = "f"
    page = explore(f, tmp_path / "square.html")
    # forward: u, f (2 steps); backward: seed, then u gets 3 and then 3 more
    once = dump_dom(page, "step=4", tmp_path)
    assert cell(once, "grad-0") == "3.0000"
    twice = dump_dom(page, "step=5", tmp_path)
    assert cell(twice, "grad-0") == "6.0000"
    assert "(total 6)" in cell(twice, "step-text")
