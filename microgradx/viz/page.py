"""The step-through page's HTML, CSS and script (filled in by `explore`).

Kept as a Python string so it ships inside the package with no data-file setup.
{{title}}, {{svg}} and {{data}} are replaced; the script reads the JSON steps, applies
the first N of them and shows the result.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{title}}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.2em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .3em; }
  .notation { color: #555; margin: 0 0 .8em; }
  .controls { display: flex; gap: .4em; align-items: center; margin: .6em 0; flex-wrap: wrap; }
  button { font-size: 1em; padding: .25em .8em; }
  #counter { margin-left: .6em; font-variant-numeric: tabular-nums; }
  #phase { font-weight: bold; }
  #step-text { font-family: ui-monospace, monospace; font-size: 1.1em; margin: .3em 0; min-height: 1.3em; }
  #step-rule { font-family: ui-monospace, monospace; color: #7a3e00; min-height: 1.2em; }
  .graph svg { max-width: 100%; height: auto; }
  .graph g.node.current polygon, .graph g.node.current ellipse { stroke: #d00; stroke-width: 3; }
  .graph g.node.target polygon, .graph g.node.target ellipse { stroke: #06c; stroke-width: 3; }
  table { border-collapse: collapse; margin-top: .8em; }
  td, th { border: 1px solid #ccc; padding: .15em .6em; text-align: right; }
  td { font-variant-numeric: tabular-nums; }
  td.name, td.formula { text-align: left; font-family: ui-monospace, monospace; }
  tr.current { background: #ffe0e0; }
  tr.target { background: #dde9ff; }
  #log { font-family: ui-monospace, monospace; font-size: .9em; color: #444; }
  #log li.latest { color: #000; font-weight: bold; }
  .note { color: #a00; }
</style>
</head>
<body data-step="0">
<h1>{{title}}</h1>
<p class="notation">Forward: φ<sub>k</sub> = f<sub>k</sub>(operands), slot by slot. Backward: seed
∂f/∂f = 1, then each node passes its gradient to its operands times the local derivative:
a<sub>k</sub><sup>δ</sup> = φ<sub>k</sub><sup>δ</sup> · f′(a<sub>k</sub>) for an activation,
w<sub>k</sub><sup>δ</sup> = a<sub>k</sub><sup>δ</sup> · φ<sub>k−1</sub> and
φ<sub>k−1</sub><sup>δ</sup> = a<sub>k</sub><sup>δ</sup> · w<sub>k</sub> for a product.
Red: the node at work; blue: the node whose gradient changes. Keys: ← and →.</p>
<div class="controls">
  <button id="first" type="button">« Start</button>
  <button id="prev" type="button">◀ Prev</button>
  <button id="next" type="button">Next ▶</button>
  <button id="last" type="button">End »</button>
  <span id="counter"></span>
</div>
<div id="phase"></div>
<div id="step-text"></div>
<div id="step-rule"></div>
<div class="graph" id="graph">{{svg}}</div>
<table id="slots"><thead><tr><th>slot</th><th>name</th><th>formula</th><th>data</th><th>grad</th></tr></thead>
<tbody></tbody></table>
<h2>Steps so far</h2>
<ol id="log"></ol>
<script type="application/json" id="microgradx-steps">{{data}}</script>
<script>
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("microgradx-steps").textContent);
  const slots = DATA.slots, steps = DATA.steps, LOG_LIMIT = 200;
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
  const groups = {};
  document.querySelectorAll("#graph g.node").forEach(g => {
    const t = g.querySelector("title");
    if (t) groups[t.textContent.trim()] = g;
  });
  const tbody = document.querySelector("#slots tbody");
  slots.forEach((s, k) => {
    const tr = document.createElement("tr");
    tr.id = "row-" + k;
    const cells = [String(k), s.name, s.formula, "", ""];
    const ids = [null, null, null, "data-" + k, "grad-" + k];
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      td.textContent = c;
      if (i === 1) td.className = "name";
      if (i === 2) td.className = "formula";
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
      setText(groups["n" + k], "grad ", fmt(grad[k]));
    });
    const step = current > 0 ? steps[current - 1] : null;
    document.getElementById("counter").textContent = "step " + current + " of " + steps.length;
    document.getElementById("phase").textContent = step === null
      ? "Start: press Next to run the forward sweep"
      : step.phase === "forward" ? "Forward sweep" : "Backward sweep (gradients of " + DATA.output + ")";
    document.getElementById("step-text").textContent = step ? step.text : "";
    document.getElementById("step-rule").textContent = step ? step.rule : "";
    mark("target", step && step.target !== step.slot ? step.target : null);
    mark("current", step ? step.slot : null);
    const log = document.getElementById("log");
    log.innerHTML = "";
    const from = Math.max(0, current - LOG_LIMIT);
    log.start = from + 1;
    for (let i = from; i < current; i++) {
      const li = document.createElement("li");
      li.textContent = steps[i].text;
      if (i === current - 1) li.className = "latest";
      log.appendChild(li);
    }
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
  show(fromHash());
})();
</script>
</body>
</html>
"""
