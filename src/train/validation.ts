// Validation loss per data source on the held-out split: fixed windows (the first `tokens`
// tokens of each source's val split, cut into seq_len+1 windows), so every evaluation of a run
// sees the same data and numbers are comparable across steps, branches and averaged weights.
import type { FloatBuf } from "../backend/backend.js";
import { validationBatches, validationWindows } from "../data/mixture.js";
import { openShards, readIndex } from "../data/shards.js";
import type { LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";

export interface ValSet {
  source: string;
  inputs: Int32Array;
  targets: Int32Array;
  rows: number;
}

/** The validation windows of every source that has a val split (data/mixture.ts's windows). */
export function loadValSets(dataDir: string, seqLen: number, tokensPerSource: number): ValSet[] {
  const index = readIndex(dataDir);
  const sets: ValSet[] = [];
  for (const source of Object.keys(index.sources).sort()) {
    if (index.sources[source].val.tokens < seqLen + 1) continue;
    const s = openShards(dataDir, source, "val");
    try {
      const rows = Math.max(1, Math.min(Math.floor(tokensPerSource / seqLen), validationWindows(s, seqLen)));
      const [batch] = validationBatches(s, rows, seqLen, 1);
      sets.push({ source, inputs: batch.inputs, targets: batch.targets, rows: batch.rows });
    } finally {
      s.close();
    }
  }
  return sets;
}

/** Mean next-token loss of the model on each validation set (batches of `microBatch` rows). */
export function validationLoss<Fb extends FloatBuf>(model: LlamaModel<Fb>, sets: ValSet[], seqLen: number, microBatch: number): Record<string, number> {
  const e = new Engine(model.be);
  const out: Record<string, number> = {};
  try {
    e.noGrad(() => {
      for (const s of sets) {
        let sum = 0;
        let n = 0;
        for (let r = 0; r < s.rows; r += microBatch) {
          const B = Math.min(microBatch, s.rows - r);
          const ins = s.inputs.subarray(r * seqLen, (r + B) * seqLen);
          const tgt = s.targets.subarray(r * seqLen, (r + B) * seqLen);
          const { loss, count } = model.loss(e, ins, tgt, B, seqLen);
          sum += loss.data[0] * count;
          n += count;
          e.reset();
        }
        out[s.source] = sum / n;
      }
    });
  } finally {
    e.arena.dispose();
  }
  return out;
}
