#!/usr/bin/env node
// SmolLM2-1.7B training steps on one machine (issue 21): continued-pretraining / SFT shape (batch 1,
// seq 512–2048) with reduced-precision AdamW moments and activation checkpointing. Each row is a
// fresh `smol bench train --model smollm2-1.7b` process (random init from the preset config, no
// download): tokens/s of the median measured step and the process's peak RSS. Before each row the
// script compares the memory it needs (weights + gradients + moments, from the parameter count)
// with MemAvailable and records a skip instead of starting a run the machine cannot hold.
// Writes <out>/smollm2-1.7b.md and <out>/smollm2-1.7b.jsonl.
//
// Usage: node bench/smollm2-1.7b.mjs [--runs 512:int8,512:bf16,2048:int8] [--steps 1] [--warmup 1]
//          [--threads 2] [--precision fp32] [--out bench/results] [--timeout 3600]
//   --runs: seq:moments pairs, one fresh process each (moments: fp32, bf16 or int8)
//   --append: keep the rows already in <out>/smollm2-1.7b.jsonl and add these
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const cli = join(root, "dist", "src", "cli", "main.js");
if (!existsSync(cli)) {
  console.error("bench/smollm2-1.7b: dist/ is missing; run `npm run build` (npx tsc -p .) first");
  process.exit(2);
}
const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "512:int8,512:bf16,2048:int8" }, append: { type: "boolean", default: false },
    steps: { type: "string", default: "1" }, warmup: { type: "string", default: "1" },
    threads: { type: "string", default: "2" }, precision: { type: "string", default: "fp32" },
    out: { type: "string", default: join(root, "bench", "results") }, timeout: { type: "string", default: "3600" },
  },
});
const { parameterCount } = await import(join(root, "dist/src/models/config.js"));
const { findPreset } = await import(join(root, "dist/src/models/presets.js"));
const config = findPreset("smollm2-1.7b").config;
const P = parameterCount(config);
const GiB = 2 ** 30;

/** Bytes of weights, gradients and AdamW moments (activations come on top). */
function stateBytes(moments) {
  const perParam = { fp32: 8, bf16: 4, int8: 2 + 8 / 256 }[moments];
  return { weights: 4 * P, grads: 4 * P, moments: perParam * P };
}
function memAvailable() {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : totalmem();
}
const cpuName = (() => {
  const r = spawnSync("lscpu", [], { encoding: "utf8" });
  return (/Model name:\s*(.+)/.exec(r.stdout ?? "") ?? [])[1]?.trim() ?? cpus()[0]?.model ?? "unknown";
})();
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

const rows = [];
if (values.append && existsSync(join(values.out, "smollm2-1.7b.jsonl"))) {
  for (const l of readFileSync(join(values.out, "smollm2-1.7b.jsonl"), "utf8").split("\n")) if (l.trim()) rows.push(JSON.parse(l));
}
/** Write the table and the raw rows so far (after every row: a long run stopped midway keeps what it measured). */
function write() {
  const f = (x, d = 1) => (x === undefined ? "–" : x.toFixed(d));
  const md = [
    "# SmolLM2-1.7B training steps (issue 21)",
    "",
    `Machine: ${cpuName}, ${cpus().length} CPUs, ${(totalmem() / GiB).toFixed(1)} GiB RAM. ${new Date().toISOString().slice(0, 16)}Z.`,
    `Model: the smollm2-1.7b preset (vocab ${config.vocab}, d ${config.d}, ${config.layers} layers, ${config.heads}/${config.kvHeads} heads, ffn ${config.ffn}, tied), ${(P / 1e9).toFixed(3)} B parameters, random init (no download).`,
    `Each row: \`smol bench train --model smollm2-1.7b --seq S --batch 1 --steps ${values.steps} --warmup ${values.warmup} --threads ${values.threads} --precision ${values.precision} --moments M --activation-checkpointing\` in a fresh process; tokens/s of the median measured step (forward with recomputation, backward, clipping, AdamW); peak RSS of the whole process.`,
    "Load average (1, 5, 15 min) before and after each row is recorded: where it exceeds the CPU count, other work shared the cores and the step times are pessimistic; peak RSS does not depend on load.",
    "State = weights + gradients (fp32) + AdamW moments, computed from the parameter count; fp32 moments would need " + f((stateBytes("fp32").weights + stateBytes("fp32").grads + stateBytes("fp32").moments) / GiB) + " GiB of state alone.",
    "",
    "| seq × batch | moments | state GiB | tokens/s | step s | peak RSS GiB | native GiB | load avg before → after | note |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.seq} × 1 | ${r.moments} | ${f(r.stateGiB)} | ${f(r.tokensPerS, 2)} | ${f(r.stepSeconds)} | ${r.peakRssMiB === undefined ? "–" : f(r.peakRssMiB / 1024, 2)} | ${r.nativeMiB === undefined ? "–" : f(r.nativeMiB / 1024, 2)} | ${r.loadBefore} → ${r.loadAfter ?? "–"} | ${r.skipped ?? r.failed ?? `${f(r.wallSeconds, 0)} s wall incl. init`} |`),
    "",
  ];
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, "smollm2-1.7b.md"), md.join("\n"));
  writeFileSync(join(values.out, "smollm2-1.7b.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

const runs = values.runs.split(",").map((r) => {
  const [seq, moments] = r.split(":");
  if (!/^\d+$/.test(seq ?? "") || !["fp32", "bf16", "int8"].includes(moments)) {
    console.error(`bench/smollm2-1.7b: --runs: expected seq:moments (e.g. 512:int8), got "${r}"`);
    process.exit(2);
  }
  return { seq: Number(seq), moments };
});
for (const { seq, moments } of runs) {
  const s = stateBytes(moments);
  const need = s.weights + s.grads + s.moments;
  const avail = memAvailable();
  const row = { model: "smollm2-1.7b", params: P, seq, batch: 1, moments, activationCheckpointing: true, precision: values.precision, steps: Number(values.steps), warmup: Number(values.warmup),
    threads: Number(values.threads), stateGiB: need / GiB, availableGiB: avail / GiB, loadBefore: load() };
  // Margin for activations (one layer recomputed at a time), logits and the runtime: 1.5 GiB.
  if (need + 1.5 * GiB > avail) {
    rows.push({ ...row, skipped: `needs ≥ ${((need + 1.5 * GiB) / GiB).toFixed(1)} GiB, ${(avail / GiB).toFixed(1)} GiB available` });
    console.log(`seq ${seq} ${moments}: skipped (${rows.at(-1).skipped})`);
    write();
    continue;
  }
  const args = [cli, "bench", "train", "--model", "smollm2-1.7b", "--seq", String(seq), "--batch", "1",
    "--steps", values.steps, "--warmup", values.warmup, "--threads", values.threads, "--precision", values.precision,
    "--moments", moments, "--activation-checkpointing", "--json"];
  console.log(`seq ${seq} ${moments}: node ${args.slice(1).join(" ")} (state ${(need / GiB).toFixed(1)} GiB, ${(avail / GiB).toFixed(1)} GiB available, load ${row.loadBefore})`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: "utf8", cwd: root, timeout: Number(values.timeout) * 1000 });
  const wall = (performance.now() - t0) / 1000;
  const line = (r.stdout ?? "").trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (r.status !== 0 || !line) {
    rows.push({ ...row, wallSeconds: wall, loadAfter: load(), failed: `exit ${r.status ?? r.signal}: ${(r.stderr ?? "").trim().split("\n").at(-1) ?? ""}` });
    console.log(`  FAILED: ${rows.at(-1).failed}`);
    write();
    continue;
  }
  const j = JSON.parse(line);
  rows.push({ ...row, ...j, wallSeconds: wall, loadAfter: load() });
  console.log(`  ${j.tokensPerS.toFixed(2)} tok/s, step ${j.stepSeconds.toFixed(1)} s, peak RSS ${(j.peakRssMiB / 1024).toFixed(2)} GiB (native ${(j.nativeMiB / 1024).toFixed(2)} GiB), ${wall.toFixed(0)} s in all, load ${load()}`);
  write();
}

console.log(`wrote ${join(values.out, "smollm2-1.7b.md")} and .jsonl`);
process.exit(rows.some((r) => r.failed) ? 1 : 0);
