// Long-context evaluations: passkey retrieval (Mohtashami & Jaggi 2023's format: a five-digit key
// hidden at a chosen depth of repeated filler text, asked for at the end; greedy decoding must
// reproduce it) at several context lengths and depths, and the validation loss by token position
// (after a context extension the curve should keep falling past the old context, not rise).
// A model is evaluated at lengths beyond its context by extending its RoPE tables with its own θ.
import type { FloatBuf } from "../backend/backend.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { DataError } from "../errors.js";
import { generate } from "../models/generate.js";
import type { LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";
import { Rng } from "../util/rng.js";
import { meanWithStderr } from "./stats.js";

const INTRO = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.";
const FILLER = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
const QUESTION = " What is the pass key? The pass key is";

export interface PasskeyCell {
  /** Prompt length in tokens (the target; the real prompt is at most this long). */
  length: number;
  /** Where the key sits: 0 = right after the intro, 1 = just before the question. */
  depth: number;
  accuracy: number;
  stderr: number;
  trials: number;
  /** One prompt's real token count. */
  prompt_tokens: number;
}

/** One passkey prompt of at most `length` tokens with the key at `depth`, as token ids. */
export function passkeyPrompt(tok: Tokenizer, key: string, length: number, depth: number): number[] {
  const keyLine = ` The pass key is ${key}. Remember it. ${key} is the pass key.`;
  const build = (n: number) => {
    const before = Math.round(n * depth);
    return tok.encode(INTRO + FILLER.repeat(before) + keyLine + FILLER.repeat(n - before) + QUESTION);
  };
  const per = Math.max(1, tok.encode(FILLER.repeat(8)).length / 8);
  let n = Math.max(0, Math.floor((length - build(0).length) / per));
  let ids = build(n);
  while (ids.length > length && n > 0) ids = build(--n);
  if (ids.length > length) throw new DataError(`passkey: a prompt needs ${ids.length} tokens, more than the length ${length}`, "use longer lengths");
  return ids;
}

/** Greedy passkey retrieval accuracy per (length, depth), `trials` random keys each. */
export function passkeyEval<Fb extends FloatBuf>(model: LlamaModel<Fb>, tok: Tokenizer, opts: { lengths: readonly number[]; depths: readonly number[]; trials: number; seed?: number; onProgress?: (done: number, total: number) => void }): PasskeyCell[] {
  const rng = new Rng(opts.seed ?? 1234);
  const cells: PasskeyCell[] = [];
  const total = opts.lengths.length * opts.depths.length * opts.trials;
  let done = 0;
  const maxLen = Math.max(...opts.lengths) + 8;
  if (maxLen > model.config.maxSeq) model.setContext(model.config.ropeTheta, maxLen);
  for (const length of opts.lengths) {
    for (const depth of opts.depths) {
      const hits: number[] = [];
      let promptTokens = 0;
      for (let t = 0; t < opts.trials; t++) {
        const key = String(10000 + rng.int(90000));
        const ids = passkeyPrompt(tok, key, length, depth);
        promptTokens = ids.length;
        const out = generate(model, ids, { maxNewTokens: 8, temperature: 0, topK: 0, topP: 1, seed: 0 });
        hits.push(tok.decode(out.ids).trim().startsWith(key) ? 1 : 0);
        opts.onProgress?.(++done, total);
      }
      const m = meanWithStderr(hits);
      cells.push({ length, depth, accuracy: m.value, stderr: m.stderr ?? 0, trials: opts.trials, prompt_tokens: promptTokens });
    }
  }
  return cells;
}

/**
 * Mean next-token loss at each position 0..L−1 over windows of L+1 tokens of `stream` (stride L),
 * at most `maxWindows` windows. Position p predicts token p+1 from p+1 tokens of context.
 */
export function lossByPosition<Fb extends FloatBuf>(model: LlamaModel<Fb>, stream: Int32Array, L: number, maxWindows = Infinity): { loss: Float64Array; windows: number } {
  const windows = Math.min(maxWindows, Math.floor((stream.length - 1) / L));
  if (windows < 1) throw new DataError(`loss by position: the stream has ${stream.length} tokens, fewer than one window of ${L + 1}`, "use a shorter length or more validation data");
  if (L > model.config.maxSeq) model.setContext(model.config.ropeTheta, L);
  const sum = new Float64Array(L);
  const e = new Engine(model.be);
  try {
    e.noGrad(() => {
      for (let w = 0; w < windows; w++) {
        const ids = stream.slice(w * L, w * L + L);
        const targets = stream.slice(w * L + 1, w * L + L + 1);
        const { losses } = F.crossEntropy(e, model.forward(e, ids, 1, L), targets);
        for (let i = 0; i < L; i++) sum[i] += losses[i];
        e.reset();
      }
    });
  } finally {
    e.arena.dispose();
  }
  for (let i = 0; i < L; i++) sum[i] /= windows;
  return { loss: sum, windows };
}

/** Average a per-position curve over buckets of `width` positions: [start, mean]. */
export function bucketCurve(loss: ArrayLike<number>, width: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let s = 0; s < loss.length; s += width) {
    let a = 0;
    const n = Math.min(width, loss.length - s);
    for (let i = 0; i < n; i++) a += loss[s + i];
    out.push([s, a / n]);
  }
  return out;
}
