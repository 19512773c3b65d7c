#!/usr/bin/env node
// The dashboard under load (issue 20): R runs of S logged steps each (default 50 × 100k, written
// once to --dir in the trainer's metrics.jsonl format), served by `smol dashboard` in a child
// process. Measures: server start (discovery + run list), first page load in chromium (default
// selection), overlaying every run, server memory (VmRSS/VmHWM), and the delay from appending a
// line to the point in the browser. Reference in the same run: reading the same files with
// readMetrics() (what `smol report` does). Writes bench/results/dashboard.md.
// Usage: node bench/dashboard.mjs [--runs 50] [--steps 100000] [--dir /tmp/smol-dash-bench]
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

const root = path.join(path.dirname(new URL(import.meta.url).pathname), "..");
if (!fs.existsSync(path.join(root, "dist/src/cli/main.js"))) {
  console.error("bench/dashboard: dist/ is missing; run `npm run build` first");
  process.exit(1);
}
const { values } = parseArgs({ options: { runs: { type: "string", default: "50" }, steps: { type: "string", default: "100000" }, dir: { type: "string", default: path.join(os.tmpdir(), "smol-dash-bench") }, chromium: { type: "string", default: "/usr/bin/chromium" } } });
const R = Number(values.runs), S = Number(values.steps), DIR = values.dir;
const { readMetrics } = await import(path.join(root, "dist/src/train/metrics.js"));

// ---- data ---------------------------------------------------------------------------------------
function writeRun(dir, seed) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.resolved.json"), JSON.stringify({ config_hash: `h${seed}`, config: { name: `r${seed}`, steps: S * 2, seed, optimizer: { lr: 0.001 * (1 + (seed % 5)) } } }));
  const fd = fs.openSync(path.join(dir, "metrics.jsonl"), "w");
  let buf = [];
  const bySrc = { web: 0, code: 0, math: 0 };
  for (let s = 1; s <= S; s++) {
    bySrc.web += 2867; bySrc.code += 819; bySrc.math += 410;
    const loss = 2.5 + 6 * Math.exp(-s / (2000 + seed * 50)) + 0.05 * Math.sin(s * 0.37 + seed);
    buf.push(JSON.stringify({ type: "train", step: s, tokens: s * 4096, stage: "web-heavy", lr: 0.004, loss, grad_norm: 0.5 + 0.1 * Math.cos(s), tokens_per_s: 5000 + (s % 97), elapsed_s: s * 0.8, flops: s * 4096 * 1.2e7, tokens_by_source: { ...bySrc }, tokens_by_stage: { "web-heavy": s * 4096 }, epochs: { web: s / 1e5, code: s / 2e4, math: s / 1e4 } }));
    if (s % 1000 === 0) buf.push(JSON.stringify({ type: "eval", step: s, tokens: s * 4096, stage: "web-heavy", val_loss: { web: loss + 0.1, code: loss - 0.2, math: loss }, val_loss_mean: loss }));
    if (buf.length >= 5000) { fs.writeSync(fd, buf.join("\n") + "\n"); buf = []; }
  }
  if (buf.length) fs.writeSync(fd, buf.join("\n") + "\n");
  fs.closeSync(fd);
}
const marker = path.join(DIR, `.made-${R}x${S}`);
if (!fs.existsSync(marker)) {
  fs.rmSync(DIR, { recursive: true, force: true });
  const t0 = performance.now();
  for (let i = 0; i < R; i++) writeRun(path.join(DIR, `run-${String(i).padStart(2, "0")}`), i);
  fs.writeFileSync(marker, "");
  console.log(`wrote ${R} runs × ${S} steps to ${DIR} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const runDirs = fs.readdirSync(DIR).filter((n) => n.startsWith("run-")).sort().map((n) => path.join(DIR, n));
const bytes = runDirs.reduce((a, d) => a + fs.statSync(path.join(d, "metrics.jsonl")).size, 0);

// ---- reference: readMetrics ---------------------------------------------------------------------
const ms = (t0) => performance.now() - t0;
let t = performance.now();
readMetrics(path.join(runDirs[0], "metrics.jsonl"));
const ref1 = ms(t);
t = performance.now();
for (const d of runDirs) readMetrics(path.join(d, "metrics.jsonl"));
const refAll = ms(t);

// ---- the server ---------------------------------------------------------------------------------
const vm = (pid) => {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, "m")) ?? [])[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
};
t = performance.now();
const child = spawn(process.execPath, [path.join(root, "dist/src/cli/main.js"), "dashboard", DIR, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/at (http:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
  child.on("exit", (c) => reject(new Error(`dashboard exited ${c}`)));
});
const startMs = ms(t);
const memStart = vm(child.pid);
await (await fetch(`${url}api/runs`)).json(); // warm the HTTP client
t = performance.now();
const list = await (await fetch(`${url}api/runs`)).json();
const listMs = ms(t);

const results = { runs: R, steps: S, bytes, ref1, refAll, startMs, listMs, memStart };
let browser;
try {
  if (!fs.existsSync(values.chromium)) throw new Error(`no chromium at ${values.chromium}`);
  const { chromium } = await import("playwright-core");
  const udd = fs.mkdtempSync(path.join(os.tmpdir(), "smol-bench-chromium-"));
  browser = await chromium.launchPersistentContext(udd, { executablePath: values.chromium, headless: true, viewport: { width: 1400, height: 1000 }, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const load = async (hash) => {
    await page.goto("about:blank");
    const t0 = performance.now();
    await page.goto(`${url}#${hash}`);
    await page.waitForSelector("body[data-first='1']", { timeout: 600_000 });
    const first = ms(t0);
    await page.waitForSelector("body[data-ready='1']", { timeout: 1_200_000 });
    return [first, ms(t0)];
  };
  [, results.firstLoad] = await load("");
  [, results.firstLoadAgain] = await load(""); // the run's columns are now cached by the server
  let polling = true;
  const lat = [];
  const poller = (async () => {
    while (polling && lat.length < 20) {
      const t0 = performance.now();
      await (await fetch(`${url}api/runs`)).text();
      lat.push(ms(t0));
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  [results.overlayFirst, results.overlayAll] = await load(`runs=${list.runs.map((r) => r.id).join(",")}`);
  polling = false;
  await poller;
  results.listDuringParse = Math.max(...lat);
  // The server stays responsive while it parses: the run list answered during that load.
  [, results.overlayAgain] = await load(`runs=${list.runs.map((r) => r.id).join(",")}`);
  results.memAll = vm(child.pid);
  // Live: append to one of the 50 overlaid runs; time until the browser holds the new point.
  const live = [];
  const target = list.runs[0].id;
  for (let k = 0; k < 5; k++) {
    const n = await page.evaluate((id) => window.__dash.points(id), target);
    const t0 = performance.now();
    fs.appendFileSync(path.join(runDirs[0], "metrics.jsonl"), JSON.stringify({ type: "train", step: S + 1 + k, tokens: (S + 1 + k) * 4096, lr: 0.004, loss: 2.5, grad_norm: 0.5, tokens_per_s: 5000, elapsed_s: (S + k) * 0.8 }) + "\n");
    await page.waitForFunction(([id, m]) => window.__dash.points(id) === m + 1, [target, n], { timeout: 30_000 });
    live.push(ms(t0));
  }
  results.liveMs = live.sort((a, b) => a - b)[2];
  // Interaction: change the x-axis with every run overlaid (a full redraw of every chart).
  const t1 = performance.now();
  await page.selectOption("#xaxis", "tokens");
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  results.redrawMs = ms(t1);
  fs.rmSync(udd, { recursive: true, force: true });
} catch (e) {
  results.browserSkipped = e.message;
  t = performance.now();
  await Promise.all(list.runs.map((r) => fetch(`${url}api/metrics?run=${encodeURIComponent(r.id)}&max=5000`).then((x) => x.json())));
  results.overlayAllApi = ms(t);
  results.memAll = vm(child.pid);
} finally {
  await browser?.close();
  child.kill("SIGINT");
}
// Restore the appended run so a rerun measures the same files.
const f0 = path.join(runDirs[0], "metrics.jsonl");
const keep = fs.readFileSync(f0, "utf8").split("\n").filter((l) => l && JSON.parse(l).step <= S);
fs.writeFileSync(f0, keep.join("\n") + "\n");

const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.cpus()[0]?.model;
const f = (x) => (x === undefined ? "—" : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const md = `### Dashboard: ${R} runs × ${S.toLocaleString("en-US")} logged steps (${(bytes / 2 ** 30).toFixed(2)} GiB of metrics.jsonl)

Measured on ${cpu} (${os.cpus().length} cores, shared with other work), Node ${process.version}, \`node bench/dashboard.mjs --runs ${R} --steps ${S}\`.

| what | time / memory |
|---|---|
| server start: discovery, status and last record of every run (tail reads) | ${f(startMs)} |
| \`GET /api/runs\` | ${f(listMs)} |
| server memory after start (VmRSS) | ${memStart.rss.toFixed(0)} MiB |
| first page load in chromium, default selection (1 run: parse its ${S.toLocaleString("en-US")} lines, send ≤ 5,000 points) | ${f(results.firstLoad)} |
| same page again (columns cached) | ${f(results.firstLoadAgain)} |
| all ${R} runs overlaid, first curves drawn (runs load 3 at a time) | ${f(results.overlayFirst)} |
| all ${R} runs overlaid, every run parsed and drawn (≤ 2,000 points per run) | ${f(results.overlayAll ?? results.overlayAllApi)} |
| all ${R} runs overlaid again (columns within the 512 MiB cache are reused, the rest re-parsed) | ${f(results.overlayAgain)} |
| \`GET /api/runs\` while the server parses (worst of 20 during the first overlay) | ${f(results.listDuringParse)} |
| server memory with all ${R} runs loaded (VmRSS / peak VmHWM) | ${results.memAll.rss.toFixed(0)} / ${results.memAll.hwm.toFixed(0)} MiB |
| appended line → point in the browser, ${R} runs overlaid (median of 5) | ${f(results.liveMs)} |
| x-axis change with ${R} runs overlaid (redraw of every chart) | ${f(results.redrawMs)} |
| **reference**: \`readMetrics()\` (as \`smol report\` reads) of 1 run | ${f(ref1)} |
| **reference**: \`readMetrics()\` of all ${R} runs | ${f(refAll)} |
${results.browserSkipped ? `\nBrowser part skipped (${results.browserSkipped}); the overlay row is the API alone.\n` : ""}`;
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/dashboard.md"), md);
console.log(md);
console.log(JSON.stringify(results));
