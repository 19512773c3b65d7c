// Byte-level BPE training: the cs336 reference run reproduced byte for byte, the fast merge loop
// against its naive twin, safe chunk cuts, worker-thread counting, and bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, DataError } from "../../src/errors.js";
import { bytesToToken, compareBytes, tokenToBytes, BYTE_ORDER, BYTE_TO_CHAR } from "../../src/tokenizer/bpe/bytes.js";
import { countPretokensInFiles, firstInvalidUtf8 } from "../../src/tokenizer/bpe/count.js";
import { learnMerges } from "../../src/tokenizer/bpe/merge.js";
import { learnMergesNaive } from "../../src/tokenizer/bpe/merge-naive.js";
import { countPretokens, findSafeCut, pretokenize, specialsRegex, splitOnSpecials } from "../../src/tokenizer/bpe/pretokenize.js";
import { trainBpeFromFiles, trainBpeFromText } from "../../src/tokenizer/bpe/train.js";
import { saveTrainedTokenizer } from "../../src/tokenizer/tokenizer.js";
import { rng } from "../helpers.js";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), HERE.endsWith(".ts") ? "../.." : "../../.."); // sources or dist/
const TOK = path.join(ROOT, "data/tokenizer");
const EOT = "<|endoftext|>";

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "smol-bpe-"));
}

/** Random text over letters, digits, punctuation, apostrophes, whitespace runs, CJK, emoji and specials. */
function randomText(seed: number, n: number, withSpecials = true): string {
  const r = rng(seed);
  const pieces = [
    "a", "b", "e", "th", "the", "x", "Z", "é", "ß", "Ω", "日", "本", "語", "🤗", "👩‍👧", "1", "2", "3", "0",
    " ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", "\u00a0", ".", ",", "!", "?", "-", "'", "'s", "'ll", "'re", "\"", "(", ")",
    ...(withSpecials ? [EOT, "<|", "|>", "endoftext"] : []),
  ];
  let s = "";
  for (let i = 0; i < n; i++) s += pieces[Math.floor(r() * pieces.length)];
  return s;
}

test("GPT-2 byte mapping: 256 distinct printable characters, space is Ġ, order as GPT-2's vocab", () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], "Ġ");
  assert.equal(BYTE_TO_CHAR[0x0a], "Ċ");
  assert.equal(BYTE_TO_CHAR[0x41], "A");
  assert.deepEqual(BYTE_ORDER.slice(0, 3), [0x21, 0x22, 0x23]);
  assert.equal(BYTE_ORDER[255], 0xad);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(tokenToBytes(bytesToToken(all)), all);
  assert.equal(tokenToBytes("日"), undefined);
  assert.ok(compareBytes(Uint8Array.of(0x20), Uint8Array.of(0x63)) < 0, "space sorts before 'c' as bytes");
  assert.ok(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0)) < 0, "a prefix sorts first");
});

test("reference: corpus.en, vocab 500, <|endoftext|> reproduces the cs336 merges and vocab exactly", async () => {
  const refMerges = fs.readFileSync(path.join(TOK, "train-bpe-reference-merges.txt"), "utf8");
  const refVocab = fs.readFileSync(path.join(TOK, "train-bpe-reference-vocab.json"), "utf8");
  for (const threads of [1, 2]) {
    const trained = await trainBpeFromFiles([path.join(TOK, "corpus.en")], { vocabSize: 500, specials: [EOT], threads });
    assert.equal(trained.vocab.length, 500);
    assert.equal(trained.merges.map(([l, r]) => `${l} ${r}\n`).join(""), refMerges, `merges differ (threads ${threads})`);
    const dir = tmpDir();
    saveTrainedTokenizer(trained, dir);
    assert.equal(fs.readFileSync(path.join(dir, "vocab.json"), "utf8"), refVocab, `vocab.json differs (threads ${threads})`);
    assert.equal(fs.readFileSync(path.join(dir, "merges.txt"), "utf8"), "#version: 0.2\n" + refMerges);
    fs.rmSync(dir, { recursive: true });
  }
});

test("ties go to the greatest pair compared as bytes (space 0x20 < 'c'), not as mapped characters (Ġ > c)", () => {
  // Pre-tokens "ab" and " cd": pairs (a,b), (Ġ,c), (c,d) all occur once; as bytes (c,d) is greatest.
  const t = trainBpeFromText("ab cd", { vocabSize: 257 });
  assert.deepEqual(t.merges, [["c", "d"]]);
  const t2 = trainBpeFromText("ab cd", { vocabSize: 259 });
  assert.deepEqual(t2.merges, [["c", "d"], ["a", "b"], ["Ġ", "cd"]]);
});

test("special tokens split the text, are never merged, and take the first ids", () => {
  const text = `x${EOT}y${EOT}`.repeat(50) + "xy xy"; // unsplit, (x,<) and (>,y) would occur 50 times
  const t = trainBpeFromText(text, { vocabSize: 300, specials: [EOT, "<pad>"] });
  assert.deepEqual(t.vocab.slice(0, 3), [EOT, "<pad>", "!"]);
  const learned = t.merges.map(([l, r]) => l + r);
  assert.ok(!learned.some((m) => m.includes("<") || m.includes("|")), `a merge crossed a special token: ${learned}`);
  assert.deepEqual(learned[0], "xy", "only the two real 'xy' pairs remain");
  assert.equal(t.merges.length, learned.length);
});

test("fast merge loop equals the naive full-recount twin on random corpora (ties included)", () => {
  for (let seed = 1; seed <= 6; seed++) {
    const counts = new Map<string, number>();
    const text = randomText(seed, 1500, false);
    for (const p of pretokenize(text)) counts.set(p, (counts.get(p) ?? 0) + 1);
    const fast = learnMerges(counts, 120).map(([l, r]) => bytesToToken(l) + " " + bytesToToken(r));
    const naive = learnMergesNaive(counts, 120).map(([l, r]) => bytesToToken(l) + " " + bytesToToken(r));
    assert.deepEqual(fast, naive, `seed ${seed}`);
  }
  // Runs of one byte: overlapping pairs count every position, merges go left to right.
  const runs = new Map([["aaaaa", 3], ["aaa", 2], ["ba", 1]]);
  assert.deepEqual(learnMerges(runs, 4), learnMergesNaive(runs, 4));
});

test("learning stops early when no pair is left", () => {
  const t = trainBpeFromText("ab ab", { vocabSize: 1000 });
  assert.deepEqual(t.merges, [["a", "b"], ["Ġ", "ab"]]);
  assert.equal(t.vocab.length, 258);
});

test("findSafeCut: both halves pre-tokenise exactly as the whole", () => {
  const specials = [EOT];
  const r = rng(7);
  let cuts = 0;
  for (let trial = 0; trial < 300; trial++) {
    const text = randomText(100 + trial, 40);
    const hi = Math.floor(r() * text.length);
    const p = findSafeCut(text, hi, 0, specials);
    if (p < 0) continue;
    cuts++;
    assert.ok(p > 0 && p <= hi);
    const pieces = (s: string) => {
      const out: string[] = [];
      splitOnSpecials(s, specialsRegex(specials), (x) => out.push(...pretokenize(x)), (sp) => out.push(sp));
      return out;
    };
    assert.deepEqual([...pieces(text.slice(0, p)), ...pieces(text.slice(p))], pieces(text), `cut at ${p} of ${JSON.stringify(text)}`);
  }
  assert.ok(cuts > 100, `too few cuts found (${cuts})`);
  assert.equal(findSafeCut("   \n\n  ", 6), -1, "no cut inside whitespace");
  assert.equal(findSafeCut("a<|endoftext|>", 13, 0, specials), 1, "never inside a special token");
});

test("counting on worker threads with small blocks equals counting the whole text at once", async () => {
  const dir = tmpDir();
  const a = path.join(dir, "a.txt");
  const b = path.join(dir, "b.txt");
  const ta = randomText(11, 6000);
  const tb = fs.readFileSync(path.join(TOK, "corpus.en"), "utf8").slice(0, 20000);
  fs.writeFileSync(a, ta);
  fs.writeFileSync(b, tb);
  const want = new Map<string, number>();
  for (const t of [ta, tb]) splitOnSpecials(t, specialsRegex([EOT]), (x) => countPretokens(x, want));
  const progress: number[] = [];
  const got = await countPretokensInFiles([a, b], { specials: [EOT], threads: 2, blockBytes: 1024, onProgress: (p) => progress.push(p.bytesDone) });
  assert.deepEqual([...got.entries()].sort(), [...want.entries()].sort());
  assert.equal(progress.at(-1), Buffer.byteLength(ta) + Buffer.byteLength(tb));
  const inline = await countPretokensInFiles([a, b], { specials: [EOT], threads: 1, blockBytes: 777 });
  assert.deepEqual([...inline.entries()].sort(), [...want.entries()].sort());
  fs.rmSync(dir, { recursive: true });
});

test("bad input: empty, binary (NUL), invalid UTF-8, missing file, vocab too small → clear errors", async () => {
  const dir = tmpDir();
  const empty = path.join(dir, "empty.txt");
  const bin = path.join(dir, "blob.bin");
  const latin1 = path.join(dir, "latin1.txt");
  fs.writeFileSync(empty, "");
  fs.writeFileSync(bin, Buffer.from([0x68, 0x69, 0x00, 0x01, 0x02]));
  fs.writeFileSync(latin1, Buffer.concat([Buffer.from("caf"), Buffer.from([0xe9]), Buffer.from(" au lait")]));
  const opts = { vocabSize: 300, specials: [EOT], threads: 1 };
  await assert.rejects(trainBpeFromFiles([empty], opts), (e: unknown) => e instanceof DataError && e.message.includes(empty) && /empty/.test(e.message));
  await assert.rejects(trainBpeFromFiles([bin], opts), (e: unknown) => e instanceof DataError && e.message.includes(bin) && /NUL byte at byte offset 2/.test(e.message));
  await assert.rejects(trainBpeFromFiles([latin1], opts), (e: unknown) => e instanceof DataError && e.message.includes(latin1) && /not valid UTF-8 \(at byte offset 3\)/.test(e.message));
  await assert.rejects(trainBpeFromFiles([path.join(dir, "nope.txt")], opts), (e: unknown) => e instanceof DataError && /no such file/.test(e.message));
  await assert.rejects(trainBpeFromFiles([bin], { ...opts, vocabSize: 256 }), (e: unknown) => e instanceof ConfigError && /smaller than the 256 byte tokens \+ 1 special token\(s\) = 257/.test(e.message));
  assert.throws(() => trainBpeFromText("x", { vocabSize: 300, specials: [EOT, EOT] }), /given twice/);
  assert.throws(() => trainBpeFromText("x", { vocabSize: 300, specials: ["a"] }), /also a byte token/);
  fs.rmSync(dir, { recursive: true });
});

test("firstInvalidUtf8 finds bad lead bytes, overlongs, surrogates; a cut-off last sequence is valid", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(firstInvalidUtf8(enc("héllo 日本 🤗")), -1);
  assert.equal(firstInvalidUtf8(Uint8Array.of(0x61, 0xc0, 0x80)), 1, "overlong");
  assert.equal(firstInvalidUtf8(Uint8Array.of(0xed, 0xa0, 0x80)), 0, "surrogate");
  assert.equal(firstInvalidUtf8(Uint8Array.of(0x61, 0x80)), 1, "stray continuation");
  assert.equal(firstInvalidUtf8(Uint8Array.of(0x61, 0xe6, 0x97)), -1, "cut-off at the end");
});
