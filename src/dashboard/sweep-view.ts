// What the dashboard's sweep view shows, computed from a sweep's results.json: points by method,
// cooldown − cosine (and extra shapes − main cooldown) deltas per size and budget, the loss-vs-
// compute envelope, the Chinchilla law fitted to the cooldown points with its compute-optimal
// frontier, the findings and the FLOPs saved. Plain data for the browser to draw.
import * as path from "node:path";
import { lowerEnvelope, type XY } from "../report/envelope.js";
import { findings, fitMethod, type Finding, type FitSummary } from "../report/sweep.js";
import { computeOptimal } from "../scaling/fit.js";
import { readResults, type SweepPoint } from "../sweep/results.js";

export interface Delta {
  size: string;
  tokens: number;
  /** The method compared and the one it is compared against. */
  method: string;
  against: string;
  loss: number;
  reference: number;
  delta: number;
}

export interface SweepView {
  name: string;
  complete: boolean;
  sizes: Array<{ name: string; params: number }>;
  methods: string[];
  points: SweepPoint[];
  deltas: Delta[];
  envelope: XY[];
  fits: FitSummary[];
  frontier: { flops: number[]; loss: number[]; params: number[]; tokens: number[] } | null;
  findings: Finding[];
  flops: { methods: Record<string, number>; ratio: number; saved_fraction: number };
  jobs: Array<{ id: string; run: string; status: string; step: number; steps: number }>;
}

function logspace(a: number, b: number, n: number): number[] {
  const la = Math.log10(a), lb = Math.log10(b);
  return Array.from({ length: n }, (_, i) => 10 ** (la + ((lb - la) * i) / (n - 1)));
}

/** Build the sweep view of DIR (reads DIR/results.json; the law is fitted from a coarse grid). */
export function sweepView(dir: string): SweepView {
  const r = readResults(path.join(dir, "results.json"));
  const methods = [...new Set(r.points.map((p) => p.method))];
  const key = (p: SweepPoint) => `${p.size}|${p.tokens}`;
  const byMethod = new Map<string, Map<string, SweepPoint>>();
  for (const p of r.points) {
    if (!byMethod.has(p.method)) byMethod.set(p.method, new Map());
    byMethod.get(p.method)!.set(key(p), p);
  }
  const deltas: Delta[] = [];
  const compare = (method: string, against: string) => {
    for (const [k, p] of byMethod.get(method) ?? []) {
      const q = byMethod.get(against)?.get(k);
      if (q) deltas.push({ size: p.size, tokens: p.tokens, method, against, loss: p.loss, reference: q.loss, delta: p.loss - q.loss });
    }
  };
  compare("cooldown", "cosine");
  for (const m of methods.filter((x) => x.startsWith("cooldown-"))) compare(m, "cooldown");
  compare("swa", "constant");
  const cool = r.points.filter((p) => p.method === "cooldown");
  const fits = [fitMethod(r, "cooldown", "coarse")];
  if (methods.includes("cosine")) fits.push(fitMethod(r, "cosine", "coarse"));
  const fc = fits[0].fit;
  let frontier: SweepView["frontier"] = null;
  if (fc && fc.alpha > 0 && fc.beta > 0 && cool.length) {
    const cs = logspace(Math.min(...cool.map((p) => p.flops)) / 2, Math.max(...cool.map((p) => p.flops)) * 2, 60);
    const opt = cs.map((c) => computeOptimal(fc, c));
    frontier = { flops: cs, loss: opt.map((o) => o.loss), params: opt.map((o) => o.params), tokens: opt.map((o) => o.tokens) };
  }
  return {
    name: r.name,
    complete: r.complete,
    sizes: r.sizes.map((s) => ({ name: s.name, params: s.params })),
    methods,
    points: r.points,
    deltas,
    envelope: lowerEnvelope(cool.map((p) => ({ x: p.flops, y: p.loss }))),
    fits,
    frontier,
    findings: findings(r, fits),
    flops: { methods: r.flops.methods, ratio: r.flops.ratio, saved_fraction: r.flops.saved_fraction },
    jobs: r.jobs.map((j) => ({ id: j.id, run: j.run, status: j.status, step: j.step, steps: j.steps })),
  };
}
