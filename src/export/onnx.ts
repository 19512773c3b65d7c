// `smol export --format onnx`: a folder transformers.js and onnxruntime load from local disk:
// config.json, generation_config.json, tokenizer files (chat template in tokenizer_config.json and
// chat_template.jinja) and onnx/model.onnx (fp32) and/or onnx/model_int8.onnx (int8 weight-only),
// named as transformers.js looks them up for dtype "fp32" / "int8".
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { loadTokenizer, saveTokenizer } from "../tokenizer/tokenizer.js";
import { UsageError } from "../errors.js";
import { makeTempDirBeside, replaceDirAtomic, writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
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
  const tmp = makeTempDirBeside(out);
  try {
    const c = model.config;
    writeJsonAtomic(path.join(tmp, "config.json"), { ...hfConfigJson(c), "transformers.js_config": { dtype: dtypes[0] } });
    const gen: Record<string, unknown> = { _from_model_config: true };
    if (c.bosTokenId !== undefined) gen.bos_token_id = c.bosTokenId;
    if (c.eosTokenId !== undefined) gen.eos_token_id = c.eosTokenId;
    writeJsonAtomic(path.join(tmp, "generation_config.json"), gen);
    saveTokenizer(tok, tmp);
    const tcPath = path.join(tmp, "tokenizer_config.json");
    const tc = fs.existsSync(tcPath) ? (JSON.parse(fs.readFileSync(tcPath, "utf8")) as Record<string, unknown>) : { tokenizer_class: "PreTrainedTokenizerFast", clean_up_tokenization_spaces: false };
    if (tc.eos_token === undefined && tok.eosId !== undefined) tc.eos_token = tok.idToToken(tok.eosId);
    tc.chat_template = template;
    writeJsonAtomic(tcPath, tc);
    writeFileAtomic(path.join(tmp, "chat_template.jinja"), template);
    fs.mkdirSync(path.join(tmp, "onnx"));
    const weight = (name: string) => Float32Array.from(model.params.get(name).data);
    for (const dt of dtypes) writeFileAtomic(path.join(tmp, "onnx", ONNX_FILE[dt]), buildDecoderOnnx(c, weight, dt));
    const files = [...fs.readdirSync(tmp).filter((f) => f !== "onnx"), ...dtypes.map((dt) => `onnx/${ONNX_FILE[dt]}`)].sort();
    replaceDirAtomic(tmp, out);
    return { files };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    model.dispose();
  }
}
