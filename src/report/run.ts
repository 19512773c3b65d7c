// Figures for one run directory, read from its metrics.jsonl: training loss with stage
// boundaries, validation loss per source (raw, SWA, EMA), and the learning rate. Written as SVG
// files and one self-contained HTML page (RUN/report/).
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { readMetrics, type MetricRecord } from "../train/metrics.js";
import { autoAlpha, emaDebiased } from "./smooth.js";
import { chart, escapeXml, type RefLine, type Series } from "./svg.js";

export interface RunFigures {
  loss: string;
  val: string | undefined;
  lr: string;
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
  return { loss, val, lr };
}

/** Write RUN/report/{loss,val,lr}.svg and index.html; returns the paths written. */
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
    parts.push(`<figure>${svg}</figure>`);
  }
  const title = `SmolLab run report — ${escapeXml(path.basename(path.resolve(runDir)))}`;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}figure{margin:1.5em 0}</style>
</head><body><h1>${title}</h1>${parts.join("\n")}</body></html>\n`;
  const page = path.join(outDir, "index.html");
  writeFileAtomic(page, html);
  written.push(page);
  return written;
}
