// Batched greedy decoding from a KV cache for prompts of different lengths. Each sequence owns a
// row of one batched cache and its own length (the padding mask: a row's attention reads only
// its own filled positions, and RoPE uses its own position), so no pad token is ever attended.
// Prompts are prefilled chunk by chunk with the rows' parts packed into one product per linear
// layer (prefillRows); every decode step then runs the projections and MLP of all unfinished
// rows as one [n, d] GEMM — the win over one-prompt-at-a-time decoding — and RoPE per row, then
// attention for all rows in one backend call (each row against its own cache: the same bits as
// a call per row). Finished rows leave the step. generate.ts keeps the one-prompt API;
// `smol serve` batches sequences that own separate caches through decodeStepCaches (same step).
import type { FloatBuf } from "../backend/backend.js";
import { ShapeError } from "../errors.js";
import { argmax } from "../util/argmax.js";
import { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";
import type { Tensor } from "../tensor/tensor.js";
import { assertFiniteOutput } from "./finite.js";
import { KVCache, type LlamaModel } from "./llama.js";
import { packedEligible, packedLinear } from "./packed.js";

export interface BatchDecodeOptions {
  /** New-token budget per prompt (one number for all). */
  maxNewTokens: number | readonly number[];
  /** Stop (without keeping it) when this id is chosen, e.g. EOS. */
  stopId?: number;
  /** Called after each new token of prompt i; returning true finishes that sequence. */
  isDone?: (i: number, ids: readonly number[]) => boolean;
  /** Sequences decoded together (default 16). */
  batchSize?: number;
  /** Prompt tokens per prefill forward (default 256). */
  prefillChunk?: number;
  /** Called as sequences finish. */
  onDone?: (done: number, total: number) => void;
}

export interface BatchDecodeResult {
  ids: number[];
  stoppedBy: "stop" | "eos" | "length";
}

/** A one-row view of a batched cache (row r), for prefilling that row with the ordinary forward. */
export function cacheRow<Fb extends FloatBuf>(cache: KVCache<Fb>, r: number): KVCache<Fb> {
  const span = cache.maxT * cache.config.kvHeads * cache.config.headDim;
  const view = Object.create(KVCache.prototype) as KVCache<Fb>;
  Object.assign(view, {
    k: cache.k.map((b) => b.subarray(r * span, (r + 1) * span)),
    v: cache.v.map((b) => b.subarray(r * span, (r + 1) * span)),
    length: 0,
    batch: 1,
    maxT: cache.maxT,
    config: cache.config,
  });
  return view;
}

/** Where row i's keys and values go in layer l: its cache buffers (from position 0) and its position. */
type RowSlot<Fb extends FloatBuf> = (i: number, l: number) => { k: Fb; v: Fb; pos: number };

/**
 * The shared decode step: token ids[i] is appended at slot(i).pos of its cache; the linear layers
 * run over all rows at once (decodeLinear), RoPE per row, attention for all rows in one
 * call (attentionDecodeRows). Returns the final hidden
 * states [n, d] (before the output head).
 */
function decodeRows<Fb extends FloatBuf>(model: LlamaModel<Fb>, e: Engine<Fb>, ids: Int32Array, slot: RowSlot<Fb>): Tensor<Fb> {
  const c = model.config;
  const n = ids.length;
  const [NH, NKV, HS] = [c.heads, c.kvHeads, c.headDim];
  const kvRow = NKV * HS;
  const p = (name: string) => model.params.get(name);
  const be = e.be;
  const scale = 1 / Math.sqrt(HS);
  let h = F.embedding(e, p("model.embed_tokens.weight"), ids);
  for (let l = 0; l < c.layers; l++) {
    const pre = `model.layers.${l}.`;
    const a = F.rmsnorm(e, h, p(pre + "input_layernorm.weight"), c.normEps);
    const q = decodeProj(model, e, a, pre + "self_attn.q_proj.weight");
    const k = decodeProj(model, e, a, pre + "self_attn.k_proj.weight");
    const v = decodeProj(model, e, a, pre + "self_attn.v_proj.weight");
    const qr = e.empty([n, 1, NH, HS]);
    const o = e.empty([n, 1, NH, HS]);
    const kr = e.arena.alloc(kvRow);
    const ks: Fb[] = [], vs: Fb[] = [];
    const lens = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const { k: kbuf, v: vbuf, pos } = slot(i, l);
      const qi = qr.data.subarray(i * NH * HS, (i + 1) * NH * HS) as Fb;
      be.ropeForward(qi, q.data.subarray(i * NH * HS, (i + 1) * NH * HS) as Fb, model.rope.cos, model.rope.sin, 1, 1, NH, HS, pos);
      be.ropeForward(kr, k.data.subarray(i * kvRow, (i + 1) * kvRow) as Fb, model.rope.cos, model.rope.sin, 1, 1, NKV, HS, pos);
      const kc = kbuf.subarray(0, (pos + 1) * kvRow) as Fb;
      const vc = vbuf.subarray(0, (pos + 1) * kvRow) as Fb;
      kc.set(kr, pos * kvRow);
      vc.set(v.data.subarray(i * kvRow, (i + 1) * kvRow), pos * kvRow);
      ks.push(kc);
      vs.push(vc);
      lens[i] = pos + 1;
    }
    be.attentionDecodeRows(o.data, qr.data, ks, vs, lens, NH, NKV, HS, scale);
    h = F.add(e, h, decodeProj(model, e, F.view(e, o, [n, NH * HS]), pre + "self_attn.o_proj.weight"));
    const m = F.rmsnorm(e, h, p(pre + "post_attention_layernorm.weight"), c.normEps);
    const g = decodeProj(model, e, m, pre + "mlp.gate_proj.weight");
    const u = decodeProj(model, e, m, pre + "mlp.up_proj.weight");
    h = F.add(e, h, decodeProj(model, e, F.swiglu(e, g, u), pre + "mlp.down_proj.weight"));
  }
  return F.rmsnorm(e, h, p("model.norm.weight"), c.normEps);
}

/**
 * Prefill of several rows of one batched cache at once: row rows[i] takes its next parts[i].length
 * prompt tokens at positions lengths[rows[i]].. (which then grow). The linear layers run over the
 * rows' tokens packed into one [Σ n_i, d] product instead of one product per row — a short prompt
 * alone is a GEMM of few rows, far from the GEMM's speed — while RoPE and attention stay per row
 * (its own positions and cache). Every row gets the bits of prefilling it alone (model.hidden on a
 * row view) as long as each part has more than DECODE_ROWS tokens: both then take the fp32 GEMM,
 * whose outputs depend only on their own row (native/gemm.inc) — callers prefill shorter parts
 * alone. Returns the final hidden states [Σ n_i, d] (after the last RMSNorm), rows in order.
 */
export function prefillRows<Fb extends FloatBuf>(model: LlamaModel<Fb>, e: Engine<Fb>, parts: readonly Int32Array[], rows: readonly number[], cache: KVCache<Fb>, lengths: number[]): Tensor<Fb> {
  const c = model.config;
  const [NH, NKV, HS] = [c.heads, c.kvHeads, c.headDim];
  const kvRow = NKV * HS;
  const span = cache.maxT * kvRow;
  const N = parts.reduce((a, x) => a + x.length, 0);
  parts.forEach((x, i) => {
    if (lengths[rows[i]] + x.length > cache.maxT) throw new ShapeError(`prefillRows: row ${rows[i]} would exceed its ${cache.maxT} positions`);
  });
  const p = (name: string) => model.params.get(name);
  const be = e.be;
  const scale = 1 / Math.sqrt(HS);
  const ids = new Int32Array(N);
  let off = 0;
  for (const x of parts) { ids.set(x, off); off += x.length; }
  let h = F.embedding(e, p("model.embed_tokens.weight"), ids);
  for (let l = 0; l < c.layers; l++) {
    const pre = `model.layers.${l}.`;
    const attention = (x: Tensor<Fb>) => {
      const a = F.rmsnorm(e, x, p(pre + "input_layernorm.weight"), c.normEps);
      const q = model.proj(e, a, pre + "self_attn.q_proj.weight");
      const k = model.proj(e, a, pre + "self_attn.k_proj.weight");
      const v = model.proj(e, a, pre + "self_attn.v_proj.weight");
      const qr = e.empty([N, NH * HS]);
      const o = e.empty([N, NH * HS]);
      let t0 = 0;
      parts.forEach((x, i) => {
        const n = x.length, r = rows[i], pos = lengths[r];
        const kc = cache.k[l].subarray(r * span, r * span + (pos + n) * kvRow) as Fb;
        const vc = cache.v[l].subarray(r * span, r * span + (pos + n) * kvRow) as Fb;
        const qi = qr.data.subarray(t0 * NH * HS, (t0 + n) * NH * HS) as Fb;
        be.ropeForward(qi, q.data.subarray(t0 * NH * HS, (t0 + n) * NH * HS) as Fb, model.rope.cos, model.rope.sin, 1, n, NH, HS, pos);
        be.ropeForward(kc.subarray(pos * kvRow) as Fb, k.data.subarray(t0 * kvRow, (t0 + n) * kvRow) as Fb, model.rope.cos, model.rope.sin, 1, n, NKV, HS, pos);
        vc.set(v.data.subarray(t0 * kvRow, (t0 + n) * kvRow), pos * kvRow);
        const lse = e.arena.alloc(NH * n);
        be.attentionForward(o.data.subarray(t0 * NH * HS, (t0 + n) * NH * HS) as Fb, lse, qi, kc, vc, 1, n, pos + n, NH, NKV, HS, scale);
        t0 += n;
      });
      return F.add(e, x, model.proj(e, o, pre + "self_attn.o_proj.weight"));
    };
    const mlp = (r: Tensor<Fb>) => {
      const m = F.rmsnorm(e, r, p(pre + "post_attention_layernorm.weight"), c.normEps);
      const g = model.proj(e, m, pre + "mlp.gate_proj.weight");
      const u = model.proj(e, m, pre + "mlp.up_proj.weight");
      return F.add(e, r, model.proj(e, F.swiglu(e, g, u), pre + "mlp.down_proj.weight"));
    };
    h = e.block(e.block(h, attention, true), mlp, true);
  }
  parts.forEach((x, i) => (lengths[rows[i]] += x.length));
  return F.rmsnorm(e, h, p("model.norm.weight"), c.normEps);
}

/**
 * One decode step over rows of one batched cache: token ids[i] is appended to cache row rows[i] at
 * position lengths[rows[i]] (which then grows by one). Returns the final hidden states [n, d].
 */
export function decodeStep<Fb extends FloatBuf>(model: LlamaModel<Fb>, e: Engine<Fb>, ids: Int32Array, rows: readonly number[], cache: KVCache<Fb>, lengths: number[]): Tensor<Fb> {
  if (rows.length !== ids.length) throw new ShapeError(`decodeStep: ${ids.length} ids for ${rows.length} rows`);
  const span = cache.maxT * cache.config.kvHeads * cache.config.headDim;
  for (const r of rows) if (lengths[r] + 1 > cache.maxT) throw new ShapeError(`decodeStep: row ${r} is full (${cache.maxT} positions)`);
  const h = decodeRows(model, e, ids, (i, l) => {
    const r = rows[i];
    return { k: cache.k[l].subarray(r * span, (r + 1) * span) as Fb, v: cache.v[l].subarray(r * span, (r + 1) * span) as Fb, pos: lengths[r] };
  });
  for (const r of rows) lengths[r]++;
  return h;
}

/**
 * One decode step for sequences that each own a one-sequence cache (continuous batching in `smol
 * serve`: sequences join and leave between steps). Returns the logits [n, V] of the next token of
 * each; every cache grows by one.
 */
export function decodeStepCaches<Fb extends FloatBuf>(model: LlamaModel<Fb>, e: Engine<Fb>, ids: Int32Array, caches: readonly KVCache<Fb>[]): Fb {
  if (caches.length !== ids.length) throw new ShapeError(`decodeStep: ${ids.length} ids for ${caches.length} caches`);
  for (const cache of caches) {
    if (cache.batch !== 1) throw new ShapeError("decodeStep: each cache must hold one sequence");
    if (cache.length + 1 > cache.maxT) throw new ShapeError(`decodeStep: a cache is full (${cache.maxT} positions)`);
  }
  return e.noGrad(() => {
    const h = decodeRows(model, e, ids, (i, l) => ({ k: caches[i].k[l], v: caches[i].v[l], pos: caches[i].length }));
    for (const cache of caches) cache.length += 1;
    const logits = decodeProj(model, e, h, model.headName()).data;
    assertFiniteOutput(model.be, logits, "logits", ids.length * model.config.vocab);
    return logits;
  });
}

/**
 * x · Wᵀ of a decode step for the parameter `name`: its packed copy when the model has one, else
 * decodeLinear. Bit-identical either way (models/packed.ts): decodeLinear takes the skinny GEMV
 * for every row (groups of 16), and the packed kernels sum each output in the same order for
 * any number of rows.
 */
export function decodeProj<Fb extends FloatBuf>(model: LlamaModel<Fb>, e: Engine<Fb>, x: Tensor<Fb>, name: string): Tensor<Fb> {
  const p = model.packed.get(name);
  return packedEligible(e, p) ? packedLinear(e, x, p) : decodeLinear(e, x, model.params.get(name));
}

/** Rows per skinny product: the native backend's multi-row GEMV takes up to 16 (native/gemv.inc). */
export const DECODE_ROWS = 16;

/**
 * x[n, in] · w[out, in]ᵀ for the decode step, as groups of at most 16 rows (one matmul call
 * each): the backend's skinny path (native/gemv.inc) streams each weight row once per group for
 * all its rows and sums each output in the same order as for a single row, where a packed GEMM
 * would first copy the whole weight (the output head: V × d floats) every step. So batched rows
 * get exactly the numbers a one-sequence decode gets, faster.
 */
export function decodeLinear<Fb extends FloatBuf>(e: Engine<Fb>, x: Tensor<Fb>, w: Tensor<Fb>): Tensor<Fb> {
  const [outF, inF] = w.shape;
  const n = x.size / inF;
  const y = e.empty([n, outF]);
  const G = DECODE_ROWS;
  const full = Math.floor(n / G);
  if (full > 0) e.be.matmul(y.data, x.data, w.data, G, outF, inF, false, true, false, full, G * inF, 0, G * outF);
  const rest = n - full * G;
  if (rest > 0) e.be.matmul(y.data.subarray(full * G * outF) as Fb, x.data.subarray(full * G * inF) as Fb, w.data, rest, outF, inF, false, true, false, 1, 0, 0, 0);
  return y;
}

/**
 * Greedy continuations of many prompts, `batchSize` at a time. The tokens equal those of decoding
 * each prompt alone (generateUntil / generate with temperature 0), up to float rounding of the
 * batched GEMMs. Every prompt + its budget must fit the model's context.
 */
export function generateGreedyBatch<Fb extends FloatBuf>(model: LlamaModel<Fb>, prompts: ReadonlyArray<readonly number[]>, opts: BatchDecodeOptions): BatchDecodeResult[] {
  const { maxSeq, vocab: V } = model.config;
  const budget = (i: number) => (typeof opts.maxNewTokens === "number" ? opts.maxNewTokens : opts.maxNewTokens[i]);
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new ShapeError(`generate: prompt ${i} is empty (no tokens)`);
    if (budget(i) < 1) throw new ShapeError(`generate: prompt ${i} has a budget of ${budget(i)} new tokens`);
    if (p.length + budget(i) > maxSeq) throw new ShapeError(`generate: prompt ${i} (${p.length} tokens) + ${budget(i)} new tokens exceed the model's context of ${maxSeq}`);
  });
  const B = Math.max(1, opts.batchSize ?? 16);
  const chunk = Math.max(1, opts.prefillChunk ?? 256);
  const results: BatchDecodeResult[] = prompts.map(() => ({ ids: [], stoppedBy: "length" }));
  const e = new Engine(model.be);
  let finished = 0;
  // One batched cache serves every group (rows are refilled from position 0; attention reads only a
  // row's filled positions), reallocated only when a group needs more positions: a fresh cache per
  // group costs its page faults again each time.
  let cache: KVCache<Fb> | undefined;
  try {
    e.noGrad(() => {
      for (let g0 = 0; g0 < prompts.length; g0 += B) {
        const group = Array.from({ length: Math.min(B, prompts.length - g0) }, (_, j) => g0 + j);
        const maxT = Math.max(...group.map((i) => prompts[i].length + budget(i)));
        if (!cache || cache.maxT < maxT) {
          cache?.dispose(model.be);
          cache = undefined;  // (a failed allocation leaves nothing to dispose twice)
          cache = new KVCache(model.be, model.config, Math.min(B, prompts.length), maxT);
        }
        const kv = cache;
        const lengths = new Array<number>(group.length).fill(0);
        const next = new Array<number>(group.length);
        // Prefill, chunk by chunk: the parts of more than DECODE_ROWS tokens of all rows go through
        // one packed forward (prefillRows), shorter ones alone; either way a row gets the bits of
        // being prefilled by itself, so the tokens do not depend on the batch.
        const nchunks = Math.max(...group.map((i) => Math.ceil(prompts[i].length / chunk)));
        // The first new token of each row whose prompt ends in h (hidden states, rows `at`): one
        // product over all of them (bit-identical per row to a one-row product: decodeLinear).
        const finish = (rs: readonly number[], h: Tensor<Fb>, at: readonly number[]) => {
          if (rs.length === 0) return;
          const logits = decodeProj(model, e, F.embedding(e, h, Int32Array.from(at)), model.headName()).data;
          assertFiniteOutput(model.be, logits, "logits", rs.length * V);
          rs.forEach((r, j) => (next[r] = argmax(logits.subarray(j * V, (j + 1) * V))));
        };
        for (let ci = 0; ci < nchunks; ci++) {
          const s = ci * chunk;
          const packed: number[] = [];
          group.forEach((i, r) => {
            const ids = prompts[i];
            if (s >= ids.length) return;
            const n = Math.min(chunk, ids.length - s);
            if (n > DECODE_ROWS) { packed.push(r); return; }
            const view = cacheRow(kv, r);
            view.length = lengths[r];
            const h = model.hidden(e, Int32Array.from(ids.slice(s, s + n)), 1, n, view);
            lengths[r] += n;
            if (s + n >= ids.length) finish([r], h, [n - 1]);
            e.reset();
          });
          if (packed.length === 0) continue;
          const parts = packed.map((r) => Int32Array.from(prompts[group[r]].slice(s, s + chunk)));
          const h = prefillRows(model, e, parts, packed, kv, lengths);
          const ending: number[] = [], at: number[] = [];
          let t0 = 0;
          packed.forEach((r, j) => {
            t0 += parts[j].length;
            if (s + parts[j].length >= prompts[group[r]].length) { ending.push(r); at.push(t0 - 1); }
          });
          finish(ending, h, at);
          e.reset();
        }
        let active = group.map((_, r) => r);
        for (;;) {
          active = active.filter((r) => {
            const i = group[r];
            const res = results[i];
            const id = next[r];
            let stop: BatchDecodeResult["stoppedBy"] | undefined;
            if (opts.stopId !== undefined && id === opts.stopId) stop = "eos";
            else {
              res.ids.push(id);
              if (opts.isDone?.(i, res.ids)) stop = "stop";
              else if (res.ids.length >= budget(i)) stop = "length";
            }
            if (stop === undefined) return true;
            res.stoppedBy = stop;
            opts.onDone?.(++finished, prompts.length);
            return false;
          });
          if (active.length === 0) break;
          const h = decodeStep(model, e, Int32Array.from(active, (r) => next[r]), active, kv, lengths);
          const logits = decodeProj(model, e, h, model.headName());
          assertFiniteOutput(model.be, logits.data, "logits", active.length * V);
          active.forEach((r, j) => (next[r] = argmax(logits.data.subarray(j * V, (j + 1) * V))));
          e.reset();
        }
      }
    });
  } finally {
    cache?.dispose(model.be);
    e.arena.dispose();
  }
  return results;
}
