// graphc explorer: pan/zoom the graph, show a node's facts, step through the pipeline.
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (s, root) => (root || document).querySelector(s);
const $$ = (s, root) => Array.from((root || document).querySelectorAll(s));
const svg = $("#graph"), vp = $("#vp");
const view = {x: 0, y: 0, k: 1};

function esc(s) {
  return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}
function apply() { vp.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`); }
function fit() {
  const w = +svg.dataset.w || 1, h = +svg.dataset.h || 1, r = svg.getBoundingClientRect();
  // fit the width (a deep graph is then panned down), but never smaller than the whole
  view.k = Math.min(r.width / (w + 40), 1.2);
  view.k = Math.max(view.k, Math.min(r.width / (w + 40), r.height / (h + 40)));
  view.x = (r.width - w * view.k) / 2; view.y = 36;
  apply();
}
function zoom(f, cx, cy) {
  view.x = cx - (cx - view.x) * f; view.y = cy - (cy - view.y) * f; view.k *= f; apply();
}
function centre(id) {
  const g = $("#g-" + id); if (!g) return;
  const b = g.getBBox(), m = g.transform.baseVal.consolidate().matrix, r = svg.getBoundingClientRect();
  view.k = Math.max(view.k, 0.8);
  view.x = r.width / 2 - (m.e + b.width / 2) * view.k; view.y = r.height / 2 - (m.f + b.height / 2) * view.k;
  apply();
}

// -- pan and zoom ----------------------------------------------------------------------------
let drag = null;
svg.addEventListener("wheel", e => {
  e.preventDefault();
  const r = svg.getBoundingClientRect();
  zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
}, {passive: false});
svg.addEventListener("mousedown", e => { drag = {x: e.clientX, y: e.clientY, moved: false}; });
window.addEventListener("mousemove", e => {
  if (!drag) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
  if (drag.moved) { view.x += dx; view.y += dy; drag.x = e.clientX; drag.y = e.clientY; apply(); }
});
window.addEventListener("mouseup", () => { setTimeout(() => { drag = null; }, 0); });
$("#fit").onclick = fit;
$("#zin").onclick = () => { const r = svg.getBoundingClientRect(); zoom(1.25, r.width / 2, r.height / 2); };
$("#zout").onclick = () => { const r = svg.getBoundingClientRect(); zoom(0.8, r.width / 2, r.height / 2); };

// -- selecting a node ------------------------------------------------------------------------
function row(k, v) { return v === undefined || v === "" ? "" : `<tr><td>${k}</td><td>${v}</td></tr>`; }
function select(id, bodyIndex) {
  const n = D.nodes[id]; if (!n) return;
  $$(".sel").forEach(e => e.classList.remove("sel"));
  $$(".edge.hl").forEach(e => e.classList.remove("hl"));
  $("#g-" + id).classList.add("sel");
  $$(`.edge[data-to="${id}"], .edge[data-from="${id}"]`).forEach(e => e.classList.add("hl"));
  const attrs = Object.entries(n.attrs || {}).map(([k, v]) => `${esc(k)} = ${esc(v)}`).join("<br>");
  const time = n.time === undefined ? undefined : `${(n.time * 1e6).toFixed(1)} us per call`;
  let html = `<h3 id="node-op">${esc(n.op)}</h3><pre class="code" id="node-ir">${esc(n.ir)}</pre>` +
    "<table>" + row("type", esc((n.types || []).join(", "))) + row("family", esc(n.family)) +
    row("attributes", attrs) + row("source", esc(n.loc || "")) +
    row("IR line", n.id[0] === "n" ? n.line : "") + row("kernel", n.kernel && esc(n.kernel)) +
    row("time", time) + "</table>";
  if (n.body) {
    html += "<h4>body</h4><pre class='code' id='node-body'>" + n.body.map((b, k) =>
      `<span class="${k === bodyIndex ? "at" : ""}">${esc(b.ir)}</span>`
    ).join("\n") + "</pre>";
    if (bodyIndex !== undefined) $$(`.chip[data-id="${id}"]`)[bodyIndex].classList.add("sel");
  }
  $("#details").innerHTML = html;
  $$("#finalir .at").forEach(e => e.classList.remove("at"));
  const line = id[0] === "n" && $("#L" + n.line);
  if (line) line.classList.add("at");
}
svg.addEventListener("click", e => {
  if (drag && drag.moved) return;
  const chip = e.target.closest(".chip");
  const node = e.target.closest(".node");
  if (chip) select(chip.dataset.id, +chip.dataset.body);
  else if (node) select(node.dataset.id);
});

// -- links from the reports to the nodes -----------------------------------------------------
document.addEventListener("click", e => {
  const link = e.target.closest(".link, .mbar");
  if (!link) return;
  const ids = (link.dataset.nodes || link.dataset.id || "").split(" ").filter(i => D.nodes[i]);
  $$(".node.hl").forEach(g => g.classList.remove("hl"));
  ids.forEach(i => $("#g-" + i).classList.add("hl"));
  if (ids.length) { select(ids[0]); centre(ids[0]); }
});

// -- tabs and the pipeline stepper -----------------------------------------------------------
function tab(key) {
  $$("button.tab").forEach(b => b.classList.toggle("on", b.dataset.tab === key));
  $$(".pane").forEach(p => p.classList.toggle("on", p.id === "tab-" + key));
}
$$("button.tab").forEach(b => { b.onclick = () => tab(b.dataset.tab); });
function step(k) {
  const s = D.steps[k]; if (!s) return;
  $$(".step").forEach(li => li.classList.toggle("on", +li.dataset.step === k));
  const marks = new Set(s.marks);
  $("#stepir").innerHTML = s.ir.split("\n").map((l, i) =>
    marks.has(i) ? `<span class="chg">${esc(l)}</span>` : esc(l)).join("\n");
}
$$(".step").forEach(li => { li.onclick = () => step(+li.dataset.step); });

if ($("button.tab")) tab($("button.tab").dataset.tab);
if (D.steps.length) step(D.steps.length - 1);
fit();
