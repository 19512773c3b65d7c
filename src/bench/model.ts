// Steady-state speed of a model on a backend: training steps (forward, backward, clipping,
// AdamW), forward-only evaluation, and KV-cached decoding. Random weights and random tokens;
// warm-up steps are excluded so the numbers are what a long run sees. `precision` picks the
// linear layers' matmul kernels (train and eval; decoding is always fp32); `moments` and
// `checkpointing` pick AdamW's moment storage and activation checkpointing for training.
import type { Backend, FloatBuf } from "../backend/backend.js";
import type { LlamaConfig } from "../models/config.js";
import { parameterCount } from "../models/config.js";
import { generate } from "../models/generate.js";
import { LlamaModel } from "../models/llama.js";
import { ADAMW_DEFAULTS, AdamW, type MomentDtype } from "../optim/adamw.js";
import { flopsPerToken } from "../scaling/flops.js";
import { Engine, type Precision } from "../tensor/engine.js";
import { Rng } from "../util/rng.js";

export interface ModelBenchOptions {
  seq: number;
  batch: number;
  steps: number;
  warmup: number;
  /** Peak FLOP/s of the machine, for MFU (default 228e9: FP32 FMA peak of 2 Zen 4 cores). */
  peakFlops: number;
  /** Precision of the linear layers' matmuls and attention's products, train and eval (default fp32). */
  precision?: Precision;
  /** Training: AdamW moment storage (default fp32). */
  moments?: MomentDtype;
  /** Training: recompute each layer's activations in backward (default false). */
  checkpointing?: boolean;
  /**
   * Clock for train and eval steps, in ms (default performance.now: wall time). The CLI's
   * --cpu-time passes process CPU time, which at 1 thread ignores time the scheduler gives to
   * other processes on a shared machine.
   */
  now?: () => number;
}

export interface ModelBenchResult {
  mode: "train" | "eval" | "generate";
  params: number;
  threads: number;
  seq: number;
  batch: number;
  tokensPerS: number;
  stepSeconds: number;
  gflops: number;
  mfu: number;
  peakRssMiB: number;
  nativeMiB: number;
}

/** Matmul-and-attention FLOPs per token (the embedding lookup is a gather, not FLOPs). */
export function computeFlopsPerToken(c: LlamaConfig, seq: number): { forward: number; train: number } {
  const f = flopsPerToken(c, seq);
  const forward = f.forward - f.breakdown.embedding;
  return { forward, train: 3 * forward };
}

function randomIds(rng: Rng, n: number, vocab: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = rng.int(vocab);
  return ids;
}

function finish<F extends FloatBuf>(be: Backend<F>, mode: ModelBenchResult["mode"], c: LlamaConfig, o: ModelBenchOptions, times: number[], tokensPerStep: number, flopsPerStep: number): ModelBenchResult {
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const gflops = flopsPerStep / median / 1e9;
  return {
    mode, params: parameterCount(c), threads: be.getThreads(), seq: o.seq, batch: o.batch,
    tokensPerS: tokensPerStep / median, stepSeconds: median, gflops, mfu: (gflops * 1e9) / o.peakFlops,
    peakRssMiB: process.resourceUsage().maxRSS / 1024, nativeMiB: be.nativeBytes() / 2 ** 20,
  };
}

/** Training steps per second (median step time over `steps` after `warmup`). */
export function benchTrain<F extends FloatBuf>(be: Backend<F>, c: LlamaConfig, o: ModelBenchOptions): ModelBenchResult {
  const model = new LlamaModel(be, { ...c, maxSeq: Math.max(c.maxSeq, o.seq) });
  model.initialize(0);
  const opt = new AdamW(be, model.params, { ...ADAMW_DEFAULTS, moments: o.moments ?? "fp32" });
  const e = new Engine(be, undefined, { precision: o.precision, checkpointing: o.checkpointing ?? false });
  const rng = new Rng(1);
  const times: number[] = [];
  const N = o.batch * o.seq;
  const now = o.now ?? (() => performance.now());
  for (let s = 0; s < o.warmup + o.steps; s++) {
    const ids = randomIds(rng, N + 1, c.vocab);
    const t0 = now();
    model.params.zeroGrad();
    const { loss } = model.loss(e, ids.subarray(0, N), ids.subarray(1), o.batch, o.seq);
    e.backward(loss);
    e.reset();
    opt.clip();
    opt.update(1e-4);
    if (s >= o.warmup) times.push((now() - t0) / 1000);
  }
  const res = finish(be, "train", c, o, times, N, N * computeFlopsPerToken(c, o.seq).train);
  e.arena.dispose();
  opt.dispose();
  model.dispose();
  return res;
}

/** Forward-only evaluation throughput (logits for every position). */
export function benchEval<F extends FloatBuf>(be: Backend<F>, c: LlamaConfig, o: ModelBenchOptions): ModelBenchResult {
  const model = new LlamaModel(be, { ...c, maxSeq: Math.max(c.maxSeq, o.seq) }, { withGrad: false });
  model.initialize(0);
  const e = new Engine(be, undefined, { precision: o.precision });
  const rng = new Rng(1);
  const times: number[] = [];
  const N = o.batch * o.seq;
  const now = o.now ?? (() => performance.now());
  e.noGrad(() => {
    for (let s = 0; s < o.warmup + o.steps; s++) {
      const ids = randomIds(rng, N, c.vocab);
      const t0 = now();
      model.forward(e, ids, o.batch, o.seq);
      e.reset();
      if (s >= o.warmup) times.push((now() - t0) / 1000);
    }
  });
  const res = finish(be, "eval", c, o, times, N, N * computeFlopsPerToken(c, o.seq).forward);
  e.arena.dispose();
  model.dispose();
  return res;
}

/** Decoding speed: `steps` new tokens after a prompt of `seq` tokens, batch 1. */
export function benchGenerate<F extends FloatBuf>(be: Backend<F>, c: LlamaConfig, o: ModelBenchOptions): ModelBenchResult {
  const model = new LlamaModel(be, { ...c, maxSeq: Math.max(c.maxSeq, o.seq + o.steps + 1) }, { withGrad: false });
  model.initialize(0);
  const prompt = Array.from(randomIds(new Rng(1), o.seq, c.vocab));
  generate(model, prompt.slice(0, 8), { maxNewTokens: Math.min(4, o.steps), temperature: 0, topK: 0, topP: 1, seed: 0 });
  const r = generate(model, prompt, { maxNewTokens: o.steps, temperature: 0, topK: 0, topP: 1, seed: 0 });
  const per = r.decodeSeconds / Math.max(1, r.ids.length);
  const res = finish(be, "generate", c, { ...o, batch: 1 }, [per], 1, computeFlopsPerToken(c, o.seq).forward);
  model.dispose();
  return res;
}
