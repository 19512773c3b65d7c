// `smol curate` end to end through the CLI: a run killed (SIGKILL) while hashing and again while
// writing, then rerun, gives byte-identical output to an uninterrupted run; a finished folder is
// left as it is; bad records are an error naming file and line, or counted and skipped; pipeline
// problems name the key; Parquet input keeps every column.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { parquetWriteFile } from "hyparquet-writer";
import { rng, runSmol, smolArgv } from "../helpers.js";
import { byteTokenizerDir } from "../eval/fixture.js";
import { randomWords, readRecords, tmpDir, vocabulary, writeJsonl } from "./helpers.js";

function tree(dir: string, base = dir, out = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === ".curate") continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) tree(p, base, out);
    else out.set(path.relative(base, p), fs.readFileSync(p));
  }
  return out;
}

/** Start the CLI and SIGKILL it once `when()` holds; resolves to whether the kill happened. */
function runAndKill(args: string[], when: () => boolean): Promise<boolean> {
  const [cmd, ...pre] = smolArgv();
  return new Promise((resolve) => {
    const p = spawn(cmd, [...pre, ...args], { stdio: "ignore" });
    let killed = false;
    const timer = setInterval(() => {
      if (!killed && when()) {
        killed = true;
        p.kill("SIGKILL");
      }
    }, 2);
    p.on("close", () => {
      clearInterval(timer);
      resolve(killed);
    });
  });
}

test("kill and resume: byte-identical output to an uninterrupted run", async () => {
  const dir = tmpDir("resume");
  const vocab = vocabulary(5000, 3);
  const r = rng(5);
  const docs: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 12000; i++) {
    const base = randomWords(vocab, 60 + Math.floor(r() * 60), r);
    docs.push({ id: `d${i}`, text: base.join(" ") + ".", n: i });
    if (i % 10 === 0) docs.push({ id: `d${i}-near`, text: [...base.slice(0, -2), "extra", "words"].join(" ") + "." });
  }
  writeJsonl(path.join(dir, "raw", "a.jsonl"), docs.slice(0, 7000));
  writeJsonl(path.join(dir, "raw", "b.jsonl"), docs.slice(7000));
  fs.writeFileSync(
    path.join(dir, "p.yaml"),
    'input: { paths: ["raw/*.jsonl"], text_field: text, id_field: id }\nsteps:\n  - exact_dedup: {}\n  - minhash: { ngram: 5, bands: 14, rows: 8 }\n  - decontaminate: { ngram: 13, tasks: [gsm8k] }\noutput: { format: jsonl.zst, shard_mb: 0.2 }\n',
  );
  const ref = path.join(dir, "ref");
  const a = await runSmol(["curate", path.join(dir, "p.yaml"), "--out", ref]);
  assert.equal(a.code, 0, a.stderr);
  const out = path.join(dir, "out");
  const state = path.join(out, ".curate");
  const killed1 = await runAndKill(["curate", path.join(dir, "p.yaml"), "--out", out], () => fs.existsSync(path.join(state, "step-1-minhash", "bands")));
  const killed2 = await runAndKill(["curate", path.join(dir, "p.yaml"), "--out", out, "--workers", "2"], () => {
    const f = path.join(state, "final", "kept");
    return fs.existsSync(f) && fs.readdirSync(f).length > 2;
  });
  assert.ok(killed1 && killed2, `the runs were killed mid-way (hashing: ${killed1}, writing: ${killed2})`);
  const b = await runSmol(["curate", path.join(dir, "p.yaml"), "--out", out]);
  assert.equal(b.code, 0, b.stderr);
  const want = tree(ref);
  const got = tree(out);
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [k, v] of want) assert.ok(got.get(k)!.equals(v), `${k} differs after resume`);
  assert.ok([...want.keys()].filter((k) => k.startsWith("kept/")).length > 3, "several kept shards");
  const stats = JSON.parse(want.get("stats.json")!.toString());
  assert.equal(stats.input.documents, docs.length);
  assert.ok(stats.steps[1].removed >= 1200, `near-duplicates removed: ${stats.steps[1].removed}`);
  // A finished folder is left as it is.
  const c = await runSmol(["curate", path.join(dir, "p.yaml"), "--out", out]);
  assert.equal(c.code, 0);
  assert.match(c.stdout, /already holds the finished output/);
  // Another pipeline into the same folder is refused.
  fs.writeFileSync(path.join(dir, "q.yaml"), 'input: { paths: ["raw/a.jsonl"] }\nsteps: [ { exact_dedup: {} } ]\n');
  const d = await runSmol(["curate", path.join(dir, "q.yaml"), "--out", out]);
  assert.equal(d.code, 1);
  assert.match(d.stderr, /holds the output of a different pipeline/);
});

test("bad input: one clear line naming file and line, or counted and skipped; bad pipelines name the key", async () => {
  const dir = tmpDir("bad");
  fs.writeFileSync(path.join(dir, "a.jsonl"), '{"text": "fine document one"}\n{"text": broken\n{"body": "no text"}\n{"text": "fine document two"}\n');
  fs.writeFileSync(path.join(dir, "p.yaml"), 'input: { paths: ["a.jsonl"] }\nsteps: [ { exact_dedup: {} } ]\n');
  const a = await runSmol(["curate", path.join(dir, "p.yaml"), "--out", path.join(dir, "o1")]);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /a\.jsonl:2: not valid JSON/);
  assert.doesNotMatch(a.stderr, /\n\s+at /, "no stack trace");
  fs.writeFileSync(path.join(dir, "s.yaml"), 'input: { paths: ["a.jsonl"], on_bad: skip }\nsteps: [ { exact_dedup: {} } ]\noutput: { format: jsonl }\n');
  const b = await runSmol(["curate", path.join(dir, "s.yaml"), "--out", path.join(dir, "o2"), "--json"]);
  assert.equal(b.code, 0, b.stderr);
  const stats = JSON.parse(b.stdout);
  assert.equal(stats.input.skipped, 2);
  assert.match(stats.input.problems[1], /a\.jsonl:3: missing field "text"/);
  assert.equal(readRecords(path.join(dir, "o2", "kept")).length, 2);
  // A binary file under skip: dropped from its NUL byte on, counted once.
  fs.writeFileSync(path.join(dir, "bin.jsonl"), Buffer.concat([Buffer.from('{"text": "before the binary part"}\n{"text": "x\u0000y"}\n'), Buffer.from([0, 1, 2, 10]), Buffer.from('{"text": "after"}\n')]));
  fs.writeFileSync(path.join(dir, "b.yaml"), 'input: { paths: ["bin.jsonl"], on_bad: skip }\nsteps: [ { exact_dedup: {} } ]\noutput: { format: jsonl }\n');
  const bb = await runSmol(["curate", path.join(dir, "b.yaml"), "--out", path.join(dir, "o3"), "--json"]);
  assert.equal(bb.code, 0, bb.stderr);
  assert.deepEqual(readRecords(path.join(dir, "o3", "kept")).map((r) => r.text), ["before the binary part"]);
  assert.equal(JSON.parse(bb.stdout).input.skipped, 1);
  fs.writeFileSync(path.join(dir, "x.yaml"), 'input: { paths: ["a.jsonl"] }\nsteps:\n  - minhash: { bands: 0, rowz: 3 }\n  - dedupe: {}\noutput: { format: zip }\n');
  const c = await runSmol(["curate", path.join(dir, "x.yaml")]);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /steps\[0\]\.minhash\.bands: must be >= 1/);
  assert.match(c.stderr, /steps\[0\]\.minhash\.rowz: unknown key \(did you mean rows\?\)/);
  assert.match(c.stderr, /steps\[1\]: unknown step "dedupe"/);
  assert.match(c.stderr, /output\.format: must be one of jsonl\.zst, jsonl\.gz, jsonl, parquet/);
  const h = await runSmol(["curate", "--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Usage: smol curate PIPELINE\.yaml/);
});

test("Parquet input: every column kept; ids from file:row when there is no id column", async () => {
  const dir = tmpDir("pq");
  parquetWriteFile({
    filename: path.join(dir, "docs.parquet"),
    columnData: [
      { name: "text", data: ["alpha beta gamma delta", "alpha beta gamma delta", "something else entirely here"], type: "STRING" },
      { name: "score", data: [1.5, 2.5, 3.5], type: "DOUBLE" },
    ],
  });
  fs.writeFileSync(path.join(dir, "p.yaml"), 'input: { paths: ["*.parquet"] }\nsteps: [ { exact_dedup: {} } ]\n');
  const a = await runSmol(["curate", path.join(dir, "p.yaml"), "--out", path.join(dir, "o")]);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(readRecords(path.join(dir, "o", "kept")), [{ text: "alpha beta gamma delta", score: 1.5 }, { text: "something else entirely here", score: 3.5 }]);
  assert.deepEqual(readRecords(path.join(dir, "o", "removed", "exact_dedup")).map((r) => r.id), ["docs.parquet:2"]);
  // Parquet output, read back with hyparquet: every field, typed columns, nested values as JSON.
  writeJsonl(path.join(dir, "j.jsonl"), [
    { id: 7, text: "one two three", tags: ["a", "b"], ok: true, w: 0.5 },
    { id: 8, text: "one two three" },
    { id: 9, text: "four five six", ok: false, w: 2 },
  ]);
  fs.writeFileSync(path.join(dir, "q.yaml"), 'input: { paths: ["j.jsonl"] }\nsteps: [ { exact_dedup: {} } ]\noutput: { format: parquet }\n');
  const b = await runSmol(["curate", path.join(dir, "q.yaml"), "--out", path.join(dir, "oq")]);
  assert.equal(b.code, 0, b.stderr);
  const readPq = async (f: string) => {
    const buf = await asyncBufferFromFile(f);
    return parquetReadObjects({ file: buf, compressors });
  };
  assert.deepEqual(fs.readdirSync(path.join(dir, "oq", "kept")), ["part-00000.parquet"]);
  assert.deepEqual(await readPq(path.join(dir, "oq", "kept", "part-00000.parquet")), [
    { id: 7, text: "one two three", tags: ["a", "b"], ok: true, w: 0.5 },
    { id: 9, text: "four five six", tags: null, ok: false, w: 2 },
  ]);
  const rem = await readPq(path.join(dir, "oq", "removed", "exact_dedup", "part-00000.parquet"));
  assert.deepEqual(rem.map((r) => [r.id, r.duplicate_of]), [["8", "7"]]);
});

test("a curated folder feeds smol tokenize; stats.tokenizer gives exact token counts; report.html shows the funnel", async () => {
  const dir = tmpDir("tok");
  const tokDir = byteTokenizerDir(path.join(dir, "tok"));
  writeJsonl(path.join(dir, "d.jsonl"), [
    { id: "a", text: "The first kept document, long enough to tokenize." },
    { id: "b", text: "the FIRST kept document long enough to tokenize" },
    { id: "c", text: "A second kept document." },
  ]);
  fs.writeFileSync(path.join(dir, "p.yaml"), `input: { paths: ["d.jsonl"] }\nsteps: [ { exact_dedup: {} } ]\nstats: { tokenizer: tok }\n`);
  const a = await runSmol(["curate", path.join(dir, "p.yaml"), "--out", path.join(dir, "cur"), "--json"]);
  assert.equal(a.code, 0, a.stderr);
  const stats = JSON.parse(a.stdout);
  // The byte-level tokenizer has one token per UTF-8 byte.
  assert.equal(stats.input.tokens, Buffer.byteLength("The first kept document, long enough to tokenize.") + Buffer.byteLength("the FIRST kept document long enough to tokenize") + Buffer.byteLength("A second kept document."));
  assert.equal(stats.output.tokens, Buffer.byteLength("The first kept document, long enough to tokenize.") + Buffer.byteLength("A second kept document."));
  const html = fs.readFileSync(path.join(dir, "cur", "report.html"), "utf8");
  assert.match(html, /<h2>Funnel<\/h2>/);
  assert.match(html, /exact duplicate of a/);
  const t = await runSmol(["tokenize", "--tokenizer", tokDir, "--source", `web=${path.join(dir, "cur", "kept")}`, "--out", path.join(dir, "shards"), "--val-fraction", "0", "--json"]);
  assert.equal(t.code, 0, t.stderr);
  const idx = JSON.parse(fs.readFileSync(path.join(dir, "shards", "index.json"), "utf8"));
  assert.equal(JSON.stringify(idx).includes('"web"'), true);
  assert.match(t.stdout, /"docs":\s*2|"documents":\s*2/);
});
