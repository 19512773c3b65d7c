// Hugging Face `config.json` for LlamaForCausalLM ⇄ LlamaConfig. Parsing accepts old and new
// transformers spellings (rope_theta | rope_parameters.rope_theta, torch_dtype | dtype), fills
// absent optional keys with transformers' LlamaConfig defaults, and reports every problem by key.
// Writing produces the keys transformers writes, sorted as it sorts them. Weights live elsewhere.
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../errors.js";
import type { LlamaConfig } from "../models/config.js";
import { writeJsonAtomic } from "./atomic.js";

/** The transformers release whose config.json layout hfConfigJson reproduces. */
export const HF_TRANSFORMERS_VERSION = "4.46.0";
export const CONFIG_FILE = "config.json";
const TORCH_DTYPES = ["float32", "bfloat16", "float16", "float64"];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v) ?? String(v);
const absent = (v: unknown) => v === undefined || v === null;
const isPosInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
const isTokenId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
/** rope_scaling / rope_parameters that mean plain RoPE. */
const isDefaultRope = (v: Obj) => (v.rope_type ?? v.type ?? "default") === "default";

/** Validate a parsed config.json (named `file` in messages) and convert it to a LlamaConfig. */
export function parseHfConfig(json: unknown, file: string): LlamaConfig {
  if (!isObj(json)) throw new ConfigError(`${file}: expected a JSON object, got ${show(json)?.slice(0, 40)}`);
  const j = json;
  const problems: string[] = [];
  const bad = (key: string, msg: string) => problems.push(`${key}: ${msg}`);

  if (absent(j.model_type) && absent(j.architectures)) bad("model_type", `missing (expected "llama")`);
  if (!absent(j.model_type) && j.model_type !== "llama") {
    bad("model_type", `${show(j.model_type)} is not supported; only "llama" (LlamaForCausalLM) models load`);
  }
  if (!absent(j.architectures)) {
    const a = j.architectures;
    if (!Array.isArray(a) || a.length === 0 || a.some((x) => x !== "LlamaForCausalLM")) {
      bad("architectures", `${show(a)} is not supported; only ["LlamaForCausalLM"]`);
    }
  }

  const int = (key: string, dflt?: number): number => {
    const v = j[key];
    if (absent(v)) {
      if (dflt === undefined) bad(key, "missing (a positive integer is required)");
      return dflt ?? 0;
    }
    if (!isPosInt(v)) bad(key, `must be a positive integer, got ${show(v)}`);
    return v as number;
  };
  const pos = (key: string, v: unknown, dflt: number): number => {
    if (absent(v)) return dflt;
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) bad(key, `must be a positive number, got ${show(v)}`);
    return v as number;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = j[key];
    if (absent(v)) return dflt;
    if (typeof v !== "boolean") bad(key, `must be true or false, got ${show(v)}`);
    return v === true;
  };

  const vocab = int("vocab_size");
  const d = int("hidden_size");
  const ffn = int("intermediate_size");
  const layers = int("num_hidden_layers");
  const heads = int("num_attention_heads");
  const kvHeads = absent(j.num_key_value_heads) ? heads : int("num_key_value_heads");
  let headDim: number;
  if (absent(j.head_dim)) {
    headDim = d / heads;
    if (isPosInt(d) && isPosInt(heads) && d % heads !== 0) {
      bad("num_attention_heads", `${heads} does not divide hidden_size ${d} (and no head_dim is given)`);
    }
  } else headDim = int("head_dim");
  if (isPosInt(kvHeads) && isPosInt(heads) && heads % kvHeads !== 0) {
    bad("num_key_value_heads", `${kvHeads} does not divide num_attention_heads ${heads}`);
  }

  // RoPE: rope_theta (transformers ≤ 4.x) or rope_parameters.rope_theta (newer); no scaling.
  let ropeTheta = pos("rope_theta", j.rope_theta, 10000);
  const rp = j.rope_parameters;
  if (!absent(rp)) {
    if (!isObj(rp)) bad("rope_parameters", `must be an object, got ${show(rp)}`);
    else {
      if (!isDefaultRope(rp)) bad("rope_parameters.rope_type", `${show(rp.rope_type ?? rp.type)} is not supported (plain RoPE only)`);
      if (!absent(rp.rope_theta)) {
        const t = pos("rope_parameters.rope_theta", rp.rope_theta, 10000);
        if (!absent(j.rope_theta) && t !== ropeTheta) bad("rope_parameters.rope_theta", `${t} disagrees with rope_theta ${ropeTheta}`);
        ropeTheta = t;
      }
    }
  }
  if (!absent(j.rope_scaling) && !(isObj(j.rope_scaling) && isDefaultRope(j.rope_scaling))) {
    bad("rope_scaling", `${show(j.rope_scaling)} is not supported (plain RoPE only); it must be null`);
  }

  const act = j.hidden_act ?? "silu";
  if (act !== "silu") bad("hidden_act", `${show(act)} is not supported (only "silu": the SwiGLU MLP)`);
  if (bool("attention_bias", false)) bad("attention_bias", "true is not supported (Llama without biases only)");
  if (bool("mlp_bias", false)) bad("mlp_bias", "true is not supported (Llama without biases only)");
  for (const key of ["torch_dtype", "dtype"]) {
    if (!absent(j[key]) && !TORCH_DTYPES.includes(j[key] as string)) bad(key, `${show(j[key])} is not one of ${TORCH_DTYPES.join(", ")}`);
  }

  const out: LlamaConfig = {
    vocab, d, ffn, layers, heads, kvHeads, headDim,
    ropeTheta,
    normEps: pos("rms_norm_eps", j.rms_norm_eps, 1e-6),
    tied: bool("tie_word_embeddings", false),
    maxSeq: int("max_position_embeddings", 2048),
    initStd: pos("initializer_range", j.initializer_range, 0.02),
  };
  if (!absent(j.bos_token_id)) {
    if (!isTokenId(j.bos_token_id)) bad("bos_token_id", `must be a non-negative integer or null, got ${show(j.bos_token_id)}`);
    out.bosTokenId = j.bos_token_id as number;
  }
  const eos = j.eos_token_id;
  if (!absent(eos)) {
    if (!isTokenId(eos) && !(Array.isArray(eos) && eos.length > 0 && eos.every(isTokenId))) {
      bad("eos_token_id", `must be a non-negative integer, a list of them, or null, got ${show(eos)}`);
    }
    out.eosTokenId = Array.isArray(eos) ? [...(eos as number[])] : (eos as number);
  }
  if (problems.length) {
    throw new ConfigError(`${file}: unusable Hugging Face model config`, problems, "fix the listed keys (only LlamaForCausalLM configs load)");
  }
  return out;
}

/** Read and validate `<dir>/config.json`. */
export function readHfConfig(dir: string): LlamaConfig {
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: cannot read (${code ?? (e as Error).message})`, [], "a Hugging Face model directory holds config.json beside its weights");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseHfConfig(json, file);
}

/** The config.json object transformers writes for this model (keys sorted, as it sorts them). */
export function hfConfigJson(c: LlamaConfig, extra: { dtype?: "float32" | "bfloat16" | "float16" } = {}): Record<string, unknown> {
  const o: Record<string, unknown> = {
    architectures: ["LlamaForCausalLM"],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: c.bosTokenId ?? null,
    eos_token_id: c.eosTokenId ?? null,
    head_dim: c.headDim,
    hidden_act: "silu",
    hidden_size: c.d,
    initializer_range: c.initStd,
    intermediate_size: c.ffn,
    max_position_embeddings: c.maxSeq,
    mlp_bias: false,
    model_type: "llama",
    num_attention_heads: c.heads,
    num_hidden_layers: c.layers,
    num_key_value_heads: c.kvHeads,
    pretraining_tp: 1,
    rms_norm_eps: c.normEps,
    rope_scaling: null,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tied,
    torch_dtype: extra.dtype ?? "float32",
    transformers_version: HF_TRANSFORMERS_VERSION,
    use_cache: true,
    vocab_size: c.vocab,
  };
  return o;
}

/** Atomically write `<dir>/config.json` for this model. */
export function writeHfConfig(dir: string, c: LlamaConfig, extra: { dtype?: "float32" | "bfloat16" | "float16" } = {}): void {
  writeJsonAtomic(path.join(dir, CONFIG_FILE), hfConfigJson(c, extra));
}
