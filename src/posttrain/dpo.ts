// Direct preference optimisation (`smol dpo`): preference pairs tokenized per the DPO contract
// (posttrain/encode.ts), a frozen reference model whose completion log-probs are computed once and
// cached in the run directory (reference_logps.json), the sigmoid (DPO) or IPO loss with TRL's
// metric names, on the shared loop with the same checkpoints, metrics and bit-exact resume.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { defaultBackend } from "../backend/index.js";
import { ConfigError, DataError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { newReadStats } from "../data/jsonl.js";
import { readHfConfig } from "../io/hf-config.js";
import { loadModel } from "../models/hf.js";
import type { LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import { sha256File } from "../train/rundir.js";
import { train } from "../train/run.js";
import type { BatchSource, Objective, TrainSummary } from "../train/trainer.js";
import { ExampleStream, hashSequences } from "./batches.js";
import { readPreferenceRows } from "./chat-data.js";
import { chatTokenizer, writeTokenizerFiles } from "./chat-tokenizer.js";
import { checkFitsContext, toTrainConfig, type DpoConfig } from "./config.js";
import { encodePair, truncatePair, type EncodedPair } from "./encode.js";
import { dpoLoss, rowLogps, sequenceLoss, type DpoLossKind } from "./losses.js";
import type { PosttrainJob } from "./sft.js";

export const REFERENCE_CACHE = "reference_logps.json";

/** A micro-batch of m pairs: rows 0..m-1 chosen, m..2m-1 rejected (prompt + completion, padded). */
export interface PairBatch {
  inputs: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  tokens: number;
  refChosen: Float64Array;
  refRejected: Float64Array;
}

/** Rows for pairs: prompt + completion, targets only on completion tokens. */
export function pairRows(pairs: readonly EncodedPair[], pad: number): { inputs: Int32Array; targets: Int32Array; B: number; T: number; tokens: number } {
  const seqs = [...pairs.map((p) => [p.prompt, p.chosen] as const), ...pairs.map((p) => [p.prompt, p.rejected] as const)];
  const B = seqs.length;
  const T = Math.max(1, ...seqs.map(([p, c]) => p.length + c.length - 1));
  const inputs = new Int32Array(B * T).fill(pad);
  const targets = new Int32Array(B * T).fill(-1);
  let tokens = 0;
  seqs.forEach(([p, c], b) => {
    const ids = [...p, ...c];
    tokens += ids.length - 1;
    for (let t = 0; t < ids.length - 1; t++) {
      inputs[b * T + t] = ids[t];
      if (t + 1 >= p.length) targets[b * T + t] = ids[t + 1];
    }
  });
  return { inputs, targets, B, T, tokens };
}

/** Completion log-prob sums (chosen, rejected) of every pair under a model, without gradients. */
export function completionLogps(model: LlamaModel<FloatBuf>, pairs: readonly EncodedPair[], micro: number, pad: number): { chosen: number[]; rejected: number[] } {
  const e = new Engine(model.be);
  const chosen: number[] = [];
  const rejected: number[] = [];
  try {
    e.noGrad(() => {
      for (let i = 0; i < pairs.length; i += micro) {
        const part = pairs.slice(i, i + micro);
        const r = pairRows(part, pad);
        const logits = model.forward(e, r.inputs, r.B, r.T);
        const V = logits.shape[1];
        const losses = e.arena.alloc(r.B * r.T);
        const lse = e.arena.alloc(r.B * r.T);
        e.be.crossEntropyForward(losses, lse, logits.data, r.targets, r.B * r.T, V);
        const { logps } = rowLogps(losses, r.targets, r.B, r.T);
        for (let k = 0; k < part.length; k++) {
          chosen.push(logps[k]);
          rejected.push(logps[part.length + k]);
        }
        e.reset();
      }
    });
  } finally {
    e.arena.dispose();
  }
  return { chosen, rejected };
}

export function dpoObjective(beta: number, kind: DpoLossKind): Objective<PairBatch> {
  return {
    loss(model, e, b) {
      const m = b.B / 2;
      const logits = model.forward(e, b.inputs, b.B, b.T);
      let metrics: Record<string, number> = {};
      const { loss } = sequenceLoss(e, logits, b.targets, b.B, b.T, (r) => {
        const res = dpoLoss({
          policyChosen: r.logps.subarray(0, m), policyRejected: r.logps.subarray(m), refChosen: b.refChosen, refRejected: b.refRejected,
          lenChosen: r.counts.subarray(0, m), lenRejected: r.counts.subarray(m),
        }, beta, kind);
        metrics = res.metrics;
        const dSum = new Float64Array(b.B);
        dSum.set(res.dChosen, 0);
        dSum.set(res.dRejected, m);
        return { loss: res.loss, dSum };
      });
      return { loss, tokensBySource: { dpo: b.tokens }, metrics };
    },
  };
}

interface RefCache {
  format: "smollab-reference-logps";
  version: 1;
  key: string;
  train: { chosen: number[]; rejected: number[] };
  eval: { chosen: number[]; rejected: number[] };
}

function pairSource(pairs: readonly EncodedPair[], ref: { chosen: number[]; rejected: number[] }, micro: number, seed: number, shuffle: boolean, pad: number): BatchSource<PairBatch> {
  const stream = new ExampleStream(pairs.length, seed, shuffle);
  return {
    next() {
      const idx = stream.take(micro);
      return { ...pairRows(idx.map((i) => pairs[i]), pad), refChosen: Float64Array.from(idx, (i) => ref.chosen[i]), refRejected: Float64Array.from(idx, (i) => ref.rejected[i]) };
    },
    cursor: () => stream.cursor(),
    restore: (c) => stream.restore(c),
    epochs: () => ({ dpo: stream.epochs() }),
    close: () => {},
  };
}

/** Held-out reward statistics (TRL names with an eval_ prefix) of pairs under a model. */
export function evalRewards(model: LlamaModel<FloatBuf>, pairs: readonly EncodedPair[], ref: { chosen: number[]; rejected: number[] }, beta: number, kind: DpoLossKind, micro: number, pad: number): Record<string, number> {
  const pol = completionLogps(model, pairs, micro, pad);
  const len = (k: "chosen" | "rejected") => Int32Array.from(pairs, (p) => p[k].length);
  const r = dpoLoss({ policyChosen: Float64Array.from(pol.chosen), policyRejected: Float64Array.from(pol.rejected), refChosen: Float64Array.from(ref.chosen), refRejected: Float64Array.from(ref.rejected), lenChosen: len("chosen"), lenRejected: len("rejected") }, beta, kind);
  return Object.fromEntries([["eval_loss", r.loss], ...Object.entries(r.metrics).map(([k, v]) => [`eval_${k}`, v])]);
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** Run (or resume) a DPO job. */
export async function runDpo(cfg: DpoConfig, job: PosttrainJob): Promise<TrainSummary & { config: ReturnType<typeof toTrainConfig> }> {
  const log = job.hooks?.onLog ?? (() => {});
  const be: Backend<FloatBuf> = job.backend ?? defaultBackend().backend;
  const from = cfg.model.from;
  const refDir = cfg.reference ?? from;
  const modelConfig = readHfConfig(from);
  if (cfg.model.max_seq) modelConfig.maxSeq = cfg.model.max_seq;
  checkFitsContext("dpo.max_length", cfg.dpo.max_length, modelConfig.maxSeq, from);
  const refConfig = readHfConfig(refDir);
  if (refConfig.vocab !== modelConfig.vocab) throw new ConfigError(`reference: ${refDir} has a vocabulary of ${refConfig.vocab}, the model ${modelConfig.vocab}; the reference must share the model's tokenizer`);
  const ct = chatTokenizer({ tokenizerDir: cfg.tokenizer ?? from, modelDir: from, templateFile: cfg.chat_template, requireTemplate: false });
  const { max_length: maxLen, max_prompt_length: maxPrompt, beta, loss: kind } = cfg.dpo;
  const encodeAll = async (files: string | string[]) => {
    const stats = newReadStats();
    const rows = await readPreferenceRows(list(files), { onBad: cfg.data.on_bad, stats });
    if (stats.skipped) log(`skipped ${stats.skipped} bad row(s); first: ${stats.problems[0]}`);
    const pairs: EncodedPair[] = [];
    for (const r of rows) {
      if (Array.isArray(r.prompt) && !ct.template) throw new DataError(`${r.file}:${r.line}: message-list rows need a chat template, and ${from} has none`, "give chat_template: FILE.jinja, or use string rows");
      const p = truncatePair(encodePair(ct.tokenizer, ct.template, r.prompt, r.chosen, r.rejected), maxPrompt, maxLen);
      if (!p.chosen.length || !p.rejected.length) throw new DataError(`${r.file}:${r.line}: no completion tokens left after truncation to dpo.max_length ${maxLen}`, "raise dpo.max_length or lower dpo.max_prompt_length");
      pairs.push(p);
    }
    return pairs;
  };
  const pairs = await encodeAll(cfg.data.train);
  const evalPairs = cfg.data.eval ? await encodeAll(cfg.data.eval) : [];
  const { pairs_per_step: perStep, micro_batch: micro } = cfg.batch;
  const steps = Math.max(1, Math.ceil((cfg.epochs * pairs.length) / perStep));
  const config = toTrainConfig("dpo", cfg, steps, maxLen, perStep, micro, cfg.epochs);
  const pad = ct.tokenizer.eosId ?? 0;
  const flat = (ps: EncodedPair[]) => ps.flatMap((p) => [Int32Array.from(p.prompt), Int32Array.from(p.chosen), Int32Array.from(p.rejected)]);
  const refKey = hashSequences([...flat(pairs), new Int32Array([-1]), ...flat(evalPairs)], `${sha256File(path.join(refDir, "config.json"))}:${refWeightsDigest(refDir)}`);
  const identity = hashSequences(flat(pairs), refKey);
  const tokenizerDir = path.resolve(job.runDir, "tokenizer");
  const cacheFile = path.resolve(job.runDir, REFERENCE_CACHE);
  let cache = readRefCache(cacheFile, refKey);
  let fresh = false;
  if (cache) log(`reference log-probs from ${cacheFile}`);
  else {
    log(`computing reference log-probs of ${pairs.length + evalPairs.length} pairs with ${refDir} (once; cached in the run directory)`);
    const ref = loadModel(refDir, be, { withGrad: false });
    try {
      cache = { format: "smollab-reference-logps", version: 1, key: refKey, train: completionLogps(ref, pairs, micro, pad), eval: completionLogps(ref, evalPairs, micro, pad) };
    } finally {
      ref.dispose();
    }
    fresh = true;
  }
  const refs = cache;
  log(`DPO (${kind}, β ${beta}): ${pairs.length} pairs, ${steps} steps of ${perStep}`);
  const summary = await train({
    config, runDir: job.runDir, backend: be, signal: job.signal,
    external: { identity, tokenizerFingerprint: ct.fingerprint, tokenizerDir, modelConfig },
    prepareDir: () => {
      writeTokenizerFiles(tokenizerDir, ct.files);
      if (fresh) writeJsonAtomic(cacheFile, refs);
    },
    source: pairSource(pairs, refs.train, micro, cfg.seed, cfg.data.shuffle, pad),
    objective: dpoObjective(beta, kind),
    hooks: {
      ...job.hooks,
      onEvaluate: evalPairs.length ? ({ model }) => evalRewards(model, evalPairs, refs.eval, beta, kind, micro, pad) : undefined,
    },
  });
  return { ...summary, config };
}

function refWeightsDigest(dir: string): string {
  // Size and mtime-free identity: the SHA-256 of each weight file (small models; read once per start).
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".safetensors") && f !== "optimizer.safetensors" && f !== "averages.safetensors").sort();
  return files.map((f) => sha256File(path.join(dir, f))).join(",");
}

function readRefCache(file: string, key: string): RefCache | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const c = JSON.parse(fs.readFileSync(file, "utf8")) as RefCache;
    if (c.format === "smollab-reference-logps" && c.key === key && Array.isArray(c.train?.chosen)) return c;
  } catch {
    /* unreadable: recomputed */
  }
  return undefined;
}
