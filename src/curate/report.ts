// report.html of a curation run: the funnel (documents, characters and tokens after each step),
// score histograms recorded by steps, and removed examples with their reasons. Self-contained
// HTML with inline SVG; everything comes from the final pass, so the page is deterministic.
import type { CurateStats, RemovedExample } from "./pipeline.js";
import type { Histogram } from "./steps/step.js";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const n = (x: number | null) => (x === null ? "—" : x.toLocaleString("en-US"));
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : "—");

function histogramSvg(h: Histogram): string {
  const W = 480;
  const H = 160;
  const max = Math.max(1, ...h.counts);
  const bw = (W - 40) / h.counts.length;
  const bars = h.counts
    .map((c, i) => {
      const bh = ((H - 30) * c) / max;
      return `<rect x="${(30 + i * bw).toFixed(1)}" y="${(H - 20 - bh).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="#4e79a7"><title>[${h.edges[i].toFixed(2)}, ${h.edges[i + 1].toFixed(2)}): ${c}</title></rect>`;
    })
    .join("");
  const ticks = [0, Math.floor(h.counts.length / 2), h.counts.length]
    .map((i) => `<text x="${(30 + i * bw).toFixed(1)}" y="${H - 5}" font-size="11" text-anchor="middle">${+h.edges[i].toFixed(2)}</text>`)
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="${esc(h.label)}"><text x="30" y="12" font-size="12">${esc(h.label)} (max bin ${max})</text>${bars}${ticks}</svg>`;
}

export function renderReport(stats: CurateStats, examples: RemovedExample[][], histograms: Array<{ step: string; h: Histogram }>): string {
  const inDocs = stats.input.documents;
  const rows = [
    `<tr><td>input</td><td></td><td>${n(inDocs)}</td><td>100%</td><td>${n(stats.input.characters)}</td><td>${n(stats.input.tokens)}</td><td></td></tr>`,
    ...stats.steps.map((s) => {
      const w = inDocs ? (100 * s.documents_out) / inDocs : 0;
      return `<tr><td>${esc(s.name)}</td><td>${esc(s.type)}</td><td>${n(s.documents_out)}</td><td>${pct(s.documents_out, inDocs)}</td><td>${n(s.characters_out)}</td><td>${n(s.tokens_out)}</td><td><div class="bar" style="width:${w.toFixed(1)}%"></div> −${n(s.removed)}</td></tr>`;
    }),
  ].join("\n");
  const ex = stats.steps
    .map((s, i) => {
      const items = examples[i].map((e) => `<li><b>${esc(e.id)}</b>: ${esc(e.reason)}<pre>${esc(e.text)}</pre></li>`).join("");
      return `<h3>${esc(s.name)} (${n(s.removed)} removed)</h3>${items ? `<ul>${items}</ul>` : "<p>none removed</p>"}`;
    })
    .join("\n");
  const hist = histograms.length ? histograms.map(({ step, h }) => `<figure>${histogramSvg(h)}<figcaption>${esc(step)}</figcaption></figure>`).join("\n") : "<p>No step recorded scores.</p>";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smol curate report</title>
<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){text-align:left}.bar{display:inline-block;height:10px;background:#59a14f;max-width:200px;min-width:1px}td:last-child{text-align:left;width:260px}pre{white-space:pre-wrap;background:#f6f6f6;padding:4px;max-height:8em;overflow:auto;font-size:12px}</style>
</head><body>
<h1>Curation report</h1>
<p>${n(stats.input.files)} input files, ${n(inDocs)} documents (${n(stats.input.skipped)} bad records skipped) → ${n(stats.output.documents)} kept (${pct(stats.output.documents, inDocs)}). Token counts: ${stats.tokenizer ? esc(stats.tokenizer) : "no tokenizer configured (stats.tokenizer)"}.</p>
<h2>Funnel</h2>
<table><tr><th>after step</th><th>type</th><th>documents</th><th>of input</th><th>characters</th><th>tokens</th><th>removed</th></tr>
${rows}
</table>
<h2>Scores</h2>
${hist}
<h2>Removed examples</h2>
${ex}
</body></html>
`;
}
