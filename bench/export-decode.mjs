// Decode speed of the exported models in their runtimes against SmolLab (issue 18): batch 1,
// greedy, KV cache, tokens/s for N new tokens after a short prompt. SmolLab (native backend) on
// the model directory in fp32 and with --weights bf16, and on the Q8_0 GGUF (its int8 codes:
// --weights auto) vs llama.cpp via node-llama-cpp on the same GGUF files at F32 and Q8_0 (F32 KV
// cache, as in the tests), vs onnxruntime-node on the fp32 ONNX export. Rounds are interleaved;
// best of R. The load average is recorded (the machine may be shared).
//   node bench/export-decode.mjs [--shapes r19m,135m] [--tokens 64] [--rounds 2] [--threads 1]
//                                [--out export-decode]
// One thread by default: on a machine shared with other work, llama.cpp's spinning thread barriers
// collapse at 2 threads (measured: 1.9 vs 830 tokens/s on a tiny model), which would not be a fair race.
// Writes bench/results/export-decode.md (a fragment for BENCHMARKS.md) and .jsonl.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
if (!fs.existsSync(path.join(root, "dist/src/cli/main.js"))) {
  console.error("bench: dist/ is missing; run `npm run build` first");
  process.exit(1);
}
const { values } = parseArgs({ options: { shapes: { type: "string", default: "r19m,135m" }, tokens: { type: "string", default: "64" }, rounds: { type: "string", default: "2" }, threads: { type: "string", default: "1" }, out: { type: "string", default: "export-decode" } } });
const N = Number(values.tokens);
const R = Number(values.rounds);
const threads = Number(values.threads);
process.env.SMOL_THREADS ??= String(threads);

const { defaultBackend } = await import(path.join(root, "dist/src/backend/index.js"));
const { findPreset } = await import(path.join(root, "dist/src/models/presets.js"));
const { LlamaModel } = await import(path.join(root, "dist/src/models/llama.js"));
const { saveModel, loadModel } = await import(path.join(root, "dist/src/models/hf.js"));
const { generate } = await import(path.join(root, "dist/src/models/generate.js"));
const { exportGguf } = await import(path.join(root, "dist/src/export/gguf.js"));
const { exportOnnx } = await import(path.join(root, "dist/src/export/onnx.js"));
const { smolLm2StyleTokenizer } = await import(path.join(root, "dist/test/export/fixture.js"));
const { loadLlamaCpp } = await import(path.join(root, "dist/test/export/llama-cpp.js"));
const ort = await import("onnxruntime-node");

const be = defaultBackend().backend;
const rt = await loadLlamaCpp();
if (typeof rt === "string") throw new Error(rt);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smol-bench-export-"));
const SHAPES = { r19m: "research-19m", "135m": "smollm2-135m" };

async function smolDecode(dir, prompt, weights = "auto") {
  const m = loadModel(dir, be, { withGrad: false, weights });
  try {
    const r = generate(m, prompt, { maxNewTokens: N, temperature: 0, topK: 0, topP: 1, seed: 0 });
    return r.ids.length / r.decodeSeconds;
  } finally {
    m.dispose();
  }
}

async function ortDecode(file, cfg, prompt) {
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const i64 = (xs, dims) => new ort.Tensor("int64", BigInt64Array.from(xs.map(BigInt)), dims);
  let past = {};
  for (let l = 0; l < cfg.layers; l++) for (const kv of ["key", "value"]) past[`past_key_values.${l}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, cfg.kvHeads, 0, cfg.headDim]);
  let ids = prompt;
  let pos = 0;
  let t0 = 0;
  for (let step = 0; step <= N; step++) {
    if (step === 1) t0 = performance.now();
    const r = await s.run({ input_ids: i64(ids, [1, ids.length]), attention_mask: i64(Array(pos + ids.length).fill(1), [1, pos + ids.length]), position_ids: i64(ids.map((_, i) => pos + i), [1, ids.length]), ...past });
    pos += ids.length;
    const V = cfg.vocab;
    const lg = r.logits.data.subarray((ids.length - 1) * V, ids.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (lg[v] > lg[best]) best = v;
    ids = [best];
    past = {};
    for (let l = 0; l < cfg.layers; l++) for (const kv of ["key", "value"]) past[`past_key_values.${l}.${kv}`] = r[`present.${l}.${kv}`];
  }
  const tps = N / ((performance.now() - t0) / 1000);
  await s.release();
  return tps;
}

const rows = [];
for (const key of values.shapes.split(",")) {
  const preset = findPreset(SHAPES[key]);
  const c = { ...preset.config, maxSeq: 512, initStd: 0.04 };
  const dir = path.join(tmp, key);
  const tokDir = smolLm2StyleTokenizer(path.join(tmp, `${key}-tok`), c.vocab);
  const m = new LlamaModel(be, c, { withGrad: false });
  m.initialize(1);
  saveModel(m, dir, { tokenizerDir: tokDir });
  m.dispose();
  const f32 = path.join(tmp, `${key}-f32.gguf`);
  const q8 = path.join(tmp, `${key}-q8_0.gguf`);
  await exportGguf(dir, f32, be, "f32");
  await exportGguf(dir, q8, be, "q8_0");
  await exportOnnx(dir, path.join(tmp, `${key}-onnx`), be, ["fp32"]);
  const prompt = Array.from({ length: 16 }, (_, i) => 100 + i * 7);
  const best = { smol: 0, smolBf16: 0, smolQ8: 0, llamaF32: 0, llamaQ8: 0, ort: 0 };
  const load = [];
  for (let r = 0; r < R; r++) {
    load.push(os.loadavg()[0]);
    best.smol = Math.max(best.smol, await smolDecode(dir, prompt, "fp32"));
    best.llamaF32 = Math.max(best.llamaF32, await rt.decodeSpeed(f32, prompt, N, threads));
    best.smolQ8 = Math.max(best.smolQ8, await smolDecode(q8, prompt, "auto"));
    best.llamaQ8 = Math.max(best.llamaQ8, await rt.decodeSpeed(q8, prompt, N, threads));
    best.smolBf16 = Math.max(best.smolBf16, await smolDecode(dir, prompt, "bf16"));
    best.ort = Math.max(best.ort, await ortDecode(path.join(tmp, `${key}-onnx`, "onnx", "model.onnx"), c, prompt));
    console.log(`${key} round ${r + 1}: SmolLab fp32 ${best.smol.toFixed(1)}, llama.cpp F32 ${best.llamaF32.toFixed(1)}, SmolLab Q8_0 ${best.smolQ8.toFixed(1)}, llama.cpp Q8_0 ${best.llamaQ8.toFixed(1)}, SmolLab bf16 ${best.smolBf16.toFixed(1)}, onnxruntime ${best.ort.toFixed(1)} tokens/s (best so far; load ${os.loadavg()[0].toFixed(1)})`);
  }
  load.push(os.loadavg()[0]);
  rows.push({ shape: SHAPES[key], threads, tokens: N, ...best, loadavg1: [Math.min(...load), Math.max(...load)] });
}
await rt.dispose();
fs.rmSync(tmp, { recursive: true, force: true });

const cpu = os.cpus()[0]?.model ?? "?";
const md = [
  `Decode, batch 1, greedy, ${N} new tokens after a 16-token prompt, ${threads} threads, best of ${R} interleaved rounds; ${cpu}, Node ${process.version}; 1-minute load average during the rounds: ${rows.map((r) => `${r.shape} ${r.loadavg1.map((x) => x.toFixed(1)).join("–")}`).join(", ")}.`,
  "",
  "| shape | SmolLab fp32 | llama.cpp F32 | SmolLab / llama.cpp F32 | SmolLab Q8_0 (GGUF codes) | llama.cpp Q8_0 | SmolLab / llama.cpp Q8_0 | SmolLab bf16 | onnxruntime fp32 | SmolLab fp32 / onnxruntime |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows.map((r) => `| ${r.shape} | ${r.smol.toFixed(1)} | ${r.llamaF32.toFixed(1)} | ${(r.smol / r.llamaF32).toFixed(2)}× | ${r.smolQ8.toFixed(1)} | ${r.llamaQ8.toFixed(1)} | ${(r.smolQ8 / r.llamaQ8).toFixed(2)}× | ${r.smolBf16.toFixed(1)} | ${r.ort.toFixed(1)} | ${(r.smol / r.ort).toFixed(2)}× |`),
  "",
].join("\n");
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, `bench/results/${values.out}.md`), md);
fs.writeFileSync(path.join(root, `bench/results/${values.out}.jsonl`), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
console.log("\n" + md);
