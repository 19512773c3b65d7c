// Hugging Face tokenizer directories (tokenizer.json + tokenizer_config.json) as a `Tokenizer`:
// loading (encoding with @huggingface/tokenizers, or with our byte-level BPE encoder when the file
// is of the GPT-2 family, which is several times faster and tested identical), saving a trained BPE
// in the format transformers and tokenizers.js load, and copying tokenizer files between directories.
import * as fs from "node:fs";
import * as path from "node:path";
import { Tokenizer as HfJsTokenizer } from "@huggingface/tokenizers";
import { DataError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { openGguf } from "../io/gguf.js";
import { tokenizerFilesFromGguf } from "./gguf-tokenizer.js";
import { ByteLevelBpeEncoder, type AddedTokenSpec, type ByteLevelBpeSpec } from "./bpe/encoder.js";
import type { TrainedBpe } from "./bpe/train.js";
import type { Tokenizer } from "./types.js";

/** The files a tokenizer directory may hold, in the order they are written. */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"] as const;

type Json = Record<string, unknown>;

export interface LoadTokenizerOptions {
  /** "auto" (default): our byte-level encoder where the file fits, else @huggingface/tokenizers. */
  engine?: "auto" | "fast" | "hf";
}

/** A tokenizer read from a Hugging Face tokenizer.json (and tokenizer_config.json when present). */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosId: number | undefined;
  readonly bosId: number | undefined;
  readonly specialTokens: readonly string[];
  /** Which encoder `encode` uses. */
  readonly engine: "fast" | "hf";
  /** Why the fast encoder was not used (when engine is "hf"). */
  readonly fastUnsupported: string | undefined;
  private readonly hf: HfJsTokenizer;
  private readonly fast: ByteLevelBpeEncoder | undefined;

  /**
   * @param files raw text of tokenizer.json and, if present, tokenizer_config.json / special_tokens_map.json
   * @param where the directory (or label) named in errors
   */
  constructor(readonly files: Readonly<Partial<Record<(typeof TOKENIZER_FILES)[number], string>>>, readonly where: string, opts: LoadTokenizerOptions = {}) {
    const tjPath = path.join(where, "tokenizer.json");
    if (files["tokenizer.json"] === undefined) throw missing(where);
    const tj = parseJsonObject(files["tokenizer.json"], tjPath);
    const config = files["tokenizer_config.json"] === undefined ? {} : parseJsonObject(files["tokenizer_config.json"], path.join(where, "tokenizer_config.json"));
    const specialMap = files["special_tokens_map.json"] === undefined ? {} : parseJsonObject(files["special_tokens_map.json"], path.join(where, "special_tokens_map.json"));
    const model = tj.model;
    if (!isObject(model)) throw new DataError(`${tjPath}: no "model" section: not a Hugging Face tokenizer.json`, "point --tokenizer at a directory holding a tokenizer.json saved by transformers/tokenizers or `smol tokenizer train`");
    if (model.type === "BPE" && (!isObject(model.vocab) || !Array.isArray(model.merges))) {
      throw new DataError(`${tjPath}: model.vocab must be an object and model.merges a list`, "the file looks truncated or edited; re-create it");
    }
    if (tj.added_tokens !== undefined && !Array.isArray(tj.added_tokens)) throw new DataError(`${tjPath}: added_tokens must be a list`);
    const full: Json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...tj };
    try {
      this.hf = new HfJsTokenizer(full, config);
    } catch (e) {
      throw new DataError(`${tjPath}: cannot be loaded: ${(e as Error).message}`, "the tokenizer type may be unsupported or the file corrupt", { cause: e });
    }

    const added = ((full.added_tokens as unknown[]) ?? []).filter(isObject);
    this.specialTokens = added.filter((a) => a.special === true && typeof a.content === "string").map((a) => a.content as string);
    let maxId = -1;
    for (const [, id] of this.hf.get_vocab(true)) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const name = (key: string): string | undefined => tokenName(config[key]) ?? tokenName(specialMap[key]);
    const idOf = (key: string, tokenName: string | undefined): number | undefined => {
      if (tokenName === undefined) return undefined;
      const id = this.hf.token_to_id(tokenName);
      if (id === undefined) throw new DataError(`${path.join(where, "tokenizer_config.json")}: ${key} "${tokenName}" is not in the vocabulary`, "fix the key or re-create the tokenizer");
      return id;
    };
    const fallbackEos = this.specialTokens.includes("<|endoftext|>") ? "<|endoftext|>" : undefined;
    this.eosId = idOf("eos_token", name("eos_token") ?? fallbackEos);
    this.bosId = idOf("bos_token", name("bos_token"));

    const engine = opts.engine ?? "auto";
    let fast: ByteLevelBpeEncoder | undefined;
    let reason: string | undefined;
    if (engine !== "hf") {
      const spec = byteLevelSpec(full, config);
      if (typeof spec === "string") reason = spec;
      else {
        try {
          fast = new ByteLevelBpeEncoder(spec);
        } catch (e) {
          reason = (e as Error).message;
        }
      }
      if (engine === "fast" && !fast) throw new DataError(`${tjPath}: the fast byte-level encoder cannot encode this tokenizer: ${reason}`, "use the default engine");
    }
    this.fast = fast;
    this.engine = fast ? "fast" : "hf";
    this.fastUnsupported = fast ? undefined : (reason ?? "engine \"hf\" requested");
  }

  encode(text: string): number[] {
    return this.fast ? this.fast.encode(text) : this.encodeWithHf(text);
  }

  /** Encode through @huggingface/tokenizers, whatever the engine (the reference for tests and benchmarks). */
  encodeWithHf(text: string): number[] {
    if (text.length === 0) return [];
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], skipSpecial = false): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.hf.id_to_token(id) === undefined) {
        throw new DataError(`token id ${id} is not in this tokenizer's vocabulary (size ${this.vocabSize})`);
      }
    }
    if (ids.length === 0) return "";
    if (this.fast) return this.fast.decode(ids, skipSpecial);
    return this.hf.decode([...ids], { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }
}

function missing(dir: string): DataError {
  return new DataError(`${path.join(dir, "tokenizer.json")}: no such file (nor a vocab.json + merges.txt pair)`, "train one with `smol tokenizer train`, or point at a Hugging Face model directory that has a tokenizer.json");
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseJsonObject(text: string, file: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DataError(`${file}: not valid JSON (${(e as Error).message})`, "the file is corrupt or truncated; re-create or re-download it", { cause: e });
  }
  if (!isObject(v)) throw new DataError(`${file}: expected a JSON object`);
  return v;
}

/** "<|endoftext|>" or { content: "<|endoftext|>", … } → the token's text. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  return undefined;
}

/** The fast encoder's spec for a tokenizer.json of the GPT-2 family, or the reason it does not fit. */
export function byteLevelSpec(tj: Json, config: Json = {}): ByteLevelBpeSpec | string {
  const model = tj.model;
  if (!isObject(model) || model.type !== "BPE") return "model is not BPE";
  if (model.byte_fallback === true) return "byte_fallback BPE";
  if (model.continuing_subword_prefix || model.end_of_word_suffix) return "subword prefix/suffix";
  if (tj.normalizer !== null && tj.normalizer !== undefined) return "has a normalizer";
  if (config.remove_space === true || config.do_lowercase_and_remove_accent === true) return "config rewrites text";
  if (!isObject(tj.decoder) || tj.decoder.type !== "ByteLevel") return "decoder is not ByteLevel";
  let pre = tj.pre_tokenizer;
  let digits: ByteLevelBpeSpec["digits"] = "none";
  if (isObject(pre) && pre.type === "Sequence" && Array.isArray(pre.pretokenizers)) {
    const list = pre.pretokenizers.filter(isObject);
    if (list.length === 2 && list[0].type === "Digits") {
      digits = list[0].individual_digits === true ? "individual" : "runs";
      pre = list[1];
    } else if (list.length === 1) pre = list[0];
    else return "pre-tokenizer sequence not of the form [Digits, ByteLevel]";
  }
  if (!isObject(pre) || pre.type !== "ByteLevel") return "pre-tokenizer is not ByteLevel";
  const addPrefixSpace = pre.add_prefix_space === true;
  if (addPrefixSpace && digits !== "none") return "Digits with add_prefix_space";
  const vocab = new Map<string, number>();
  if (!isObject(model.vocab)) return "no vocab";
  for (const [k, v] of Object.entries(model.vocab)) {
    if (typeof v !== "number") return `vocab entry "${k}" is not a number`;
    vocab.set(k, v);
  }
  const merges: Array<[string, string]> = [];
  if (!Array.isArray(model.merges)) return "no merges";
  for (const m of model.merges as unknown[]) {
    if (typeof m === "string") {
      const parts = m.split(" ", 2);
      if (parts.length !== 2) return `merge "${m}" is not two tokens`;
      merges.push([parts[0], parts[1]]);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") merges.push([m[0], m[1]]);
    else return "a merge is neither \"a b\" nor [a, b]";
  }
  const added: AddedTokenSpec[] = [];
  for (const a of (Array.isArray(tj.added_tokens) ? tj.added_tokens : []) as unknown[]) {
    if (!isObject(a) || typeof a.content !== "string" || typeof a.id !== "number") return "malformed added token";
    if (a.lstrip === true || a.rstrip === true || a.single_word === true) return `added token "${a.content}" strips or matches single words`;
    if (a.content.length === 0) return "empty added token";
    added.push({ id: a.id, content: a.content, special: a.special === true });
  }
  return { vocab, merges, added, digits, addPrefixSpace, useRegex: pre.use_regex !== false, ignoreMerges: model.ignore_merges === true };
}

/**
 * Read a tokenizer directory: tokenizer.json (or, failing that, a GPT-2-style vocab.json + merges.txt
 * pair, with "<|endoftext|>" as its special token), plus tokenizer_config.json and
 * special_tokens_map.json when present.
 */
export async function loadTokenizer(dir: string, opts: LoadTokenizerOptions = {}): Promise<HfTokenizer> {
  if (/\.gguf$/i.test(dir) && fs.existsSync(dir) && fs.statSync(dir).isFile()) {
    // A GGUF model file carries its tokenizer in its metadata.
    const f = openGguf(dir);
    try {
      return new HfTokenizer(tokenizerFilesFromGguf(f), dir, opts);
    } finally {
      f.close();
    }
  }
  if (!fs.existsSync(dir)) throw new DataError(`tokenizer directory ${dir} does not exist`, "train one with `smol tokenizer train --out DIR`");
  if (!fs.statSync(dir).isDirectory()) throw new DataError(`${dir} is not a directory`, "pass the directory that holds tokenizer.json");
  const files: Partial<Record<(typeof TOKENIZER_FILES)[number], string>> = {};
  for (const f of TOKENIZER_FILES) {
    const p = path.join(dir, f);
    try {
      files[f] = await fs.promises.readFile(p, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new DataError(`cannot read ${p}: ${(e as Error).message}`, undefined, { cause: e });
    }
  }
  if (files["tokenizer.json"] === undefined) {
    // A GPT-2-style directory with only vocab.json + merges.txt: build the tokenizer.json in memory.
    const vocabPath = path.join(dir, "vocab.json");
    const mergesPath = path.join(dir, "merges.txt");
    if (!fs.existsSync(vocabPath) || !fs.existsSync(mergesPath)) throw missing(dir);
    try {
      files["tokenizer.json"] = gpt2TokenizerJson(fs.readFileSync(vocabPath, "utf8"), fs.readFileSync(mergesPath, "utf8"));
    } catch (e) {
      throw new DataError(`${vocabPath} + merges.txt: cannot be read as a GPT-2 vocabulary: ${(e as Error).message}`, "the files are corrupt; re-create them", { cause: e });
    }
  }
  return new HfTokenizer(files, dir, opts);
}

/** Write a loaded tokenizer's files (as read, byte for byte) into `dir`, e.g. a model or run directory. */
export function saveTokenizer(tok: HfTokenizer, dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const f of TOKENIZER_FILES) {
    const text = tok.files[f];
    if (text === undefined) continue;
    writeFileAtomic(path.join(dir, f), text);
    written.push(path.join(dir, f));
  }
  return written;
}

/**
 * Copy the tokenizer files of `srcDir` into `dstDir`. A GPT-2-style directory with only
 * vocab.json + merges.txt also gets the tokenizer.json built from them, so the copy is a complete
 * Hugging Face tokenizer.
 */
export function copyTokenizerFiles(srcDir: string, dstDir: string): string[] {
  const hasJson = fs.existsSync(path.join(srcDir, "tokenizer.json"));
  const hasPair = fs.existsSync(path.join(srcDir, "vocab.json")) && fs.existsSync(path.join(srcDir, "merges.txt"));
  if (!hasJson && !hasPair) throw missing(srcDir);
  fs.mkdirSync(dstDir, { recursive: true });
  const written: string[] = [];
  if (!hasJson) {
    const text = gpt2TokenizerJson(fs.readFileSync(path.join(srcDir, "vocab.json"), "utf8"), fs.readFileSync(path.join(srcDir, "merges.txt"), "utf8"));
    writeFileAtomic(path.join(dstDir, "tokenizer.json"), text);
    written.push(path.join(dstDir, "tokenizer.json"));
  }
  for (const f of [...TOKENIZER_FILES, "vocab.json", "merges.txt"]) {
    const src = path.join(srcDir, f);
    if (!fs.existsSync(src)) continue;
    writeFileAtomic(path.join(dstDir, f), fs.readFileSync(src));
    written.push(path.join(dstDir, f));
  }
  return written;
}

// ---------------------------------------------------------------------------------------------
// Writing byte-level BPE tokenizers

/** A JSON object text with entries in the given order (JSON.stringify would move "10"-like keys first). */
function orderedObject(entries: ReadonlyArray<readonly [string, number]>, indent: string, step: string): string {
  if (entries.length === 0) return "{}";
  const inner = indent + step;
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${v}`).join(",\n")}\n${indent}}`;
}

export interface ByteLevelTokenizerParts {
  /** [token, id] in id order; added tokens may be among them. */
  vocab: ReadonlyArray<readonly [string, number]>;
  merges: ReadonlyArray<readonly [string, string]>;
  /** Added (special) tokens with their ids. */
  added: ReadonlyArray<{ content: string; id: number; special?: boolean }>;
}

/** tokenizer.json text for a GPT-2-style byte-level BPE (merges in the universal "a b" form). */
export function byteLevelTokenizerJson(parts: ByteLevelTokenizerParts): string {
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({ type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true });
  const doc = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: parts.added.map((a) => ({ id: a.id, content: a.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: a.special ?? true })),
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: "@@VOCAB@@",
      merges: parts.merges.map(([l, r]) => `${l} ${r}`),
    },
  };
  return JSON.stringify(doc, null, 2).replace('"@@VOCAB@@"', () => orderedObject(parts.vocab, "    ", "  ")) + "\n";
}

/** tokenizer.json text for GPT-2 from its vocab.json and merges.txt (a "#version" first line is skipped). */
export function gpt2TokenizerJson(vocabJsonText: string, mergesText: string): string {
  const vocab = Object.entries(JSON.parse(vocabJsonText) as Record<string, number>).sort((a, b) => a[1] - b[1]);
  const merges = mergesText
    .split("\n")
    .filter((l) => l.length > 0 && !l.startsWith("#version"))
    .map((l) => l.split(" ") as [string, string]);
  const eot = vocab.find(([k]) => k === "<|endoftext|>");
  return byteLevelTokenizerJson({ vocab, merges, added: eot ? [{ content: eot[0], id: eot[1] }] : [] });
}

export interface SaveTrainedOptions {
  /** model_max_length written to tokenizer_config.json (default 2048). */
  modelMaxLength?: number;
}

/**
 * Write a trained BPE as a Hugging Face tokenizer directory: tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json, plus vocab.json (same layout as the cs336 reference file) and merges.txt
 * (with the "#version: 0.2" header GPT-2 tools expect). eos/bos/unk are "<|endoftext|>" if it is
 * among the specials, else the first special (GPT-2's convention); none when there are no specials.
 */
export function saveTrainedTokenizer(trained: TrainedBpe, dir: string, opts: SaveTrainedOptions = {}): string[] {
  const vocab = trained.vocab.map((t, i) => [t, i] as const);
  const added = trained.specials.map((content, id) => ({ content, id, special: true }));
  const main = trained.specials.includes("<|endoftext|>") ? "<|endoftext|>" : trained.specials[0];
  const others = trained.specials.filter((s) => s !== main);
  const specialMap: Json = {};
  if (main !== undefined) Object.assign(specialMap, { bos_token: main, eos_token: main, unk_token: main });
  if (others.length) specialMap.additional_special_tokens = others;
  const addedDecoder: Json = {};
  for (const a of added) addedDecoder[String(a.id)] = { content: a.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  const config: Json = {
    add_prefix_space: false,
    added_tokens_decoder: addedDecoder,
    ...specialMap,
    clean_up_tokenization_spaces: false,
    model_max_length: opts.modelMaxLength ?? 2048,
    tokenizer_class: "PreTrainedTokenizerFast",
  };
  const files: Array<[string, string | Uint8Array]> = [
    ["tokenizer.json", byteLevelTokenizerJson({ vocab, merges: trained.merges, added })],
    ["tokenizer_config.json", JSON.stringify(config, null, 2) + "\n"],
    ["special_tokens_map.json", JSON.stringify(specialMap, null, 2) + "\n"],
    ["vocab.json", orderedObject(vocab, "", "    ")],
    ["merges.txt", "#version: 0.2\n" + trained.merges.map(([l, r]) => `${l} ${r}\n`).join("")],
  ];
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new DataError(`cannot create ${dir}: ${(e as Error).message}`, undefined, { cause: e });
  }
  return files.map(([name, data]) => {
    writeFileAtomic(path.join(dir, name), data);
    return path.join(dir, name);
  });
}
