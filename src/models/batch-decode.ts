// One decoding step for several sequences at once, each with its own KV cache at its own
// position (continuous batching for `smol serve`): the linear layers run as one product over all
// sequences' rows — the weights are read once per step instead of once per sequence — while RoPE
// and attention run per sequence against its cache. Inference only (no gradients).
import type { FloatBuf } from "../backend/backend.js";
import { ShapeError } from "../errors.js";
import type { Engine } from "../tensor/engine.js";
import * as F from "../tensor/ops.js";
import type { KVCache, LlamaModel } from "./llama.js";

/** Logits [N, V] for the next token of each of N sequences, given each one's last token; appends to every cache. */
export function decodeStep<Fb extends FloatBuf>(model: LlamaModel<Fb>, e: Engine<Fb>, ids: Int32Array, caches: readonly KVCache<Fb>[]): Fb {
  const c = model.config;
  const N = ids.length;
  if (caches.length !== N) throw new ShapeError(`decodeStep: ${N} ids for ${caches.length} caches`);
  for (const cache of caches) {
    if (cache.batch !== 1) throw new ShapeError("decodeStep: each cache must hold one sequence");
    if (cache.length + 1 > cache.maxT) throw new ShapeError(`decodeStep: a cache is full (${cache.maxT} positions)`);
  }
  const [NH, NKV, HS] = [c.heads, c.kvHeads, c.headDim];
  const qRow = NH * HS, kvRow = NKV * HS;
  const p = (n: string) => model.params.get(n);
  const be = e.be;
  const scale = 1 / Math.sqrt(HS);
  return e.noGrad(() => {
    let h = F.embedding(e, p("model.embed_tokens.weight"), ids);
    for (let l = 0; l < c.layers; l++) {
      const pre = `model.layers.${l}.`;
      const a = F.rmsnorm(e, h, p(pre + "input_layernorm.weight"), c.normEps);
      const q = F.linear(e, a, p(pre + "self_attn.q_proj.weight"));
      const k = F.linear(e, a, p(pre + "self_attn.k_proj.weight"));
      const v = F.linear(e, a, p(pre + "self_attn.v_proj.weight"));
      const qr = e.arena.alloc(N * qRow);
      const o = e.empty([N, qRow]);
      const lse = e.arena.alloc(NH);
      for (let i = 0; i < N; i++) {
        const cache = caches[i];
        const pos = cache.length;
        const kc = cache.k[l], vc = cache.v[l];
        const qi = qr.subarray(i * qRow, (i + 1) * qRow) as Fb;
        be.ropeForward(qi, q.data.subarray(i * qRow, (i + 1) * qRow) as Fb, model.rope.cos, model.rope.sin, 1, 1, NH, HS, pos);
        be.ropeForward(kc.subarray(pos * kvRow, (pos + 1) * kvRow) as Fb, k.data.subarray(i * kvRow, (i + 1) * kvRow) as Fb, model.rope.cos, model.rope.sin, 1, 1, NKV, HS, pos);
        vc.set(v.data.subarray(i * kvRow, (i + 1) * kvRow), pos * kvRow);
        const Tk = pos + 1;
        be.attentionForward(o.data.subarray(i * qRow, (i + 1) * qRow) as Fb, lse, qi, kc.subarray(0, Tk * kvRow) as Fb, vc.subarray(0, Tk * kvRow) as Fb, 1, 1, Tk, NH, NKV, HS, scale);
      }
      h = F.add(e, h, F.linear(e, o, p(pre + "self_attn.o_proj.weight")));
      const m = F.rmsnorm(e, h, p(pre + "post_attention_layernorm.weight"), c.normEps);
      const g = F.linear(e, m, p(pre + "mlp.gate_proj.weight"));
      const u = F.linear(e, m, p(pre + "mlp.up_proj.weight"));
      h = F.add(e, h, F.linear(e, F.swiglu(e, g, u), p(pre + "mlp.down_proj.weight")));
    }
    for (const cache of caches) cache.length += 1;
    return model.logits(e, F.rmsnorm(e, h, p("model.norm.weight"), c.normEps)).data;
  });
}
