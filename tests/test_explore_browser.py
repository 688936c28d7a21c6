"""The step-through page, opened in headless Chromium: after N steps it shows the right values and gradients,
and at 1280 and 1920 pixels wide it is laid out to be read: the graph's nodes all visible in large text, the
steps beside it, nothing spilling over. The layout is measured in the page and checked again in a screenshot.

Chromium's `--dump-dom` prints the page after its script ran; `#step=N` opens it after
N steps. Skipped only when no chromium is installed (`.ci/run` installs Debian's).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from html import unescape
from pathlib import Path

import pytest
from oracles import tanh_chain

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


FLAGS = (  # a quiet browser: no network of its own, no first-run dialogs, no GPU
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--force-device-scale-factor=1",
)


def chromium(page: Path, fragment: str, tmp_path: Path, *options: str) -> str:
    """Run headless Chromium on the page opened at `#fragment`, in a fresh profile; its stdout."""
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=tmp_path))
    done = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={profile}", *options, f"{page.resolve().as_uri()}#{fragment}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(page: Path, fragment: str, tmp_path: Path, *options: str) -> str:
    """The page's DOM after its script ran, as headless Chromium sees it."""
    return chromium(page, fragment, tmp_path, *options, "--dump-dom")


def as_text(html: str) -> str:
    """A formula's markup as plain text: a fraction as top/bottom, a superscript as ^(…), tags dropped."""
    html = re.sub(r'<span class="frac"><span>(.*?)</span><span>(.*?)</span></span>', r"\1/\2", html)
    html = re.sub(r"<sup>(.*?)</sup>", r"^(\1)", html)
    return unescape(re.sub(r"<[^>]+>", "", html))


def formula(dom: str, element_id: str) -> str:
    """The plain text of the formula an element of the page shows."""
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</div>', dom, re.S)
    assert m, f"no element {element_id} in the page"
    return as_text(m.group(1))


def cell(dom: str, cell_id: str) -> str:
    m = re.search(rf'id="{cell_id}"[^>]*>([^<]*)<', dom)
    assert m, f"no element {cell_id} in the page"
    return unescape(m.group(1))


def test_page_data_lists_both_sweeps():
    f, _ = lecture()
    data = page_data(f)
    phases = [s["phase"] for s in data["steps"]]
    assert phases == ["forward"] * 5 + ["backward"] * 5
    assert as_text(data["steps"][-1]["html"]) == "∂f/∂v = ∂/∂v (u + v) · ∂f/∂t1 = 1 · 4 = 4"
    assert [s["name"] for s in data["slots"]] == ["u", "v", "t1", "w", "f"]
    assert [s["formula"] for s in data["slots"]] == ["", "", "u + v", "", "t1 · w"]


def test_the_page_writes_formulas_in_the_lecture_notation_only(tmp_path):
    """Each step once, as the lecture writes it: fractions, ·, superscripts; no caret, no Python operators."""
    x = Value(3.0, "x")
    f = (x**2 * x).relu() / x - x
    f.label = "f"
    data = page_data(f)
    for step in data["steps"]:
        assert set(step) == {"phase", "slot", "target", "value", "html", "note"}
        shown = re.sub(r"<[^>]+>", "", step["html"])
        assert not set("^*") & set(shown), step["html"]
    formulas = [as_text(s["html"]) for s in data["steps"]]
    assert "t1 = x^(2) = 9" in formulas and "t2 = t1 · x = 27" in formulas
    assert "∂f/∂t4 = ∂/∂t4 (t4 − x) · ∂f/∂f = 1 · 1 = 1" in formulas
    assert "∂f/∂t2 = ∂/∂t2 relu(t2) · ∂f/∂t3 = 𝟙t2 > 0 · 0.333333 = 1 · 0.333333 = 0.333333" in formulas
    assert "∂f/∂x += ∂/∂x x^(2) · ∂f/∂t1 = 2·x · 1 = 6 · 1 = 6 (total 5)" in formulas  # (x²)′ = 2x
    html = explore(f, tmp_path / "page.html").read_text()
    assert "^δ" not in html and "step-rule" not in html


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
    assert formula(forward, "step-text") == "f = t1 · w = 20"
    assert "data 20.0000" in forward  # the picture's own node text is updated too

    seed = dump_dom(page, "step=6", tmp_path)
    assert formula(seed, "step-text") == "∂f/∂f = 1" and cell(seed, "grad-4") == "1.0000"

    middle = dump_dom(page, "step=8", tmp_path)  # w has its gradient, u and v not yet
    assert cell(middle, "grad-3") == "5.0000" and cell(middle, "grad-2") == "4.0000"
    assert cell(middle, "grad-0") == "—"
    assert (
        formula(middle, "step-text") == "∂f/∂w = ∂/∂w (t1 · w) · ∂f/∂f = t1 · 1 = 5 · 1 = 5"
    )  # the lecture's
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
    assert formula(twice, "step-text") == "∂f/∂u += ∂/∂u (u · u) · ∂f/∂f = u · 1 = 3 · 1 = 3 (total 6)"


# -- the layout, at the widths people read it at ------------------------------------------------------

# Measures the page as laid out, after its own script ran.
MEASURE = """document.fonts.ready.then(() => {
  const box = e => {
    if (!e) return null;  // no such element
    const r = e.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
  };
  const svg = document.querySelector("#graph svg");
  const area = r => (r.right - r.left) * (r.bottom - r.top);
  const background = g => {  // the colour of a node's largest filled shape, unless it is white
    const shapes = Array.from(g.querySelectorAll("polygon, ellipse"))
      .map(e => [area(e.getBoundingClientRect()), (e.getAttribute("fill") || "").toLowerCase()])
      .filter(([, fill]) => /^#[0-9a-f]{6}$/.test(fill) || fill === "white")
      .sort((a, b) => b[0] - a[0]);
    return shapes.length && !["#ffffff", "white"].includes(shapes[0][1]) ? shapes[0][1] : null;
  };
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;  // pixels per unit
  const nodes = Array.from(document.querySelectorAll("#graph g.node"), g => ({
    name: g.querySelector("title").textContent,
    box: box(g),
    fill: background(g),
    text: Array.from(g.querySelectorAll("text"),
                     t => ({box: box(t), px: scale * t.getAttribute("font-size")})),
  }));
  const spills = Array.from(document.querySelectorAll(".panel, .panel *, header, header *"))
    .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible")
    .map(e => e.id || e.className || e.tagName);
  const root = document.documentElement;
  return {
    viewport: [innerWidth, innerHeight], page: [root.scrollWidth, root.scrollHeight],
    graph: box(document.getElementById("graph")), panel: box(document.querySelector(".panel")),
    steps: box(document.getElementById("log")), current: box(document.getElementById("step-text")),
    latest: box(document.querySelector("#log li.latest")), spills, nodes,
  };
})"""


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`):
    one page, in a window of an exact size, measured and photographed as it is laid out.

    (`--dump-dom` and `--screenshot` each load the page anew, and not in the same size of window.)
    """

    def __init__(self, tmp_path: Path) -> None:
        import fcntl  # POSIX: the browser's pipe ends go to fds 3 and 4

        to_browser, self.out = os.pipe()
        self.inp, from_browser = os.pipe()
        # the browser reads commands on its fd 3 and answers on fd 4
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser, from_browser)]
        for fd in (to_browser, from_browser):
            os.close(fd)

        def onto_3_and_4() -> None:
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        profile = tempfile.mkdtemp(prefix="profile-", dir=tmp_path)
        self.process = subprocess.Popen(
            [BROWSER, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=onto_3_and_4,
            pass_fds=(3, 4),
        )
        for fd in ends:
            os.close(fd)
        self.buffer, self.count, self.events = b"", 0, []

    def receive(self, deadline: float) -> dict:
        import select

        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.inp], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.inp, 1 << 20) if ready else b""
            assert chunk, "Chromium stopped answering"
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params: object) -> dict:
        self.count += 1
        message = {"id": self.count, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 120
        while True:
            answer = self.receive(deadline)
            if answer.get("id") == self.count:
                assert "error" not in answer, f"{method}: {answer['error']}"
                return answer["result"]
            self.events.append(answer)

    def wait_for(self, event: str, session: str) -> None:
        deadline = time.monotonic() + 120
        while not any(e.get("method") == event and e.get("sessionId") == session for e in self.events):
            self.events.append(self.receive(deadline))

    def open(self, url: str, size: tuple[int, int]) -> str:
        """A new tab of `size` pixels (the page's window, device scale 1) showing url; its session."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session)
        self.call(
            "Emulation.setDeviceMetricsOverride", session, width=size[0], height=size[1], deviceScaleFactor=1,
            mobile=False,
        )  # fmt: skip
        self.call("Page.navigate", session, url=url)
        self.wait_for("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, script: str) -> object:
        done = self.call(
            "Runtime.evaluate", session, expression=script, returnByValue=True, awaitPromise=True
        )
        assert "exceptionDetails" not in done, done["exceptionDetails"]
        return done["result"]["value"]

    def screenshot(self, session: str, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", session, format="png")["data"]))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except AssertionError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.out)
        os.close(self.inp)


def inside(inner: list[float], outer: list[float], slack: float = 1.0) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def screenshot_problems(png: Path, measured: dict) -> list[str]:
    """What the screenshot shows wrong, given where the page says things are: [] when all is well.

    Every node is painted where the layout puts it: its fill colour over most of its box, and dark
    text or lines on it; the node at work is outlined in the page's red; the current step and the
    latest in the list are painted with text; and the picture is the window's size.
    """
    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    problems = []
    if [image.shape[1], image.shape[0]] != measured["viewport"]:
        problems.append(f"screenshot is {image.shape[1]}x{image.shape[0]}, the window {measured['viewport']}")

    def pixels(b: list[float]) -> np.ndarray:
        """The pixels inside a box (one pixel in from its edges), as rows of RGB."""
        return image[int(b[1]) + 1 : int(b[3]) - 1, int(b[0]) + 1 : int(b[2]) - 1].reshape(-1, 3)

    def share(seen: np.ndarray, colour: tuple[int, int, int], tolerance: int) -> float:
        return float(np.all(np.abs(seen - colour) <= tolerance, axis=1).mean()) if seen.size else 0.0

    def dark(seen: np.ndarray) -> int:
        return int((seen.sum(axis=1) < 3 * 110).sum())

    for node in measured["nodes"]:
        seen = pixels(node["box"])
        if not dark(seen):
            problems.append(f"node {node['name']}: no text or lines painted in its box")
        if node["fill"]:
            colour = tuple(int(node["fill"][k : k + 2], 16) for k in (1, 3, 5))
            if share(seen, colour, 6) < 0.4:
                problems.append(
                    f"node {node['name']}: its fill {node['fill']} covers {share(seen, colour, 6):.0%}"
                )
    red = (0xDD, 0x00, 0x00)
    if not any(share(pixels(n["box"]), red, 40) > 0.02 for n in measured["nodes"]):
        problems.append("no node is outlined in red as the node at work")
    for part in ("current", "latest"):
        if dark(pixels(measured[part])) < 20:
            problems.append(f"the {part} step shows no text")
    return problems


def neuron() -> tuple[Value, list[Value]]:
    """micrograd's neuron, o = tanh(x1·w1 + x2·w2 + b): a graph wider than the lecture's."""
    from microgradx.nn import Neuron

    xs = [Value(2.0, label="x1"), Value(0.0, label="x2")]
    o = Neuron(2, activation="tanh", seed=0)(xs)
    o.label = "o"
    return o, xs


@needs_browser
@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)], ids=["1280px", "1920px"])
@pytest.mark.parametrize(
    "graph, fragment, text_px",
    [("lecture", "step=8", {1280: 20, 1920: 24}), ("neuron", "step=12", {1280: 15, 1920: 22})],
)  # the old page drew both at 14.7 px, the graph's own size, at any width
def test_the_page_is_laid_out_to_be_read(graph, fragment, text_px, size, tmp_path):
    pytest.importorskip("PIL.Image", reason="checking the screenshot needs Pillow (pip install pillow)")
    root, inputs = lecture() if graph == "lecture" else neuron()
    page = explore(root, tmp_path / f"{graph}.html", inputs=inputs)
    png = tmp_path / f"{graph}-{size[0]}.png"
    browser = DevTools(tmp_path)
    try:
        tab = browser.open(f"{page.resolve().as_uri()}#{fragment}", size)
        measured = browser.evaluate(tab, MEASURE)
        browser.screenshot(tab, png)
    finally:
        browser.close()
    assert measured["viewport"] == list(size)
    roles = {slot["name"]: slot["role"] for slot in page_data(root, inputs)["slots"]}
    filled = {n["name"] for n in measured["nodes"] if n["fill"]}
    assert len(filled) == sum(role != "computed" for role in roles.values())  # inputs, parameters, output

    # Nothing spills over: the page fits the window, and no text runs out of its box.
    assert measured["page"] == list(size), "the page is larger than the window: it scrolls"
    assert measured["spills"] == []

    # Every node of the graph is in view, in text large enough to read from a step back.
    window = [0, 0, *size]
    assert len(measured["nodes"]) == len(page_data(root)["slots"]) + sum(
        1 for s in page_data(root)["slots"] if s["formula"]
    )  # a box per value and a circle per op
    for node in measured["nodes"]:
        assert inside(node["box"], measured["graph"]) and inside(node["box"], window), node["name"]
        for text in node["text"]:
            assert inside(text["box"], node["box"], slack=2), f"text spills out of node {node['name']}"
    sizes = sorted(t["px"] for n in measured["nodes"] for t in n["text"])
    median = sizes[len(sizes) // 2]
    assert median >= text_px[size[0]], f"the graph's text is {median:.1f} px"

    # The steps are beside the graph, in the window: not below the fold.
    assert measured["panel"], "no panel of steps beside the graph"
    assert measured["panel"][0] >= measured["graph"][2] and measured["panel"][1] < measured["graph"][3]
    for part in ("steps", "current", "latest"):
        assert inside(measured[part], window) and measured[part][3] > measured[part][1], part

    # And the screenshot shows what the layout says.
    assert screenshot_problems(png, measured) == []
    keep = os.environ.get("MICROGRADX_SCREENSHOTS")  # a folder to keep them in, to look at
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)


@needs_browser
def test_the_page_says_where_a_nan_began(tmp_path):
    x = Value(-1.0, "x")
    f = x.log() * 2
    f.label = "f"
    page = explore(f, tmp_path / "nan.html")
    at_log = dump_dom(page, "step=2", tmp_path)  # x, then t1 = log(x) = nan
    assert cell(at_log, "step-note") == "nan first appeared here: t1 = log of x = -1"
    later = dump_dom(page, "step=end", tmp_path)  # still said in the list of steps
    assert cell(later, "step-note") == ""
    assert re.search(r'<div class="note">nan first appeared here: t1 = log of x = -1</div>', later)


@needs_browser
def test_the_forward_mode_page_steps_through_the_tangents_in_chromium(tmp_path):
    """Each slot's value, then its tangent along u; the tangents on the graph and in the table."""
    import unicodedata

    f, inputs = lecture()
    page = explore(f, tmp_path / "forward.html", inputs=inputs, mode="forward")
    start = dump_dom(page, "step=0", tmp_path)
    assert "Start: press Next to run the forward-mode sweep along u" in start
    assert re.search(r"<th>tangent</th>", start) and "<th>grad</th>" not in start

    t1 = dump_dom(page, "step=6", tmp_path)  # u, u̇, v, v̇, t1, ṫ1
    assert cell(t1, "data-2") == "5.0000" and cell(t1, "grad-2") == "1.0000"  # the tangent column
    assert cell(t1, "grad-4") == "—"
    nfc = lambda text: unicodedata.normalize("NFC", text)  # noqa: E731
    assert nfc(formula(t1, "step-text")) == nfc("ṫ1 = ∂t1/∂u · u̇ + ∂t1/∂v · v̇ = 1 · 1 + 1 · 0 = 1")
    assert "tangent 1.0000" in t1  # on the graph
    assert re.search(r'class="node[^"]*current', t1)  # the node at work, highlighted
    assert "Forward-mode sweep along u: a tangent" in t1

    end = dump_dom(page, "step=end", tmp_path)
    assert [cell(end, f"grad-{k}") for k in range(5)] == ["1.0000", "0.0000", "1.0000", "0.0000", "4.0000"]
    assert "tangent 4.0000" in end and "step 10 of 10" in end  # ḟ = ∂f/∂u = 4


@needs_browser
def test_the_forward_mode_page_is_laid_out_to_be_read(tmp_path):
    pytest.importorskip("PIL.Image", reason="checking the screenshot needs Pillow (pip install pillow)")
    f, inputs = lecture()
    page = explore(f, tmp_path / "forward.html", inputs=inputs, mode="forward")
    png = tmp_path / "forward-1280.png"
    browser = DevTools(tmp_path)
    try:
        tab = browser.open(f"{page.resolve().as_uri()}#step=6", (1280, 800))
        measured = browser.evaluate(tab, MEASURE)
        browser.screenshot(tab, png)
    finally:
        browser.close()
    assert measured["page"] == [1280, 800] and measured["spills"] == []
    for node in measured["nodes"]:
        assert inside(node["box"], measured["graph"]), node["name"]
        for text in node["text"]:
            assert inside(text["box"], node["box"], slack=2), f"text spills out of node {node['name']}"
    assert screenshot_problems(png, measured) == []


# -- a big graph (issue 21, item 3): an MLP's loss of 4,137 nodes, a chain of 12,500 ---------------


def big_network() -> tuple[Value, list[Value]]:
    """MLP(10, [40, 40, 40, 1])'s squared error on one row: 4,137 nodes, 11,782 steps, Σs of 40 terms."""
    from microgradx.nn import MLP

    model = MLP(10, [40, 40, 40, 1], seed=0)
    xs = [Value(0.1 * k, label=f"x{k + 1}") for k in range(10)]
    y = Value(0.5, label="y")
    loss = (model(xs) - y) ** 2
    loss.label = "L"
    return loss, [*xs, y]


def test_a_big_graphs_page_is_small_and_writes_long_sums_short(tmp_path):
    from microgradx import flatten

    loss, inputs = big_network()
    assert len(flatten(loss)) == 4137
    page = explore(loss, tmp_path / "big.html", inputs=inputs)
    assert page.stat().st_size < 2_000_000  # was 10.8 MB
    data = page_data(loss, inputs)
    longest = max(data["steps"], key=lambda s: len(s["html"]))
    text = as_text(longest["html"])
    assert "…34 more…" in text and text.count("·") < 20, text  # first and last 3 of 40 products
    sums = [s for s in data["steps"] if s["phase"] == "forward" and "…34 more…" in as_text(s["html"])]
    assert len(sums) == 81  # the Σ of each neuron of 40 inputs (40 + 40 + 1); after it, the whole sum
    node = flatten(loss).nodes[sums[0]["slot"]]
    assert sums[0]["value"] == node.data and as_text(sums[0]["html"]).endswith(f"= {node.data:.6g}")


BIG_LAYOUT = """(() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const panel = document.querySelector(".panel");
  const shown = Array.from(panel.children).filter(e => e.getClientRects().length);
  const blocks = shown.map(e => ({name: e.id || e.className || e.tagName, box: box(e)}));
  const spills = [];  // text drawn outside its block, where the block does not scroll (and so clip it)
  for (const b of shown) {
    if (getComputedStyle(b).overflowY !== "visible") continue;
    const [l, t, r, bottom] = box(b);
    b.querySelectorAll("*").forEach(e => {
      const [el, et, er, eb] = box(e);
      const out = el < l - 1 || er > r + 1 || et < t - 1 || eb > bottom + 1;
      if (er > el && out) spills.push(b.id + " " + e.tagName);
    });
  }
  const numbers = Array.from(document.querySelectorAll("#log .num"), e => ({
    text: e.textContent, box: box(e), clipped: e.scrollWidth > e.clientWidth}));
  const nodes = Array.from(document.querySelectorAll("#graph g.node"),
                           g => ({name: g.querySelector("title").textContent, box: box(g)}));
  return {blocks, spills, numbers, log: box(document.getElementById("log")), nodes,
          window: [innerWidth, innerHeight]};
})()"""

READY = "new Promise(r => { const w = () => document.body.dataset.ready ? r(1) : setTimeout(w, 20); w(); })"

# Every step's marks in the picture (by the page's own rule) and its note; the steps whose slot has none.
EVERY_STEP = """(() => {
  const page = window.microgradxPage, n = +document.body.dataset.steps;
  const marks = Array.from({length: n}, (_, i) => page.where(i));
  return {n, unmarked: marks.flatMap((m, i) => m.nodes.length || m.note ? [] : [i + 1]),
          notDrawn: marks.filter(m => m.note.includes("is not drawn")).length,
          hiddenMarked: marks.filter(m => m.nodes.includes("hidden")).length};
})()"""


def overlapping(boxes: list[tuple[str, list[float]]]) -> list[tuple[str, str]]:
    """The pairs of boxes that overlap by more than a pixel each way."""
    pairs = []
    for k, (a, p) in enumerate(boxes):
        for b, q in boxes[k + 1 :]:
            if min(p[2], q[2]) - max(p[0], q[0]) > 1 and min(p[3], q[3]) - max(p[1], q[1]) > 1:
                pairs.append((a, b))
    return pairs


def stepped(browser: DevTools, tab: str, steps: list[int]) -> list[dict]:
    """At each step in turn: what the page marks as the node at work, and its note."""
    return browser.evaluate(
        tab,
        f"""{json.dumps(steps)}.map(i => {{
      window.microgradxPage.show(i);
      const at = document.querySelector("#graph .current");
      return {{step: i, where: window.microgradxPage.where(i - 1),
              current: at && (at.getAttribute("xlink:title") || at.querySelector("title").textContent),
              note: document.getElementById("step-note").textContent}};
    }})""",
    )


@needs_browser
def test_a_big_graphs_page_is_laid_out_and_marks_every_step_in_chromium(tmp_path):
    loss, inputs = big_network()
    page = explore(loss, tmp_path / "big.html", inputs=inputs)
    steps = page_data(loss)["steps"]
    longest = max(range(len(steps)), key=lambda i: len(steps[i]["html"]))
    browser = DevTools(tmp_path)
    try:
        tab = browser.open(f"{page.resolve().as_uri()}#step={longest + 1}", (1280, 800))
        browser.evaluate(tab, READY)
        at_longest = browser.evaluate(tab, BIG_LAYOUT)
        every = browser.evaluate(tab, EVERY_STEP)
        samples = stepped(browser, tab, [1, 2, 11, 500, 4137, 5000, 9999, 11_000, 11_782])
        browser.evaluate(tab, "window.microgradxPage.show(5000), 1")
        at_5000 = browser.evaluate(tab, BIG_LAYOUT)
    finally:
        browser.close()
    # the 40-term Σ in the current step, the list and the table: no text box over another
    for measured in (at_longest, at_5000):
        assert overlapping([(b["name"], b["box"]) for b in measured["blocks"]]) == []
        assert measured["spills"] == []
        assert overlapping([(n["name"], n["box"]) for n in measured["nodes"]]) == []
    # four-digit step numbers whole, in the list's box: the last 200 steps up to 5000
    numbers = at_5000["numbers"]
    assert [n["text"] for n in numbers] == [str(k) for k in range(4801, 5001)]
    assert all(n["box"][0] >= at_5000["log"][0] - 1 and not n["clipped"] for n in numbers)
    # every step marks its node (a box, a layer table's cell or the table) or says where it is
    assert every["n"] == 11_782 and every["unmarked"] == []
    for seen in samples:
        assert seen["current"] in seen["where"]["nodes"], seen
        assert seen["where"]["note"] in seen["note"]


@needs_browser
def test_a_long_chains_page_says_which_steps_are_not_drawn_in_chromium(tmp_path):
    f = tanh_chain(12_500)
    page = explore(f, tmp_path / "chain.html")
    browser = DevTools(tmp_path)
    try:
        tab = browser.open(f"{page.resolve().as_uri()}#step=end", (1280, 800))
        browser.evaluate(tab, READY)
        every = browser.evaluate(tab, EVERY_STEP)
        far, near = stepped(browser, tab, [1, 12_500])  # x, far from the output; f = tanh(t12498)
    finally:
        browser.close()
    assert every["n"] == 25_000 and every["unmarked"] == []  # were: nothing marked far from f
    assert every["notDrawn"] == every["hiddenMarked"] > 24_000  # all but those nearest f
    assert far["current"] == "hidden" and far["note"].startswith("x is not drawn: the picture shows")
    assert near["current"] == f"n{12_499}" and near["note"] == ""
