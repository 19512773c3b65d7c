// Figures for one run directory, read from its metrics.jsonl: training loss (raw and a
// bias-corrected EMA) with stage boundaries, validation loss per source (raw, SWA, EMA), the learning
// rate, gradient norm, throughput, tokens per source and benchmark tasks (the dashboard's panels),
// plus the evaluation and configuration tables. Written as SVG files and one HTML page (RUN/report/).
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { readMetrics, type MetricRecord } from "../train/metrics.js";
import { figure, htmlTable, page, type Cell } from "./html.js";
import { readSamples } from "./samples.js";
import { autoAlpha, emaDebiased } from "./smooth.js";
import { chart, escapeXml, type RefLine, type Series } from "./svg.js";

export interface RunFigures {
  loss: string;
  val: string | undefined;
  lr: string;
  /** The dashboard's other panels, when the run logged them. */
  grad_norm?: string;
  throughput?: string;
  tokens?: string;
  tasks?: string;
}


function stageLines(train: MetricRecord[]): RefLine[] {
  const lines: RefLine[] = [];
  for (let i = 1; i < train.length; i++) {
    if (train[i].stage !== train[i - 1].stage) lines.push({ axis: "x", value: train[i - 1].step, label: String(train[i].stage), dash: "4 4", color: "#888" });
  }
  return lines;
}

/**
 * The training-loss series of a run: the raw loss, and a bias-corrected EMA over it (smooth.ts) whose
 * weight follows the number of points unless `alpha` is given. Both are drawn; neither hides the other.
 */
export function lossSeries(train: readonly MetricRecord[], alpha?: number): { steps: number[]; raw: number[]; smoothed: number[]; alpha: number } {
  const steps = train.map((r) => r.step);
  const raw = train.map((r) => (typeof r.loss === "number" ? r.loss : NaN));
  const a = alpha ?? autoAlpha(raw.length);
  return { steps, raw, smoothed: emaDebiased(raw, a), alpha: a };
}

export function runFigures(runDir: string): RunFigures {
  const recs = readMetrics(path.join(runDir, "metrics.jsonl"));
  const train = recs.filter((r) => r.type === "train");
  const evals = recs.filter((r) => r.type === "eval" && r.val_loss);
  const { steps, raw, smoothed, alpha } = lossSeries(train);
  const refLines = stageLines(train);
  const name = path.basename(path.resolve(runDir));
  const loss = chart(
    [
      { name: "train loss (raw)", x: steps, y: raw, opacity: 0.6, width: 1.2 },
      ...(alpha > 0 ? [{ name: `EMA ${alpha.toFixed(2)}`, x: steps, y: smoothed, width: 2 }] : []),
    ],
    { title: `Training loss — ${name}`, subtitle: alpha > 0 ? `raw loss and its bias-corrected EMA (weight ${alpha.toFixed(2)})` : undefined, xLabel: "step", yLabel: "loss (nats/token)", refLines, id: "loss" },
  );
  let val: string | undefined;
  if (evals.length) {
    const sources = Object.keys(evals[0].val_loss as Record<string, number>);
    const series: Series[] = sources.map((s) => ({ name: s, x: evals.map((r) => r.step), y: evals.map((r) => (r.val_loss as Record<string, number>)[s]), mode: "line+markers" }));
    for (const kind of ["swa", "ema"] as const) {
      const withAvg = evals.filter((r) => r[`val_loss_${kind}_mean`] !== undefined);
      if (withAvg.length) series.push({ name: `${kind.toUpperCase()} (mean)`, x: withAvg.map((r) => r.step), y: withAvg.map((r) => r[`val_loss_${kind}_mean`] as number), dash: "6 4", mode: "line+markers", marker: "diamond" });
    }
    if (sources.length > 1) series.push({ name: "mean", x: evals.map((r) => r.step), y: evals.map((r) => r.val_loss_mean as number), color: "#333", width: 2.5 });
    val = chart(series, { title: `Validation loss per source — ${name}`, xLabel: "step", yLabel: "loss (nats/token)", refLines, id: "val" });
  }
  const lr = chart([{ name: "", x: steps, y: train.map((r) => r.lr as number) }], { title: `Learning rate — ${name}`, xLabel: "step", yLabel: "LR", refLines, id: "lr", legend: "none" });
  const figs: RunFigures = { loss, val, lr };
  const num = (k: string) => train.map((r) => (typeof r[k] === "number" ? (r[k] as number) : NaN));
  if (train.some((r) => typeof r.grad_norm === "number")) {
    figs.grad_norm = chart([{ name: "", x: steps, y: num("grad_norm") }], { title: `Gradient norm (before clipping) — ${name}`, xLabel: "step", yLabel: "‖g‖", refLines, id: "grad_norm", legend: "none" });
  }
  if (train.some((r) => typeof r.tokens_per_s === "number")) {
    figs.throughput = chart([{ name: "", x: steps, y: num("tokens_per_s") }], { title: `Throughput — ${name}`, xLabel: "step", yLabel: "tokens/s", refLines, id: "throughput", legend: "none" });
  }
  const sources = [...new Set(train.flatMap((r) => Object.keys((r.tokens_by_source as Record<string, number>) ?? {})))];
  if (sources.length) {
    figs.tokens = chart(sources.map((src) => ({ name: src, x: steps, y: train.map((r) => (r.tokens_by_source as Record<string, number> | undefined)?.[src] ?? NaN) })), { title: `Tokens per source (cumulative) — ${name}`, xLabel: "step", yLabel: "tokens", refLines, id: "tokens" });
  }
  const tev = recs.filter((r) => r.type === "eval" && r.tasks && typeof r.tasks === "object");
  const taskNames = [...new Set(tev.flatMap((r) => Object.keys(r.tasks as Record<string, number>)))];
  if (taskNames.length) {
    figs.tasks = chart(taskNames.map((t) => ({ name: t, x: tev.map((r) => r.step), y: tev.map((r) => (r.tasks as Record<string, number>)[t] ?? NaN), mode: "line+markers" as const })), { title: `Benchmark tasks — ${name}`, xLabel: "step", yLabel: "score", refLines, id: "tasks" });
  }
  return figs;
}

/** Every eval record as a table row: step, stage, validation loss per source, means, tasks. */
function evalTable(recs: readonly MetricRecord[]): string {
  const evals = recs.filter((r) => r.type === "eval");
  if (!evals.length) return "";
  const sources = [...new Set(evals.flatMap((r) => Object.keys((r.val_loss as Record<string, number>) ?? {})))];
  const tasks = [...new Set(evals.flatMap((r) => Object.keys((r.tasks as Record<string, number>) ?? {})))];
  const avg = ["val_loss_mean", "val_loss_swa_mean", "val_loss_ema_mean"].filter((k) => evals.some((r) => typeof r[k] === "number"));
  const rows: Cell[][] = evals.map((r) => [
    r.step, typeof r.stage === "string" ? r.stage : null,
    ...sources.map((s) => (r.val_loss as Record<string, number> | undefined)?.[s] ?? null),
    ...avg.map((k) => (typeof r[k] === "number" ? (r[k] as number) : null)),
    ...tasks.map((t) => (r.tasks as Record<string, number> | undefined)?.[t] ?? null),
  ]);
  return htmlTable(["step", "stage", ...sources.map((s) => `val ${s}`), ...avg.map((k) => k.replace("val_loss_", "").replace("_mean", " mean")), ...tasks], rows, { caption: "Evaluations (validation loss in nats/token)" });
}

/** The resolved configuration as key/value rows (nested keys dotted). */
function configTable(runDir: string): string {
  let cfg: unknown;
  try {
    cfg = JSON.parse(fs.readFileSync(path.join(runDir, "config.resolved.json"), "utf8"));
  } catch {
    return "";
  }
  const rows: Cell[][] = [];
  const walk = (o: unknown, prefix: string) => {
    if (o && typeof o === "object" && !Array.isArray(o)) for (const [k, v] of Object.entries(o)) walk(v, prefix ? `${prefix}.${k}` : k);
    else if (prefix !== "config_hash") rows.push([prefix, typeof o === "string" ? o : JSON.stringify(o)]);
  };
  walk(cfg, "");
  return htmlTable(["key", "value"], rows, { caption: "Resolved configuration (config.resolved.json)" });
}

/** Write RUN/report/<figure>.svg and index.html; returns the paths written. */
export function writeRunReport(runDir: string, outDir = path.join(runDir, "report")): string[] {
  const figs = runFigures(runDir);
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const parts: string[] = [];
  for (const [k, svg] of Object.entries(figs)) {
    if (!svg) continue;
    const file = path.join(outDir, `${k}.svg`);
    writeFileAtomic(file, svg);
    written.push(file);
    parts.push(figure(svg));
  }
  const title = `SmolLab run report — ${path.basename(path.resolve(runDir))}`;
  const recs = readMetrics(path.join(runDir, "metrics.jsonl"));
  const samples = readSamples(runDir);
  const sampleTable = samples.length ? htmlTable(["step", "prompt", "completion"], samples.map((x) => [x.step, x.prompt, x.completion]), { caption: "Samples (samples.jsonl)" }) : "";
  const html = page(title, [`<h1>${escapeXml(title)}</h1>`, ...parts, evalTable(recs), sampleTable, configTable(runDir)].join("\n"));
  const index = path.join(outDir, "index.html");
  writeFileAtomic(index, html);
  written.push(index);
  return written;
}
