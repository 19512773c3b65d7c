// Tokenized shards: file format round trip (uint16/uint32), tokenize → read back documents exactly,
// dedup and held-out split counts, resume after an interrupted run (same bytes as an uninterrupted
// one), worker-thread encoding equal to inline, and windowed reads equal to in-memory ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { DataError } from "../../src/errors.js";
import { command as tokenizeCommand } from "../../src/cli/commands/tokenize.js";
import { encodeShard, fingerprintBytes, openShards, parseShardHeader, readIndex, readManifest, tokenizerFingerprint, type Split } from "../../src/data/shards.js";
import { gpt2TokenizerJson, loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { packageRoot } from "../../src/util/paths.js";
import { tokenizeSources, type TokenizeOptions } from "../../src/data/tokenize.js";
import type { Tokenizer } from "../../src/tokenizer/types.js";

/** Bytes as ids (+ `offset`), EOS = offset + 256: a stand-in for a trained tokenizer. */
function byteTokenizer(offset = 0): Tokenizer {
  return {
    vocabSize: offset + 257,
    eosId: offset + 256,
    bosId: undefined,
    specialTokens: ["<|endoftext|>"],
    encode: (t) => [...Buffer.from(t, "utf8")].map((b) => b + offset),
    decode: (ids) => Buffer.from(ids.filter((i) => i >= offset && i < offset + 256).map((i) => i - offset)).toString("utf8"),
    tokenToId: () => undefined,
    idToToken: () => undefined,
  };
}
/** The same tokenizer as a module a worker thread can import. */
const BYTE_MODULE =
  "data:text/javascript," +
  encodeURIComponent(`export async function loadTokenizer() { return { vocabSize: 257, eosId: 256, bosId: undefined, specialTokens: [],
    encode: (t) => [...Buffer.from(t, "utf8")], decode: () => "", tokenToId: () => undefined, idToToken: () => undefined }; }`);
const FP = fingerprintBytes("byte-tokenizer");

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "smol-shards-"));
}

/** 300 distinct documents (one repeated 3 times, one 2 times) of varied length. */
function writeCorpus(dir: string): { file: string; unique: string[] } {
  const unique = Array.from({ length: 300 }, (_, i) => `document ${i}: ` + "lorem ipsum ü ".repeat(1 + ((i * 7) % 23)));
  const lines = unique.map((text) => JSON.stringify({ text }));
  lines.splice(50, 0, lines[10], lines[10]);
  lines.push(lines[20]);
  const file = path.join(dir, "corpus.jsonl");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return { file, unique };
}

function opts(out: string, file: string, extra: Partial<TokenizeOptions> = {}): TokenizeOptions {
  return { out, sources: [{ name: "web", paths: [file] }], tokenizer: byteTokenizer(), fingerprint: FP, shardTokens: 16384, valFraction: 0.05, ...extra };
}

function readDocs(dir: string, source: string, split: Split, tok: Tokenizer): string[] {
  const s = openShards(dir, source, split);
  const docs: string[] = [];
  for (let i = 0; i < s.numDocs; i++) {
    const ids = s.doc(i);
    assert.equal(ids[ids.length - 1], tok.eosId, `doc ${i} ends with EOS`);
    docs.push(tok.decode([...ids.subarray(0, ids.length - 1)]));
  }
  s.close();
  return docs;
}

function binFiles(dir: string): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir).sort()) if (f.endsWith(".bin")) m.set(f, fs.readFileSync(path.join(dir, f)));
  return m;
}

test("shard file round trip: header, tokens, doc index, uint16 and uint32, truncation", () => {
  for (const tb of [2, 4] as const) {
    const tokens = tb === 2 ? [0, 1, 65535, 7] : [0, 70000, 2 ** 32 - 1, 5];
    const bytes = encodeShard(tokens, [0, 3, 4], tb, FP);
    const h = parseShardHeader(bytes.subarray(0, 64), "x.bin", bytes.length);
    assert.deepEqual(h, { version: 1, tokenBytes: tb, numTokens: 4, numDocs: 2, fingerprint: FP });
    const b = Buffer.from(bytes);
    const back = Array.from({ length: 4 }, (_, i) => (tb === 2 ? b.readUInt16LE(64 + 2 * i) : b.readUInt32LE(64 + 4 * i)));
    assert.deepEqual(back, tokens);
    assert.deepEqual([0, 1, 2].map((i) => b.readUInt32LE(64 + 4 * tb + 4 * i)), [0, 3, 4]);
    assert.throws(() => parseShardHeader(bytes.subarray(0, 64), "x.bin", bytes.length - 1), /x\.bin: shard is truncated or corrupt/);
  }
  assert.throws(() => parseShardHeader(Buffer.alloc(64), "y.bin"), /y\.bin: not a smol token shard/);
  assert.throws(() => encodeShard([1, 2], [0, 1], 2, FP), /offsets must run from 0 to 2/);
});

test("tokenize: documents round-trip in order, duplicates dropped, val split by hash", async () => {
  const d = tmpDir();
  const { file, unique } = writeCorpus(d);
  const out = path.join(d, "out");
  const progress: string[] = [];
  const [r] = await tokenizeSources(opts(out, file, { onProgress: (p) => progress.push(p.phase) }));
  assert.equal(r.status, "written");
  assert.equal(r.rawDocs, 303);
  assert.equal(r.duplicates, 3);
  assert.ok(progress.includes("scan") && progress.includes("encode"));
  const tok = byteTokenizer();
  const train = readDocs(out, "web", "train", tok);
  const val = readDocs(out, "web", "val", tok);
  assert.equal(train.length + val.length, 300);
  assert.ok(val.length >= 4 && val.length <= 40, `val docs ${val.length} for 5% of 300`);
  // Each split keeps the corpus order; together they are the unique documents.
  const valSet = new Set(val);
  assert.deepEqual(train, unique.filter((t) => !valSet.has(t)));
  assert.deepEqual(val, unique.filter((t) => valSet.has(t)));
  const idx = readIndex(out);
  assert.equal(idx.fingerprint, FP);
  assert.equal(idx.tokenBytes, 2);
  assert.equal(idx.sources.web.duplicates, 3);
  assert.equal(idx.sources.web.train.docs, train.length);
  const totalBytes = unique.reduce((a, t) => a + Buffer.byteLength(t) + 1, 0);
  assert.equal(idx.sources.web.train.tokens + idx.sources.web.val.tokens, totalBytes, "tokens = bytes + one EOS per doc");
  const m = readManifest(out, "web");
  assert.ok(m.shards.filter((s) => s.split === "train").length >= 3, "several train shards");
  assert.ok(m.shards.every((s) => s.tokens <= 16384));
  // The val split depends only on document content: a shuffled corpus holds out the same documents.
  const d2 = tmpDir();
  const shuffled = path.join(d2, "shuffled.jsonl");
  fs.writeFileSync(shuffled, [...unique].reverse().map((text) => JSON.stringify({ text })).join("\n"));
  await tokenizeSources(opts(path.join(d2, "out"), shuffled));
  assert.deepEqual(new Set(readDocs(path.join(d2, "out"), "web", "val", tok)), valSet);
});

test("tiny sources still get a few val docs; valFraction 0 gives none", async () => {
  const d = tmpDir();
  const f = path.join(d, "t.jsonl");
  fs.writeFileSync(f, Array.from({ length: 60 }, (_, i) => JSON.stringify({ text: `tiny ${i}` })).join("\n"));
  const [r] = await tokenizeSources(opts(path.join(d, "a"), f, { valFraction: 0.001, minValDocs: 4 }));
  assert.equal(r.val.docs, 4);
  const [r0] = await tokenizeSources(opts(path.join(d, "b"), f, { valFraction: 0 }));
  assert.equal(r0.val.docs, 0);
  assert.equal(r0.train.docs, 60);
});

test("resume: deleting the last shard and leaving a temp file, a rerun writes identical shards", async () => {
  const d = tmpDir();
  const { file } = writeCorpus(d);
  const full = path.join(d, "full");
  await tokenizeSources(opts(full, file));
  const part = path.join(d, "part");
  const [first] = await tokenizeSources(opts(part, file));
  const m = readManifest(part, "web");
  // Simulate a crash: the last two train shards never made it, the manifest says incomplete, a temp file is left.
  const trainShards = m.shards.filter((s) => s.split === "train");
  const lost = trainShards.slice(-2).map((s) => s.file);
  fs.rmSync(path.join(part, "web", lost[1]));
  fs.truncateSync(path.join(part, "web", lost[0]), 100);
  fs.writeFileSync(path.join(part, "web", ".smol-tmp-train-00009.bin-123-abc"), "partial");
  fs.writeFileSync(path.join(part, "web", "manifest.json"), JSON.stringify({ ...m, complete: false }));
  const [again] = await tokenizeSources(opts(part, file));
  assert.equal(again.status, "resumed");
  assert.ok(again.encodedTokens > 0 && again.encodedTokens < first.encodedTokens, `re-encoded ${again.encodedTokens} of ${first.encodedTokens}`);
  assert.deepEqual(binFiles(path.join(part, "web")), binFiles(path.join(full, "web")));
  assert.ok(!fs.readdirSync(path.join(part, "web")).some((f) => f.startsWith(".smol-tmp")));
  const [third] = await tokenizeSources(opts(part, file));
  assert.equal(third.status, "up to date");
  assert.equal(third.encodedTokens, 0);
  await assert.rejects(tokenizeSources(opts(part, file, { shardTokens: 8192 })), (e: unknown) => e instanceof DataError && /settings\.shardTokens: was 16384, now 8192/.test(e.message));
  const [forced] = await tokenizeSources(opts(part, file, { shardTokens: 8192, force: true }));
  assert.equal(forced.status, "written");
});

test("worker threads write the same shards as inline encoding", async () => {
  const d = tmpDir();
  const { file } = writeCorpus(d);
  await tokenizeSources(opts(path.join(d, "inline"), file));
  // Small jobs, so results come back from both workers and must be put back in order.
  await tokenizeSources(opts(path.join(d, "workers"), file, { workers: { module: BYTE_MODULE, dir: d, count: 2 }, jobBytes: 1024 }));
  assert.deepEqual(binFiles(path.join(d, "workers", "web")), binFiles(path.join(d, "inline", "web")));
});

test("uint32 shards for large vocabularies; windowed reads equal in-memory reads across shards", async () => {
  const d = tmpDir();
  const { file } = writeCorpus(d);
  const tok = byteTokenizer(70000);
  await tokenizeSources(opts(path.join(d, "o"), file, { tokenizer: tok, shardTokens: 4096 }));
  assert.equal(readIndex(path.join(d, "o")).tokenBytes, 4);
  const mem = openShards(path.join(d, "o"), "web", "train");
  const win = openShards(path.join(d, "o"), "web", "train", { inMemoryBelowBytes: 0 });
  assert.ok(mem.inMemory && !win.inMemory);
  assert.ok(readManifest(path.join(d, "o"), "web").shards.length > 5, "reads below cross shard boundaries");
  assert.equal(mem.numTokens, win.numTokens);
  for (const [start, len] of [[0, 10], [4090, 20], [mem.numTokens - 9000, 9000], [123, 0]]) {
    assert.deepEqual(win.read(start, len), mem.read(start, len), `read(${start}, ${len})`);
  }
  assert.ok(mem.read(0, 50).every((t) => t >= 70000), "ids keep their uint32 values");
  assert.throws(() => mem.read(mem.numTokens - 1, 2), DataError);
  win.close();
  assert.throws(() => openShards(path.join(d, "o"), "code", "train"), /no source "code" in .* \(has: web\)/);
});

test("a tokenizer without EOS, or ids outside the vocabulary, are DataErrors", async () => {
  const d = tmpDir();
  const { file } = writeCorpus(d);
  const noEos = { ...byteTokenizer(), eosId: undefined };
  await assert.rejects(tokenizeSources(opts(path.join(d, "a"), file, { tokenizer: noEos })), /tokenizer has no EOS token/);
  const wild = { ...byteTokenizer(), encode: (t: string) => [...byteTokenizer().encode(t), 300] };
  await assert.rejects(tokenizeSources(opts(path.join(d, "b"), file, { tokenizer: wild })), /corpus\.jsonl:1: tokenizer produced id 300 outside its vocabulary of 257/);
  const badEos = { ...byteTokenizer(), eosId: 257 };
  await assert.rejects(tokenizeSources(opts(path.join(d, "c"), file, { tokenizer: badEos })), /EOS id 257 is outside the vocabulary of 257/);
});

test("end to end with the real tokenizer (GPT-2 from data/tokenizer/gpt2): CLI, worker threads, exact decode", async () => {
  const d = tmpDir();
  const tokDir = path.join(d, "gpt2");
  fs.mkdirSync(tokDir);
  const root = packageRoot();
  const vocab = fs.readFileSync(path.join(root, "data/tokenizer/gpt2/vocab.json"), "utf8");
  const merges = fs.readFileSync(path.join(root, "data/tokenizer/gpt2/merges.txt"), "utf8");
  fs.writeFileSync(path.join(tokDir, "tokenizer.json"), gpt2TokenizerJson(vocab, merges));
  const docs = Array.from({ length: 40 }, (_, i) => ({ question: `What is ${i} + ${i}?`, answer: `It is ${2 * i}. Ünïcödé ✓ ${"\n".repeat(i % 3)}done` }));
  const file = path.join(d, "qa.jsonl.gz");
  fs.writeFileSync(file, gzipSync(docs.map((r) => JSON.stringify(r)).join("\n")));
  const out = path.join(d, "shards");
  const log = console.log;
  const printed: string[] = [];
  console.log = (...a: unknown[]) => void printed.push(a.join(" "));
  try {
    const code = await tokenizeCommand.run(["--tokenizer", tokDir, "--source", `qa=${file}`, "--out", out, "--template", "Q: {question}\\nA: {answer}", "--workers", "1", "--shard-tokens", "256"]);
    assert.equal(code, 0);
  } finally {
    console.log = log;
  }
  assert.match(printed.join("\n"), /qa\s+written\s+1\s+40\s+0\s+0/);
  const tok = await loadTokenizer(tokDir);
  assert.equal(tok.eosId, 50256);
  const idx = readIndex(out);
  assert.equal(idx.fingerprint, tokenizerFingerprint(tokDir));
  assert.equal(idx.sources.qa.train.docs + idx.sources.qa.val.docs, 40);
  const got = [...readDocs(out, "qa", "train", tok), ...readDocs(out, "qa", "val", tok)].sort();
  assert.deepEqual(got, docs.map((r) => `Q: ${r.question}\nA: ${r.answer}`).sort());
  // The same source encoded inline gives the same shards.
  await tokenizeSources({ out: path.join(d, "inline"), sources: [{ name: "qa", paths: [file], template: "Q: {question}\nA: {answer}" }], tokenizer: tok, fingerprint: idx.fingerprint, shardTokens: 256 });
  assert.deepEqual(binFiles(path.join(d, "inline", "qa")), binFiles(path.join(out, "qa")));
  await assert.rejects(tokenizeCommand.run(["--tokenizer", tokDir, "--source", "qa", "--out", out]), /--source must be NAME=PATH_OR_GLOB, got "qa"/);
});
