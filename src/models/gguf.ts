// A Llama in llama.cpp's GGUF conventions (as its convert_hf_to_gguf.py writes them): the
// `llama.*` hyper-parameter keys, tensor names (token_embd, blk.N.attn_q, …, output), ggml dims
// (torch [out, in] → [in, out]), and q/k rows permuted from HF's rotate-half RoPE layout to the
// interleaved-pair layout llama.cpp's RoPE expects. Model ⇄ tensors here; tokenizer keys are in
// tokenizer/gguf-tokenizer.ts; the export command lives in export/.
import * as fs from "node:fs";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { CheckpointError, fmtShape } from "../errors.js";
import { openGguf, gv, type GgufFile, type GgufTensorToWrite, type GgufValue } from "../io/gguf.js";
import { ggmlDecode, ggmlEncode, type GgmlTypeName } from "../io/ggml-quants.js";
import { parameterShapes, type LlamaConfig } from "./config.js";
import { LlamaModel, packableNames } from "./llama.js";
import { bf16FromBytes, permuteRows, q8FromBlocks, type WeightChoice } from "./packed.js";

/** The weight types `smol export --format gguf --dtype` offers. */
export const GGUF_DTYPES = ["f32", "f16", "bf16", "q8_0", "q4_0"] as const;
export type GgufDtype = (typeof GGUF_DTYPES)[number];

/** llama_ftype values written as general.file_type (llama.h). */
const FILE_TYPE: Record<GgufDtype, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32 };

/** True when `p` names a GGUF file (by extension), the dispatch rule of the model loaders. */
export function isGgufPath(p: string): boolean {
  return /\.gguf$/i.test(p) && (!fs.existsSync(p) || fs.statSync(p).isFile());
}

/** HF parameter name → GGUF tensor name. */
export function ggufTensorName(hf: string): string {
  const fixed: Record<string, string> = { "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight" };
  if (fixed[hf]) return fixed[hf];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  const per: Record<string, string> = {
    "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
  };
  if (!m || !per[m[2]]) throw new CheckpointError(`no GGUF name for tensor ${hf}`);
  return `blk.${m[1]}.${per[m[2]]}`;
}

/**
 * Reorder the rows of a q/k projection [heads*HS, in] from HF's layout (each head's first HS/2 rows
 * rotate with its last HS/2) to llama.cpp's (rows 2i, 2i+1 rotate together): new row 2i+j of a head
 * is old row j*HS/2+i. `inverse` undoes it.
 */
export function permuteRope(w: Float32Array, heads: number, cols: number, inverse = false): Float32Array {
  const rows = w.length / cols;
  const hs = rows / heads;
  const half = hs / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const hfRow = h * hs + j * half + i;
        const ggRow = h * hs + 2 * i + j;
        const [dst, src] = inverse ? [hfRow, ggRow] : [ggRow, hfRow];
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

/** The `general.*` and `llama.*` keys for a config. */
export function ggufModelMetadata(c: LlamaConfig, dtype: GgufDtype, name: string): Array<[string, GgufValue]> {
  return [
    ["general.architecture", gv.str("llama")],
    ["general.type", gv.str("model")],
    ["general.name", gv.str(name)],
    ["llama.block_count", gv.u32(c.layers)],
    ["llama.context_length", gv.u32(c.maxSeq)],
    ["llama.embedding_length", gv.u32(c.d)],
    ["llama.feed_forward_length", gv.u32(c.ffn)],
    ["llama.attention.head_count", gv.u32(c.heads)],
    ["llama.attention.head_count_kv", gv.u32(c.kvHeads)],
    ["llama.rope.freq_base", gv.f32(c.ropeTheta)],
    ["llama.attention.layer_norm_rms_epsilon", gv.f32(c.normEps)],
    ["llama.attention.key_length", gv.u32(c.headDim)],
    ["llama.attention.value_length", gv.u32(c.headDim)],
    ["general.file_type", gv.u32(FILE_TYPE[dtype])],
    ["llama.vocab_size", gv.u32(c.vocab)],
    ["llama.rope.dimension_count", gv.u32(c.headDim)],
    ["general.quantization_version", gv.u32(2)],
  ];
}

/** The ggml type a tensor is stored in for a file dtype (norms stay F32; rows not a multiple of 32 fall back). */
export function tensorType(dtype: GgufDtype, ggufName: string, dims: number[], tied: boolean): GgmlTypeName {
  if (dims.length === 1) return "F32";
  const base: Record<GgufDtype, GgmlTypeName> = { f32: "F32", f16: "F16", bf16: "BF16", q8_0: "Q8_0", q4_0: "Q4_0" };
  let t = base[dtype];
  // Q4_0 keeps the output head in Q8_0 (llama.cpp's quantizer also keeps it at higher precision).
  if (t === "Q4_0" && (ggufName === "output.weight" || (tied && ggufName === "token_embd.weight"))) t = "Q8_0";
  if ((t === "Q8_0" || t === "Q4_0") && dims[0] % 32 !== 0) t = "F16";
  return t;
}

/** The model's tensors as GGUF tensors of the given dtype, encoded lazily. */
export function ggufTensors<F extends FloatBuf>(model: LlamaModel<F>, dtype: GgufDtype): GgufTensorToWrite[] {
  const c = model.config;
  return parameterShapes(c).map(({ name, shape }) => {
    const gname = ggufTensorName(name);
    const dims = [...shape].reverse();
    const type = tensorType(dtype, gname, dims, c.tied);
    return {
      name: gname, dims, type,
      bytes: () => {
        let w: Float32Array = Float32Array.from(model.params.get(name).data);
        if (name.endsWith("q_proj.weight")) w = permuteRope(w, c.heads, c.d);
        else if (name.endsWith("k_proj.weight")) w = permuteRope(w, c.kvHeads, c.d);
        return ggmlEncode(type, w);
      },
    };
  });
}

function num(f: GgufFile, key: string, dflt?: number): number {
  const v = f.get(key);
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "number") throw new CheckpointError(`${f.path}: metadata key ${key} is ${v === undefined ? "missing" : "not a number"}`, "is this a llama-architecture GGUF?");
  return v;
}

/** LlamaConfig from a GGUF file's metadata. */
export function ggufConfig(f: GgufFile): LlamaConfig {
  const arch = f.get("general.architecture");
  if (arch !== "llama") throw new CheckpointError(`${f.path}: general.architecture is ${JSON.stringify(arch)}; only "llama" models load`);
  const emb = f.tensors.get("token_embd.weight");
  if (!emb) throw new CheckpointError(`${f.path}: no token_embd.weight tensor`);
  const d = num(f, "llama.embedding_length");
  const heads = num(f, "llama.attention.head_count");
  const tokens = f.get("tokenizer.ggml.tokens");
  const vocab = num(f, "llama.vocab_size", Array.isArray(tokens) ? tokens.length : emb.dims[1]);
  const c: LlamaConfig = {
    vocab, d, heads,
    ffn: num(f, "llama.feed_forward_length"),
    layers: num(f, "llama.block_count"),
    kvHeads: num(f, "llama.attention.head_count_kv", heads),
    headDim: num(f, "llama.attention.key_length", d / heads),
    ropeTheta: num(f, "llama.rope.freq_base", 10000),
    normEps: num(f, "llama.attention.layer_norm_rms_epsilon", 1e-5),
    tied: !f.tensors.has("output.weight"),
    maxSeq: num(f, "llama.context_length", 2048),
    initStd: 0.02,
  };
  const bos = f.get("tokenizer.ggml.bos_token_id");
  const eos = f.get("tokenizer.ggml.eos_token_id");
  if (typeof bos === "number") c.bosTokenId = bos;
  if (typeof eos === "number") c.eosTokenId = eos;
  return c;
}

/** For a q/k projection with `heads` heads of `rows/heads` rows: the GGUF row holding HF row r. */
function ropeSourceRow(heads: number, rows: number): (r: number) => number {
  const hs = rows / heads;
  const half = hs / 2;
  return (r) => {
    const h = Math.floor(r / hs), within = r % hs;
    const j = Math.floor(within / half), i = within % half;
    return h * hs + 2 * i + j;
  };
}

/**
 * Load a llama GGUF file (F32/F16/BF16/Q8_0/Q4_0 tensors, dequantized to float32) onto a backend.
 * `weights` picks what decoding multiplies (models/packed.ts): "auto" (default) keeps the file's
 * own storage, i.e. matrices stored as Q8_0 keep their int8 codes and scales and BF16 ones their
 * bits (the float32 parameters hold the same values exactly: an fp16 scale times an int8 code and
 * a bf16 value are float32 numbers), everything else decodes in float32; "fp32" packs nothing;
 * "bf16" / "q8_0" pack every matrix so (keeping the file's codes/bits where they are already so).
 */
export function loadGgufModel<F extends FloatBuf>(file: string, be: Backend<F>, opts: { withGrad?: boolean; weights?: WeightChoice } = {}): LlamaModel<F> {
  const f = openGguf(file);
  const weights = opts.weights ?? "auto";
  try {
    const c = ggufConfig(f);
    const model = new LlamaModel(be, c, { withGrad: opts.withGrad });
    const packable = new Set(packableNames(c));
    try {
      for (const { name, shape } of parameterShapes(c)) {
        const gname = ggufTensorName(name);
        const t = f.tensors.get(gname);
        const dims = [...shape].reverse();
        if (!t) throw new CheckpointError(`${file}: missing tensor ${gname}`);
        if (t.dims.length !== dims.length || t.dims.some((x, i) => x !== dims[i])) throw new CheckpointError(`${file}: tensor ${gname} has dims ${fmtShape(t.dims)} but the metadata implies ${fmtShape(dims)}`);
        const bytes = f.readTensorBytes(gname);
        let w: Float32Array = ggmlDecode(t.type, bytes, shape.reduce((a, b) => a * b, 1));
        const heads = name.endsWith("q_proj.weight") ? c.heads : name.endsWith("k_proj.weight") ? c.kvHeads : 0;
        if (heads) w = permuteRope(w, heads, c.d, true);
        model.params.set(name, w);
        const keep = t.type === "Q8_0" ? "q8_0" : t.type === "BF16" ? "bf16" : undefined;
        if (keep && packable.has(name) && (weights === "auto" || weights === keep)) {
          const [N, K] = shape;
          let p = keep === "q8_0" ? q8FromBlocks(bytes, N, K) : bf16FromBytes(bytes, N, K);
          if (heads) p = permuteRows(p, ropeSourceRow(heads, N));
          model.adoptPacked(name, p);
        }
      }
      if (weights !== "auto") model.packWeights(weights);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  } finally {
    f.close();
  }
}
