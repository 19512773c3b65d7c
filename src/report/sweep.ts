// The report of a `smol sweep` directory: loss and LR curves per size, cooldown branches against
// cosine at each budget, SWA against raw weights, loss against compute with its envelope, the
// fitted Chinchilla law and compute-optimal frontier (scaling/fit.ts, when there are enough points),
// the compute saved by reusable runs, and findings stated with their numbers. Reads results.json and
// each run's metrics.jsonl; writes SVG files and one self-contained HTML page.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { computeOptimal, fitChinchilla, predictLoss, type ChinchillaFit } from "../scaling/fit.js";
import { readResults, type SweepPoint, type SweepResults } from "../sweep/results.js";
import { readMetrics, type MetricRecord } from "../train/metrics.js";
import { lowerEnvelope } from "./envelope.js";
import { autoAlpha, emaDebiased, emaStart, type EmaState } from "./smooth.js";
import { figure, fmtCell, htmlTable, page, type Cell } from "./html.js";
import { chart, escapeXml, paletteColor, sequentialColor, type Series } from "./svg.js";

export interface SweepReportOptions {
  /** Where the SVGs and index.html go (default DIR/report). */
  outDir?: string;
  /** Starting grid of the Chinchilla fit (default "full", docs/references.md §7). */
  grid?: "full" | "coarse";
}

export interface Finding {
  claim: string;
  /** "reproduced" | "not reproduced" | "not tested" (with the reason in `detail`). */
  verdict: "reproduced" | "not reproduced" | "mixed" | "not tested";
  detail: string;
}

export interface FitSummary {
  method: string;
  fit: ChinchillaFit | null;
  message: string;
}

/** Fewest points for a 5-parameter fit with at least one degree of freedom left. */
export const MIN_FIT_POINTS = 6;

const human = (x: number): string => {
  const a = Math.abs(x);
  for (const [d, s] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]] as const) if (a >= d) return `${Number((x / d).toPrecision(3))}${s}`;
  return String(Number(x.toPrecision(3)));
};
const f4 = (x: number) => x.toFixed(4);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;


const sizeColor = (i: number, n: number) => sequentialColor(n <= 1 ? 0.35 : (i / (n - 1)) * 0.85);

/** Points of one method keyed by size and tokens. */
function index(points: readonly SweepPoint[]): Map<string, Map<string, SweepPoint>> {
  const m = new Map<string, Map<string, SweepPoint>>();
  for (const p of points) {
    if (!m.has(p.method)) m.set(p.method, new Map());
    m.get(p.method)!.set(`${p.size}|${p.tokens}`, p);
  }
  return m;
}

/** Fit the Chinchilla law to one method's points, or say why not. */
export function fitMethod(r: SweepResults, method: string, grid: "full" | "coarse" = "full"): FitSummary {
  const pts = r.points.filter((p) => p.method === method);
  if (pts.length < MIN_FIT_POINTS) {
    return { method, fit: null, message: `${pts.length} ${method} point(s): the 5-parameter law needs at least ${MIN_FIT_POINTS} (more sizes or budgets), so no law is fitted` };
  }
  const sizes = new Set(pts.map((p) => p.params)).size;
  const budgets = new Set(pts.map((p) => p.tokens)).size;
  try {
    const fit = fitChinchilla(pts.map((p) => ({ params: p.params, tokens: p.tokens, loss: p.loss })), { grid });
    const caveat = sizes < 3 || budgets < 3 ? ` Only ${sizes} size(s) × ${budgets} token count(s): the exponents are weakly determined.` : "";
    return { method, fit, message: `fitted to ${pts.length} ${method} points (${fit.starts} L-BFGS starts, ${fit.converged_starts} converged; RMSE of ln L ${fit.rmse_log.toExponential(2)}).${caveat}` };
  } catch (e) {
    return { method, fit: null, message: `the fit failed: ${(e as Error).message}` };
  }
}

/** The findings of Hägele et al. this sweep can test, each with its numbers. */
export function findings(r: SweepResults, fits?: readonly FitSummary[]): Finding[] {
  const ix = index(r.points);
  const get = (m: string) => ix.get(m) ?? new Map<string, SweepPoint>();
  const out: Finding[] = [];
  const cool = get("cooldown");
  const frac = `${Number((r.cooldown.fraction * 100).toFixed(1))}%`;
  // 1. A 20% cooldown matches cosine.
  const cos = get("cosine");
  const pairs = [...cool.entries()].filter(([k]) => cos.has(k)).map(([k, p]) => ({ p, d: p.loss - cos.get(k)!.loss, rel: (p.loss - cos.get(k)!.loss) / cos.get(k)!.loss }));
  if (!pairs.length) out.push({ claim: `a ${frac} cooldown matches a cosine schedule of the same length`, verdict: "not tested", detail: "no cosine baselines (add a cosine section to the sweep)" });
  else {
    const meanRel = pairs.reduce((a, x) => a + x.rel, 0) / pairs.length;
    const maxAbs = Math.max(...pairs.map((x) => Math.abs(x.rel)));
    const better = pairs.filter((x) => x.d <= 0).length;
    out.push({
      claim: `a ${frac} ${r.cooldown.shape} cooldown matches a cosine schedule of the same length (criterion: mean relative difference within ±1%)`,
      verdict: Math.abs(meanRel) <= 0.01 ? "reproduced" : "not reproduced",
      detail: `cooldown − cosine over ${pairs.length} (N, D) points: mean ${meanRel >= 0 ? "+" : ""}${pct(meanRel)} (${f4(pairs.reduce((a, x) => a + x.d, 0) / pairs.length)} nats), largest |difference| ${pct(maxAbs)}; the cooldown is lower or equal at ${better} of ${pairs.length}`,
    });
  }
  // 2. 1-sqrt beats linear.
  const lin = get("cooldown-linear");
  const lpk = [...cool.entries()].filter(([k]) => lin.has(k)).map(([k, p]) => ({ k, d: p.loss - lin.get(k)!.loss }));
  const lp = lpk.map((x) => x.d);
  if (r.cooldown.shape !== "1-sqrt" || !lp.length) out.push({ claim: "a 1-sqrt cooldown reaches a lower loss than a linear one", verdict: "not tested", detail: "needs cooldown.shape 1-sqrt and extra_shapes: [linear]" });
  else {
    const wins = lp.filter((d) => d < 0).length;
    const mean = lp.reduce((a, b) => a + b, 0) / lp.length;
    out.push({
      claim: "a 1-sqrt cooldown reaches a lower loss than a linear one (criterion: lower on average and at most points)",
      verdict: mean < 0 && wins > lp.length / 2 ? "reproduced" : mean < 0 || wins > lp.length / 2 ? "mixed" : "not reproduced",
      detail: `1-sqrt − linear: mean ${mean >= 0 ? "+" : ""}${f4(mean)} nats; 1-sqrt lower at ${wins} of ${lp.length} points${wins ? ` (${lpk.filter((x) => x.d < 0).map((x) => x.k.replace("|", " at D=")).join(", ")})` : ""}`,
    });
  }
  // 3. SWA narrows the gap to a cooldown but does not close it.
  const swa = get("swa");
  const con = get("constant");
  const trip = [...cool.entries()].filter(([k]) => swa.has(k) && con.has(k)).map(([k, p]) => ({ cool: p.loss, swa: swa.get(k)!.loss, raw: con.get(k)!.loss }));
  if (!trip.length) out.push({ claim: "SWA on the constant-LR run narrows the gap to a cooldown but does not close it", verdict: "not tested", detail: "no SWA readouts (add a swa section to the sweep)" });
  else {
    const narrowed = trip.filter((t) => t.swa < t.raw).length;
    const closed = trip.filter((t) => t.swa <= t.cool).length;
    // Share of the summed raw→cooldown gap that SWA recovers (points where the cooldown helps at all).
    const gap = trip.filter((t) => t.raw > t.cool);
    const share = gap.length ? gap.reduce((a, t) => a + t.raw - t.swa, 0) / gap.reduce((a, t) => a + t.raw - t.cool, 0) : NaN;
    const ok = narrowed > trip.length / 2 && closed < trip.length / 2;
    out.push({
      claim: "SWA on the constant-LR run narrows the gap to a cooldown but does not close it (criterion: SWA below the raw weights and above the cooldown at most points)",
      verdict: ok ? "reproduced" : narrowed > trip.length / 2 || closed < trip.length / 2 ? "mixed" : "not reproduced",
      detail: `SWA below the raw constant-LR weights at ${narrowed} of ${trip.length} points, at or below the cooldown at ${closed}; SWA recovers ${Number.isFinite(share) ? pct(share) : "n/a"} of the summed raw→cooldown gap (over the ${gap.length} points where the cooldown beats the raw weights)`,
    });
  }
  // 4. The laws fitted to reusable runs and to the cosine grid agree.
  const fc = fits?.find((x) => x.method === "cooldown")?.fit;
  const fk = fits?.find((x) => x.method === "cosine")?.fit;
  if (!fc || !fk) out.push({ claim: "the scaling law fitted to cooldown points matches the one fitted to cosine points", verdict: "not tested", detail: fits ? "needs a fitted law for both methods (at least 6 points each)" : "no fits given" });
  else {
    const a = (x: ChinchillaFit) => x.beta / (x.alpha + x.beta);
    const d = Math.abs(a(fc) - a(fk));
    out.push({
      claim: "the scaling law fitted to cooldown points matches the one fitted to cosine points (criterion: compute-optimal exponents N* ∝ C^a within 0.05)",
      verdict: d <= 0.05 ? "reproduced" : "not reproduced",
      detail: `a = β/(α+β) is ${a(fc).toFixed(3)} from the cooldowns and ${a(fk).toFixed(3)} from cosine (α ${fc.alpha.toFixed(3)} vs ${fk.alpha.toFixed(3)}, β ${fc.beta.toFixed(3)} vs ${fk.beta.toFixed(3)}, E ${fc.E.toPrecision(3)} vs ${fk.E.toPrecision(3)})`,
    });
  }
  // 5. Compute saved.
  const f = r.flops;
  out.push({
    claim: "reusable runs (one constant run per size + cooldowns) cost a fraction of the cosine grid",
    verdict: f.ratio < 1 ? "reproduced" : "not reproduced",
    detail: `${fmtCell(f.methods.cooldown)} against ${fmtCell(f.methods.cosine)} training FLOPs: ${f.ratio.toFixed(3)} of the grid (${pct(f.saved_fraction)} saved); the docs/references.md §7 formula gives ${f.reference.ratio.toFixed(3)}` +
      (r.seconds.cosine && r.seconds.constant ? `; measured training time ${((r.seconds.constant + (r.seconds.cooldown ?? 0)) / r.seconds.cosine).toFixed(3)} of the cosine runs'` : ""),
  });
  return out;
}

interface Loaded {
  r: SweepResults;
  dir: string;
  metrics: Map<string, MetricRecord[]>;
}

function load(dir: string): Loaded {
  const r = readResults(path.join(dir, "results.json"));
  const metrics = new Map<string, MetricRecord[]>();
  for (const j of r.jobs) {
    const file = path.join(dir, j.run, "metrics.jsonl");
    if (fs.existsSync(file)) metrics.set(j.id, readMetrics(file));
  }
  return { r, dir, metrics };
}

interface Fig {
  name: string;
  svg: string;
  caption: string;
}

function curveFigures(L: Loaded): Fig[] {
  const { r, metrics } = L;
  const figs: Fig[] = [];
  for (const s of r.sizes) {
    const jobs = r.jobs.filter((j) => j.size === s.name);
    const constant = jobs.find((j) => j.kind === "constant");
    const constRecs = (constant && metrics.get(constant.id)?.filter((x) => x.type === "train")) || [];
    if (!constRecs.length) continue;
    const alpha = autoAlpha(constRecs.length);
    const constSmooth = emaDebiased(constRecs.map((x) => x.loss as number), alpha);
    const tokensOf = (recs: MetricRecord[]) => recs.map((x) => (x.step as number) * r.tokens_per_step);
    const loss: Series[] = [{ name: "constant LR", x: tokensOf(constRecs), y: constSmooth, color: "#444444", width: 1.8 }];
    const lr: Series[] = [{ name: "constant LR", x: tokensOf(constRecs), y: constRecs.map((x) => x.lr as number), color: "#444444", width: 1.8 }];
    s.budgets.forEach((b, bi) => {
      const color = paletteColor(bi);
      const rank = (x: (typeof jobs)[number]) => (x.kind === "cosine" ? 2 : x.shape === r.cooldown.shape ? 0 : 1);
      for (const j of jobs.filter((x) => x.budget === b.tokens && x.kind !== "constant").sort((x, y) => rank(x) - rank(y))) {
        const recs = metrics.get(j.id)?.filter((x) => x.type === "train") ?? [];
        if (!recs.length) continue;
        // A cooldown branch continues the EMA of its parent up to the branch point.
        const state: EmaState = emaStart();
        if (j.kind === "cooldown") emaDebiased(constRecs.filter((x) => (x.step as number) <= b.branch_step).map((x) => x.loss as number), alpha, state);
        const label = j.kind === "cosine" ? `cosine ${human(b.tokens)}` : `${j.shape} cooldown ${human(b.tokens)}`;
        const dash = j.kind === "cosine" ? "7 4" : j.shape === r.cooldown.shape ? undefined : "2 3";
        loss.push({ name: label, x: tokensOf(recs), y: emaDebiased(recs.map((x) => x.loss as number), alpha, state), color, dash, width: j.kind === "cosine" ? 1.4 : 1.8 });
        lr.push({ name: label, x: tokensOf(recs), y: recs.map((x) => x.lr as number), color, dash, width: j.kind === "cosine" ? 1.4 : 1.8 });
      }
    });
    const maxX = Math.max(...loss.flatMap((x) => Array.from(x.x)));
    const late = loss.flatMap((x) => Array.from(x.y).filter((_, i) => x.x[i] >= 0.15 * maxX));
    const lo = Math.min(...late), hi = Math.max(...late);
    const pad = (hi - lo) * 0.06 || 0.05;
    figs.push({
      name: `curves-${s.name}`,
      svg: chart(loss, { title: `Training loss — ${s.name} (N ${human(s.params)})`, subtitle: `training loss, bias-corrected EMA (weight ${alpha.toFixed(2)}); branches continue the constant run's average`, xLabel: "tokens", yLabel: "train loss (nats/token)", yDomain: [lo - pad, hi + pad], id: `curves-${s.name}` }),
      caption: `Training loss of every run of size ${s.name}: the constant-LR run (grey), the cooldown branches (solid, one colour per budget), cosine baselines (dashed) and extra cooldown shapes (dotted). The y-axis starts after the first 15% of tokens.`,
    });
    figs.push({
      name: `lr-${s.name}`,
      svg: chart(lr, { title: `Learning rate — ${s.name}`, xLabel: "tokens", yLabel: "LR", id: `lr-${s.name}`, height: 360 }),
      caption: `Learning rates of the same runs: each cooldown branch leaves the constant LR at (1 − ${r.cooldown.fraction})·D; each cosine run decays from its own peak to ${r.cosine ? r.cosine.finalFraction : 0.1}× over its whole length.`,
    });
  }
  return figs;
}

function pointSeries(r: SweepResults, method: string, size: string): SweepPoint[] {
  return r.points.filter((p) => p.method === method && p.size === size).sort((a, b) => a.tokens - b.tokens);
}

function comparisonFigures(r: SweepResults, fits: FitSummary[]): Fig[] {
  const figs: Fig[] = [];
  const n = r.sizes.length;
  const has = (m: string) => r.points.some((p) => p.method === m);
  // Cooldown vs cosine (and extra shapes) at each budget.
  const series: Series[] = [];
  const delta: Series[] = [];
  r.sizes.forEach((s, i) => {
    const color = sizeColor(i, n);
    const c = pointSeries(r, "cooldown", s.name);
    series.push({ name: `${s.name} ${r.cooldown.shape} cooldown`, x: c.map((p) => p.tokens), y: c.map((p) => p.loss), mode: "line+markers", color });
    for (const sh of r.cooldown.extraShapes) {
      const e = pointSeries(r, `cooldown-${sh}`, s.name);
      if (e.length) series.push({ name: `${s.name} ${sh} cooldown`, x: e.map((p) => p.tokens), y: e.map((p) => p.loss), mode: "line+markers", marker: "triangle", dash: "2 3", color });
    }
    const k = pointSeries(r, "cosine", s.name);
    if (k.length) {
      series.push({ name: `${s.name} cosine`, x: k.map((p) => p.tokens), y: k.map((p) => p.loss), mode: "line+markers", marker: "square", dash: "7 4", color });
      const byT = new Map(k.map((p) => [p.tokens, p.loss]));
      const both = c.filter((p) => byT.has(p.tokens));
      delta.push({ name: `${s.name} ${r.cooldown.shape} − cosine`, x: both.map((p) => p.tokens), y: both.map((p) => p.loss - byT.get(p.tokens)!), mode: "line+markers", color });
      for (const sh of r.cooldown.extraShapes) {
        const e = pointSeries(r, `cooldown-${sh}`, s.name).filter((p) => byT.has(p.tokens));
        if (e.length) delta.push({ name: `${s.name} ${sh} − cosine`, x: e.map((p) => p.tokens), y: e.map((p) => p.loss - byT.get(p.tokens)!), mode: "line+markers", marker: "triangle", dash: "2 3", color });
      }
    }
  });
  figs.push({
    name: "cooldown-vs-cosine",
    svg: chart(series, { title: "Final validation loss: cooldown branches vs cosine", xLabel: "training tokens D", yLabel: "validation loss (nats/token)", xScale: "log", id: "cvc", legendTitle: "size, method" }),
    caption: `Final validation loss (mean over sources) at each budget: ${r.cooldown.fraction * 100}% cooldown branches of the constant-LR run (solid) against cosine runs trained from scratch to the same D (dashed).`,
  });
  if (delta.length) {
    figs.push({
      name: "cooldown-minus-cosine",
      svg: chart(delta, { title: "Cooldown minus cosine (final validation loss)", subtitle: "below zero: the cooldown branch is better", xLabel: "training tokens D", yLabel: "Δ loss (nats/token)", xScale: "log", refLines: [{ axis: "y", value: 0, color: "#333", dash: "3 3" }], id: "delta", height: 380 }),
      caption: "The difference at each budget; the paper finds it close to zero (the cooldown slightly better) for a 20% cooldown.",
    });
  }
  // SWA against raw weights and the cooldown.
  if (has("swa")) {
    const sw: Series[] = [];
    r.sizes.forEach((s, i) => {
      const color = sizeColor(i, n);
      const raw = pointSeries(r, "constant", s.name);
      const a = pointSeries(r, "swa", s.name);
      const c = pointSeries(r, "cooldown", s.name);
      sw.push({ name: `${s.name} constant LR (raw)`, x: raw.map((p) => p.tokens), y: raw.map((p) => p.loss), mode: "line+markers", marker: "cross", dash: "2 3", color });
      sw.push({ name: `${s.name} SWA`, x: a.map((p) => p.tokens), y: a.map((p) => p.loss), mode: "line+markers", marker: "diamond", dash: "7 4", color });
      sw.push({ name: `${s.name} cooldown`, x: c.map((p) => p.tokens), y: c.map((p) => p.loss), mode: "line+markers", color });
    });
    figs.push({
      name: "swa",
      svg: chart(sw, { title: "SWA of the constant-LR run vs raw weights vs cooldown", xLabel: "training tokens D", yLabel: "validation loss (nats/token)", xScale: "log", id: "swa", legendTitle: "size, weights" }),
      caption: `At each budget D: the constant-LR run's raw weights, its SWA average (window ${r.swa?.window} steps, a snapshot every ${r.swa?.interval}), and the cooldown branch ending at D.`,
    });
  }
  // Loss against compute with the envelope and the fitted frontier.
  const fc = fits.find((f) => f.method === "cooldown")?.fit ?? null;
  const lf: Series[] = [];
  const cool = r.points.filter((p) => p.method === "cooldown");
  r.sizes.forEach((s, i) => {
    const color = sizeColor(i, n);
    const c = pointSeries(r, "cooldown", s.name);
    lf.push({ name: `${s.name} cooldown`, x: c.map((p) => p.flops), y: c.map((p) => p.loss), mode: "line+markers", color });
    const k = pointSeries(r, "cosine", s.name);
    if (k.length) lf.push({ name: `${s.name} cosine`, x: k.map((p) => p.flops), y: k.map((p) => p.loss), mode: "scatter", marker: "square", color, opacity: 0.6 });
  });
  const env = lowerEnvelope(cool.map((p) => ({ x: p.flops, y: p.loss })));
  if (env.length >= 2) lf.push({ name: "envelope (lower hull)", x: env.map((p) => p.x), y: env.map((p) => p.y), color: "#111111", width: 2.6, opacity: 0.55 });
  if (fc && fc.alpha > 0 && fc.beta > 0 && cool.length) {
    const cs = logspace(Math.min(...cool.map((p) => p.flops)) / 2, Math.max(...cool.map((p) => p.flops)) * 2, 100);
    lf.push({ name: "compute-optimal (fit)", x: cs, y: cs.map((c) => computeOptimal(fc, c).loss), color: "#111111", dash: "6 4", width: 1.6 });
  }
  if (cool.length) {
    figs.push({
      name: "loss-vs-flops",
      svg: chart(lf, { xDomain: [Math.min(...r.points.map((p) => p.flops)) / 2, Math.max(...r.points.map((p) => p.flops)) * 2], title: "Loss against training compute", subtitle: "C = 6·N·D (the fit's convention; detailed FLOPs in the tables)", xLabel: "training compute C (FLOPs)", yLabel: "validation loss (nats/token)", xScale: "log", id: "lvf", legendTitle: "size, method" }),
      caption: "Every (N, D) point of the cooldown method (and cosine, squares), the envelope (lower convex hull of the cooldown points in log-compute), and, when the law could be fitted, its compute-optimal frontier L(N*(C), D*(C)).",
    });
  }
  // The fitted law against the data.
  if (fc) {
    const fs2: Series[] = [];
    const Ds = cool.map((p) => p.tokens);
    const grid = logspace(Math.min(...Ds) / 1.5, Math.max(...Ds) * 1.5, 80);
    r.sizes.forEach((s, i) => {
      const color = sizeColor(i, n);
      const c = pointSeries(r, "cooldown", s.name);
      fs2.push({ name: `${s.name} (N ${human(s.params)})`, x: c.map((p) => p.tokens), y: c.map((p) => p.loss), mode: "scatter", color, markerSize: 4.5 });
      fs2.push({ name: "", x: grid, y: grid.map((d) => predictLoss(fc, s.params, d)), color, dash: "6 4", width: 1.5 });
    });
    figs.push({
      name: "fit",
      svg: chart(fs2, { title: "Fitted law L(N, D) = E + A/N^α + B/D^β (cooldown points)", subtitle: `E ${fc.E.toPrecision(4)}, A ${fc.A.toPrecision(4)}, B ${fc.B.toPrecision(4)}, α ${fc.alpha.toPrecision(3)}, β ${fc.beta.toPrecision(3)}`, xLabel: "training tokens D", yLabel: "validation loss (nats/token)", xScale: "log", id: "fit", legendTitle: "size" }),
      caption: "Data (markers) and the fitted law at each size's N (dashed).",
    });
  }
  // Compute by method per size.
  const f = r.flops;
  const xs = r.sizes.map((s) => s.params);
  const by = (g: (x: (typeof f.sizes)[number]) => number) => f.sizes.map(g);
  const cf: Series[] = [
    { name: "cosine grid (one run per D)", x: xs, y: by((x) => x.cosine_grid), mode: "line+markers", marker: "square", dash: "7 4", color: paletteColor(1) },
    { name: "reusable: constant + cooldowns", x: xs, y: by((x) => x.constant + x.cooldowns[r.cooldown.shape]), mode: "line+markers", color: paletteColor(0) },
  ];
  if (r.swa) cf.push({ name: "SWA: one constant run to D_max", x: xs, y: by((x) => x.constant + x.constant_extension), mode: "line+markers", marker: "diamond", dash: "2 3", color: paletteColor(4) });
  figs.push({
    name: "compute",
    svg: chart(cf, { title: "Training FLOPs per model size, by method", subtitle: `all budgets of a size: reusable runs ${f.ratio.toFixed(3)}× the cosine grid overall`, xLabel: "parameters N", yLabel: "training FLOPs (detailed count)", xScale: "log", yScale: "log", id: "compute", height: 400 }),
    caption: "What each method costs to produce every budget of a size (docs/references.md §7 detailed FLOPs).",
  });
  return figs;
}

function logspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.pow(10, Math.log10(a) + ((Math.log10(b) - Math.log10(a)) * i) / (n - 1)));
}

function tables(r: SweepResults, fits: FitSummary[]): { setup: string; losses: string; flops: string; fit: string } {
  const setup = htmlTable(
    ["size", `N (${r.params})`, "total params", "non-emb. params", "d_model", "layers", "heads / kv", "ffn", "vocab", "LR const", "LR cosine", "budgets D (steps, branch step)"],
    r.sizes.map((s) => [s.name, s.params, s.total_params, s.non_embedding_params, s.model.d_model, s.model.layers, `${s.model.heads} / ${s.model.kv_heads}`, s.model.ffn, s.model.vocab, s.lr_constant, s.lr_cosine,
      s.budgets.map((b) => `${human(b.tokens)} (${b.steps}, ${b.branch_step})`).join("; ")]),
    { caption: `Sizes and budgets: ${r.tokens_per_step} tokens per step, sequence length ${r.seq_len}, warmup ${r.warmup} steps` },
  );
  const ix = index(r.points);
  const get = (m: string, k: string) => ix.get(m)?.get(k)?.loss;
  const extra = r.cooldown.extraShapes;
  const heads = ["size", "D", "D/N", `${r.cooldown.shape} cooldown`, ...extra.map((s) => `${s} cooldown`), "cosine", "cooldown − cosine", ...(r.swa ? ["constant (raw)", "SWA", "gap closed by SWA"] : [])];
  const rows: Cell[][] = [];
  for (const s of r.sizes) {
    for (const b of s.budgets) {
      const k = `${s.name}|${b.tokens}`;
      const c = get("cooldown", k), cs = get("cosine", k), raw = get("constant", k), sw = get("swa", k);
      rows.push([s.name, b.tokens, Number((b.tokens / s.params).toFixed(2)), c, ...extra.map((e) => get(`cooldown-${e}`, k)), cs,
        c !== undefined && cs !== undefined ? Number((c - cs).toFixed(4)) : null,
        ...(r.swa ? [raw, sw, raw !== undefined && sw !== undefined && c !== undefined && raw > c ? pct((raw - sw) / (raw - c)) : null] : [])]);
    }
  }
  const losses = htmlTable(heads, rows, { caption: "Final validation loss (mean over sources, nats/token)", digits: 5 });
  const f = r.flops;
  const fr: Cell[][] = f.sizes.map((x) => [x.size, x.per_token, x.constant, x.cooldowns[r.cooldown.shape], x.constant + x.cooldowns[r.cooldown.shape], x.cosine_grid, (x.constant + x.cooldowns[r.cooldown.shape]) / x.cosine_grid, x.reference_cooldown / x.cosine_grid, ...(r.swa ? [x.constant_extension] : [])]);
  fr.push(["all", null, f.sizes.reduce((a, x) => a + x.constant, 0), f.sizes.reduce((a, x) => a + x.cooldowns[r.cooldown.shape], 0), f.methods.cooldown, f.methods.cosine, f.ratio, f.reference.ratio, ...(r.swa ? [f.sizes.reduce((a, x) => a + x.constant_extension, 0)] : [])]);
  const flops = htmlTable(
    ["size", "FLOPs/token", "constant run (to last branch)", "cooldowns", "reusable total", "cosine grid", "ratio", "docs/references.md §7 formula ratio", ...(r.swa ? ["constant run beyond (SWA)"] : [])],
    fr,
    { caption: "Training FLOPs (detailed count, docs/references.md §7) by method" },
  ) + htmlTable(["method", "training seconds (measured)"], Object.entries(r.seconds).map(([k, v]) => [k, Number(v.toFixed(1))]), { caption: "Measured training time by part (sum over runs; concurrent jobs make these noisy)" });
  let fit = "";
  for (const s of fits) {
    fit += `<p>${escapeXml(`${s.method}: ${s.message}`)}</p>`;
  }
  const ok = fits.filter((s) => s.fit);
  if (ok.length) {
    fit += htmlTable(["points", "E", "A", "B", "α", "β", "N* ∝ C^a", "D* ∝ C^b", "Huber loss"], ok.map((s) => {
      const x = s.fit!;
      return [s.method, x.E, x.A, x.B, x.alpha, x.beta, x.beta / (x.alpha + x.beta), x.alpha / (x.alpha + x.beta), x.huber_loss];
    }), { caption: "Chinchilla fit L(N, D) = E + A/N^α + B/D^β (docs/references.md §7: Huber δ 1e-3 in log space, L-BFGS from a grid of starts)" });
    const fc = ok[0].fit!;
    const cool = r.points.filter((p) => p.method === ok[0].method);
    if (fc.alpha > 0 && fc.beta > 0 && cool.length) {
      const cs = logspace(Math.min(...cool.map((p) => p.flops)), Math.max(...cool.map((p) => p.flops)) * 10, 5);
      fit += htmlTable(["budget C = 6ND", "N*", "D*", "D*/N*", "predicted loss"], cs.map((c) => {
        const o = computeOptimal(fc, c);
        return [c, o.params, o.tokens, o.tokens_per_param, o.loss];
      }), { caption: `Compute-optimal allocation under the ${ok[0].method} fit (extrapolated beyond the data past the largest budget)` });
    } else if (ok.length) fit += `<p class="note">The fit is degenerate (α or β ≤ 0), so it gives no compute-optimal allocation.</p>`;
  }
  return { setup, losses, flops, fit };
}

/** Write DIR/report (or opts.outDir): one SVG per figure and index.html; returns the files written. */
export function writeSweepReport(dir: string, opts: SweepReportOptions = {}): { files: string[]; findings: Finding[]; fits: FitSummary[] } {
  const L = load(dir);
  const r = L.r;
  const outDir = opts.outDir ?? path.join(dir, "report");
  fs.mkdirSync(outDir, { recursive: true });
  const fits = [fitMethod(r, "cooldown", opts.grid)];
  if (r.points.some((p) => p.method === "cosine")) fits.push(fitMethod(r, "cosine", opts.grid));
  const curves = curveFigures(L);
  const comp = comparisonFigures(r, fits);
  const files: string[] = [];
  for (const fg of [...curves, ...comp]) {
    const file = path.join(outDir, `${fg.name}.svg`);
    writeFileAtomic(file, fg.svg);
    files.push(file);
  }
  const found = findings(r, fits);
  const t = tables(r, fits);
  const fig = (name: string) => comp.find((x) => x.name === name);
  const sec = (title: string, html: string) => `<h2>${escapeXml(title)}</h2>\n${html}`;
  const figHtml = (x: Fig | undefined) => (x ? figure(x.svg, x.caption) : "");
  const missing = r.jobs.filter((j) => j.status !== "done");
  const body = [
    `<h1>Scaling study with reusable runs — ${escapeXml(r.name)}</h1>`,
    `<p>Per model size, one constant-LR run; for each token budget D a ${r.cooldown.fraction * 100}% ${escapeXml(r.cooldown.shape)} cooldown branched from its checkpoint at ${(1 - r.cooldown.fraction).toFixed(2)}·D${r.cosine ? "; cosine runs from scratch at every budget for comparison" : ""}${r.swa ? "; SWA readouts of the constant run at every budget" : ""} (Hägele et al. 2024). Losses are the mean validation loss over the data sources at the end of each run. Sweep file: <code>${escapeXml(r.sweep_file)}</code>.</p>`,
    missing.length ? `<p class="note">Incomplete sweep: ${missing.length} of ${r.jobs.length} jobs are not finished (${escapeXml(missing.map((j) => `${j.id} ${j.status}`).join(", "))}); missing points are shown as —.</p>` : "",
    sec("Findings", `<ul class="findings">${found.map((x) => `<li><b>${escapeXml(x.verdict)}</b> — ${escapeXml(x.claim)}: ${escapeXml(x.detail)}.</li>`).join("\n")}</ul>`),
    sec("Setup", t.setup + (r.notes.length ? `<ul>${r.notes.map((n) => `<li>${escapeXml(n)}</li>`).join("")}</ul>` : "")),
    sec("Final losses", t.losses + figHtml(fig("cooldown-vs-cosine")) + figHtml(fig("cooldown-minus-cosine"))),
    r.swa ? sec("SWA against raw weights", figHtml(fig("swa"))) : "",
    sec("Loss against compute and the fitted law", figHtml(fig("loss-vs-flops")) + t.fit + figHtml(fig("fit"))),
    sec("Compute saved by reusable runs", t.flops + figHtml(fig("compute"))),
    sec("Loss and learning-rate curves", curves.length ? curves.map((x) => figure(x.svg, x.caption)).join("\n") : `<p class="note">The runs' metrics were not found next to results.json, so the curves are omitted.</p>`),
    `<p style="color:#777;font-size:.85em">Written by <code>smol report</code> from results.json; the figures are also separate SVG files beside this page.</p>`,
  ].join("\n");
  const html = path.join(outDir, "index.html");
  writeFileAtomic(html, page(`Sweep report — ${r.name}`, body));
  files.push(html);
  return { files, findings: found, fits };
}
