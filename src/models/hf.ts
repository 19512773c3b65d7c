// Hugging Face model directories <-> LlamaModel: config.json + model.safetensors (or shards +
// index) + tokenizer files. Loading checks every tensor name and shape against the config;
// saving writes a whole new directory beside the target and renames it into place.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { CheckpointError, fmtShape } from "../errors.js";
import { writeDirAtomic, writeJsonAtomic } from "../io/atomic.js";
import { copyTokenizerFiles } from "../tokenizer/tokenizer.js";
import { hfConfigJson, readHfConfig } from "../io/hf-config.js";
import { openCheckpoint, writeShardedCheckpoint, type TensorToWrite } from "../io/safetensors.js";
import { parameterShapes, type LlamaConfig } from "./config.js";
import { assertFiniteParams } from "./finite.js";
import { isGgufPath, loadGgufModel } from "./gguf.js";
import type { WeightChoice } from "./packed.js";
import { LlamaModel } from "./llama.js";

/** Tensors some exporters include that carry no weights we need. */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

export interface LoadOptions {
  /** Allocate gradient buffers (training); default true. */
  withGrad?: boolean;
  /** Use this config instead of the directory's config.json. */
  config?: LlamaConfig;
  /** Refuse weights holding NaN/Inf with a CheckpointError naming the tensor (default true). */
  checkFinite?: boolean;
  /**
   * Weights decoding multiplies (models/packed.ts): "fp32", "bf16", "q8_0" (the float32 parameters
   * are rounded to them), or "auto" (default): a GGUF file's own Q8_0 codes / BF16 bits where it
   * stores them, float32 otherwise. Model directories load as float32 under "auto".
   */
  weights?: WeightChoice;
}

/** Load a model directory (or a llama GGUF file, by its .gguf extension) onto a backend. */
export function loadModel<F extends FloatBuf>(dir: string, be: Backend<F>, opts: LoadOptions = {}): LlamaModel<F> {
  if (isGgufPath(dir)) {
    const m = loadGgufModel(dir, be, opts);
    try {
      if (opts.checkFinite ?? true) assertFiniteParams(m.params, dir);
    } catch (e) {
      m.dispose();
      throw e;
    }
    return m;
  }
  const model = new LlamaModel(be, opts.config ?? readHfConfig(dir), { withGrad: opts.withGrad });
  try {
    readWeightsInto(dir, model);
    if (opts.checkFinite ?? true) assertFiniteParams(model.params, dir);
    if (opts.weights && opts.weights !== "auto") model.packWeights(opts.weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Read a model directory's weights straight into an existing model of the same shape (no copy).
 * Values are not checked for NaN/Inf (the trainer watches its losses; loadModel checks).
 */
export function readWeightsInto<F extends FloatBuf>(dir: string, model: LlamaModel<F>): void {
  const config = model.config;
  const ckpt = openCheckpoint(dir);
  try {
    const expected = parameterShapes(config);
    const names = new Set(expected.map((p) => p.name));
    const where = ckpt.files.length === 1 ? ckpt.files[0] : `${dir} (${ckpt.files.length} shards)`;
    const missing = expected.filter((p) => !ckpt.has(p.name)).map((p) => p.name);
    if (missing.length) {
      const more = missing.length > 3 ? ` and ${missing.length - 3} more` : "";
      throw new CheckpointError(`${where}: missing tensor(s) ${missing.slice(0, 3).join(", ")}${more}`, config.tied ? undefined : "config.json says tie_word_embeddings=false, so lm_head.weight is required");
    }
    const extra = ckpt.names().filter((n) => !names.has(n) && !IGNORED.test(n) && !(config.tied && n === "lm_head.weight"));
    if (extra.length) throw new CheckpointError(`${where}: unexpected tensor(s) for this config: ${extra.slice(0, 3).join(", ")}${extra.length > 3 ? ", …" : ""}`, "is config.json from the same model?");
    for (const p of expected) {
      const shape = ckpt.shape(p.name);
      if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
        throw new CheckpointError(`${where}: tensor ${p.name} has shape ${fmtShape(shape)} but config.json implies ${fmtShape(p.shape)}`);
      }
    }
    for (const p of expected) model.params.set(p.name, ckpt.read(p.name));
  } finally {
    ckpt.close();
  }
}

export interface SaveOptions {
  /** Storage dtype of the weights (default float32; SmolLM2 releases bf16). */
  dtype?: "float32" | "bfloat16" | "float16";
  /** Shard when the weights exceed this many bytes (default 5e9, as transformers). */
  maxShardBytes?: number;
  /** Copy tokenizer files from this directory. */
  tokenizerDir?: string;
  /** Extra JSON files to write into the directory (name -> value), e.g. trainer state. */
  extraJson?: Record<string, unknown>;
  /** Extra files to copy in (name -> source path). */
  extraFiles?: Record<string, string>;
}

/** The model's tensors in HF order, ready for writeSafetensors (views, no copies). */
export function modelTensors<F extends FloatBuf>(model: LlamaModel<F>, dtype: "float32" | "bfloat16" | "float16" = "float32"): TensorToWrite[] {
  const st = dtype === "bfloat16" ? "BF16" : dtype === "float16" ? "F16" : "F32";
  return model.params.specs.map((s) => ({ name: s.name, shape: s.shape, dtype: st, data: model.params.get(s.name).data }));
}

/** Write an HF model directory atomically (a complete new directory replaces any old one). */
export function saveModel<F extends FloatBuf>(model: LlamaModel<F>, dir: string, opts: SaveOptions = {}): void {
  writeDirAtomic(dir, (tmp) => writeModelFiles(model, tmp, opts));
}

/** Write the files of an HF directory into an existing (temporary) directory. */
export function writeModelFiles<F extends FloatBuf>(model: LlamaModel<F>, dir: string, opts: SaveOptions = {}): void {
  const dtype = opts.dtype ?? "float32";
  writeShardedCheckpoint(dir, modelTensors(model, dtype), { maxShardBytes: opts.maxShardBytes });
  writeJsonAtomic(path.join(dir, "config.json"), hfConfigJson(model.config, { dtype }));
  // No transformers_version: SmolLab, not transformers, wrote this file.
  const gen: Record<string, unknown> = { _from_model_config: true };
  if (model.config.bosTokenId !== undefined) gen.bos_token_id = model.config.bosTokenId;
  if (model.config.eosTokenId !== undefined) gen.eos_token_id = model.config.eosTokenId;
  writeJsonAtomic(path.join(dir, "generation_config.json"), gen);
  if (opts.tokenizerDir) copyTokenizerFiles(opts.tokenizerDir, dir);
  for (const [name, value] of Object.entries(opts.extraJson ?? {})) writeJsonAtomic(path.join(dir, name), value);
  for (const [name, src] of Object.entries(opts.extraFiles ?? {})) fs.copyFileSync(src, path.join(dir, name));
}
