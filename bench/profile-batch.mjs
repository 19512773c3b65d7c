#!/usr/bin/env node
// Where batched greedy decoding's time goes (issue 14): a random model of a preset's shape with
// GPT-2's vocabulary, 16 synthetic prompts of P tokens, NEW new tokens; runs the prefill alone
// (packed for batch 16, per prompt one at a time), then batch 16 and one prompt at a time through
// generateGreedyBatch with every backend call timed (Proxy), and prints wall seconds, backend
// seconds, the top backend ops and the allocations' total, then the ratio's upper bound if
// batched decoding made the decode steps' weight products free (Amdahl). Needs `npm run build`.
//   node bench/profile-batch.mjs [PRESET=research-7m] [P=900] [NEW=256] [fp32|bf16|q8_0]
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as os from "node:os";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
process.env.SMOL_THREADS ??= "1";
const { defaultBackend } = await import(`${root}/dist/src/backend/index.js`);
const { findPreset } = await import(`${root}/dist/src/models/presets.js`);
const { LlamaModel } = await import(`${root}/dist/src/models/llama.js`);
const { generateGreedyBatch } = await import(`${root}/dist/src/models/batch-decode.js`);
const raw = defaultBackend().backend;
const times = new Map(); let on = true;
const be = new Proxy(raw, { get(t, k) { const v = t[k]; if (typeof v !== "function") return v; return (...a) => { const t0 = performance.now(); const r = v.apply(t, a); const e = times.get(k) ?? [0, 0]; e[0] += performance.now() - t0; e[1]++; times.set(k, e); return r; }; } });
const shape = process.argv[2] ?? "research-7m", P = Number(process.argv[3] ?? 900), NEW = Number(process.argv[4] ?? 256);
const cfg = { ...findPreset(shape).config, vocab: 50257, maxSeq: 2048 };
const m = new LlamaModel(be, cfg, { withGrad: false }); m.initialize(1);
if (process.argv[5]) m.packWeights(process.argv[5]);
const prompts = Array.from({ length: 16 }, (_, i) => Array.from({ length: P }, (_, t) => (i * 7919 + t * 31) % 50000));
console.log(`${shape}, ${P}-token prompts, ${NEW} new tokens, SMOL_THREADS=${process.env.SMOL_THREADS}, ${os.cpus()[0]?.model}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
const runs = {};
for (const [label, n, bs] of [["prefill only, batch 16", 1, 16], ["prefill only, one at a time", 1, 1], ["batch 16", NEW, 16], ["one at a time", NEW, 1]]) {
  times.clear();
  const t0 = performance.now();
  generateGreedyBatch(m, prompts, { maxNewTokens: n, batchSize: bs });
  const ms = performance.now() - t0;
  const be_ms = [...times.values()].reduce((a, b) => a + b[0], 0);
  runs[label] = { ms, matmul: times.get("matmul")?.[0] ?? 0 };
  console.log(`${label}: ${(ms / 1000).toFixed(2)} s, backend ${(be_ms / 1000).toFixed(2)} s`, [...times.entries()].sort((a, b) => b[1][0] - a[1][0]).slice(0, 5).map(([k, v]) => `${String(k)} ${(v[0] / 1000).toFixed(2)}s/${v[1]}`).join(", "), `(alloc ${(times.get("alloc")?.[0] ?? 0).toFixed(1)} ms/${times.get("alloc")?.[1] ?? 0})`);
}
// Amdahl: batching shares the decode steps' weight products and packs the prefills' products
// into one GEMM; the attention over each row's own cache and the sampling cost the same per item
// in both modes. If the batched decode products were free, the batched time would be its own
// prefill plus one-at-a-time's decode time without its products.
const one = runs["one at a time"], pre1 = runs["prefill only, one at a time"], pre16 = runs["prefill only, batch 16"];
const decodeProducts = one.matmul - pre1.matmul;
const floor = pre16.ms + (one.ms - pre1.ms - decodeProducts);
console.log(`batched / one at a time: ${(one.ms / runs["batch 16"].ms).toFixed(2)}x; upper bound with free batched decode products: ${(one.ms / floor).toFixed(2)}x (prefill ${(pre1.ms / 1000).toFixed(2)} s alone vs ${(pre16.ms / 1000).toFixed(2)} s packed; one-at-a-time decode products ${(decodeProducts / 1000).toFixed(2)} s of ${(one.ms / 1000).toFixed(2)} s)`);
