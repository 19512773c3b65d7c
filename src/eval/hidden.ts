// Logits for selected rows only. Scoring needs the output head on a few positions (the last
// context token, the real continuation tokens) while LlamaModel.forward applies it to every
// position, and the head dominates small models' cost (d × V per row). Until forward can take
// the rows it should project (a two-line change in models/llama.ts, proposed to its owner), we
// run forward on a view of the model whose head is the d × d identity, which returns the final
// normed hidden states, gather the rows wanted and apply the real head to those. The output shape
// is checked, so a forward that stops using headWeight() fails loudly instead of silently.
import type { FloatBuf } from "../backend/backend.js";
import type { KVCache, LlamaModel } from "../models/llama.js";
import type { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";
import { Tensor } from "../tensor/tensor.js";

export class RowLogits<Fb extends FloatBuf> {
  private readonly eye: Tensor<Fb>;
  private readonly view: LlamaModel<Fb>;

  constructor(readonly model: LlamaModel<Fb>) {
    const d = model.config.d;
    const buf = model.be.alloc(d * d);
    for (let i = 0; i < d; i++) buf[i * d + i] = 1;
    this.eye = new Tensor([d, d], buf);
    const view = Object.create(model) as LlamaModel<Fb>;
    Object.defineProperty(view, "headWeight", { value: () => this.eye });
    this.view = view;
  }

  /** Final hidden states [B*T, d] (after the last RMSNorm), appending to `cache` like forward. */
  hidden(e: Engine<Fb>, ids: Int32Array, B: number, T: number, cache?: KVCache<Fb>): Tensor<Fb> {
    const h = this.view.forward(e, ids, B, T, cache);
    const d = this.model.config.d;
    if (h.shape.length !== 2 || h.shape[0] !== B * T || h.shape[1] !== d) {
      throw new Error(`internal: expected hidden states [${B * T},${d}] from the identity-head forward, got [${h.shape.join(",")}]`);
    }
    return h;
  }

  /** Logits [rows.length, V] for the given rows of hidden states h [N, d]. */
  logits(e: Engine<Fb>, h: Tensor<Fb>, rows: Int32Array): Tensor<Fb> {
    return F.linear(e, F.embedding(e, h, rows), this.model.headWeight());
  }

  dispose(): void {
    this.model.be.free(this.eye.data);
  }
}
