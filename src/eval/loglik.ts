// Log-likelihood of continuations given a context, the primitive of every multiple-choice and
// perplexity task. The fast path runs the context once into a KV cache (requests whose contexts
// have equal length share one batched prefill), copies the cached keys/values to one row per
// continuation, and scores all continuations in one batched forward from the cache (right
// padding is harmless under causal attention: pads only follow the scored positions). The output
// head runs only on the rows that are scored (hidden.ts).
// scoreLoglikNaive is its oracle twin: one plain forward of context+continuation per choice.
import type { FloatBuf } from "../backend/backend.js";
import { ShapeError } from "../errors.js";
import { argmax } from "../util/argmax.js";
import { assertFiniteOutput } from "../models/finite.js";
import { KVCache, type LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";

/** One context with the continuations to score after it (token ids). */
export interface LoglikRequest {
  /** At least one token. Too long a context is cut from the left (as lighteval does). */
  context: readonly number[];
  /** Each at least one token. */
  continuations: ReadonlyArray<readonly number[]>;
}

export interface ContinuationScore {
  /** Sum over the continuation's tokens of log p(token | context, earlier continuation tokens). */
  logprob: number;
  /** Number of continuation tokens. */
  tokens: number;
  /** Every continuation token was the argmax of its distribution (set when `greedy` was asked). */
  greedy?: boolean;
}

export interface LoglikOptions {
  /** Requests with equally long contexts scored together (default 8). */
  batchSize?: number;
  /** Cap on tokens run through the model per batch (default 4096); one request always fits. */
  maxBatchTokens?: number;
  /** Cap on logits rows × vocabulary held at once (default 2^24 floats); one request always fits. */
  maxLogitElements?: number;
  /** Also decide whether each continuation is the model's greedy one (LAMBADA accuracy). */
  greedy?: boolean;
  /** Called after each batch. */
  onProgress?: (done: number, total: number) => void;
}

interface Prepared {
  index: number;
  context: readonly number[];
  continuations: ReadonlyArray<readonly number[]>;
  /** Longest continuation minus one: the tokens fed after the context. */
  feed: number;
}

function prepare<Fb extends FloatBuf>(model: LlamaModel<Fb>, reqs: readonly LoglikRequest[]): Prepared[] {
  const { vocab: V, maxSeq } = model.config;
  return reqs.map((r, index) => {
    if (r.context.length === 0) throw new ShapeError(`request ${index}: the context is empty (no tokens)`);
    if (r.continuations.length === 0) throw new ShapeError(`request ${index}: no continuations to score`);
    let longest = 0;
    r.continuations.forEach((c, j) => {
      if (c.length === 0) throw new ShapeError(`request ${index}: continuation ${j} is empty (no tokens)`);
      longest = Math.max(longest, c.length);
    });
    for (const ids of [r.context, ...r.continuations]) {
      for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= V) throw new ShapeError(`request ${index}: token id ${id} is outside the model's vocabulary [0, ${V})`);
    }
    const feed = longest - 1;
    if (feed >= maxSeq) throw new ShapeError(`request ${index}: a continuation of ${longest} tokens does not fit the model's context of ${maxSeq}`);
    const keep = maxSeq - feed;
    const context = r.context.length > keep ? r.context.slice(r.context.length - keep) : r.context;
    return { index, context, continuations: r.continuations, feed };
  });
}

/** Score every continuation of every request, sharing each context's forward among its continuations. */
export function scoreLoglik<Fb extends FloatBuf>(model: LlamaModel<Fb>, reqs: readonly LoglikRequest[], opts: LoglikOptions = {}): ContinuationScore[][] {
  const prepared = prepare(model, reqs);
  const V = model.config.vocab;
  const batchSize = Math.max(1, opts.batchSize ?? 8);
  const maxRows = Math.max(1, Math.floor((opts.maxLogitElements ?? 2 ** 24) / V));
  const maxTokens = Math.max(1, opts.maxBatchTokens ?? 4096);
  const out: ContinuationScore[][] = reqs.map((r) => r.continuations.map((c) => ({ logprob: 0, tokens: c.length })));
  // Equal context lengths can share a prefill: walk the requests sorted by context length.
  const order = [...prepared].sort((a, b) => b.context.length - a.context.length || a.index - b.index);
  const e = new Engine(model.be);
  const pool = new CachePool(model);
  let done = 0;
  try {
    e.noGrad(() => {
      let i = 0;
      while (i < order.length) {
        const L = order[i].context.length;
        const batch = [order[i]];
        let feed = order[i].feed;
        const rowsOf = (p: Prepared) => 1 + p.continuations.reduce((a, ct) => a + ct.length - 1, 0);
        let rows = rowsOf(order[i]);
        let conts = order[i].continuations.length;
        for (let j = i + 1; j < order.length && batch.length < batchSize && order[j].context.length === L; j++) {
          const f = Math.max(feed, order[j].feed);
          const n = conts + order[j].continuations.length;
          const r = rows + rowsOf(order[j]);
          if ((batch.length + 1) * L + n * f > maxTokens || r > maxRows) break;
          batch.push(order[j]);
          feed = f;
          conts = n;
          rows = r;
        }
        scoreBatch(e, model, pool, batch, L, feed, opts.greedy ?? false, out);
        i += batch.length;
        done += batch.length;
        opts.onProgress?.(done, order.length);
      }
    });
  } finally {
    pool.dispose();
    e.arena.dispose();
  }
  return out;
}

/**
 * KV caches reused across batches (allocating and zeroing native memory per batch cost ~15% of a
 * small model's scoring time): keyed by batch rows and capacity rounded up to 64 positions, the
 * few most recently used kept. Only positions below `length` are ever read, so reuse is safe.
 */
class CachePool<Fb extends FloatBuf> {
  private readonly free: Array<{ key: string; cache: KVCache<Fb> }> = [];
  constructor(private readonly model: LlamaModel<Fb>, private readonly keep = 4) {}

  take(batch: number, maxT: number): KVCache<Fb> {
    const cap = Math.min(this.model.config.maxSeq, Math.ceil(maxT / 64) * 64);
    const key = `${batch}x${cap}`;
    const i = this.free.findIndex((f) => f.key === key);
    const cache = i >= 0 ? this.free.splice(i, 1)[0].cache : new KVCache(this.model.be, this.model.config, batch, cap);
    cache.length = 0;
    return cache;
  }

  give(cache: KVCache<Fb>): void {
    this.free.push({ key: `${cache.batch}x${cache.maxT}`, cache });
    while (this.free.length > this.keep) this.free.shift()!.cache.dispose(this.model.be);
  }

  dispose(): void {
    for (const f of this.free.splice(0)) f.cache.dispose(this.model.be);
  }
}

/** One batch: k contexts of length L prefilled together, then every continuation from the cache. */
function scoreBatch<Fb extends FloatBuf>(e: Engine<Fb>, model: LlamaModel<Fb>, pool: CachePool<Fb>, batch: Prepared[], L: number, feed: number, greedy: boolean, out: ContinuationScore[][]): void {
  const c = model.config;
  const V = c.vocab;
  const k = batch.length;
  const pre = pool.take(k, L);
  let cont: KVCache<Fb> | undefined;
  try {
    const ids = new Int32Array(k * L);
    batch.forEach((p, i) => ids.set(p.context, i * L));
    const h = model.hidden(e, ids, k, L, pre);
    // The last context position predicts every continuation's first token.
    const lastRows = Int32Array.from(batch, (_, i) => i * L + L - 1);
    const logits = model.logits(e, h, lastRows);
    const { losses } = F.crossEntropy(e, logits, Int32Array.from(batch, (p) => p.continuations[0][0]));
    assertFiniteOutput(model.be, losses, "log-probabilities", k);
    batch.forEach((p, i) => {
      const x = logits.data.subarray(i * V, (i + 1) * V);
      const lse = losses[i] + x[p.continuations[0][0]];
      const best = greedy ? argmax(x) : -1;
      p.continuations.forEach((ct, j) => {
        const s = out[p.index][j];
        s.logprob = x[ct[0]] - lse;
        if (greedy) s.greedy = best === ct[0];
      });
    });
    if (feed === 0) return;
    // One cache row per continuation, holding a copy of its context's keys/values.
    const R = batch.reduce((a, p) => a + p.continuations.length, 0);
    cont = pool.take(R, L + feed);
    const maxT = cont.maxT;
    const preT = pre.maxT;
    const rowElems = c.kvHeads * c.headDim;
    const rowOf: Array<{ p: Prepared; j: number; r: number }> = [];
    batch.forEach((p, i) => {
      p.continuations.forEach((_, j) => {
        const r = rowOf.length;
        for (let l = 0; l < c.layers; l++) {
          cont!.k[l].set(pre.k[l].subarray(i * preT * rowElems, (i * preT + L) * rowElems), r * maxT * rowElems);
          cont!.v[l].set(pre.v[l].subarray(i * preT * rowElems, (i * preT + L) * rowElems), r * maxT * rowElems);
        }
        rowOf.push({ p, j, r });
      });
    });
    cont.length = L;
    const ids2 = new Int32Array(R * feed);
    const wanted: number[] = [];
    const targets: number[] = [];
    for (const { p, j, r } of rowOf) {
      const ct = p.continuations[j];
      for (let t = 0; t < feed; t++) ids2[r * feed + t] = t < ct.length - 1 ? ct[t] : ct[0];
      for (let t = 1; t < ct.length; t++) {
        wanted.push(r * feed + t - 1);
        targets.push(ct[t]);
      }
    }
    const h2 = model.hidden(e, ids2, R, feed, cont);
    const logits2 = model.logits(e, h2, Int32Array.from(wanted));
    const { losses: losses2 } = F.crossEntropy(e, logits2, Int32Array.from(targets));
    assertFiniteOutput(model.be, losses2, "log-probabilities", targets.length);
    let q = 0;
    for (const { p, j } of rowOf) {
      const ct = p.continuations[j];
      const s = out[p.index][j];
      for (let t = 1; t < ct.length; t++, q++) {
        s.logprob -= losses2[q];
        if (greedy && s.greedy) s.greedy = argmax(logits2.data.subarray(q * V, (q + 1) * V)) === ct[t];
      }
    }
  } finally {
    pool.give(pre);
    if (cont) pool.give(cont);
    e.reset();
  }
}


/**
 * The oracle: each continuation scored by its own plain forward over context+continuation (no
 * cache, no sharing), with the log-softmax and argmax computed here in float64. Slow; for tests.
 */
export function scoreLoglikNaive<Fb extends FloatBuf>(model: LlamaModel<Fb>, reqs: readonly LoglikRequest[]): ContinuationScore[][] {
  const prepared = prepare(model, reqs);
  const V = model.config.vocab;
  const e = new Engine(model.be);
  try {
    return e.noGrad(() =>
      prepared.map((p) =>
        p.continuations.map((ct) => {
          const seq = [...p.context, ...ct.slice(0, -1)];
          const logits = model.forward(e, Int32Array.from(seq), 1, seq.length);
          let logprob = 0;
          let greedy = true;
          for (let t = 0; t < ct.length; t++) {
            const row = logits.data.subarray((p.context.length - 1 + t) * V, (p.context.length + t) * V);
            let mx = -Infinity;
            for (let v = 0; v < V; v++) mx = Math.max(mx, row[v]);
            let den = 0;
            for (let v = 0; v < V; v++) den += Math.exp(row[v] - mx);
            logprob += row[ct[t]] - mx - Math.log(den);
            if (argmax(row) !== ct[t]) greedy = false;
          }
          e.reset();
          return { logprob, tokens: ct.length, greedy };
        }),
      ),
    );
  } finally {
    e.arena.dispose();
  }
}
