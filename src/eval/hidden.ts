// Logits for selected rows only. Scoring needs the output head on a few positions (the last
// context token, the real continuation tokens), and the head dominates small models' cost
// (d × V per row): run the decoder once for hidden states, then project only the rows wanted.
import type { FloatBuf } from "../backend/backend.js";
import type { KVCache, LlamaModel } from "../models/llama.js";
import type { Engine } from "../tensor/engine.js";
import type { Tensor } from "../tensor/tensor.js";

export class RowLogits<Fb extends FloatBuf> {
  constructor(readonly model: LlamaModel<Fb>) {}

  /** Final hidden states [B*T, d] (after the last RMSNorm), appending to `cache` like forward. */
  hidden(e: Engine<Fb>, ids: Int32Array, B: number, T: number, cache?: KVCache<Fb>): Tensor<Fb> {
    return this.model.hidden(e, ids, B, T, cache);
  }

  /** Logits [rows.length, V] for the given rows of hidden states h [N, d]. */
  logits(e: Engine<Fb>, h: Tensor<Fb>, rows: Int32Array): Tensor<Fb> {
    return this.model.logits(e, h, rows);
  }

  dispose(): void {}
}
