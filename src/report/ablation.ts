// The HTML report of an ablation (`smol ablate` writes DIR/report.html): the metric table with
// standard errors and the difference of each branch to the control (bold when it exceeds two
// standard errors), each branch's configured mixture beside the token shares it actually trained
// on, and the validation-loss curves of the branches from their metrics.jsonl.
import * as fs from "node:fs";
import * as path from "node:path";
import type { AblationResults } from "../ablate/results.js";
import { resultRows } from "../ablate/results.js";
import { METRICS_FILE } from "../io/run-layout.js";
import { writeFileAtomic } from "../io/atomic.js";
import { readMetrics } from "../train/metrics.js";
import { figure, htmlTable, page } from "./html.js";
import { chart, escapeXml, type Series } from "./svg.js";

export function ablationHtml(r: AblationResults): string {
  const { headers, rows } = resultRows(r);
  const parts: string[] = [`<h1>Ablation ${escapeXml(r.name)} (${r.kind})</h1>`];
  if (r.parent) parts.push(`<p class="note">Branches from <code>${escapeXml(r.parent.run_dir)}</code> at step ${r.parent.step}, ${r.parent.decay_steps} decay steps; candidates at share ${r.share}, the previous mixture scaled to the rest. The control trains on the previous mixture alone.</p>`);
  parts.push("<h2>Metrics</h2>", "<p>value ± standard error; in brackets the difference to the control, <b>*</b> when it exceeds two standard errors of the difference (√(se²+se_control²)).</p>");
  parts.push(htmlTable(headers, rows));
  const sources = [...new Set(r.branches.flatMap((b) => [...Object.keys(b.mixture), ...Object.keys(b.token_shares)]))].sort();
  parts.push("<h2>Mixtures: configured and realised</h2>");
  parts.push(htmlTable(["branch", ...sources.map((s) => `${s} configured`), ...sources.map((s) => `${s} trained`), "tokens"], r.branches.map((b) => [
    b.name, ...sources.map((s) => b.mixture[s] ?? 0), ...sources.map((s) => (b.status === "done" ? b.token_shares[s] ?? 0 : null)),
    b.status === "done" ? Object.values(b.tokens_per_source).reduce((a, x) => a + x, 0) : null,
  ])));
  const series: Series[] = [];
  for (const b of r.branches) {
    const file = path.join(b.run_dir, METRICS_FILE);
    if (!fs.existsSync(file)) continue;
    const ev = readMetrics(file).filter((m) => m.type === "eval" && typeof m.val_loss_mean === "number");
    const tr = readMetrics(file).filter((m) => m.type === "train" && typeof m.loss === "number");
    if (tr.length) series.push({ name: `${b.name} train`, x: tr.map((m) => m.step as number), y: tr.map((m) => m.loss as number), width: 1.5 });
    if (ev.length) series.push({ name: `${b.name} val`, x: ev.map((m) => m.step as number), y: ev.map((m) => m.val_loss_mean as number), mode: "line+markers" });
  }
  if (series.length) parts.push("<h2>Loss during the branches</h2>", figure(chart(series, { xLabel: "step", yLabel: "loss (nats/token)", id: "ablation-loss" }), "training loss and mean validation loss of each branch"));
  return page(`ablation ${r.name}`, parts.join("\n"));
}

export function writeAblationReport(outDir: string, r: AblationResults): string {
  const file = path.join(outDir, "report.html");
  writeFileAtomic(file, ablationHtml(r));
  return file;
}
