// Log-likelihood multiple choice, scored as lighteval scores it: for each choice the sum of the
// log-probabilities of its continuation tokens; `acc` takes the argmax of the sums, `acc_norm`
// the argmax of sum / characters of the continuation without its leading space (lighteval's
// loglikelihood_acc_norm_nospace, which SmolLM2 reported; equal to lm-evaluation-harness acc_norm).
import type { FloatBuf } from "../backend/backend.js";
import type { Tokenizer } from "../tokenizer/types.js";
import type { LlamaModel } from "../models/llama.js";
import { docRequests, type ChoiceDoc } from "./encode.js";
import { scoreLoglik, type LoglikRequest } from "./loglik.js";
import { argmax, mean, meanWithStderr, type MetricValue } from "./stats.js";

/** Characters (code points, as Python's len) used by acc_norm: without one leading space. */
export function normLength(continuation: string): number {
  const n = [...continuation].length;
  return continuation.startsWith(" ") && n > 1 ? n - 1 : Math.max(1, n);
}

export interface ChoiceItemResult {
  /** Sum of continuation log-probs per choice. */
  logprobs: number[];
  tokens: number[];
  gold: number;
  pred: number;
  predNorm: number;
}

export interface ChoiceEval {
  items: ChoiceItemResult[];
  metrics: { acc: MetricValue; acc_norm: MetricValue };
  /** Expected accuracy of a uniform random guess: mean over items of 1 / choices. */
  chance: number;
}

/** Pick acc / acc_norm predictions from per-choice log-prob sums. */
export function choosePredictions(doc: ChoiceDoc, logprobs: readonly number[]): { pred: number; predNorm: number } {
  return { pred: argmax(logprobs), predNorm: argmax(logprobs.map((lp, i) => lp / normLength(doc.continuations[i]))) };
}

export interface ChoiceEvalOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Score every doc's choices (all requests of all docs batched together) and aggregate. */
export function evalChoiceDocs<Fb extends FloatBuf>(model: LlamaModel<Fb>, tok: Tokenizer, docs: readonly ChoiceDoc[], opts: ChoiceEvalOptions = {}): ChoiceEval {
  const all: LoglikRequest[] = [];
  const placed = docs.map((doc) => {
    const { requests, where } = docRequests(tok, doc);
    const base = all.length;
    all.push(...requests);
    return where.map((w) => ({ request: base + w.request, continuation: w.continuation }));
  });
  const scores = scoreLoglik(model, all, { batchSize: opts.batchSize, onProgress: opts.onProgress });
  const items = docs.map((doc, d) => {
    const logprobs = placed[d].map((w) => scores[w.request][w.continuation].logprob);
    const tokens = placed[d].map((w) => scores[w.request][w.continuation].tokens);
    return { logprobs, tokens, gold: doc.gold, ...choosePredictions(doc, logprobs) };
  });
  return {
    items,
    metrics: {
      acc: meanWithStderr(items.map((it) => (it.pred === it.gold ? 1 : 0))),
      acc_norm: meanWithStderr(items.map((it) => (it.predNorm === it.gold ? 1 : 0))),
    },
    chance: mean(docs.map((d) => 1 / d.continuations.length)),
  };
}
