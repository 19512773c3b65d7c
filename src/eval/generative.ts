// Generation requests for the generative tasks (GSM8K, MATH, BBH, TriviaQA, HumanEval, MBPP):
// fitting a few-shot prompt into the model's context by dropping whole shots (as lighteval's
// prompt manager does), and greedy generation of many prompts at once through the batched
// cached decoder (models/batch-decode.ts), each cut at its first stop sequence.
import type { FloatBuf } from "../backend/backend.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { generateGreedyBatch } from "../models/batch-decode.js";
import type { LlamaModel } from "../models/llama.js";

export interface FittedPrompt {
  prompt: string;
  ids: number[];
  /** Shots kept (whole shots are dropped from the end until the prompt and budget fit). */
  shots: number;
  maxNewTokens: number;
  /** Tokens cut from the left when even the zero-shot prompt leaves no room (last resort). */
  truncated: number;
}

/**
 * The longest prompt `build(k)` with k ≤ shots whose tokens plus `maxNewTokens` fit `maxSeq`.
 * When even k = 0 does not fit, the budget shrinks to what is left (at least a quarter of the
 * context, at least 1 token) and, if the prompt is longer than the rest, its oldest tokens go.
 */
export function fitPrompt(tok: Tokenizer, build: (k: number) => string, shots: number, maxSeq: number, maxNewTokens: number): FittedPrompt {
  for (let k = shots; k >= 0; k--) {
    const prompt = build(k);
    const ids = tok.encode(prompt);
    if (ids.length + maxNewTokens <= maxSeq) return { prompt, ids, shots: k, maxNewTokens, truncated: 0 };
    if (k === 0) {
      const budget = Math.max(1, Math.min(maxNewTokens, Math.max(maxSeq - ids.length, Math.floor(maxSeq / 4))));
      const keep = maxSeq - budget;
      const truncated = Math.max(0, ids.length - keep);
      if (truncated === 0) return { prompt, ids, shots: 0, maxNewTokens: budget, truncated };
      // The request's text is what is fed: the kept tokens decoded (and re-encoded, so that a
      // character split by the cut cannot make the prompt longer than the room left).
      for (let cut = truncated; cut < ids.length; cut++) {
        const text = tok.decode(ids.slice(cut));
        const again = tok.encode(text);
        if (again.length <= keep) return { prompt: text, ids: again, shots: 0, maxNewTokens: budget, truncated: cut };
      }
      throw new Error("internal: no suffix of the prompt fits the context");
    }
  }
  throw new Error("unreachable");
}

export interface GenRequest {
  ids: readonly number[];
  maxNewTokens: number;
  stop: readonly string[];
}

export interface GenOutput {
  /** Generated text, cut before the first stop sequence. */
  text: string;
  tokens: number;
  stoppedBy: "stop" | "eos" | "length";
}

export interface GenOptions {
  /** Prompts decoded together (default 16; 1 = one at a time). */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/**
 * Greedy generation for every request, batched; EOS and the stop sequences end a sequence. After
 * each token only the newest tokens are decoded to look for a stop: a stop string of L characters
 * lies within the last L + 1 tokens when it first appears (each token holds at least one byte),
 * so decoding stays linear in the output length.
 */
export function generateAll<Fb extends FloatBuf>(model: LlamaModel<Fb>, tok: Tokenizer, reqs: readonly GenRequest[], opts: GenOptions = {}): GenOutput[] {
  const tail = reqs.map((r) => Math.max(0, ...r.stop.map((s) => Buffer.byteLength(s))) + 1);
  const res = generateGreedyBatch(model, reqs.map((r) => r.ids), {
    maxNewTokens: reqs.map((r) => r.maxNewTokens),
    stopId: tok.eosId,
    batchSize: opts.batchSize,
    isDone: (i, ids) => reqs[i].stop.length > 0 && firstStop(tok.decode(ids.slice(-tail[i]) as number[], true), reqs[i].stop) >= 0,
    onDone: opts.onProgress,
  });
  return res.map((r, i) => {
    const text = tok.decode(r.ids, true);
    const cut = firstStop(text, reqs[i].stop);
    return { text: cut >= 0 ? text.slice(0, cut) : text, tokens: r.ids.length, stoppedBy: r.stoppedBy };
  });
}
