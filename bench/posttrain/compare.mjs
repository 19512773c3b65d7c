// SmolLab vs PyTorch on one post-training step (issue 15): the SFT step (masked cross-entropy) and
// the DPO step (sigmoid loss, cached reference log-probs) of the same model on the same batch
// shape, forward + backward + clipping + AdamW, fp32, the same thread count, interleaved runs.
// SmolLab runs the objectives `smol sft` / `smol dpo` train with (src/posttrain). PyTorch:
// transformers' LlamaForCausalLM (torch_posttrain.py). Writes bench/results/posttrain-vs-torch.md.
//   node bench/posttrain/compare.mjs [--model SHAPE] [--batch 8] [--seq 256] [--threads 2] [--repeats 2]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const dist = (p) => path.join(root, "dist/src", p);
if (!fs.existsSync(dist("posttrain/sft.js"))) {
  console.error("run `npm run build` first");
  process.exit(1);
}
const { values: o } = parseArgs({ options: { model: { type: "string", default: "research-7m" }, batch: { type: "string", default: "8" }, seq: { type: "string", default: "256" }, threads: { type: "string", default: "2" }, repeats: { type: "string", default: "2" }, steps: { type: "string", default: "4" } } });
const [B, T, threads, repeats, steps] = [+o.batch, +o.seq, +o.threads, +o.repeats, +o.steps];
const { loadNative } = await import(dist("backend/native.js"));
const { parseModelSpec } = await import(dist("models/shape.js"));
const { LlamaModel } = await import(dist("models/llama.js"));
const { saveModel } = await import(dist("models/hf.js"));
const { Engine } = await import(dist("tensor/engine.js"));
const { AdamW } = await import(dist("optim/adamw.js"));
const { maskedObjective } = await import(dist("posttrain/sft.js"));
const { dpoObjective } = await import(dist("posttrain/dpo.js"));
const be = loadNative();
be.setThreads(threads);
const cfg = { ...parseModelSpec(o.model).config, maxSeq: Math.max(2048, T + 1) };
const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "smol-ptbench-")), "model");
{
  const m = new LlamaModel(be, cfg, { withGrad: false });
  m.initialize(0);
  saveModel(m, dir);
  m.dispose();
}

function batch(rows) {
  const inputs = new Int32Array(rows * T), targets = new Int32Array(rows * T);
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % cfg.vocab);
  for (let i = 0; i < rows * T; i++) {
    inputs[i] = rnd();
    targets[i] = i % T < T / 2 ? -1 : rnd();
  }
  return { inputs, targets, B: rows, T, tokens: rows * T, source: "bench" };
}

function smol(mode) {
  const model = new LlamaModel(be, cfg);
  model.initialize(0);
  const opt = new AdamW(be, model.params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decayNorms: false, decayEmbeddings: true, gradClip: 1 });
  const e = new Engine(be);
  const rows = mode === "dpo" ? 2 * B : B;
  const b = { ...batch(rows), refChosen: new Float64Array(B).fill(-100), refRejected: new Float64Array(B).fill(-100) };
  const obj = mode === "dpo" ? dpoObjective(0.5, "sigmoid") : maskedObjective;
  const times = [];
  for (let i = 0; i < 2 + steps; i++) {
    const t0 = performance.now();
    model.params.zeroGrad();
    const out = obj.loss(model, e, b);
    e.backward(out.loss);
    e.reset();
    opt.clip();
    opt.update(1e-5);
    if (i >= 2) times.push((performance.now() - t0) / 1000);
  }
  e.arena.dispose();
  opt.dispose();
  model.dispose();
  times.sort((x, y) => x - y);
  const med = times[Math.floor(times.length / 2)];
  return { tokens_per_s: (rows * T) / med, step_s: med };
}

function torch(mode) {
  const r = spawnSync("python3", [path.join(root, "bench/posttrain/torch_posttrain.py"), "--model", dir, "--mode", mode, "--batch", String(B), "--seq", String(T), "--threads", String(threads), "--steps", String(steps)], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

const rows = [];
for (const mode of ["sft", "dpo"]) {
  const s = [], t = [];
  for (let k = 0; k < repeats; k++) {
    s.push(smol(mode).tokens_per_s);
    t.push(torch(mode));
  }
  const best = (xs) => Math.max(...xs);
  const sb = best(s), tb = best(t.map((x) => x.tokens_per_s));
  rows.push({ mode, smol: sb, torch: tb, ratio: sb / tb, torchVersion: t[0].torch });
  console.log(`${mode}: SmolLab ${sb.toFixed(0)} tok/s, PyTorch ${tb.toFixed(0)} tok/s, ratio ${(sb / tb).toFixed(2)}x`);
}
const cpu = fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
const md = [
  `Post-training steps, ${o.model} (${cfg.vocab} vocab, d ${cfg.d}, ${cfg.layers} layers), ${B} ${"sequences"} × ${T} tokens (DPO: ${B} pairs = ${2 * B} rows), half of each row a prompt without loss, fp32, ${threads} threads, ${cpu}, best of ${repeats} interleaved runs of ${steps} timed steps (median), PyTorch ${rows[0].torchVersion} + transformers LlamaForCausalLM (SDPA):`,
  "",
  "| step | SmolLab tokens/s | PyTorch tokens/s | SmolLab / PyTorch |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.mode.toUpperCase()} | ${r.smol.toFixed(0)} | ${r.torch.toFixed(0)} | ${r.ratio.toFixed(2)}× |`),
];
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/posttrain-vs-torch.md"), md.join("\n") + "\n");
console.log(md.join("\n"));
