// Tokenizer directories: GPT-2 ids for known strings, our fast encoder identical to
// @huggingface/tokenizers (GPT-2, a tokenizer we train, a Digits+ByteLevel variant as SmolLM2 uses),
// decode(encode(x)) = x, saving/copying, and clear errors for missing or corrupt files.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer as HfJsTokenizer } from "@huggingface/tokenizers";
import { DataError } from "../../src/errors.js";
import { trainBpeFromFiles } from "../../src/tokenizer/bpe/train.js";
import {
  HfTokenizer, copyTokenizerFiles, gpt2TokenizerJson, loadTokenizer, saveTokenizer, saveTrainedTokenizer,
} from "../../src/tokenizer/tokenizer.js";
import { rng } from "../helpers.js";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), HERE.endsWith(".ts") ? "../.." : "../../.."); // sources or dist/
const TOK = path.join(ROOT, "data/tokenizer");
const EOT = "<|endoftext|>";

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "smol-tok-"));
}

/** The 500-token cs336 reference vocabulary as a tokenizer.json: small, so quick to build. */
function smallJson(): string {
  return gpt2TokenizerJson(fs.readFileSync(path.join(TOK, "train-bpe-reference-vocab.json"), "utf8"), fs.readFileSync(path.join(TOK, "train-bpe-reference-merges.txt"), "utf8"));
}

/** Hand-picked hard cases plus random mixtures of scripts, emoji, whitespace runs and specials. */
function variedTexts(): string[] {
  const fixed = [
    "Hello world",
    "",
    " ",
    "   leading and trailing   ",
    "It's, isn't it? They'll've gone; we're 'quoted' 'S 'LL",
    "naïve café — déjà vu; Straße; Ωμέγα; Привет, мир!",
    "日本語のテキストと中文和한국어",
    "emoji 🤗🎉👩‍👩‍👧‍👦 flags 🇫🇷 skin 👍🏽",
    "tabs\t\tand\nnewlines\n\n\nand CRLF\r\n\r\nend",
    "numbers 3.14159 1,000,000 2024-06-01 x² ½ ٣٤٥",
    `doc one${EOT}doc two${EOT}${EOT} after`,
    `<|endoftext| almost special |> <|endoftext|>`,
    "code: if (a &&= b) { return x?.y ?? z; } // ===",
    "\u00a0nbsp\u2028line sep\u200bzero width\ufeffbom",
    "a".repeat(300) + " " + "=".repeat(100),
  ];
  const r = rng(42);
  const alphabet = [..."abcxyzABC019 .,;'!?-\n\t日本🤗é", " the", "'s", "  ", EOT, "\u00a0", "Ω"];
  for (let i = 0; i < 30; i++) {
    let s = "";
    const n = 1 + Math.floor(r() * 80);
    for (let k = 0; k < n; k++) s += alphabet[Math.floor(r() * alphabet.length)];
    fixed.push(s);
  }
  return fixed;
}

test("GPT-2 from vocab.json + merges.txt: known ids, and the fast encoder equals @huggingface/tokenizers", async () => {
  const tok = await loadTokenizer(path.join(TOK, "gpt2")); // builds tokenizer.json from vocab.json + merges.txt
  assert.equal(tok.engine, "fast");
  assert.equal(tok.vocabSize, 50257);
  assert.equal(tok.eosId, 50256);
  assert.deepEqual(tok.specialTokens, [EOT]);
  assert.deepEqual(tok.encode("Hello world"), [15496, 995]);
  assert.deepEqual(tok.encode(" the"), [262]);
  assert.deepEqual(tok.encode("The"), [464]);
  assert.deepEqual(tok.encode("Hello world."), [15496, 995, 13]);
  assert.deepEqual(tok.encode(`Hello${EOT}`), [15496, 50256]);
  assert.equal(tok.tokenToId("Ġworld"), 995);
  assert.equal(tok.idToToken(15496), "Hello");
  for (const s of variedTexts()) {
    const ids = tok.encode(s);
    assert.deepEqual(ids, tok.encodeWithHf(s), `fast != hf for ${JSON.stringify(s)}`);
    assert.equal(tok.decode(ids), s, `round trip of ${JSON.stringify(s)}`);
  }
});

test("a tokenizer we train: saved files load in @huggingface/tokenizers with identical ids; round trips", async () => {
  const dir = tmpDir();
  const trained = await trainBpeFromFiles([path.join(TOK, "corpus.en")], { vocabSize: 400, specials: [EOT, "<|pad|>"], threads: 1 });
  const files = saveTrainedTokenizer(trained, dir, { modelMaxLength: 512 });
  assert.deepEqual(files.map((f) => path.basename(f)), ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"]);
  const config = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  assert.equal(config.tokenizer_class, "PreTrainedTokenizerFast");
  assert.equal(config.eos_token, EOT);
  assert.equal(config.model_max_length, 512);
  assert.deepEqual(config.additional_special_tokens, ["<|pad|>"]);
  assert.equal(config.added_tokens_decoder["1"].content, "<|pad|>");

  // Straight through the library, as transformers.js users would load it.
  const hf = new HfJsTokenizer(JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")), config);
  const tok = await loadTokenizer(dir);
  assert.equal(tok.engine, "fast");
  assert.equal(tok.vocabSize, 400);
  assert.equal(tok.eosId, 0);
  assert.equal(tok.bosId, 0);
  assert.deepEqual(tok.specialTokens, [EOT, "<|pad|>"]);
  for (const s of [...variedTexts(), "x<|pad|>y"]) {
    const ids = tok.encode(s);
    assert.deepEqual(ids, s.length ? hf.encode(s, { add_special_tokens: false }).ids : [], `ours != @huggingface/tokenizers for ${JSON.stringify(s)}`);
    assert.equal(tok.decode(ids), s, `decode(encode(x)) != x for ${JSON.stringify(s)}`);
    if (ids.length) assert.equal(hf.decode(ids, { clean_up_tokenization_spaces: false }), s);
  }
  assert.deepEqual(tok.encode(`a${EOT}b<|pad|>`).filter((id) => id < 2), [0, 1], "specials are single ids");
  assert.equal(tok.decode(tok.encode(`a${EOT}b`), true), "ab", "skipSpecial drops them");
  fs.rmSync(dir, { recursive: true });
});

test("the @huggingface/tokenizers engine and a Digits+ByteLevel pre-tokenizer (as SmolLM2) agree with the fast one", () => {
  const base = JSON.parse(smallJson());
  const hfOnly = new HfTokenizer({ "tokenizer.json": JSON.stringify(base) }, "(small)", { engine: "hf" });
  assert.equal(hfOnly.engine, "hf");
  assert.equal(hfOnly.decode(hfOnly.encode("It's 2024 🤗")), "It's 2024 🤗");
  assert.deepEqual(hfOnly.decode([]), "");
  base.pre_tokenizer = { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true }] };
  const digits = new HfTokenizer({ "tokenizer.json": JSON.stringify(base) }, "(small+digits)");
  assert.equal(digits.engine, "fast");
  assert.deepEqual(digits.encode("12345"), ["1", "2", "3", "4", "5"].map((d) => digits.tokenToId(d)));
  for (const s of variedTexts()) assert.deepEqual(digits.encode(s), digits.encodeWithHf(s), JSON.stringify(s));
  base.normalizer = { type: "NFC" };
  const normalized = new HfTokenizer({ "tokenizer.json": JSON.stringify(base) }, "(nfc)");
  assert.equal(normalized.engine, "hf");
  assert.match(normalized.fastUnsupported ?? "", /normalizer/);
});

test("missing or corrupt tokenizer files give a DataError naming the file", async () => {
  const dir = tmpDir();
  await assert.rejects(loadTokenizer(path.join(dir, "absent")), (e: unknown) => e instanceof DataError && /does not exist/.test(e.message));
  await assert.rejects(loadTokenizer(dir), (e: unknown) => e instanceof DataError && e.message.includes(path.join(dir, "tokenizer.json")) && /no such file/.test(e.message));
  fs.writeFileSync(path.join(dir, "tokenizer.json"), '{"model": {"type": "BPE", "vocab": {');
  await assert.rejects(loadTokenizer(dir), (e: unknown) => e instanceof DataError && e.message.includes("tokenizer.json") && /not valid JSON/.test(e.message));
  fs.writeFileSync(path.join(dir, "tokenizer.json"), '{"version": "1.0"}');
  await assert.rejects(loadTokenizer(dir), (e: unknown) => e instanceof DataError && /no "model" section/.test(e.message));
  fs.writeFileSync(path.join(dir, "tokenizer.json"), '{"model": {"type": "BPE", "vocab": {"a": 0}}}');
  await assert.rejects(loadTokenizer(dir), (e: unknown) => e instanceof DataError && /merges/.test(e.message));
  fs.writeFileSync(path.join(dir, "tokenizer.json"), smallJson());
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), '{"eos_token": "<|nope|>"}');
  await assert.rejects(loadTokenizer(dir), (e: unknown) => e instanceof DataError && /tokenizer_config.json: eos_token "<\|nope\|>" is not in the vocabulary/.test(e.message));
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), '{"eos_token": {"content": "<|endoftext|>"}, "bos_token": "<|endoftext|>"}');
  const tok = await loadTokenizer(dir);
  assert.equal(tok.bosId, 0);
  assert.throws(() => tok.decode([1, 500]), (e: unknown) => e instanceof DataError && /token id 500 is not in this tokenizer's vocabulary \(size 500\)/.test(e.message));
  fs.rmSync(dir, { recursive: true });
});

test("saveTokenizer and copyTokenizerFiles reproduce the files byte for byte", async () => {
  const src = tmpDir();
  fs.writeFileSync(path.join(src, "tokenizer.json"), smallJson());
  fs.writeFileSync(path.join(src, "tokenizer_config.json"), '{"model_max_length": 1024}\n');
  const tok = await loadTokenizer(src);
  const a = tmpDir();
  const b = path.join(tmpDir(), "nested", "dir");
  assert.equal(saveTokenizer(tok, a).length, 2);
  assert.equal(copyTokenizerFiles(src, b).length, 2);
  for (const d of [a, b]) {
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) assert.ok(fs.readFileSync(path.join(d, f)).equals(fs.readFileSync(path.join(src, f))), `${d}/${f}`);
    assert.equal(fs.existsSync(path.join(d, "special_tokens_map.json")), false);
  }
  assert.throws(() => copyTokenizerFiles(a + "-none", b), DataError);
  for (const d of [src, a, path.dirname(path.dirname(b))]) fs.rmSync(d, { recursive: true });
});
