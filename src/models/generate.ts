// Autoregressive decoding with the KV cache: one prefill forward over the prompt, then one
// token per forward. Sampling: greedy (temperature 0), temperature, top-k, top-p (nucleus).
import type { FloatBuf } from "../backend/backend.js";
import { ShapeError } from "../errors.js";
import { Engine } from "../tensor/engine.js";
import { Rng } from "../util/rng.js";
import { assertFiniteOutput } from "./finite.js";
import { KVCache, type LlamaModel } from "./llama.js";

export interface SampleOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP: number;
  seed: number;
}

export interface GenerateOptions extends SampleOptions {
  maxNewTokens: number;
  /** Stop when one of these ids is produced (it is included in the output). */
  stopIds?: readonly number[];
  /** Called with each new token id as soon as it is chosen. */
  onToken?: (id: number) => void;
}

export interface GenerateResult {
  ids: number[];
  /** Seconds spent on the prompt (prefill) and on the new tokens (decode). */
  prefillSeconds: number;
  decodeSeconds: number;
  stoppedBy: "stop" | "length";
}

/** Pick a token from one row of logits. */
export function sampleToken(logits: ArrayLike<number>, opts: SampleOptions, rng: Rng): number {
  const V = logits.length;
  if (opts.temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let idx = Array.from({ length: V }, (_, i) => i);
  if (opts.topK > 0 && opts.topK < V) {
    idx.sort((a, b) => logits[b] - logits[a] || a - b);
    idx = idx.slice(0, opts.topK);
  }
  let max = -Infinity;
  for (const i of idx) max = Math.max(max, logits[i]);
  const probs = idx.map((i) => Math.exp((logits[i] - max) / opts.temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (opts.topP < 1) {
    const order = probs.map((p, j) => j).sort((a, b) => probs[b] - probs[a] || idx[a] - idx[b]);
    const keep: number[] = [];
    let acc = 0;
    for (const j of order) {
      keep.push(j);
      acc += probs[j] / total;
      if (acc >= opts.topP) break;
    }
    idx = keep.map((j) => idx[j]);
    const kept = keep.map((j) => probs[j]);
    probs.length = 0;
    probs.push(...kept);
    total = kept.reduce((a, b) => a + b, 0);
  }
  let r = rng.next() * total;
  for (let j = 0; j < idx.length; j++) {
    r -= probs[j];
    if (r <= 0) return idx[j];
  }
  return idx[idx.length - 1];
}

/** Generate up to maxNewTokens after `prompt` (one sequence). */
export function generate<F extends FloatBuf>(model: LlamaModel<F>, prompt: readonly number[], opts: GenerateOptions): GenerateResult {
  if (prompt.length === 0) throw new ShapeError("generate: the prompt is empty (no tokens)");
  const maxT = Math.min(model.config.maxSeq, prompt.length + opts.maxNewTokens);
  if (prompt.length >= model.config.maxSeq) throw new ShapeError(`generate: the prompt has ${prompt.length} tokens, the model's context is ${model.config.maxSeq}`);
  const e = new Engine(model.be);
  const cache = new KVCache(model.be, model.config, 1, maxT);
  const rng = new Rng(opts.seed);
  const V = model.config.vocab;
  const out: number[] = [];
  let stoppedBy: GenerateResult["stoppedBy"] = "length";
  try {
    return e.noGrad(() => {
      const t0 = performance.now();
      // Prefill: the output head is needed at the last prompt position only.
      const h = model.hidden(e, Int32Array.from(prompt), 1, prompt.length, cache);
      let row = model.logits(e, h, Int32Array.of(prompt.length - 1)).data.subarray(0, V) as F;
      const t1 = performance.now();
      while (out.length < opts.maxNewTokens) {
        assertFiniteOutput(model.be, row, "logits");
        const id = sampleToken(row, opts, rng);
        out.push(id);
        opts.onToken?.(id);
        if (opts.stopIds?.includes(id)) {
          stoppedBy = "stop";
          break;
        }
        if (cache.length >= maxT) break;
        e.reset();
        row = model.forward(e, Int32Array.of(id), 1, 1, cache).data.subarray(0, V) as F;
      }
      const t2 = performance.now();
      return { ids: out, prefillSeconds: (t1 - t0) / 1000, decodeSeconds: (t2 - t1) / 1000, stoppedBy };
    });
  } finally {
    e.arena.dispose();
    cache.dispose(model.be);
  }
}
