// Batch sources for post-training: a list of examples taken in epoch order (shuffled per epoch
// from the seed, or file order), micro-batch by micro-batch, wrapping into the next epoch; the
// cursor (epoch, position) is what checkpoints store. Rows of a micro-batch are padded to the
// longest; padded positions have target -1 (no loss).
import { createHash } from "node:crypto";
import { DataError } from "../errors.js";
import type { BatchSource } from "../train/trainer.js";
import { Rng } from "../util/rng.js";

/** The order of epoch `epoch` over n examples. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return order;
  const rng = new Rng((seed * 1000003 + epoch * 7919 + 1) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

export interface ExampleCursor {
  epoch: number;
  pos: number;
}

/** Takes `micro` example indices at a time, epoch after epoch. */
export class ExampleStream {
  private epoch = 0;
  private pos = 0;
  private order: Int32Array;
  constructor(readonly n: number, readonly seed: number, readonly shuffle: boolean) {
    if (n === 0) throw new DataError("no training examples");
    this.order = epochOrder(n, seed, 0, shuffle);
  }
  take(k: number): number[] {
    const out: number[] = [];
    while (out.length < k) {
      if (this.pos === this.n) {
        this.epoch++;
        this.pos = 0;
        this.order = epochOrder(this.n, this.seed, this.epoch, this.shuffle);
      }
      out.push(this.order[this.pos++]);
    }
    return out;
  }
  cursor(): ExampleCursor {
    return { epoch: this.epoch, pos: this.pos };
  }
  restore(c: unknown): void {
    const { epoch, pos } = c as ExampleCursor;
    if (!Number.isInteger(epoch) || !Number.isInteger(pos) || pos < 0 || pos > this.n) throw new DataError(`bad data cursor ${JSON.stringify(c)} for ${this.n} examples`);
    this.epoch = epoch;
    this.pos = pos;
    this.order = epochOrder(this.n, this.seed, epoch, this.shuffle);
  }
  epochs(): number {
    return this.epoch + this.pos / this.n;
  }
}

/** A token sequence and its loss mask (mask[t] = 1: token t is predicted with loss). */
export interface MaskedSequence {
  ids: Int32Array;
  mask: Uint8Array;
}

/** Inputs and next-token targets of rows padded to the longest (targets of unmasked tokens = -1). */
export function padRows(rows: readonly MaskedSequence[], pad: number): { inputs: Int32Array; targets: Int32Array; B: number; T: number; tokens: number } {
  const B = rows.length;
  const T = Math.max(1, ...rows.map((r) => r.ids.length - 1));
  const inputs = new Int32Array(B * T).fill(pad);
  const targets = new Int32Array(B * T).fill(-1);
  let tokens = 0;
  rows.forEach((r, b) => {
    const n = r.ids.length - 1;
    tokens += n;
    for (let t = 0; t < n; t++) {
      inputs[b * T + t] = r.ids[t];
      if (r.mask[t + 1]) targets[b * T + t] = r.ids[t + 1];
    }
  });
  return { inputs, targets, B, T, tokens };
}

/** SHA-256 of token sequences (the data part of a post-training run's identity). */
export function hashSequences(parts: Iterable<ArrayBufferView>, extra = ""): string {
  const h = createHash("sha256");
  h.update(extra);
  for (const p of parts) {
    h.update(new Uint32Array([p.byteLength]));
    h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  }
  return h.digest("hex");
}

/** SFT micro-batches: `micro` masked sequences per call. */
export function sequenceSource(seqs: readonly MaskedSequence[], micro: number, seed: number, shuffle: boolean, pad: number, name = "sft"): BatchSource<SftBatch> {
  const stream = new ExampleStream(seqs.length, seed, shuffle);
  return {
    next: () => ({ ...padRows(stream.take(micro).map((i) => seqs[i]), pad), source: name }),
    cursor: () => stream.cursor(),
    restore: (c) => stream.restore(c),
    epochs: () => ({ [name]: stream.epochs() }),
    close: () => {},
  };
}

export interface SftBatch {
  inputs: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  tokens: number;
  source: string;
}
