// `smol export --format hf`: a clean, Hub-ready model directory from a checkpoint or model
// directory (or GGUF file): weights in bf16 (default), fp16 or fp32, config.json, a truthful
// generation_config.json, the tokenizer files with the chat template both in tokenizer_config.json
// and chat_template.jinja, and a model card; no optimizer, averaging or trainer state.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { loadTokenizer, saveTokenizer, type HfTokenizer } from "../tokenizer/tokenizer.js";
import { UsageError } from "../errors.js";
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { HF_TRANSFORMERS_VERSION } from "../io/hf-config.js";
import { CHATML_TEMPLATE, readChatTemplate } from "../models/chat.js";
import { loadModel, writeModelFiles } from "../models/hf.js";
import { modelCard } from "./card.js";
import { readRunSummary, runDirOf } from "./run-summary.js";

export const HF_DTYPES = { bf16: "bfloat16", fp16: "float16", fp32: "float32" } as const;
export type HfDtype = keyof typeof HF_DTYPES;

export interface HfExportOptions {
  dtype: HfDtype;
  /** Run directory for the card's training summary (default: the checkpoint's parent, if a run). */
  runDir?: string;
  /** Model name in the card (default: the output directory's name). */
  name?: string;
  license: string;
  baseModel?: string;
  datasets: string[];
  tags: string[];
}

type Json = Record<string, unknown>;

/** A generation_config.json SmolLab wrote before it stopped naming a transformers version. */
function isOldSmolLabGenConfig(g: Json): boolean {
  const keys = Object.keys(g).filter((k) => !["bos_token_id", "eos_token_id"].includes(k)).sort();
  return g._from_model_config === true && g.transformers_version === HF_TRANSFORMERS_VERSION && keys.join() === "_from_model_config,transformers_version";
}

/** Export `src` as a Hub-ready directory at `out` (written beside it, then renamed into place). */
export async function exportHf<F extends FloatBuf>(src: string, out: string, be: Backend<F>, o: HfExportOptions): Promise<{ files: string[] }> {
  if (path.resolve(src) === path.resolve(out)) throw new UsageError("export: --out must differ from --model", "write the export to a new directory");
  // Read and check everything before writing anything.
  const tok = await loadTokenizer(src);
  const model = loadModel(src, be, { withGrad: false });
  const runDir = o.runDir ?? runDirOf(src);
  const run = runDir ? readRunSummary(runDir, fs.statSync(src).isDirectory() ? src : undefined) : undefined;
  const chat = readChatTemplate(src);
  const template = chat?.template ?? CHATML_TEMPLATE;
  const srcGen = path.join(src, "generation_config.json");
  let gen: Json | undefined;
  if (fs.existsSync(srcGen) && fs.statSync(src).isDirectory()) {
    const g = JSON.parse(fs.readFileSync(srcGen, "utf8")) as Json;
    if (!isOldSmolLabGenConfig(g)) gen = g;
  }
  try {
    const files = writeDirAtomic(out, (tmp) => {
      writeModelFiles(model, tmp, { dtype: HF_DTYPES[o.dtype] });
      if (gen) writeJsonAtomic(path.join(tmp, "generation_config.json"), gen);
      writeTokenizerWithTemplate(tok, tmp, template);
      const name = o.name ?? path.basename(path.resolve(out));
      writeFileAtomic(path.join(tmp, "README.md"), modelCard({ name, license: o.license, baseModel: o.baseModel, datasets: o.datasets, tags: o.tags, dtype: o.dtype, config: model.config, run, hasChatTemplate: true }));
      return fs.readdirSync(tmp).sort();
    });
    return { files };
  } finally {
    model.dispose();
  }
}

/**
 * The tokenizer files of an export with its chat template in both places transformers reads it:
 * tokenizer_config.json's "chat_template" and chat_template.jinja (transformers 5).
 */
export function writeTokenizerWithTemplate(tok: HfTokenizer, dir: string, template: string): void {
  saveTokenizer(tok, dir);
  const tcPath = path.join(dir, "tokenizer_config.json");
  const tc = fs.existsSync(tcPath) ? (JSON.parse(fs.readFileSync(tcPath, "utf8")) as Json) : { tokenizer_class: "PreTrainedTokenizerFast", clean_up_tokenization_spaces: false };
  if (tc.eos_token === undefined && tok.eosId !== undefined) tc.eos_token = tok.idToToken(tok.eosId);
  if (tc.bos_token === undefined && tok.bosId !== undefined) tc.bos_token = tok.idToToken(tok.bosId);
  tc.chat_template = template;
  writeJsonAtomic(tcPath, tc);
  writeFileAtomic(path.join(dir, "chat_template.jinja"), template);
}
