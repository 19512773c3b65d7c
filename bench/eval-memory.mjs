#!/usr/bin/env node
// Evaluation memory (issue 21): peak RSS of `smol bench eval` against PyTorch
// (bench/torch/llama_bench.py eval, no_grad) on the benchmark shapes of bench/compare.mjs, each a
// fresh process, SmolLab and PyTorch interleaved. Target: SmolLab's peak RSS ≤ PyTorch's on every
// shape. Peak RSS does not depend on machine load; the tokens/s columns do (recorded, with the
// load average). Writes <out>/eval-memory.md and <out>/eval-memory.jsonl.
//
// Usage: node bench/eval-memory.mjs [--python python3] [--configs r2m,r7m,r19m,135m] [--threads 2]
//          [--out bench/results]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const cli = join(root, "dist", "src", "cli", "main.js");
if (!existsSync(cli)) {
  console.error("bench/eval-memory: dist/ is missing; run `npm run build` (npx tsc -p .) first");
  process.exit(2);
}
// The eval shapes of bench/compare.mjs (vocab, d, layers, heads/kv, ffn @ seq × batch).
const CONFIGS = {
  r2m: { model: "vocab=8192,d=128,layers=4,heads=4,kv=2,ffn=384", seq: 256, batch: 16 },
  r7m: { model: "vocab=8192,d=256,layers=6,heads=8,kv=4,ffn=768", seq: 256, batch: 16 },
  r19m: { model: "vocab=16384,d=384,layers=8,heads=6,kv=2,ffn=1024", seq: 512, batch: 8 },
  "135m": { model: "smollm2-135m", seq: 512, batch: 4 },
};
const { values } = parseArgs({
  options: {
    python: { type: "string", default: "python3" }, configs: { type: "string", default: Object.keys(CONFIGS).join(",") },
    threads: { type: "string", default: "2" }, out: { type: "string", default: join(root, "bench", "results") },
  },
});
const keys = values.configs.split(",");
for (const k of keys) if (!CONFIGS[k]) { console.error(`bench/eval-memory: --configs: unknown "${k}" (one of ${Object.keys(CONFIGS).join(", ")})`); process.exit(2); }

const torchVersion = spawnSync(values.python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
if (torchVersion.status !== 0) {
  console.error(`bench/eval-memory: ${values.python} cannot import torch (pip install torch, or --python PATH)`);
  process.exit(2);
}
const cpuName = (/Model name:\s*(.+)/.exec(spawnSync("lscpu", [], { encoding: "utf8" }).stdout ?? "") ?? [])[1]?.trim() ?? cpus()[0]?.model;
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
const idle = {
  smol: Number(spawnSync(process.execPath, ["--input-type=module", "-e", `const m = await import(${JSON.stringify(join(root, "dist/src/backend/index.js"))}); m.defaultBackend(); console.log(process.resourceUsage().maxRSS / 1024)`], { encoding: "utf8" }).stdout.trim()),
  torch: Number(spawnSync(values.python, ["-c", "import torch, resource; torch.set_num_threads(1); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"], { encoding: "utf8" }).stdout.trim()),
};

function run(impl, c) {
  const common = ["--model", c.model, "--seq", String(c.seq), "--batch", String(c.batch), "--steps", "2", "--warmup", "1", "--threads", values.threads, "--json"];
  const [cmd, args] = impl === "smollab" ? [process.execPath, [cli, "bench", "eval", ...common]] : [values.python, [join(root, "bench/torch/llama_bench.py"), "eval", ...common]];
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: root, maxBuffer: 64 << 20 });
  const line = (r.stdout ?? "").trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (r.status !== 0 || !line) throw new Error(`${impl} ${c.model}: exit ${r.status}: ${(r.stderr ?? "").trim().split("\n").at(-1)}`);
  return JSON.parse(line);
}

const rows = [];
for (const k of keys) {
  const c = CONFIGS[k];
  const before = load();
  const s = run("smollab", c);
  const t = run("torch", c);
  rows.push({ config: k, model: c.model, seq: c.seq, batch: c.batch, smol: s, torch: t, load: `${before} → ${load()}` });
  console.log(`${k}: SmolLab ${s.peakRssMiB.toFixed(0)} MiB (native ${s.nativeMiB.toFixed(0)}), PyTorch ${t.peakRssMiB.toFixed(0)} MiB; ${s.tokensPerS.toFixed(0)} vs ${t.tokensPerS.toFixed(0)} tok/s; load ${rows.at(-1).load}`);
}

const f = (x, d = 0) => x.toFixed(d);
const md = [
  "# Evaluation memory: SmolLab vs PyTorch (issue 21)",
  "",
  `Machine: ${cpuName}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; PyTorch ${torchVersion.stdout.trim()} (${values.python}). ${new Date().toISOString().slice(0, 16)}Z.`,
  `Each cell: a fresh process, forward-only evaluation (logits for every position), fp32, ${values.threads} threads, 1 warm-up + 2 measured steps: \`smol bench eval\` and \`bench/torch/llama_bench.py eval\` (\`torch.no_grad()\`, SDPA). Peak RSS is the whole process (max resident set), idle footprints included: node + SmolLab ${f(idle.smol)} MiB, python + torch ${f(idle.torch)} MiB.`,
  "Peak RSS does not depend on load; tokens/s do (load average 1/5/15 min before → after each row; above the CPU count, other work shared the cores).",
  "",
  "The \"above idle\" columns subtract each runtime's idle footprint: what the evaluation itself adds (weights, logits, activations, allocator slack).",
  "",
  "| config, seq × batch | SmolLab peak RSS MiB | of which native | PyTorch peak RSS MiB | SmolLab / PyTorch | RSS ≤ PyTorch | SmolLab above idle | PyTorch above idle | SmolLab tok/s | PyTorch tok/s | load avg |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.config} (${r.model}), ${r.seq} × ${r.batch} | ${f(r.smol.peakRssMiB)} | ${f(r.smol.nativeMiB)} | ${f(r.torch.peakRssMiB)} | ${f(r.smol.peakRssMiB / r.torch.peakRssMiB, 2)} | ${r.smol.peakRssMiB <= r.torch.peakRssMiB ? "yes" : "**no**"} | ${f(r.smol.peakRssMiB - idle.smol)} | ${f(r.torch.peakRssMiB - idle.torch)} | ${f(r.smol.tokensPerS)} | ${f(r.torch.tokensPerS)} | ${r.load} |`),
  "",
];
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, "eval-memory.md"), md.join("\n"));
writeFileSync(join(values.out, "eval-memory.jsonl"), rows.map((r) => JSON.stringify({ ...r, idle })).join("\n") + "\n");
console.log(`wrote ${join(values.out, "eval-memory.md")} and .jsonl`);
