// Test fixtures for eval: a byte-level tokenizer (id b is byte b, 256 is <|endoftext|>, no
// merges) written as a real Hugging Face tokenizer.json, and small random Llama models on it, in
// memory or saved as an HF directory the CLI can load.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../../src/backend/backend.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import type { Tokenizer } from "../../src/tokenizer/types.js";
import type { LlamaConfig } from "../../src/models/config.js";
import { saveModel } from "../../src/models/hf.js";
import { LlamaModel } from "../../src/models/llama.js";

export const BYTE_VOCAB = 257;

/** A directory holding the byte-level tokenizer.json. */
/** GPT-2's printable stand-in character for each byte (bytes_to_unicode). */
function byteChar(b: number): string {
  const keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  if (keep) return String.fromCharCode(b);
  let n = 0;
  for (let x = 0; x < b; x++) if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
  return String.fromCharCode(256 + n);
}

export function byteTokenizerDir(root = fs.mkdtempSync(path.join(os.tmpdir(), "smol-evaltok-"))): string {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[byteChar(b)] = b;
  vocab["<|endoftext|>"] = 256;
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  const json = JSON.stringify({
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null, pre_tokenizer: byteLevel, post_processor: { ...byteLevel, add_prefix_space: true, trim_offsets: false }, decoder: byteLevel,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  });
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, "tokenizer.json"), json);
  return root;
}

export async function byteTokenizer(): Promise<Tokenizer> {
  return loadTokenizer(byteTokenizerDir());
}

export function tinyConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    vocab: BYTE_VOCAB, d: 32, ffn: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 8, ropeTheta: 10000,
    normEps: 1e-5, tied: true, maxSeq: 2048, initStd: 0.02, eosTokenId: 256, ...over,
  };
}

/** A random model; initStd is raised so that log-probs differ clearly between choices. */
export function tinyModel<F extends FloatBuf>(be: Backend<F>, seed = 1, over: Partial<LlamaConfig> = {}): LlamaModel<F> {
  const m = new LlamaModel(be, tinyConfig({ initStd: 0.2, ...over }), { withGrad: false });
  m.initialize(seed);
  return m;
}

/** Save a tiny random model with the byte tokenizer as an HF directory; returns its path. */
export function savedTinyModel<F extends FloatBuf>(be: Backend<F>, seed = 1, over: Partial<LlamaConfig> = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "smol-evalmodel-"));
  const dir = path.join(root, "model");
  const m = tinyModel(be, seed, over);
  saveModel(m, dir, { tokenizerDir: byteTokenizerDir(path.join(root, "tok")) });
  m.dispose();
  return dir;
}
