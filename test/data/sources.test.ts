// Raw-text source readers: plain text splitting, JSONL (plain, .gz, .zst) with fields and templates,
// Parquet (written here with hyparquet-writer), globs, and the bad-input policy with file and line.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { parquetWriteBuffer } from "hyparquet-writer";
import { DataError } from "../../src/errors.js";
import { chunkCode, demoCorpusPaths, detagBrown, gsm8kText } from "../../src/data/corpora.js";
import { expandPaths, newReadStats, readDocuments, segmentRegExp, type SourceSpec } from "../../src/data/sources.js";

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "smol-sources-"));
}

async function texts(spec: SourceSpec, stats = newReadStats()): Promise<string[]> {
  const out: string[] = [];
  for await (const d of readDocuments(spec, stats)) out.push(d.text);
  return out;
}

async function dataError(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

test("plain text: whole file, blank-line blocks, separator, CRLF", async () => {
  const d = tmpDir();
  fs.writeFileSync(path.join(d, "a.txt"), "para one\nstill one\r\n\r\n\n  para two\n\npara three\n");
  fs.writeFileSync(path.join(d, "s.txt"), "story A line 1\nline 2\n<|endoftext|>\nstory B<|endoftext|>story C\n<|endoftext|>\n");
  assert.deepEqual(await texts({ name: "t", paths: [path.join(d, "a.txt")] }), ["para one\nstill one\n\n\n  para two\n\npara three"]);
  assert.deepEqual(await texts({ name: "t", paths: [path.join(d, "a.txt")], textSplit: "blank-lines" }), ["para one\nstill one", "para two", "para three"]);
  assert.deepEqual(await texts({ name: "t", paths: [path.join(d, "s.txt")], textSplit: { separator: "<|endoftext|>" } }), ["story A line 1\nline 2", "story B", "story C"]);
  const lines: number[] = [];
  for await (const doc of readDocuments({ name: "t", paths: [path.join(d, "a.txt")], textSplit: "blank-lines" })) lines.push(doc.line);
  assert.deepEqual(lines, [1, 5, 7]);
});

test("JSONL: field, template, .gz and .zst", async () => {
  const d = tmpDir();
  const rows = [
    { text: "first", question: "1+1?", answer: "2" },
    { text: "second", question: "2+2?", answer: "4" },
  ];
  const body = rows.map((r) => JSON.stringify(r)).join("\n") + "\n\n";
  fs.writeFileSync(path.join(d, "a.jsonl"), body);
  fs.writeFileSync(path.join(d, "b.jsonl.gz"), gzipSync(body));
  // zstd -q z.jsonl: {"text": "zstd one"} / {"text": "zstd two \u00e9"}
  fs.writeFileSync(path.join(d, "c.jsonl.zst"), Buffer.from("KLUv/SQxTQEAJAJ7InRleHQiOiAienN0ZCBvbmUifQp0d28gXHUwMGU5In0KAQCxm0xnf2hq", "base64"));
  assert.deepEqual(await texts({ name: "j", paths: [path.join(d, "a.jsonl")] }), ["first", "second"]);
  assert.deepEqual(await texts({ name: "j", paths: [path.join(d, "b.jsonl.gz")] }), ["first", "second"]);
  assert.deepEqual(await texts({ name: "j", paths: [path.join(d, "c.jsonl.zst")] }), ["zstd one", "zstd two é"]);
  assert.deepEqual(await texts({ name: "j", paths: [path.join(d, "a.jsonl")], template: "Question: {question}\nAnswer: {answer} {{ok}}" }), [
    "Question: 1+1?\nAnswer: 2 {ok}",
    "Question: 2+2?\nAnswer: 4 {ok}",
  ]);
  const stats = newReadStats();
  await texts({ name: "j", paths: [path.join(d, "b.jsonl.gz")] }, stats);
  assert.equal(stats.docs, 2);
  assert.equal(stats.textBytes, Buffer.byteLength(body));
  assert.ok(stats.fileBytes < stats.textBytes + 40 && stats.fileBytes > 0);
  fs.writeFileSync(path.join(d, "bad.jsonl.gz"), Buffer.from("not gzip at all"));
  await dataError(texts({ name: "j", paths: [path.join(d, "bad.jsonl.gz")] }), /bad\.jsonl\.gz: not valid gzip data/);
});

test("Parquet: field, template, row-group slicing, missing column", async () => {
  const d = tmpDir();
  const n = 5000;
  const text = Array.from({ length: n }, (_, i) => `doc ${i}`);
  const q = Array.from({ length: n }, (_, i) => `q${i}`);
  const buf = parquetWriteBuffer({ columnData: [{ name: "text", data: text }, { name: "q", data: q }], rowGroupSize: 3000 });
  fs.writeFileSync(path.join(d, "t.parquet"), new Uint8Array(buf));
  const got = await texts({ name: "p", paths: [path.join(d, "t.parquet")] });
  assert.deepEqual(got, text);
  const tpl = await texts({ name: "p", paths: [path.join(d, "*.parquet")], template: "{q}: {text}" });
  assert.equal(tpl[4321], "q4321: doc 4321");
  await dataError(texts({ name: "p", paths: [path.join(d, "t.parquet")], field: "body" }), /no column "body" \(columns: text, q\)/);
});

test("globs: *, **, {a,b}, [..], directories, no match", () => {
  const d = tmpDir();
  for (const f of ["a.jsonl", "b.jsonl", "c.txt", "sub/d.jsonl", "sub/deep/e.jsonl", ".hidden.jsonl", "sub/x.md"]) {
    fs.mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
    fs.writeFileSync(path.join(d, f), "x");
  }
  const rel = (fs_: string[]) => fs_.map((f) => path.relative(d, f));
  assert.deepEqual(rel(expandPaths(["*.jsonl"], d)), ["a.jsonl", "b.jsonl"]);
  assert.deepEqual(rel(expandPaths(["**/*.jsonl"], d)), ["a.jsonl", "b.jsonl", "sub/d.jsonl", "sub/deep/e.jsonl"]);
  assert.deepEqual(rel(expandPaths(["{a,c}.*", "[ab].jsonl"], d)), ["a.jsonl", "c.txt", "b.jsonl"]);
  assert.deepEqual(rel(expandPaths(["sub"], d)), ["sub/d.jsonl", "sub/deep/e.jsonl", "sub/x.md"]);
  assert.deepEqual(rel(expandPaths([path.join(d, "sub", "*", "*.jsonl")])), ["sub/deep/e.jsonl"]);
  assert.ok(segmentRegExp("*.json?").test("a.jsonl") && !segmentRegExp("*.jsonl").test(".a.jsonl"));
  assert.throws(() => expandPaths(["*.parquet"], d), (e: unknown) => e instanceof DataError && /"\*\.parquet" matched no files/.test(e.message));
  assert.throws(() => expandPaths(["nope.txt"], d), (e: unknown) => e instanceof DataError && /no such file or directory: nope\.txt/.test(e.message));
});

test("bad JSONL records: fail names file and line; skip counts and reports", async () => {
  const d = tmpDir();
  const f = path.join(d, "bad.jsonl");
  fs.writeFileSync(f, ['{"text": "ok 1"}', "{not json", '{"title": "no text"}', '{"text": ["an", "array"]}', "[1,2]", '{"text": "   "}', '{"text": "ok 2"}'].join("\n"));
  await dataError(texts({ name: "b", paths: [f] }), /bad\.jsonl:2: not valid JSON/);
  await dataError(texts({ name: "b", paths: [f], template: "{text}" }), /bad\.jsonl:2: not valid JSON/);
  const stats = newReadStats();
  assert.deepEqual(await texts({ name: "b", paths: [f], onBad: "skip" }, stats), ["ok 1", "ok 2"]);
  assert.equal(stats.skipped, 4);
  assert.equal(stats.empty, 1);
  assert.match(stats.problems[0], /bad\.jsonl:2: not valid JSON/);
  assert.match(stats.problems[1], /bad\.jsonl:3: missing field "text"/);
  assert.match(stats.problems[2], /bad\.jsonl:4: field "text" is not a string \(got an array\)/);
  assert.match(stats.problems[3], /bad\.jsonl:5: not a JSON object/);
});

test("empty, binary and invalid UTF-8 files give clear errors", async () => {
  const d = tmpDir();
  fs.writeFileSync(path.join(d, "empty.txt"), "");
  fs.writeFileSync(path.join(d, "empty.jsonl"), "\n\n");
  fs.writeFileSync(path.join(d, "bin.txt"), Buffer.from([104, 105, 10, 0, 1, 2, 3]));
  fs.writeFileSync(path.join(d, "latin1.jsonl"), Buffer.concat([Buffer.from('{"text": "fine"}\n{"text": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
  fs.writeFileSync(path.join(d, "latin1.txt"), Buffer.concat([Buffer.from("ok\n\ncaf"), Buffer.from([0xe9, 10, 10]), Buffer.from("fine\n")]));
  await dataError(texts({ name: "e", paths: [path.join(d, "empty.txt")] }), /empty\.txt: file is empty/);
  await dataError(texts({ name: "e", paths: [path.join(d, "empty.jsonl")] }), /empty\.jsonl: file is empty/);
  await dataError(texts({ name: "e", paths: [path.join(d, "bin.txt")] }), /bin\.txt:2: binary data \(NUL byte\)/);
  await dataError(texts({ name: "e", paths: [path.join(d, "latin1.jsonl")] }), /latin1\.jsonl:2: invalid UTF-8/);
  await dataError(texts({ name: "e", paths: [path.join(d, "latin1.txt")] }), /latin1\.txt:3: invalid UTF-8/);
  const stats = newReadStats();
  const got = await texts({ name: "e", paths: [path.join(d, "latin1.txt"), path.join(d, "latin1.jsonl"), path.join(d, "empty.txt")], textSplit: "blank-lines", onBad: "skip" }, stats);
  assert.deepEqual(got, ["ok", "fine", "fine"]);
  assert.equal(stats.skipped, 3);
  assert.equal(stats.files, 3);
});

test("bundled demo corpora: present, readable as JSONL.gz with a text field, expected sizes", async () => {
  const paths = demoCorpusPaths();
  const expected = { web: 500, code: 370, math: 7473 };
  for (const [name, file] of Object.entries(paths)) {
    const stats = newReadStats();
    let first = "";
    for await (const doc of readDocuments({ name, paths: [file] }, stats)) first ||= doc.text;
    assert.equal(stats.docs, expected[name as keyof typeof expected], `${name} documents`);
    assert.equal(stats.skipped, 0);
    assert.ok(first.length > 100, `${name}: first document has text`);
  }
  const total = Object.values(paths).reduce((a, f) => a + fs.statSync(f).size, 0);
  assert.ok(total < 6e6, `bundled corpora take ${total} bytes`);
});

test("corpus builders: Brown detagging, code chunking, GSM8K text", () => {
  const brown = "\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ,/, Mr./np Jr./np ./.\nIt/pps ended/vbd ./.\n\n\nMerger/nn-hl proposed/vbn-hl\nHowever/wrb (/( not/* )/) so/rb ./.\n";
  assert.equal(detagBrown(brown), 'The jury said "no", Mr. Jr. It ended.\n\nMerger proposed\n\nHowever (not) so.');
  const code = Array.from({ length: 40 }, (_, i) => `function f${i}() {\n  return ${i};\n}\n`).join("\n");
  const chunks = chunkCode(code, 256);
  assert.ok(chunks.length > 5 && chunks.every((c) => c.length <= 512 && c.startsWith("function ")));
  assert.equal(chunks.join("\n\n"), code.trimEnd());
  assert.equal(gsm8kText({ question: "1+1?", answer: "2\n#### 2" }), "Question: 1+1?\nAnswer: 2\n#### 2");
});
