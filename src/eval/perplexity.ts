// Validation loss, perplexity and bits per byte of a token stream: the stream is cut into windows
// of seqLen+1 tokens overlapping by one (so every token but the first is predicted exactly once,
// with the context since its window began; the last window may be shorter). Windows are run in
// chunks through a KV cache so the logits held at once stay bounded for any vocabulary.
// Streams come from a text/JSONL file (documents joined with EOS) or a shard directory's val split.
import * as fs from "node:fs";
import * as path from "node:path";
import type { FloatBuf } from "../backend/backend.js";
import { openShards, readIndex } from "../data/shards.js";
import { readDocuments } from "../data/sources.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { DataError } from "../errors.js";
import { assertFiniteOutput } from "../models/finite.js";
import { KVCache, type LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";

export interface StreamLoss {
  /** Mean negative log-likelihood, nats per predicted token. */
  loss: number;
  /** Predicted tokens. */
  tokens: number;
  /** Sum of nats over predicted tokens. */
  nats: number;
  /** Sum of nats over predicted tokens other than `byteless` (the nats bits per byte counts). */
  byteNats: number;
  windows: number;
}

export interface StreamLossOptions {
  seqLen: number;
  /** At most this many windows (from the start of the stream). */
  maxWindows?: number;
  /** Tokens per forward (default: the largest chunk keeping logits under 2^24 floats, at most seqLen). */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
  /** A token id that decodes to no bytes (EOS between documents): its loss is left out of byteNats. */
  byteless?: number;
}

/** Number of windows and predicted tokens a stream of n tokens gives. */
export function windowPlan(n: number, seqLen: number, maxWindows?: number): { windows: number; predicted: number } {
  if (n < 2) return { windows: 0, predicted: 0 };
  let windows = Math.ceil((n - 1) / seqLen);
  if (maxWindows !== undefined) windows = Math.min(windows, maxWindows);
  return { windows, predicted: Math.min(n - 1, windows * seqLen) };
}

/** Loss over the windows of `stream` (token ids, all inside the model's vocabulary). */
export function streamLoss<Fb extends FloatBuf>(model: LlamaModel<Fb>, stream: Int32Array, opts: StreamLossOptions): StreamLoss {
  const { vocab: V, maxSeq } = model.config;
  if (opts.seqLen < 1 || opts.seqLen > maxSeq) throw new DataError(`sequence length ${opts.seqLen} must be between 1 and the model's context ${maxSeq}`);
  for (let i = 0; i < stream.length; i++) {
    if (stream[i] < 0 || stream[i] >= V) throw new DataError(`token ${i} of the stream has id ${stream[i]}, outside the model's vocabulary [0, ${V}); was the data tokenized with this model's tokenizer?`);
  }
  const { windows, predicted } = windowPlan(stream.length, opts.seqLen, opts.maxWindows);
  const chunk = Math.max(1, Math.min(opts.seqLen, opts.chunk ?? Math.floor(2 ** 24 / V)));
  const e = new Engine(model.be);
  let nats = 0;
  let byteNats = 0;
  let count = 0;
  try {
    e.noGrad(() => {
      for (let w = 0; w < windows; w++) {
        const start = w * opts.seqLen;
        const T = Math.min(opts.seqLen, stream.length - 1 - start);
        const cache = new KVCache(model.be, model.config, 1, T);
        try {
          for (let s = 0; s < T; s += chunk) {
            const n = Math.min(chunk, T - s);
            const ids = stream.slice(start + s, start + s + n);
            const targets = stream.slice(start + s + 1, start + s + n + 1);
            const logits = model.forward(e, ids, 1, n, cache);
            const { losses } = F.crossEntropy(e, logits, targets);
            assertFiniteOutput(model.be, losses, "losses", n);
            for (let i = 0; i < n; i++) {
              nats += losses[i];
              if (targets[i] !== opts.byteless) byteNats += losses[i];
            }
            count += n;
            e.reset();
          }
        } finally {
          cache.dispose(model.be);
        }
        opts.onProgress?.(w + 1, windows);
      }
    });
  } finally {
    e.arena.dispose();
  }
  if (count !== predicted) throw new Error(`internal: predicted ${count} tokens, planned ${predicted}`);
  return { loss: count ? nats / count : NaN, tokens: count, nats, byteNats, windows };
}

/** UTF-8 bytes of the text the predicted tokens (stream[1 .. 1+predicted)) decode to. */
export function predictedBytes(tok: Tokenizer, stream: Int32Array, predicted: number): number {
  return Buffer.byteLength(tok.decode(Array.from(stream.subarray(1, 1 + predicted)), true), "utf8");
}

/** Documents of a text or JSONL(.gz) file ("text" field) encoded and joined, each followed by EOS. */
export async function fileStream(tok: Tokenizer, file: string): Promise<Int32Array> {
  if (!fs.existsSync(file)) throw new DataError(`val: data file not found: ${file}`, 'give a text file, or JSONL with a "text" field per line, or a shard directory from `smol tokenize`');
  const ids: number[] = [];
  for await (const doc of readDocuments({ name: "val", paths: [file] })) {
    for (const id of tok.encode(doc.text)) ids.push(id);
    if (tok.eosId !== undefined) ids.push(tok.eosId);
  }
  if (ids.length < 2) throw new DataError(`val: ${file} holds fewer than 2 tokens of text`);
  return Int32Array.from(ids);
}

/** True when `dir` is a shard directory written by `smol tokenize`. */
export function isShardDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, "index.json"));
}

/** Each source's val split of a shard directory as one stream (the first `maxTokens` tokens). */
export function shardValStreams(dir: string, maxTokens?: number): Array<{ source: string; stream: Int32Array }> {
  const index = readIndex(dir);
  const out: Array<{ source: string; stream: Int32Array }> = [];
  for (const source of Object.keys(index.sources).sort()) {
    if (index.sources[source].val.tokens < 2) continue;
    const s = openShards(dir, source, "val");
    try {
      const n = Math.min(s.numTokens, maxTokens ?? s.numTokens);
      out.push({ source, stream: s.read(0, n) });
    } finally {
      s.close();
    }
  }
  if (out.length === 0) throw new DataError(`${dir}: no source has a validation split`, "tokenize with a val fraction above 0 (`smol tokenize --val-fraction`)");
  return out;
}
