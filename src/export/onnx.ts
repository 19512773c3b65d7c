// `smol export --format onnx`: a folder transformers.js and onnxruntime load from local disk:
// config.json, generation_config.json, tokenizer files (chat template in tokenizer_config.json and
// chat_template.jinja) and onnx/model.onnx (fp32) and/or onnx/model_int8.onnx (int8 weight-only),
// named as transformers.js looks them up for dtype "fp32" / "int8".
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import { writeTokenizerWithTemplate } from "./hf.js";
import { UsageError } from "../errors.js";
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { hfConfigJson } from "../io/hf-config.js";
import { CHATML_TEMPLATE, readChatTemplate } from "../models/chat.js";
import { loadModel } from "../models/hf.js";
import { buildDecoderOnnx } from "./onnx-graph.js";

export const ONNX_DTYPES = ["fp32", "int8"] as const;
export type OnnxDtype = (typeof ONNX_DTYPES)[number];

/** File name transformers.js loads for each dtype. */
export const ONNX_FILE: Record<OnnxDtype, string> = { fp32: "model.onnx", int8: "model_int8.onnx" };

export async function exportOnnx<F extends FloatBuf>(src: string, out: string, be: Backend<F>, dtypes: OnnxDtype[]): Promise<{ files: string[] }> {
  if (path.resolve(src) === path.resolve(out)) throw new UsageError("export: --out must differ from --model");
  const tok = await loadTokenizer(src);
  const model = loadModel(src, be, { withGrad: false });
  const template = readChatTemplate(src)?.template ?? CHATML_TEMPLATE;
  try {
    const files = writeDirAtomic(out, (tmp) => {
      const c = model.config;
      writeJsonAtomic(path.join(tmp, "config.json"), { ...hfConfigJson(c), "transformers.js_config": { dtype: dtypes[0] } });
      const gen: Record<string, unknown> = { _from_model_config: true };
      if (c.bosTokenId !== undefined) gen.bos_token_id = c.bosTokenId;
      if (c.eosTokenId !== undefined) gen.eos_token_id = c.eosTokenId;
      writeJsonAtomic(path.join(tmp, "generation_config.json"), gen);
      writeTokenizerWithTemplate(tok, tmp, template);
      fs.mkdirSync(path.join(tmp, "onnx"));
      const weight = (name: string) => Float32Array.from(model.params.get(name).data);
      for (const dt of dtypes) writeFileAtomic(path.join(tmp, "onnx", ONNX_FILE[dt]), buildDecoderOnnx(c, weight, dt));
      return [...fs.readdirSync(tmp).filter((f) => f !== "onnx"), ...dtypes.map((dt) => `onnx/${ONNX_FILE[dt]}`)].sort();
    });
    return { files };
  } finally {
    model.dispose();
  }
}
