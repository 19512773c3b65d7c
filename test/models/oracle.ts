// An independent Llama forward pass for tests: plain float64 loops straight from docs/references.md §1
// (HF LlamaForCausalLM semantics), sharing no code with src/ — so tests of shapes the PyTorch
// fixture does not cover (GQA ratios, untied heads, RoPE theta, bf16 weights) have an oracle.

export interface OracleConfig {
  vocab: number; d: number; layers: number; heads: number; kvHeads: number; ffn: number;
  ropeTheta: number; eps: number; tied: boolean;
}

type W = (name: string) => ArrayLike<number>;

function rmsnorm(x: number[], w: ArrayLike<number>, eps: number): number[] {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => w[i] * v * r);
}

/** y = W x for W stored [out, in]. */
function lin(w: ArrayLike<number>, x: number[], out: number): number[] {
  const n = x.length;
  const y = new Array<number>(out).fill(0);
  for (let o = 0; o < out; o++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += w[o * n + i] * x[i];
    y[o] = s;
  }
  return y;
}

function rope(v: number[], pos: number, theta: number): number[] {
  const hd = v.length, half = hd / 2;
  const out = v.slice();
  for (let i = 0; i < half; i++) {
    const inv = 1 / Math.pow(theta, (2 * i) / hd);
    const c = Math.cos(pos * inv), s = Math.sin(pos * inv);
    out[i] = v[i] * c - v[i + half] * s;
    out[i + half] = v[i + half] * c + v[i] * s;
  }
  return out;
}

/** Logits [T][V] for one sequence. */
export function oracleForward(c: OracleConfig, w: W, ids: number[]): number[][] {
  const hd = c.d / c.heads, group = c.heads / c.kvHeads;
  const emb = w("model.embed_tokens.weight");
  let h = ids.map((id) => Array.from({ length: c.d }, (_, j) => emb[id * c.d + j]));
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}.`;
    const a = h.map((x) => rmsnorm(x, w(p + "input_layernorm.weight"), c.eps));
    const q = a.map((x) => lin(w(p + "self_attn.q_proj.weight"), x, c.heads * hd));
    const k = a.map((x) => lin(w(p + "self_attn.k_proj.weight"), x, c.kvHeads * hd));
    const v = a.map((x) => lin(w(p + "self_attn.v_proj.weight"), x, c.kvHeads * hd));
    const head = (vec: number[], i: number) => vec.slice(i * hd, (i + 1) * hd);
    const attnOut = q.map((qt, t) => {
      const o: number[] = [];
      for (let hh = 0; hh < c.heads; hh++) {
        const kv = Math.floor(hh / group);
        const qh = rope(head(qt, hh), t, c.ropeTheta);
        const scores = [];
        for (let j = 0; j <= t; j++) {
          const kj = rope(head(k[j], kv), j, c.ropeTheta);
          scores.push(qh.reduce((s, x, i) => s + x * kj[i], 0) / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((x, y) => x + y, 0);
        for (let i = 0; i < hd; i++) {
          let s = 0;
          for (let j = 0; j <= t; j++) s += (e[j] / z) * head(v[j], kv)[i];
          o.push(s);
        }
      }
      return o;
    });
    h = h.map((x, t) => {
      const o = lin(w(p + "self_attn.o_proj.weight"), attnOut[t], c.d);
      return x.map((xv, i) => xv + o[i]);
    });
    h = h.map((x) => {
      const m = rmsnorm(x, w(p + "post_attention_layernorm.weight"), c.eps);
      const g = lin(w(p + "mlp.gate_proj.weight"), m, c.ffn);
      const u = lin(w(p + "mlp.up_proj.weight"), m, c.ffn);
      const s = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]);
      const dn = lin(w(p + "mlp.down_proj.weight"), s, c.d);
      return x.map((xv, i) => xv + dn[i]);
    });
  }
  const head = w(c.tied ? "model.embed_tokens.weight" : "lm_head.weight");
  return h.map((x) => lin(head, rmsnorm(x, w("model.norm.weight"), c.eps), c.vocab));
}

/** log p(ids[t+1] | ids[..t]) for t = 0..T-2. */
export function oracleLogprobs(c: OracleConfig, w: W, ids: number[]): number[] {
  const logits = oracleForward(c, w, ids);
  const out: number[] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = logits[t];
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    out.push(row[ids[t + 1]] - lse);
  }
  return out;
}
