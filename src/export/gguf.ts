// `smol export --format gguf`: one llama.cpp-ready file from a model directory: the llama
// hyper-parameters, tokenizer (tokens, types, merges, pre-tokenizer name, special ids, chat
// template) and weights in F32, F16, BF16, Q8_0 or Q4_0, laid out as llama.cpp's converter does.
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { ggufTokenizerMetadata } from "../tokenizer/gguf-tokenizer.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import { UsageError } from "../errors.js";
import { writeGguf } from "../io/gguf.js";
import { readChatTemplate } from "../models/chat.js";
import { ggufModelMetadata, ggufTensors, type GgufDtype } from "../models/gguf.js";
import { loadModel } from "../models/hf.js";

export interface GgufExportResult {
  tensors: number;
  types: Record<string, number>;
  pre: string;
}

/** Export `src` (model directory) to the GGUF file `out`. */
export async function exportGguf<F extends FloatBuf>(src: string, out: string, be: Backend<F>, dtype: GgufDtype, name?: string): Promise<GgufExportResult> {
  if (!/\.gguf$/i.test(out)) throw new UsageError(`export: --out ${out} must end in .gguf for --format gguf`);
  const tok = await loadTokenizer(src);
  const model = loadModel(src, be, { withGrad: false });
  try {
    const tokMeta = ggufTokenizerMetadata(tok, model.config.vocab, readChatTemplate(src)?.template);
    const meta = [...ggufModelMetadata(model.config, dtype, name ?? path.basename(path.resolve(src))), ...tokMeta];
    const tensors = ggufTensors(model, dtype);
    writeGguf(out, meta, tensors);
    const types: Record<string, number> = {};
    for (const t of tensors) types[t.type] = (types[t.type] ?? 0) + 1;
    return { tensors: tensors.length, types, pre: String(tokMeta.find(([k]) => k === "tokenizer.ggml.pre")?.[1].value) };
  } finally {
    model.dispose();
  }
}
