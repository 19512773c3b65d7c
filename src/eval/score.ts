// Scoring token sequences: log p(ids[t+1] | ids[..t]) for every position, without gradients.
// Equal-length sequences share a forward (batched); the engine's memory is reused between them.
import type { FloatBuf } from "../backend/backend.js";
import { ShapeError } from "../errors.js";
import { assertFiniteOutput } from "../models/finite.js";
import type { LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";

export interface ScoreResult {
  /** logprobs[b][t] = log p(ids[b][t+1] | ids[b][0..t]). */
  logprobs: number[][];
  /** Mean negative log-probability over all predicted tokens. */
  loss: number;
}

/** Score sequences (each at least 2 tokens, at most the model's context). */
export function scoreSequences<Fb extends FloatBuf>(model: LlamaModel<Fb>, seqs: readonly (readonly number[])[], maxBatchTokens = 8192): ScoreResult {
  const V = model.config.vocab;
  seqs.forEach((s, b) => {
    if (s.length < 2) throw new ShapeError(`sequence ${b} has ${s.length} token(s); scoring needs at least 2`);
    if (s.length > model.config.maxSeq) throw new ShapeError(`sequence ${b} has ${s.length} tokens, more than the model's context ${model.config.maxSeq}`);
    s.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new ShapeError(`sequence ${b}, position ${t}: token id ${id} is outside the vocabulary [0, ${V})`);
    });
  });
  const e = new Engine(model.be);
  const logprobs: number[][] = seqs.map(() => []);
  let sum = 0;
  let count = 0;
  // Group equal lengths so each group is one batched forward.
  const byLen = new Map<number, number[]>();
  seqs.forEach((s, i) => byLen.set(s.length, [...(byLen.get(s.length) ?? []), i]));
  try {
    e.noGrad(() => {
      for (const [T, members] of byLen) {
        const per = Math.max(1, Math.floor(maxBatchTokens / T));
        for (let start = 0; start < members.length; start += per) {
          const group = members.slice(start, start + per);
          const B = group.length;
          const ids = new Int32Array(B * T);
          const targets = new Int32Array(B * T).fill(-1);
          group.forEach((si, r) => {
            const s = seqs[si];
            for (let t = 0; t < T; t++) ids[r * T + t] = s[t];
            for (let t = 0; t < T - 1; t++) targets[r * T + t] = s[t + 1];
          });
          const logits = model.forward(e, ids, B, T);
          const { losses } = F.crossEntropy(e, logits, targets);
          assertFiniteOutput(model.be, losses, "log-probabilities", B * T);
          group.forEach((si, r) => {
            for (let t = 0; t < T - 1; t++) {
              const l = losses[r * T + t];
              logprobs[si].push(-l);
              sum += l;
              count++;
            }
          });
          e.reset();
        }
      }
    });
  } finally {
    e.arena.dispose();
  }
  return { logprobs, loss: sum / count };
}
