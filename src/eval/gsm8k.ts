// GSM8K: k-shot prompts drawn from the train split (whole shots dropped to fit the context),
// greedy generation with stop sequences, many prompts at once through the batched cached decoder
// (generateUntil is the one-prompt path), and exact match on the final number. `em` reads the number after "####" if the output
// has one, else its last number, normalising "$", commas and trailing zeros; `em_strict` is
// lighteval's quasi_exact_match_gsm8k (the first "#### n" only, commas removed, string equality).
import type { FloatBuf } from "../backend/backend.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { ShapeError } from "../errors.js";
import { assertFiniteOutput } from "../models/finite.js";
import { KVCache, type LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import { deriveSeed, Rng } from "../util/rng.js";
import { fitPrompt, generateAll, type FittedPrompt } from "./generative.js";
import { argmax } from "../util/argmax.js";
import { gsm8kPrompt, type MathProblem } from "./prompts.js";
import { meanWithStderr, type MetricValue } from "./stats.js";

/** Stop sequences of SmolLM2's GSM8K task ("Question:", "Question"): the next shot starting. */
export const GSM8K_STOP = ["Question:", "Question"] as const;

/** "1,234" / "$18.00" / "18." → "1234" / "18" / "18"; other strings are trimmed. */
export function normalizeNumber(s: string): string {
  let t = s.trim().replace(/[$,]/g, "").replace(/\.$/, "");
  if (/^-?\d+(\.\d+)?$/.test(t)) t = String(Number(t));
  return t;
}

/** The gold answer: the number after "####" in a GSM8K reference solution, normalised. */
export function goldAnswer(answer: string): string {
  const m = /####\s*(.+?)\s*$/.exec(answer.trim());
  return m ? normalizeNumber(m[1]) : "";
}

/** The answer a model's output commits to: after "####" if present, else the last number. */
export function extractAnswer(text: string): string | undefined {
  const hashed = /####\s*\$?\s*(-?[\d,]*\.?\d+)/.exec(text);
  if (hashed) return normalizeNumber(hashed[1]);
  const all = text.match(/-?\$?\d[\d,]*(?:\.\d+)?/g);
  return all ? normalizeNumber(all[all.length - 1]) : undefined;
}

/** lighteval's gsm8k_normalizer: the first "#### n" with commas removed, or "[invalid]". */
export function strictAnswer(text: string): string {
  const m = /#### (-?[0-9.,]+)/.exec(text);
  return m ? m[1].trim().replaceAll(",", "") : "[invalid]";
}

/** `k` distinct shots for item `i`: a seeded sample of the train pool (never the test items). */
export function sampleShots(pool: readonly MathProblem[], k: number, seed: number, i: number): MathProblem[] {
  const rng = new Rng(deriveSeed(seed, `gsm8k-shots/${i}`));
  const n = Math.min(k, pool.length);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(rng.int(pool.length));
  return [...picked].map((j) => pool[j]);
}

export interface GenerateUntilOptions {
  maxNewTokens: number;
  stop: readonly string[];
  /** Stop on this token id too (e.g. the tokenizer's EOS). */
  stopId?: number;
  /** Prompt tokens run per forward during the prefill (bounds the logits memory; default 256). */
  prefillChunk?: number;
}

export interface GenerateUntilResult {
  /** Generated text, cut before the first stop sequence. */
  text: string;
  tokens: number;
  stoppedBy: "stop" | "eos" | "length";
  /** Prompt tokens dropped from the left to fit the model's context. */
  truncated: number;
}

/** Greedy decoding from a prompt until a stop sequence, the stop id or maxNewTokens. */
export function generateUntil<Fb extends FloatBuf>(model: LlamaModel<Fb>, tok: Tokenizer, prompt: readonly number[], opts: GenerateUntilOptions): GenerateUntilResult {
  const { maxSeq, vocab: V } = model.config;
  const room = maxSeq - opts.maxNewTokens;
  if (room < 1) throw new ShapeError(`generate: ${opts.maxNewTokens} new tokens do not fit the model's context of ${maxSeq}`);
  const truncated = Math.max(0, prompt.length - room);
  const ids = prompt.slice(truncated);
  if (ids.length === 0) throw new ShapeError("generate: the prompt is empty (no tokens)");
  const e = new Engine(model.be);
  const finiteRow = (logits: Fb): Fb => {
    assertFiniteOutput(model.be, logits, "logits", V);
    return logits.subarray(0, V) as Fb;
  };
  const cache = new KVCache(model.be, model.config, 1, ids.length + opts.maxNewTokens);
  const chunk = Math.max(1, opts.prefillChunk ?? 256);
  const out: number[] = [];
  try {
    return e.noGrad(() => {
      // Prefill in chunks through the cache; only the last position needs the output head.
      let next = -1;
      for (let s = 0; s < ids.length; s += chunk) {
        const part = Int32Array.from(ids.slice(s, s + chunk));
        const h = model.hidden(e, part, 1, part.length, cache);
        if (s + chunk >= ids.length) next = argmax(finiteRow(model.logits(e, h, Int32Array.of(part.length - 1)).data));
        e.reset();
      }
      let text = "";
      for (;;) {
        if (opts.stopId !== undefined && next === opts.stopId) return { text, tokens: out.length, stoppedBy: "eos" as const, truncated };
        out.push(next);
        text = tok.decode(out, true);
        const cut = firstStop(text, opts.stop);
        if (cut >= 0) return { text: text.slice(0, cut), tokens: out.length, stoppedBy: "stop" as const, truncated };
        if (out.length >= opts.maxNewTokens) return { text, tokens: out.length, stoppedBy: "length" as const, truncated };
        const logits = model.forward(e, Int32Array.of(next), 1, 1, cache);
        next = argmax(finiteRow(logits.data));
        e.reset();
      }
    });
  } finally {
    e.arena.dispose();
    cache.dispose(model.be);
  }
}

function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

export interface Gsm8kItem {
  question: string;
  gold: string;
  output: string;
  pred: string | undefined;
  correct: boolean;
  correctStrict: boolean;
}

export interface Gsm8kEval {
  items: Gsm8kItem[];
  metrics: { em_strict: MetricValue; em: MetricValue };
  generatedTokens: number;
  /** Mean shots kept per prompt after fitting the context. */
  meanShots: number;
}

export interface Gsm8kOptions {
  shots: number;
  seed: number;
  maxNewTokens: number;
  /** Each problem's doc id (its index in the test file; seeds its shots). Default: 0, 1, 2, … */
  ids?: readonly number[];
  /** Prompts decoded together (default 16). */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Wrap the prompt (a chat template's user turn). */
  wrap?: (prompt: string) => string;
}

/**
 * Each problem's prompt, fitted to the model: k shots drawn for its doc id, whole shots dropped
 * from the end until prompt + budget fit the context (fitPrompt).
 */
export function gsm8kPrompts(tok: Tokenizer, maxSeq: number, problems: readonly MathProblem[], train: readonly MathProblem[], opts: Gsm8kOptions): FittedPrompt[] {
  return problems.map((p, i) => {
    const shots = sampleShots(train, opts.shots, opts.seed, opts.ids?.[i] ?? i);
    const wrap = opts.wrap ?? ((x: string) => x);
    return fitPrompt(tok, (k) => wrap(gsm8kPrompt(shots.slice(0, k), p.question)), shots.length, maxSeq, opts.maxNewTokens);
  });
}

/** Run GSM8K on `problems` with shots drawn from `train`, prompts generated in batches. */
export function evalGsm8k<Fb extends FloatBuf>(model: LlamaModel<Fb>, tok: Tokenizer, problems: readonly MathProblem[], train: readonly MathProblem[], opts: Gsm8kOptions): Gsm8kEval {
  const prompts = gsm8kPrompts(tok, model.config.maxSeq, problems, train, opts);
  const outs = generateAll(model, tok, prompts.map((f) => ({ ids: f.ids, maxNewTokens: f.maxNewTokens, stop: GSM8K_STOP })), { batchSize: opts.batchSize, onProgress: opts.onProgress });
  const items = problems.map((p, i) => {
    const gold = goldAnswer(p.answer);
    const pred = extractAnswer(outs[i].text);
    return { question: p.question, gold, output: outs[i].text, pred, correct: pred !== undefined && pred === gold, correctStrict: strictAnswer(outs[i].text) === strictAnswer(p.answer) };
  });
  return {
    items,
    metrics: { em_strict: meanWithStderr(items.map((it) => (it.correctStrict ? 1 : 0))), em: meanWithStderr(items.map((it) => (it.correct ? 1 : 0))) },
    generatedTokens: outs.reduce((a, o) => a + o.tokens, 0),
    meanShots: prompts.reduce((a, f) => a + f.shots, 0) / Math.max(1, prompts.length),
  };
}
