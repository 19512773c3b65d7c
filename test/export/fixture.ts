// Models for the export tests: (1) a small GQA Llama with a tokenizer trained by SmolLab
// (`smol tokenizer train` on the bundled corpus.en) and a chat template in chat_template.jinja;
// (2) a model in transformers' SmolLM2-135M shape with a SmolLM2-style tokenizer (49,152 tokens:
// <|endoftext|>, <|im_start|>, <|im_end|> first, then GPT-2's tokens and merges, each digit split
// apart as SmolLM2's Digits(individual_digits) pre-tokenizer does). Weights are random with a
// large enough init std that next-token distributions are peaked (greedy choices are not ties).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultBackend } from "../../src/backend/index.js";
import { byteLevelTokenizerJson, loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import type { LlamaConfig } from "../../src/models/config.js";
import { findPreset } from "../../src/models/presets.js";
import { LlamaModel } from "../../src/models/llama.js";
import { saveModel } from "../../src/models/hf.js";
import { packageRoot } from "../../src/util/paths.js";
import { smolSync } from "../helpers.js";

export const TEMPLATE = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

export const TEXT =
  "The quick brown fox jumps over the lazy dog. In 1969, 3 astronauts flew to the moon; they came back " +
  "safely after 8 days. Isn't that remarkable? She said: \"we'll see\" — and left.";

export function tmpRoot(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `smol-export-${name}-`));
}

/** Save a random model of config `c` with the tokenizer of `tokDir` (and a chat template) to `dir`. */
function saveRandom(c: LlamaConfig, tokDir: string, dir: string, seed: number): string {
  fs.writeFileSync(path.join(tokDir, "chat_template.jinja"), TEMPLATE);
  const m = new LlamaModel(defaultBackend().backend, c, { withGrad: false });
  m.initialize(seed);
  saveModel(m, dir, { tokenizerDir: tokDir });
  m.dispose();
  return dir;
}

/** A small GQA model (6 heads, 2 KV heads) with a SmolLab-trained 512-token BPE. */
export async function smallModel(root: string): Promise<string> {
  const tokDir = path.join(root, "tok");
  const corpus = path.join(packageRoot(), "data", "tokenizer", "corpus.en");
  const r = smolSync(["tokenizer", "train", "--vocab-size", "512", "--special", "<|endoftext|>", "--special", "<|im_start|>", "--special", "<|im_end|>", corpus, "--out", tokDir]);
  if (r.code !== 0) throw new Error(`tokenizer train failed: ${r.err}`);
  const tok = await loadTokenizer(tokDir);
  const c: LlamaConfig = { vocab: tok.vocabSize, d: 96, ffn: 192, layers: 2, heads: 6, kvHeads: 2, headDim: 16, ropeTheta: 10000, normEps: 1e-5, tied: true, maxSeq: 256, initStd: 0.15, eosTokenId: tok.eosId };
  return saveRandom(c, tokDir, path.join(root, "small"), 3);
}

/** A SmolLM2-style tokenizer directory built from the bundled GPT-2 vocabulary. */
export function smolLm2StyleTokenizer(dir: string, size = 49152): string {
  const gpt2 = path.join(packageRoot(), "data", "tokenizer", "gpt2");
  const v = Object.entries(JSON.parse(fs.readFileSync(path.join(gpt2, "vocab.json"), "utf8")) as Record<string, number>).sort((a, b) => a[1] - b[1]);
  const specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
  const vocab: Array<[string, number]> = specials.map((s, i) => [s, i]);
  for (const [t] of v) {
    if (vocab.length >= size) break;
    if (!specials.includes(t)) vocab.push([t, vocab.length]);
  }
  const have = new Set(vocab.map(([t]) => t));
  const merges = fs.readFileSync(path.join(gpt2, "merges.txt"), "utf8").split("\n").filter((l) => l && !l.startsWith("#version"))
    .map((l) => l.split(" ") as [string, string]).filter(([a, b]) => have.has(a) && have.has(b) && have.has(a + b));
  const doc = JSON.parse(byteLevelTokenizerJson({ vocab, merges, added: specials.map((content, id) => ({ content, id, special: true })) }));
  doc.pre_tokenizer = { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, doc.pre_tokenizer] };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(doc));
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify({ bos_token: "<|im_start|>", eos_token: "<|im_end|>", unk_token: "<|endoftext|>", tokenizer_class: "GPT2Tokenizer", clean_up_tokenization_spaces: false }));
  return dir;
}

/** A model in SmolLM2-135M's shape (30 layers, d 576, GQA 9/3, vocab 49,152) with that tokenizer. */
export function smolLm2Model(root: string, over: Partial<LlamaConfig> = {}): string {
  const tokDir = smolLm2StyleTokenizer(path.join(root, "tok135"));
  // θ 10000 (the paper's pretraining value): at the released θ the random model's next-token
  // distributions are flatter and the Q8_0 top-1 check compares near-ties.
  const c: LlamaConfig = { ...findPreset("smollm2-135m").config, maxSeq: 512, initStd: 0.04, ropeTheta: 10000, ...over };
  return saveRandom(c, tokDir, path.join(root, "smollm2-135m"), 5);
}
