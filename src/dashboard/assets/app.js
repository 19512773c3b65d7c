// The dashboard front end: run list with status, selection kept in the URL (#runs=…&sweep=…),
// metrics fetched once per run then appended live from server-sent events, chart panels (charts.js),
// evaluation tables, the diff of the selected runs' resolved configs, and the sweep view.
// Smoothing is the same bias-corrected EMA as `smol report` (/lib/smooth.js is report/smooth.ts).
import { ChartPanel, DASHES, PALETTE, fmtNum } from "/charts.js";
import { emaDebiased } from "/lib/smooth.js";

// Points per run at first load (later points arrive one by one): 5,000, fewer when many runs are
// overlaid so that a chart holds about 100k points in all.
const maxPoints = () => Math.max(500, Math.min(5000, Math.floor(100000 / Math.max(1, state.selected.length))));
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const state = { runs: [], sweeps: [], selected: [], sweep: null, data: new Map(), configs: new Map(), samples: new Map(), es: null, panels: new Map() };
window.__dash = {
  state,
  /** Train points held for a run (tests). */
  points: (id) => state.data.get(id)?.count ?? 0,
  series: (name) => Number(document.querySelector(`[data-chart="${name}"] .plot`)?.dataset.series ?? 0),
};

const opts = () => ({ x: $("#xaxis").value, logx: $("#logx").checked, logy: $("#logy").checked, alpha: Number($("#smooth").value), raw: $("#raw").checked });

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${(await r.json().catch(() => ({}))).error ?? ""}`);
  return r.json();
}

// ---- selection in the URL ---------------------------------------------------------------------
function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  state.selected = (h.get("runs") ?? "").split(",").filter(Boolean);
  state.sweep = h.get("sweep") || null;
}
function writeHash() {
  const h = new URLSearchParams();
  if (state.selected.length) h.set("runs", state.selected.join(","));
  if (state.sweep) h.set("sweep", state.sweep);
  history.replaceState(null, "", `#${h.toString()}`);
}
const colorOf = (id) => PALETTE[Math.max(0, state.selected.indexOf(id)) % PALETTE.length];
const nameOf = (id) => state.runs.find((r) => r.id === id)?.name ?? id;

// ---- run list -----------------------------------------------------------------------------------
function renderRuns() {
  $("#run-count").textContent = `(${state.runs.length})`;
  const byRoot = state.runs;
  $("#runs").innerHTML = byRoot.length
    ? byRoot.map((r) => {
        const sel = state.selected.includes(r.id);
        return `<label class="run" data-run="${esc(r.id)}" title="${esc(r.detail)}">
          <input type="checkbox" ${sel ? "checked" : ""}>
          <span class="swatch" style="background:${sel ? colorOf(r.id) : "transparent"}"></span>
          <span class="name">${esc(r.name)}</span>
          <span class="badge ${r.status}">${r.status}</span>
          <span class="meta">${r.steps ? `${r.step}/${r.steps}` : r.step}${r.loss !== null ? ` · ${fmtNum(r.loss)}` : ""}</span></label>`;
      }).join("")
    : `<p class="note">No runs found (a run is a directory with metrics.jsonl).</p>`;
  for (const el of document.querySelectorAll(".run")) {
    el.querySelector("input").addEventListener("change", (ev) => toggleRun(el.dataset.run, ev.target.checked));
  }
  $("#sweeps").innerHTML = state.sweeps.length
    ? state.sweeps.map((s) => `<div class="sweep-item" data-sweep="${esc(s.id)}"><b>${esc(s.name)}</b> <span class="meta">${s.runs} runs${s.complete === false ? ", incomplete" : ""}</span></div>`).join("")
    : `<p class="meta">none</p>`;
  for (const el of document.querySelectorAll(".sweep-item")) el.addEventListener("click", () => showSweep(el.dataset.sweep));
}

async function toggleRun(id, on) {
  state.selected = on ? [...new Set([...state.selected, id])] : state.selected.filter((x) => x !== id);
  writeHash();
  renderRuns();
  await loadSelected();
}

// ---- data ---------------------------------------------------------------------------------------
async function loadRun(id) {
  const q = encodeURIComponent(id);
  const [m, cfg, samples] = await Promise.all([getJson(`/api/metrics?run=${q}&max=${maxPoints()}`), getJson(`/api/config?run=${q}`), getJson(`/api/samples?run=${q}`).catch(() => [])]);
  state.data.set(id, m);
  state.configs.set(id, cfg);
  state.samples.set(id, samples);
}

async function loadSelected() {
  state.selected = state.selected.filter((id) => state.runs.some((r) => r.id === id));
  // A few at a time, drawing as they come, so the first curves show before the last run is parsed.
  const todo = state.selected.filter((id) => !state.data.has(id));
  // Drawing every chart costs more with each run, so while loading: the first run at once, then at
  // most one redraw every 2 s.
  let lastDraw = 0;
  const worker = async () => {
    for (let id = todo.shift(); id !== undefined; id = todo.shift()) {
      await loadRun(id);
      if (performance.now() - lastDraw > 2000) {
        lastDraw = performance.now();
        scheduleRender();
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  connect();
  render();
  document.body.dataset.ready = "1"; // every selected run is loaded and drawn
}

function appendRecords(msg) {
  const d = state.data.get(msg.run);
  if (!d) return;
  if (msg.from > d.count || msg.evalsFrom > d.evals.length) return void reload(msg.run); // missed some: fetch again
  for (const r of msg.train.slice(d.count - msg.from)) {
    const flat = {};
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === "number") flat[k] = v;
      else if (v && typeof v === "object") for (const [k2, v2] of Object.entries(v)) if (typeof v2 === "number") flat[`${k}/${k2}`] = v2;
    }
    for (const k of Object.keys(flat)) if (!d.columns[k]) d.columns[k] = new Array(d.columns.step?.length ?? 0).fill(null);
    for (const [k, col] of Object.entries(d.columns)) col.push(k in flat ? flat[k] : null);
    d.count++;
  }
  for (const e of msg.evals.slice(d.evals.length - msg.evalsFrom)) d.evals.push(e);
  scheduleRender();
}

async function reload(id) {
  await loadRun(id);
  scheduleRender();
}

function connect() {
  const want = [...state.selected].sort().join(",");
  if (state.es && state.es.runs === want) return;
  if (state.es) state.es.close();
  const es = new EventSource(`/api/events?runs=${encodeURIComponent(want)}`);
  es.runs = want;
  es.addEventListener("open", () => $("#live").classList.replace("off", "on"));
  es.addEventListener("error", () => $("#live").classList.replace("on", "off"));
  es.addEventListener("append", (ev) => appendRecords(JSON.parse(ev.data)));
  es.addEventListener("reset", (ev) => reload(JSON.parse(ev.data).run));
  es.addEventListener("runs", (ev) => {
    const l = JSON.parse(ev.data);
    state.runs = l.runs;
    state.sweeps = l.sweeps;
    renderRuns();
  });
  state.es = es;
}

// ---- charts -------------------------------------------------------------------------------------
let pending = false;
function scheduleRender() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render();
  });
}

const X_LABEL = { step: "step", tokens: "tokens", flops: "training FLOPs", elapsed_s: "training time (s)" };

/** x values of a run's train points for the chosen axis. */
const xsOf = (d, x) => d.columns[x] ?? d.columns.step ?? [];

/** x of an eval record: looked up from the train point with the same step (or the record's own field). */
function evalX(d, rec, x) {
  if (x === "step") return rec.step;
  if (typeof rec[x] === "number") return rec[x];
  const steps = d.columns.step ?? [];
  let lo = 0, hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (steps[mid] <= rec.step) lo = mid;
    else hi = mid - 1;
  }
  return steps[lo] === rec.step || steps[lo] <= rec.step ? (d.columns[x]?.[lo] ?? null) : null;
}

function panelSpecs() {
  const o = opts();
  const specs = [];
  const ids = state.selected.filter((id) => state.data.has(id));
  const base = { xLabel: X_LABEL[o.x], logx: o.logx, logy: o.logy };
  // Training loss: raw (faint) and the bias-corrected EMA of the same points.
  const loss = [];
  for (const id of ids) {
    const d = state.data.get(id);
    const y = d.columns.loss ?? [];
    const color = colorOf(id);
    if (o.raw) loss.push({ label: `${nameOf(id)} raw`, color, alpha: o.alpha > 0 ? 0.45 : 1, width: 1, x: xsOf(d, o.x), y });
    if (o.alpha > 0) loss.push({ label: `${nameOf(id)} EMA`, color, width: 2, x: xsOf(d, o.x), y: emaDebiased(y.map((v) => (v === null ? NaN : v)), o.alpha) });
  }
  const thinned = ids.map((id) => state.data.get(id)).filter((d) => d.stride > 1);
  specs.push({ name: "loss", title: "Training loss", sub: `nats/token; EMA ${o.alpha.toFixed(2)} with bias correction over the raw points${thinned.length ? `; history thinned to every ${Math.max(...thinned.map((d) => d.stride))}th point` : ""}`, yLabel: "loss", lines: loss });
  // Validation loss per source (and averaged weights).
  const val = [];
  const tasks = [];
  for (const id of ids) {
    const d = state.data.get(id);
    const evs = d.evals.filter((e) => e.val_loss && typeof e.val_loss === "object");
    const sources = [...new Set(evs.flatMap((e) => Object.keys(e.val_loss)))];
    sources.forEach((s, si) => val.push({ label: `${nameOf(id)} ${s}`, color: colorOf(id), dash: DASHES[si % DASHES.length], markers: true, x: evs.map((e) => evalX(d, e, o.x)), y: evs.map((e) => e.val_loss[s] ?? null) }));
    for (const k of ["val_loss_swa_mean", "val_loss_ema_mean"]) {
      const w = evs.filter((e) => typeof e[k] === "number");
      if (w.length) val.push({ label: `${nameOf(id)} ${k.slice(9, 12).toUpperCase()} mean`, color: colorOf(id), width: 1, points: true, x: w.map((e) => evalX(d, e, o.x)), y: w.map((e) => e[k]) });
    }
    const tev = d.evals.filter((e) => e.tasks && typeof e.tasks === "object");
    const names = [...new Set(tev.flatMap((e) => Object.keys(e.tasks)))];
    names.forEach((t, ti) => tasks.push({ label: `${nameOf(id)} ${t}`, color: colorOf(id), dash: DASHES[ti % DASHES.length], markers: true, x: tev.map((e) => evalX(d, e, o.x)), y: tev.map((e) => (typeof e.tasks[t] === "number" ? e.tasks[t] : null)) }));
  }
  specs.push({ name: "val", title: "Validation loss per source", sub: "nats/token; dash pattern = source", yLabel: "loss", lines: val });
  const simple = (name, title, key, yLabel, sub) => {
    const lines = ids.filter((id) => state.data.get(id).columns[key]).map((id) => ({ label: nameOf(id), color: colorOf(id), x: xsOf(state.data.get(id), o.x), y: state.data.get(id).columns[key] }));
    specs.push({ name, title, sub, yLabel, lines });
  };
  simple("lr", "Learning rate", "lr", "LR");
  simple("grad_norm", "Gradient norm", "grad_norm", "‖g‖", "before clipping");
  simple("throughput", "Throughput", "tokens_per_s", "tokens/s");
  const tok = [];
  for (const id of ids) {
    const d = state.data.get(id);
    Object.keys(d.columns).filter((k) => k.startsWith("tokens_by_source/")).forEach((k, si) => tok.push({ label: `${nameOf(id)} ${k.slice(17)}`, color: colorOf(id), dash: DASHES[si % DASHES.length], x: xsOf(d, o.x), y: d.columns[k] }));
  }
  specs.push({ name: "tokens", title: "Tokens per source", sub: "cumulative; dash pattern = source", yLabel: "tokens", lines: tok });
  specs.push({ name: "tasks", title: "Benchmark tasks", sub: "dash pattern = task", yLabel: "score", lines: tasks });
  return specs.map((s) => ({ ...base, ...s }));
}

function render() {
  $("#hint").hidden = state.selected.length > 0;
  const specs = panelSpecs();
  const host = $("#charts");
  for (const s of specs) {
    let p = state.panels.get(s.name);
    if (!p) {
      const el = document.createElement("div");
      el.className = "panel";
      el.dataset.chart = s.name;
      el.innerHTML = `<h3></h3><p class="sub"></p><div class="plot"></div>`;
      host.appendChild(el);
      p = { el, chart: new ChartPanel(el.querySelector(".plot")) };
      state.panels.set(s.name, p);
    }
    const has = s.lines.some((l) => l.x.length);
    p.el.hidden = !has;
    p.el.querySelector("h3").textContent = s.title;
    p.el.querySelector(".sub").textContent = s.sub ?? "";
    if (has) p.chart.draw(s);
    else p.chart.destroy();
  }
  renderEvals();
  renderConfigDiff();
  if (specs.some((s) => s.lines.some((l) => l.x.length))) document.body.dataset.first = "1"; // first curves shown
}

// ---- tables -------------------------------------------------------------------------------------
function table(headers, rows, caption, rowClass = () => "") {
  const cell = (c) => (typeof c === "number" ? `<td class="num">${esc(fmtNum(c))}</td>` : c === null || c === undefined ? `<td class="num">—</td>` : `<td>${esc(c)}</td>`);
  return `<table>${caption ? `<caption>${esc(caption)}</caption>` : ""}<thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r, i) => `<tr class="${rowClass(i)}">${r.map(cell).join("")}</tr>`).join("")}</tbody></table>`;
}

function renderEvals() {
  const rows = [];
  const sources = new Set();
  const taskNames = new Set();
  for (const id of state.selected) {
    const d = state.data.get(id);
    const last = d?.evals.filter((e) => e.val_loss || e.tasks).at(-1);
    if (!last) continue;
    Object.keys(last.val_loss ?? {}).forEach((s) => sources.add(s));
    Object.keys(last.tasks ?? {}).forEach((t) => taskNames.add(t));
    rows.push([id, last]);
  }
  const S = [...sources], T = [...taskNames];
  const samples = state.selected.flatMap((id) => (state.samples.get(id) ?? []).map((x) => [nameOf(id), x.step, x.prompt, x.completion]));
  $("#evals").innerHTML = (rows.length
    ? `<h2>Evaluation (latest)</h2>` + table(["run", "step", ...S.map((s) => `val ${s}`), "val mean", "SWA mean", "EMA mean", ...T], rows.map(([id, e]) => [nameOf(id), e.step, ...S.map((s) => e.val_loss?.[s] ?? null), e.val_loss_mean ?? null, e.val_loss_swa_mean ?? null, e.val_loss_ema_mean ?? null, ...T.map((t) => e.tasks?.[t] ?? null)]))
    : "") + (samples.length ? `<h2>Samples</h2>` + table(["run", "step", "prompt", "completion"], samples) : "");
}

function flatten(obj, prefix = "", out = {}) {
  if (obj && typeof obj === "object" && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = obj === undefined ? "" : JSON.stringify(obj);
  return out;
}

function renderConfigDiff() {
  const ids = state.selected.filter((id) => state.configs.has(id));
  if (!ids.length) return void ($("#configdiff").innerHTML = "");
  const flats = ids.map((id) => flatten(state.configs.get(id)));
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].filter((k) => k !== "config_hash").sort();
  const differs = keys.filter((k) => new Set(flats.map((f) => f[k] ?? "∅")).size > 1);
  const showAll = $("#configdiff").dataset.all === "1" || ids.length === 1;
  const shown = showAll ? keys : differs;
  const caption = ids.length === 1 ? "Resolved configuration" : `Resolved configurations: ${differs.length} of ${keys.length} keys differ${showAll ? "" : " (only those shown)"}`;
  $("#configdiff").innerHTML = `<h2>Configuration</h2>${ids.length > 1 ? `<label><input type="checkbox" id="cfg-all" ${showAll ? "checked" : ""}> show all keys</label>` : ""}` +
    table(["key", ...ids.map(nameOf)], shown.map((k) => [k, ...flats.map((f) => f[k] ?? "∅")]), caption, (i) => (differs.includes(shown[i]) && ids.length > 1 ? "differs" : ""));
  $("#cfg-all")?.addEventListener("change", (ev) => {
    $("#configdiff").dataset.all = ev.target.checked ? "1" : "0";
    renderConfigDiff();
  });
}

// ---- sweep view ---------------------------------------------------------------------------------
const sweepPanels = [];
async function showSweep(id) {
  state.sweep = id;
  writeHash();
  const el = $("#sweep");
  el.innerHTML = `<h2>Sweep</h2><p class="note">loading (fitting the law)…</p>`;
  let v;
  try {
    v = await getJson(`/api/sweep?id=${encodeURIComponent(id)}`);
  } catch (e) {
    el.innerHTML = `<h2>Sweep</h2><p class="note">${esc(e.message)}</p>`;
    return;
  }
  while (sweepPanels.length) sweepPanels.pop().destroy();
  const o = opts();
  el.innerHTML = `<h2>Sweep — ${esc(v.name)}${v.complete ? "" : " (incomplete)"}</h2>
    <ul class="findings">${v.findings.map((f) => `<li><b>${esc(f.verdict)}</b> — ${esc(f.claim)}: ${esc(f.detail)}.</li>`).join("")}</ul>
    <div id="sweep-charts" style="display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:1em"></div>
    <div id="sweep-tables"></div>`;
  const grid = el.querySelector("#sweep-charts");
  const addPanel = (name, title, sub, spec) => {
    const p = document.createElement("div");
    p.className = "panel";
    p.dataset.chart = name;
    p.innerHTML = `<h3>${esc(title)}</h3><p class="sub">${esc(sub)}</p><div class="plot"></div>`;
    grid.appendChild(p);
    const c = new ChartPanel(p.querySelector(".plot"));
    c.draw({ ...spec, logy: o.logy });
    sweepPanels.push(c);
  };
  const methodDash = (m) => (m === "cooldown" ? [] : m === "cosine" ? [7, 4] : m === "swa" ? [2, 3] : [10, 3, 2, 3]);
  const lines = [];
  v.sizes.forEach((s, si) => {
    for (const m of v.methods.filter((m) => m !== "constant")) {
      const pts = v.points.filter((p) => p.size === s.name && p.method === m).sort((a, b) => a.tokens - b.tokens);
      if (pts.length) lines.push({ label: `${s.name} ${m}`, color: PALETTE[si % PALETTE.length], dash: methodDash(m), x: pts.map((p) => p.tokens), y: pts.map((p) => p.loss) });
    }
  });
  addPanel("sweep-final", "Final loss by budget: cooldown vs cosine", "validation loss at the end of each run; colour = size, dash = method", { xLabel: "training tokens D", yLabel: "loss", logx: true, lines });
  const lf = [];
  v.sizes.forEach((s, si) => {
    for (const m of ["cooldown", "cosine"]) {
      const pts = v.points.filter((p) => p.size === s.name && p.method === m).sort((a, b) => a.flops - b.flops);
      if (pts.length) lf.push({ label: `${s.name} ${m}`, color: PALETTE[si % PALETTE.length], points: true, x: pts.map((p) => p.flops), y: pts.map((p) => p.loss) });
    }
  });
  if (v.envelope.length >= 2) lf.push({ label: "envelope", color: "#111111", width: 2.5, alpha: 0.55, x: v.envelope.map((p) => p.x), y: v.envelope.map((p) => p.y) });
  if (v.frontier) lf.push({ label: "compute-optimal (fit)", color: "#111111", dash: [6, 4], width: 1.5, x: v.frontier.flops, y: v.frontier.loss });
  addPanel("sweep-flops", "Loss against compute", "points by size and method, their lower envelope, and the fitted law's frontier", { xLabel: "C = 6ND", yLabel: "loss", logx: true, lines: lf });
  const fitRows = v.fits.map((f) => (f.fit ? [f.method, f.fit.E, f.fit.A, f.fit.B, f.fit.alpha, f.fit.beta, f.message] : [f.method, null, null, null, null, null, f.message]));
  el.querySelector("#sweep-tables").innerHTML =
    table(["compared", "against", "size", "tokens", "loss", "reference", "Δ loss"], v.deltas.map((d) => [d.method, d.against, d.size, d.tokens, d.loss, d.reference, d.delta]), "Ablation deltas (negative: the method is better)") +
    table(["points", "E", "A", "B", "α", "β", "note"], fitRows, "Chinchilla law L = E + A/N^α + B/D^β (coarse starting grid)") +
    table(["method", "FLOPs for the whole grid"], Object.entries(v.flops.methods), `Compute: cooldown/cosine ratio ${fmtNum(v.flops.ratio)}`) +
    table(["job", "run", "status", "step", "steps"], v.jobs.map((j) => [j.id, j.run, j.status, j.step, j.steps]), "Jobs");
  document.body.dataset.sweepReady = "1";
}

// ---- start --------------------------------------------------------------------------------------
async function main() {
  readHash();
  const l = await getJson("/api/runs");
  state.runs = l.runs;
  state.sweeps = l.sweeps;
  if (!state.selected.length && !state.sweep) {
    const running = state.runs.filter((r) => r.status === "running").map((r) => r.id);
    const latest = [...state.runs].sort((a, b) => (b.updated ?? 0) - (a.updated ?? 0))[0];
    state.selected = running.length ? running.slice(0, 6) : latest ? [latest.id] : [];
    writeHash();
  }
  renderRuns();
  await loadSelected();
  if (state.sweep) await showSweep(state.sweep);
  for (const id of ["#xaxis", "#logx", "#logy", "#raw"]) $(id).addEventListener("change", () => { render(); if (state.sweep) showSweep(state.sweep); });
  $("#smooth").addEventListener("input", () => {
    $("#smooth-value").textContent = Number($("#smooth").value).toFixed(2);
    scheduleRender();
  });
  window.addEventListener("resize", () => { for (const p of state.panels.values()) p.chart.resize(); });
}
main().catch((e) => {
  document.body.insertAdjacentHTML("afterbegin", `<p class="note">dashboard error: ${esc(e.message)}</p>`);
});
