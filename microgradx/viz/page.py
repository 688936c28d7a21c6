"""The step-through page's HTML, CSS and script (filled in by `explore`).

Kept as a Python string so it ships inside the package with no data-file setup.
{{title}}, {{notation}}, {{line}}, {{svg}}, {{encoding}} and {{data}} are replaced; the script reads
the JSON steps (unpacking them first where a big graph's come gzipped: `explore.packed`), applies
the first N of them and shows the result; a step forward applies one more and repaints what it changed.

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
  /* a node's own outline (a layer table's, not its cells'), or a cell's (the slot it shows) */
  #graph .current > polygon:first-of-type, #graph .current > ellipse { stroke: #d00; stroke-width: 3; }
  #graph .target > polygon:first-of-type, #graph .target > ellipse { stroke: #06c; stroke-width: 3; }
  .panel { min-width: 0; min-height: 0; display: flex; flex-direction: column; gap: .4rem; overflow-y: auto; }
  .panel > :not(#log, .slots) { flex-shrink: 0; }  /* none squeezed under the next: the list, table scroll */
  .controls { display: flex; gap: .4em; align-items: center; flex-wrap: wrap; }
  button { font-size: 1em; padding: .25em .8em; }
  #counter { margin-left: .4em; font-variant-numeric: tabular-nums; }
  #phase { font-weight: bold; }
  .formula { font-family: "DejaVu Serif", "Cambria Math", "Times New Roman", serif; overflow-wrap: anywhere; }
  #step-text { font-size: 1.3rem; line-height: 2.4; min-height: 2.4em; max-height: 30vh; overflow-y: auto; }
  #step-note { color: #a00; }
  #step-note:empty { display: none; }
  .frac { display: inline-flex; flex-direction: column; vertical-align: middle; text-align: center;
          line-height: 1.15; margin: 0 .08em; }
  .frac > span:first-child { border-bottom: 1px solid currentColor; padding: 0 .12em; }
  sup, sub { line-height: 0; }
  h2 { font-size: 1rem; margin: .4rem 0 0; }
  #log { flex: 1 1 0; min-height: 7em; overflow-y: auto; margin: 0; padding-left: .2em; list-style: none;
         color: #444; border-top: 1px solid #e4e4e4; }
  #log li { line-height: 2.2; display: flex; gap: .6em; }
  #log .num { flex: none; min-width: calc(var(--digits, 2) * 1ch); text-align: right; color: #888;
              font-family: system-ui, "DejaVu Sans", sans-serif; font-variant-numeric: tabular-nums; }
  #log .text { min-width: 0; overflow-wrap: anywhere; }
  .more { color: #777; white-space: nowrap; font-size: .85em; }
  #log li.latest { color: #000; background: #fff4d6; }
  .slots { flex: 0 1 auto; max-height: 40%; min-height: 5em; overflow: auto; }
  /* a table taller than its room: its box as high as the room, and laid out on its own (size
     containment), so that a step's new numbers do not lay out the whole page again */
  .slots.full { height: 40%; contain: strict; }
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
<script type="application/json" data-encoding="{{encoding}}" id="microgradx-steps">{{data}}</script>
<script>
"use strict";
(function () {
  const source = document.getElementById("microgradx-steps");
  if (source.dataset.encoding !== "gzip") {
    start(JSON.parse(source.textContent));
    return;
  }
  // A big graph's picture and steps come gzipped (explore.packed): unpacked here, then shown.
  const phase = document.getElementById("phase");
  if (typeof DecompressionStream !== "function") {
    phase.textContent = "This browser cannot unpack this page (it needs DecompressionStream: " +
      "Chrome 80, Firefox 113, Safari 16.4 or later).";
    return;
  }
  phase.textContent = "Unpacking the graph…";
  const bytes = Uint8Array.from(atob(source.textContent.trim()), c => c.charCodeAt(0));
  const unpacked = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(unpacked).text().then(text => {
    const data = JSON.parse(text);
    document.getElementById("graph").innerHTML = data.svg;
    start(data);
  });

  function start(DATA) {
    const slots = DATA.slots, steps = DATA.steps, LOG_LIMIT = 200;
    const LINE = DATA.line + " ";  // a node's second line in the picture: "grad " or "tangent "
    const TEXT_MIN = 15, TEXT_MAX = 26;  // pixels: the graph's node text, however large the window
    const FULL_TABLE = 60;  // slots whose table is taller than its room in any window (see .slots.full)
    const num = v => typeof v === "string" ? (v === "inf" ? Infinity : v === "-inf" ? -Infinity : NaN) : v;
    function fmt(x) {
      if (x === null || x === undefined) return "—";
      if (Number.isNaN(x)) return "nan";
      if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
      const a = Math.abs(x);
      if (x === 0 || (a >= 1e-4 && a < 1e7)) return x.toFixed(4);
      return x.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2");  // 1.0000e+09, as Python prints it
    }
    // The rendered graph: node groups by their DOT name (n<slot> for values, o<slot> for ops,
    // L<k> for a layer's table, "hidden" for the note on what is not drawn).
    const area = document.getElementById("graph");
    const svg = area.querySelector("svg");
    const groups = {};
    area.querySelectorAll("g.node").forEach(g => {
      const t = g.querySelector("title");
      if (t) groups[t.textContent.trim()] = g;
    });
    // The picture's nodes for slot k: its box (and its op), or the layer table it is in; none where the
    // picture leaves it out (DATA.units[k] null: a big graph's picture draws the part nearest the output).
    // In a layer's table, the cell that shows slot k (its tooltip names it), or else the table;
    // where no part of the picture is slot k's, the note on what is not drawn is marked instead.
    const cells = {};  // a table's cells by the name each shows, made at the table's first use
    function cellOf(unit, name) {
      if (!cells[unit]) {
        cells[unit] = {};
        groups[unit].querySelectorAll("a").forEach(a => { cells[unit][a.getAttribute("xlink:title")] = a; });
      }
      return cells[unit][name];
    }
    function drawn(k) {
      const unit = DATA.units ? DATA.units[k] : "n" + k;
      if (unit === null) return groups.hidden ? [groups.hidden] : [];
      if (!groups[unit]) return [];
      if (unit.startsWith("L")) return [cellOf(unit, slots[k].name) || groups[unit]];
      return [groups[unit], unit === "n" + k ? groups["o" + k] : null].filter(Boolean);
    }
    function notDrawn(k) {
      const unit = DATA.units ? DATA.units[k] : null;
      if (DATA.units && unit === null) {
        return slots[k].name + " is not drawn: the picture shows the part of the graph nearest the output";
      }
      if (unit && unit.startsWith("L") && groups[unit] && !cellOf(unit, slots[k].name)) {
        return slots[k].name + " is in its layer's table, in no cell of its own (a neuron's sum before " +
          "its bias, or a row or column left out: …)";
      }
      return "";
    }
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
    const rows = [], dataCells = [], gradCells = [];
    slots.forEach((s, k) => {
      const tr = document.createElement("tr");
      tr.id = "row-" + k;
      const cells = [String(k), s.name, "", "", ""];
      const ids = [null, null, null, "data-" + k, "grad-" + k];
      cells.forEach((c, i) => {
        const td = document.createElement("td");
        td.textContent = c;
        if (i === 1) td.className = "name";
        if (i === 2) { td.className = "formula"; td.innerHTML = s.formula; }  // Python's markup, escaped
        if (ids[i]) td.id = ids[i];
        tr.appendChild(td);
      });
      rows.push(tr);
      dataCells.push(tr.children[3]);
      gradCells.push(tr.children[4]);
    });
    if (slots.length > FULL_TABLE) document.querySelector(".slots").classList.add("full");
    tbody.append(...rows);
    // The values and gradients after `current` steps, and what the page shows of them: a step
    // forward applies one step and rewrites only the cells and nodes it changes.
    let current = 0;
    const data = slots.map(s => s.start === null ? null : num(s.start)), grad = slots.map(() => null);
    const shownData = [], shownGrad = [];
    function apply(i) {
      const s = steps[i];
      if (s.phase === "forward") data[s.target] = num(s.value); else grad[s.target] = num(s.value);
      return s.target;
    }
    function rewind() {
      slots.forEach((s, k) => { data[k] = s.start === null ? null : num(s.start); grad[k] = null; });
    }
    function setText(g, prefix, text) {
      if (!g) return;
      g.querySelectorAll("text").forEach(t => {
        if (t.textContent.startsWith(prefix)) t.textContent = prefix + text;
      });
    }
    function paint(k) {
      const d = fmt(data[k]), g = fmt(grad[k]);
      if (d !== shownData[k]) {
        shownData[k] = dataCells[k].textContent = d;
        setText(groups["n" + k], "data ", d);
      }
      if (g !== shownGrad[k]) {
        shownGrad[k] = gradCells[k].textContent = g;
        setText(groups["n" + k], LINE, g);
      }
    }
    function mark(cls, k) {
      document.querySelectorAll("." + cls).forEach(e => e.classList.remove(cls));
      if (k === null) return;
      [...drawn(k), rows[k]].forEach(e => e.classList.add(cls));
    }
    const log = document.getElementById("log");
    log.style.setProperty("--digits", String(String(steps.length).length));  // step 12,345 fits its column
    function entry(i) {
      const li = document.createElement("li");
      const number = document.createElement("span");
      number.className = "num";
      number.textContent = String(i + 1);
      const text = document.createElement("span");
      text.className = "text";
      text.innerHTML = steps[i].html;
      li.append(number, text);
      if (steps[i].note) {  // why a nan or inf began here: kept in view in the list
        const why = document.createElement("div");
        why.className = "note";
        why.textContent = steps[i].note;
        text.appendChild(why);
      }
      return li;
    }
    function show(n) {
      n = Math.max(0, Math.min(steps.length, n));
      if (n === current + 1 && n > 0) {  // one step on: the list gains one entry
        paint(apply(n - 1));
        const last = log.lastElementChild;
        if (last) last.classList.remove("latest");
        log.appendChild(entry(n - 1));
        if (log.children.length > LOG_LIMIT) log.firstElementChild.remove();
      } else {
        const from = n >= current && current >= 0 ? current : 0;
        if (from === 0) rewind();
        for (let i = from; i < n; i++) apply(i);
        slots.forEach((s, k) => paint(k));
        log.replaceChildren(...Array.from({ length: n - Math.max(0, n - LOG_LIMIT) },
                                          (_, j) => entry(Math.max(0, n - LOG_LIMIT) + j)));
      }
      current = n;
      if (log.lastElementChild) log.lastElementChild.classList.add("latest");
      log.scrollTop = log.scrollHeight;
      const step = current > 0 ? steps[current - 1] : null;
      document.getElementById("counter").textContent = "step " + current + " of " + steps.length;
      const along = DATA.mode === "forward" ? "Forward-mode sweep along " + DATA.wrt : "";
      document.getElementById("phase").textContent = step === null
        ? "Start: press Next to run the " + (along ? along.toLowerCase() : "forward sweep")
        : step.phase === "forward" ? (along ? along + ": a value" : "Forward sweep")
        : step.phase === "tangent" ? along + ": a tangent"
        : "Backward sweep (gradients of " + DATA.output + ")";
      document.getElementById("step-text").innerHTML = step ? step.html : "";
      document.getElementById("step-note").textContent = step
        ? [step.note, notDrawn(step.slot)].filter(Boolean).join("; ") : "";
      mark("target", step && step.target !== step.slot ? step.target : null);
      mark("current", step ? step.slot : null);
      if (step) {
        reveal(area, drawn(step.slot)[0]);
        reveal(document.querySelector(".slots"), rows[step.target]);
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
    window.addEventListener("resize", fit);
    fit();
    current = -1;  // nothing shown yet: the first show paints every cell
    show(fromHash());
    // For scripts (the tests): step to n, and what step i marks in the picture and says of it.
    window.microgradxPage = {
      show,
      where: i => ({
        nodes: drawn(steps[i].slot).map(
          e => e.getAttribute("xlink:title") || e.querySelector("title").textContent),
        note: notDrawn(steps[i].slot),
      }),
    };
    document.body.dataset.steps = String(steps.length);
    document.body.dataset.ready = "true";  // (and for those that wait for a big page to unpack)
  }
})();
</script>
</body>
</html>
"""
