"""The step-through page's HTML, CSS and script (filled in by `explore`).

Kept as a Python string so it ships inside the package with no data-file setup.
{{title}}, {{notation}}, {{line}}, {{svg}} and {{data}} are replaced; the script reads the JSON
steps, applies the first N of them and shows the result.

The layout: the graph on the left, as large as the window allows (its node text between
TEXT_MIN and TEXT_MAX pixels: a graph too big for the window at the smallest scrolls in
its own box, which follows the node at work); beside it, the controls, the current step
in the lecture's notation, the steps so far and the table of slots. Below 900 pixels
the two stack.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>
  html { font-family: system-ui, "DejaVu Sans", sans-serif; color: #222; }
  body { margin: 0; padding: .8rem 1.2rem; box-sizing: border-box; height: 100vh;
         display: flex; flex-direction: column; gap: .5rem; }
  header { flex: none; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; overflow-wrap: anywhere; }
  .notation { color: #555; margin: 0; line-height: 1.9; }
  main { flex: 1 1 auto; min-height: 0; display: grid; gap: 1.2rem;
         grid-template-columns: minmax(0, 1fr) clamp(22rem, 36vw, 40rem); }
  #graph { min-width: 0; min-height: 0; overflow: auto; display: flex; border: 1px solid #e4e4e4; }
  #graph svg { margin: auto; flex: none; }
  #graph g.node.current polygon, #graph g.node.current ellipse { stroke: #d00; stroke-width: 3; }
  #graph g.node.target polygon, #graph g.node.target ellipse { stroke: #06c; stroke-width: 3; }
  .panel { min-width: 0; min-height: 0; display: flex; flex-direction: column; gap: .4rem; overflow-y: auto; }
  .controls { display: flex; gap: .4em; align-items: center; flex-wrap: wrap; }
  button { font-size: 1em; padding: .25em .8em; }
  #counter { margin-left: .4em; font-variant-numeric: tabular-nums; }
  #phase { font-weight: bold; }
  .formula { font-family: "DejaVu Serif", "Cambria Math", "Times New Roman", serif; overflow-wrap: anywhere; }
  #step-text { font-size: 1.3rem; line-height: 2.4; min-height: 2.4em; }
  #step-note { color: #a00; }
  #step-note:empty { display: none; }
  .frac { display: inline-flex; flex-direction: column; vertical-align: middle; text-align: center;
          line-height: 1.15; margin: 0 .08em; }
  .frac > span:first-child { border-bottom: 1px solid currentColor; padding: 0 .12em; }
  sup, sub { line-height: 0; }
  h2 { font-size: 1rem; margin: .4rem 0 0; }
  #log { flex: 1 1 0; min-height: 7em; overflow-y: auto; margin: 0; padding-left: 2.6em;
         color: #444; border-top: 1px solid #e4e4e4; }
  #log li { line-height: 2.2; }
  #log li.latest { color: #000; background: #fff4d6; }
  .slots { flex: 0 1 auto; max-height: 40%; min-height: 5em; overflow: auto; }
  table { border-collapse: collapse; width: 100%; }
  td, th { border: 1px solid #ccc; padding: .15em .5em; text-align: right; }
  th { position: sticky; top: 0; background: #f4f4f4; }
  td { font-variant-numeric: tabular-nums; }
  th:nth-child(2), th:nth-child(3) { text-align: left; }
  td.name { text-align: left; font-family: ui-monospace, monospace; overflow-wrap: anywhere; min-width: 6em; }
  td.formula { text-align: left; }
  tr.current { background: #ffe0e0; }
  tr.target { background: #dde9ff; }
  .note { color: #a00; font-family: system-ui, "DejaVu Sans", sans-serif; line-height: 1.4; }
  @media (max-width: 900px) {
    body { height: auto; }
    main { grid-template-columns: minmax(0, 1fr); }
    #graph { max-height: 65vh; }
    #log { flex: none; max-height: 40vh; }
  }
</style>
</head>
<body data-step="0">
<header>
<h1>{{title}}</h1>
<p class="notation formula">{{notation}}</p>
</header>
<main>
<section id="graph" aria-label="the graph">{{svg}}</section>
<section class="panel" aria-label="the steps">
<div class="controls">
  <button id="first" type="button">« Start</button>
  <button id="prev" type="button">◀ Prev</button>
  <button id="next" type="button">Next ▶</button>
  <button id="last" type="button">End »</button>
  <span id="counter"></span>
</div>
<div id="phase"></div>
<div id="step-text" class="formula"></div>
<div id="step-note"></div>
<h2>Steps so far</h2>
<ol id="log" class="formula"></ol>
<div class="slots">
<table id="slots"><thead><tr><th>slot</th><th>name</th><th>formula</th><th>data</th><th>{{line}}</th></tr>
</thead>
<tbody></tbody></table>
</div>
</section>
</main>
<script type="application/json" id="microgradx-steps">{{data}}</script>
<script>
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("microgradx-steps").textContent);
  const slots = DATA.slots, steps = DATA.steps, LOG_LIMIT = 200;
  const LINE = DATA.line + " ";  // a node's second line in the picture: "grad " or "tangent "
  const TEXT_MIN = 15, TEXT_MAX = 26;  // pixels: the graph's node text, however large the window
  const num = v => typeof v === "string" ? (v === "inf" ? Infinity : v === "-inf" ? -Infinity : NaN) : v;
  function fmt(x) {
    if (x === null || x === undefined) return "—";
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    const a = Math.abs(x);
    if (x === 0 || (a >= 1e-4 && a < 1e7)) return x.toFixed(4);
    return x.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2");  // 1.0000e+09, as Python prints it
  }
  // The rendered graph: node groups by their DOT name (n<slot> for values, o<slot> for ops).
  const area = document.getElementById("graph");
  const svg = area.querySelector("svg");
  const groups = {};
  area.querySelectorAll("g.node").forEach(g => {
    const t = g.querySelector("title");
    if (t) groups[t.textContent.trim()] = g;
  });
  // The graph as large as its box allows, its node text kept between TEXT_MIN and TEXT_MAX pixels.
  function fit() {
    if (!svg || !svg.viewBox || !svg.viewBox.baseVal || !svg.viewBox.baseVal.width) return;
    const box = svg.viewBox.baseVal;
    const sizes = Array.from(area.querySelectorAll("g.node text"), t => +t.getAttribute("font-size"))
      .filter(s => s > 0).sort((a, b) => a - b);
    const font = sizes.length ? sizes[Math.floor(sizes.length / 2)] : 14;
    const style = getComputedStyle(area);  // stacked (a narrow window): as high as max-height allows
    const high = style.maxHeight === "none" ? area.clientHeight : parseFloat(style.maxHeight);
    const room = Math.min((area.clientWidth - 2) / box.width, (high - 2) / box.height);
    const scale = Math.max(TEXT_MIN / font, Math.min(TEXT_MAX / font, room));  // pixels per unit
    svg.setAttribute("width", (box.width * scale).toFixed(1));
    svg.setAttribute("height", (box.height * scale).toFixed(1));
  }
  // Scroll `box` (only it) so that `el` is inside it.
  function reveal(box, el) {
    if (!box || !el) return;
    const b = box.getBoundingClientRect(), r = el.getBoundingClientRect(), pad = 16;
    if (r.left < b.left) box.scrollLeft -= b.left - r.left + pad;
    else if (r.right > b.right) box.scrollLeft += Math.min(r.right - b.right + pad, r.left - b.left - pad);
    if (r.top < b.top) box.scrollTop -= b.top - r.top + pad;
    else if (r.bottom > b.bottom) box.scrollTop += Math.min(r.bottom - b.bottom + pad, r.top - b.top - pad);
  }
  const tbody = document.querySelector("#slots tbody");
  slots.forEach((s, k) => {
    const tr = document.createElement("tr");
    tr.id = "row-" + k;
    const cells = [String(k), s.name, "", "", ""];
    const ids = [null, null, null, "data-" + k, "grad-" + k];
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      td.textContent = c;
      if (i === 1) td.className = "name";
      if (i === 2) { td.className = "formula"; td.innerHTML = s.formula; }  // markup made by Python, escaped
      if (ids[i]) td.id = ids[i];
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  });
  function state(n) {
    const data = slots.map(s => s.start === null ? null : num(s.start));
    const grad = slots.map(() => null);
    for (let i = 0; i < n; i++) {
      const s = steps[i];
      if (s.phase === "forward") data[s.target] = num(s.value); else grad[s.target] = num(s.value);
    }
    return { data, grad };
  }
  function setText(g, prefix, text) {
    if (!g) return;
    g.querySelectorAll("text").forEach(t => {
      if (t.textContent.startsWith(prefix)) t.textContent = prefix + text;
    });
  }
  function mark(cls, k) {
    document.querySelectorAll("." + cls).forEach(e => e.classList.remove(cls));
    if (k === null) return;
    const marked = [groups["n" + k], groups["o" + k], document.getElementById("row-" + k)];
    marked.forEach(e => e && e.classList.add(cls));
  }
  let current = 0;
  function show(n) {
    current = Math.max(0, Math.min(steps.length, n));
    const { data, grad } = state(current);
    slots.forEach((s, k) => {
      document.getElementById("data-" + k).textContent = fmt(data[k]);
      document.getElementById("grad-" + k).textContent = fmt(grad[k]);
      setText(groups["n" + k], "data ", fmt(data[k]));
      setText(groups["n" + k], LINE, fmt(grad[k]));
    });
    const step = current > 0 ? steps[current - 1] : null;
    document.getElementById("counter").textContent = "step " + current + " of " + steps.length;
    const along = DATA.mode === "forward" ? "Forward-mode sweep along " + DATA.wrt : "";
    document.getElementById("phase").textContent = step === null
      ? "Start: press Next to run the " + (along ? along.toLowerCase() : "forward sweep")
      : step.phase === "forward" ? (along ? along + ": a value" : "Forward sweep")
      : step.phase === "tangent" ? along + ": a tangent"
      : "Backward sweep (gradients of " + DATA.output + ")";
    document.getElementById("step-text").innerHTML = step ? step.html : "";
    document.getElementById("step-note").textContent = step ? step.note : "";
    mark("target", step && step.target !== step.slot ? step.target : null);
    mark("current", step ? step.slot : null);
    if (step) {
      reveal(area, groups["n" + step.slot] || groups["o" + step.slot]);
      reveal(document.querySelector(".slots"), document.getElementById("row-" + step.target));
    }
    const log = document.getElementById("log");
    log.innerHTML = "";
    const from = Math.max(0, current - LOG_LIMIT);
    log.start = from + 1;
    for (let i = from; i < current; i++) {
      const li = document.createElement("li");
      li.innerHTML = steps[i].html;
      if (steps[i].note) {  // why a nan or inf began here: kept in view in the list
        const why = document.createElement("div");
        why.className = "note";
        why.textContent = steps[i].note;
        li.appendChild(why);
      }
      if (i === current - 1) li.className = "latest";
      log.appendChild(li);
    }
    log.scrollTop = log.scrollHeight;
    document.body.dataset.step = String(current);
    document.getElementById("prev").disabled = current === 0;
    document.getElementById("next").disabled = current === steps.length;
    const hash = "#step=" + current;
    if (location.hash !== hash) {
      try { history.replaceState(null, "", hash); } catch (e) { /* some file:// pages refuse */ }
    }
  }
  function fromHash() {
    const m = /step=(\d+|end)/.exec(location.hash);
    return m ? (m[1] === "end" ? steps.length : parseInt(m[1], 10)) : 0;
  }
  document.getElementById("first").onclick = () => show(0);
  document.getElementById("prev").onclick = () => show(current - 1);
  document.getElementById("next").onclick = () => show(current + 1);
  document.getElementById("last").onclick = () => show(steps.length);
  document.addEventListener("keydown", e => {
    if (e.key === "ArrowRight") show(current + 1);
    if (e.key === "ArrowLeft") show(current - 1);
  });
  window.addEventListener("hashchange", () => show(fromHash()));
  window.addEventListener("resize", fit);
  fit();
  show(fromHash());
})();
</script>
</body>
</html>
"""
