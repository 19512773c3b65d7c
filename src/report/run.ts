// Figures for one run directory, read from its metrics.jsonl: training loss with stage
// boundaries, validation loss per source (raw, SWA, EMA), and the learning rate. Written as SVG
// files and one self-contained HTML page (RUN/report/).
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic.js";
import { readMetrics, type MetricRecord } from "../train/metrics.js";
import { chart, escapeXml, type RefLine, type Series } from "./svg.js";

export interface RunFigures {
  loss: string;
  val: string | undefined;
  lr: string;
}

/** Exponential moving average for a readable training-loss curve. */
function smooth(ys: number[], alpha = 0.9): number[] {
  const out: number[] = [];
  let s = ys[0] ?? 0;
  for (const y of ys) out.push((s = alpha * s + (1 - alpha) * y));
  return out;
}

function stageLines(train: MetricRecord[]): RefLine[] {
  const lines: RefLine[] = [];
  for (let i = 1; i < train.length; i++) {
    if (train[i].stage !== train[i - 1].stage) lines.push({ axis: "x", value: train[i - 1].step, label: String(train[i].stage), dash: "4 4", color: "#888" });
  }
  return lines;
}

export function runFigures(runDir: string): RunFigures {
  const recs = readMetrics(path.join(runDir, "metrics.jsonl"));
  const train = recs.filter((r) => r.type === "train");
  const evals = recs.filter((r) => r.type === "eval" && r.val_loss);
  const steps = train.map((r) => r.step);
  const losses = train.map((r) => r.loss as number);
  const refLines = stageLines(train);
  const name = path.basename(path.resolve(runDir));
  const loss = chart(
    [
      { name: "train loss", x: steps, y: losses, opacity: 0.35, width: 1 },
      { name: "smoothed", x: steps, y: smooth(losses) },
    ],
    { title: `Training loss — ${name}`, xLabel: "step", yLabel: "loss (nats/token)", refLines, id: "loss" },
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
