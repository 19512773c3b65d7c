#!/usr/bin/env node
// Where SmolLab's decode time goes: wraps the backend in a Proxy that times every call, generates
// greedily with the KV cache from a random model of a preset's shape, and prints tokens/s and ms
// per backend op. Benchmark tooling only; needs `npm run build` first.
//   node bench/profile-decode.mjs [PRESET] [--threads N] [--tokens N]     (default research-19m, 1, 64)
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { threads: { type: "string", default: "1" }, tokens: { type: "string", default: "64" } } });
process.env.SMOL_THREADS = values.threads;
const N = Number(values.tokens);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { defaultBackend } = await import(`${root}/dist/src/backend/index.js`);
const { findPreset } = await import(`${root}/dist/src/models/presets.js`);
const { LlamaModel } = await import(`${root}/dist/src/models/llama.js`);
const { generate } = await import(`${root}/dist/src/models/generate.js`);
const raw = defaultBackend().backend;
const times = new Map();
let on = false;
const be = new Proxy(raw, {
  get(t, k) {
    const v = t[k];
    if (typeof v !== "function") return v;
    return (...a) => {
      if (!on) return v.apply(t, a);
      const t0 = performance.now();
      const r = v.apply(t, a);
      const e = times.get(k) ?? [0, 0];
      e[0] += performance.now() - t0;
      e[1]++;
      times.set(k, e);
      return r;
    };
  },
});
const c = { ...findPreset(positionals[0] ?? "research-19m").config, maxSeq: 512 };
const m = new LlamaModel(be, c, { withGrad: false });
m.initialize(1);
const prompt = Array.from({ length: 16 }, (_, i) => 100 + i);
const opts = { temperature: 0, topK: 0, topP: 1, seed: 0 };
generate(m, prompt, { ...opts, maxNewTokens: 8 });
on = true;
const r = generate(m, prompt, { ...opts, maxNewTokens: N });
const tot = [...times.values()].reduce((a, b) => a + b[0], 0);
console.log(`${positionals[0] ?? "research-19m"}: ${(N / r.decodeSeconds).toFixed(1)} tokens/s, ${((r.decodeSeconds * 1000) / N).toFixed(2)} ms/token; backend ${(tot / (N + 1)).toFixed(2)} ms/token`);
for (const [k, [ms, n]] of [...times].sort((a, b) => b[1][0] - a[1][0]).slice(0, 10)) console.log(`  ${k.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms ${String(n).padStart(6)} calls`);
