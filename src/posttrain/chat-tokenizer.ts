// The tokenizer and chat template a post-training run uses and writes into every checkpoint: the
// model's (or `tokenizer:`) tokenizer files, its chat template (or a given .jinja file), and —
// for a base model, when asked — <|im_start|>/<|im_end|> added as special tokens with the ChatML
// template and <|im_end|> as EOS (as SmolLM2-Instruct). The model's embeddings and head then grow
// to cover the new ids, the new rows initialised to the mean of the existing rows.
import * as fs from "node:fs";
import * as path from "node:path";
import type { FloatBuf } from "../backend/backend.js";
import { ConfigError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { fingerprintBytes } from "../data/shards.js";
import { HfTokenizer, TOKENIZER_FILES } from "../tokenizer/tokenizer.js";
import { CHATML_TEMPLATE, ChatTemplate, readChatTemplate } from "../models/chat.js";
import type { LlamaConfig } from "../models/config.js";
import { readWeightsInto } from "../models/hf.js";
import { LlamaModel } from "../models/llama.js";

export const CHAT_TOKENS = ["<|im_start|>", "<|im_end|>"] as const;

export interface ChatTokenizer {
  /** Text of the tokenizer files to write (tokenizer_config.json carries the chat template). */
  files: Record<string, string>;
  tokenizer: HfTokenizer;
  /** The chat template (absent only when not required and the model has none). */
  template: ChatTemplate | undefined;
  fingerprint: string;
  /** Ids added for the chat tokens (empty when the tokenizer had them). */
  added: number[];
}

/** Build the run's tokenizer in memory (nothing is written). */
export function chatTokenizer(opts: { tokenizerDir: string; modelDir: string; templateFile?: string; addChatTokens?: boolean; requireTemplate?: boolean }): ChatTokenizer {
  const files: Record<string, string> = {};
  for (const f of TOKENIZER_FILES) {
    const p = path.join(opts.tokenizerDir, f);
    if (fs.existsSync(p)) files[f] = fs.readFileSync(p, "utf8");
  }
  const base = new HfTokenizer(files, opts.tokenizerDir);
  let source: string | undefined;
  if (opts.templateFile) {
    if (!fs.existsSync(opts.templateFile)) throw new ConfigError(`chat_template: ${opts.templateFile} does not exist`);
    source = fs.readFileSync(opts.templateFile, "utf8");
  } else source = (readChatTemplate(opts.tokenizerDir) ?? readChatTemplate(opts.modelDir))?.template;
  const added: number[] = [];
  const config: Record<string, unknown> = files["tokenizer_config.json"] ? JSON.parse(files["tokenizer_config.json"]) : {};
  if (opts.addChatTokens) {
    const tj = JSON.parse(files["tokenizer.json"]);
    tj.added_tokens ??= [];
    let next = base.vocabSize;
    for (const t of CHAT_TOKENS) {
      if (base.tokenToId(t) !== undefined) continue;
      tj.added_tokens.push({ id: next, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
      added.push(next++);
    }
    if (added.length) {
      files["tokenizer.json"] = JSON.stringify(tj);
      config.eos_token = "<|im_end|>";
    }
    source ??= CHATML_TEMPLATE;
  }
  if (source === undefined && opts.requireTemplate !== false) {
    throw new ConfigError(`${opts.modelDir} has no chat template (no chat_template.jinja, no "chat_template" in tokenizer_config.json)`, [], "set model.add_chat_tokens: true to give a base model ChatML tokens and template, or chat_template: FILE.jinja");
  }
  if (source !== undefined) config.chat_template = source;
  files["tokenizer_config.json"] = JSON.stringify(config, null, 2) + "\n";
  const tokenizer = new HfTokenizer(files, opts.tokenizerDir);
  const template = source === undefined ? undefined : new ChatTemplate(source, tokenText(config.bos_token), tokenText(config.eos_token), opts.templateFile ?? opts.modelDir);
  return { files, tokenizer, template, fingerprint: fingerprintBytes(Buffer.from(files["tokenizer.json"])), added };
}

function tokenText(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "object" && v && "content" in v ? String((v as { content: unknown }).content) : "";
}

/** Write the run's tokenizer files into `dir` (atomically, file by file). */
export function writeTokenizerFiles(dir: string, files: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileAtomic(path.join(dir, name), text);
}

/** The model config once the vocabulary covers `vocab` ids (and, with chat tokens, EOS = <|im_end|>). */
export function grownConfig(c: LlamaConfig, vocab: number, eos?: number): LlamaConfig {
  return { ...c, vocab: Math.max(c.vocab, vocab), ...(eos !== undefined ? { eosTokenId: eos } : {}) };
}

/** Copy a model directory's weights into `model` (whose vocabulary may be larger), new rows = mean of the old rows. */
export function loadGrown<F extends FloatBuf>(dir: string, baseConfig: LlamaConfig, model: LlamaModel<F>): void {
  const base = new LlamaModel(model.be, baseConfig, { withGrad: false });
  try {
    readWeightsInto(dir, base);
    const V0 = baseConfig.vocab, V = model.config.vocab, d = baseConfig.d;
    for (const s of base.params.specs) {
      const src = base.params.get(s.name).data;
      const dst = model.params.get(s.name).data;
      if (s.name !== "model.embed_tokens.weight" && s.name !== "lm_head.weight") {
        dst.set(src);
        continue;
      }
      dst.set(src.subarray(0, V0 * d));
      const mean = new Float64Array(d);
      for (let r = 0; r < V0; r++) for (let j = 0; j < d; j++) mean[j] += src[r * d + j];
      for (let j = 0; j < d; j++) mean[j] /= V0;
      for (let r = V0; r < V; r++) for (let j = 0; j < d; j++) dst[r * d + j] = mean[j];
    }
  } finally {
    base.dispose();
  }
}
