// Text to scoring requests, tokenised as lighteval v0.7 (the release SmolLM2 was evaluated with;
// LightevalModel.tok_encode_pair with its default pairwise=False) does: trailing whitespace of the
// context moves to the front of each continuation; the context is encoded alone (n tokens) and
// context+continuation together; the continuation is the joint encoding from position n on. When
// the joint encoding is no longer than n, the context is its first len-1 tokens and the
// continuation its last token. Choices whose context tokens agree share one request.
import { DataError } from "../errors.js";
import type { Tokenizer } from "../tokenizer/types.js";
import type { LoglikRequest } from "./loglik.js";

/** A multiple-choice item: choice i is continuation i scored after context i. */
export interface ChoiceDoc {
  contexts: string[];
  continuations: string[];
  gold: number;
}

export interface EncodedPair {
  contexts: number[][];
  continuations: number[][];
}

/** lighteval's tok_encode_pair (v0.7, pairwise=False) for one context and its continuations. */
export function encodePair(tok: Tokenizer, context: string, continuations: readonly string[]): EncodedPair {
  const trimmed = context.replace(/\s+$/u, "");
  const ctxEnc = tok.encode(trimmed);
  const out: EncodedPair = { contexts: [], continuations: [] };
  for (const c of continuations) {
    const whole = tok.encode(context + c);
    if (whole.length > ctxEnc.length) {
      out.contexts.push(ctxEnc);
      out.continuations.push(whole.slice(ctxEnc.length));
    } else {
      const n = Math.max(0, whole.length - 1);
      out.contexts.push(whole.slice(0, n));
      out.continuations.push(whole.slice(n));
    }
  }
  return out;
}

/** Where each choice of a doc landed: request r (of the doc's list), continuation j. */
export interface DocRequests {
  requests: LoglikRequest[];
  where: Array<{ request: number; continuation: number }>;
}

/**
 * Requests for one item. An empty context (nothing before the continuation) is given the
 * tokenizer's BOS or EOS token as its context, as lm-evaluation-harness does.
 */
export function docRequests(tok: Tokenizer, doc: ChoiceDoc): DocRequests {
  const n = doc.continuations.length;
  const ctxTokens: number[][] = new Array(n);
  const contTokens: number[][] = new Array(n);
  const byContext = new Map<string, number[]>();
  doc.contexts.forEach((c, i) => byContext.set(c, [...(byContext.get(c) ?? []), i]));
  for (const [ctx, idx] of byContext) {
    const enc = encodePair(tok, ctx, idx.map((i) => doc.continuations[i]));
    idx.forEach((i, k) => {
      ctxTokens[i] = enc.contexts[k];
      contTokens[i] = enc.continuations[k];
    });
  }
  const start = tok.bosId ?? tok.eosId;
  const requests: LoglikRequest[] = [];
  const where: DocRequests["where"] = [];
  const byTokens = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let ctx = ctxTokens[i];
    if (ctx.length === 0) {
      if (start === undefined) throw new DataError(`cannot score "${doc.continuations[i].slice(0, 40)}" with an empty context: the tokenizer has no BOS or EOS token to start from`);
      ctx = [start];
    }
    if (contTokens[i].length === 0) throw new DataError(`choice ${i} ("${doc.continuations[i]}") encodes to no tokens`);
    const key = ctx.join(",");
    let r = byTokens.get(key);
    if (r === undefined) {
      r = requests.length;
      byTokens.set(key, r);
      requests.push({ context: ctx, continuations: [] });
    }
    (requests[r].continuations as number[][]).push(contTokens[i]);
    where.push({ request: r, continuation: requests[r].continuations.length - 1 });
  }
  return { requests, where };
}
