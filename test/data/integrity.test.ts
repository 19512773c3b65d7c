// Input integrity and safe rewrites in `smol tokenize`: .zst content checksums (checked by
// data/zstd.ts, since fzstd skips them), .gz CRCs, a JSON text field that is not a string, and
// --force building the new output beside the old one so unreadable input never costs good shards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { DataError } from "../../src/errors.js";
import { fingerprintBytes, openShards, readIndex } from "../../src/data/shards.js";
import { newReadStats, readDocuments, type SourceSpec } from "../../src/data/sources.js";
import { tokenizeSources, type TokenizeOptions } from "../../src/data/tokenize.js";
import { zstdDecode } from "../../src/data/zstd.js";
import type { Tokenizer } from "../../src/tokenizer/types.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "smol-integrity-"));

// Made with the zstd 1.5 CLI (`zstd -q` writes a content checksum by default):
//   printf '{"text": "first document"}\n{"text": "second document, caf\\u00e9"}\n' | zstd -q
const ZST = Buffer.from("KLUv/SRCzQEA9AJ7InRleHQiOiAiZmlyc3QgZG9jdW1lbnQifQpzZWNvbmQsIGNhZlx1MDBlOSJ9CgIAP0vZtzkGo39mZQ==", "base64");

async function texts(spec: SourceSpec): Promise<string[]> {
  const out: string[] = [];
  for await (const d of readDocuments(spec, newReadStats())) out.push(d.text);
  return out;
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

test(".zst: the frame's content checksum is verified; a corrupt file is a DataError naming it", async () => {
  const d = tmp();
  const good = path.join(d, "good.jsonl.zst");
  fs.writeFileSync(good, ZST);
  assert.deepEqual(await texts({ name: "z", paths: [good] }), ["first document", "second document, café"]);

  // The stored checksum (the last 4 bytes) no longer matches the content.
  const badSum = path.join(d, "badsum.jsonl.zst");
  const b = Buffer.from(ZST);
  b[b.length - 1] ^= 0x5a;
  fs.writeFileSync(badSum, b);
  await rejects(texts({ name: "z", paths: [badSum] }), /badsum\.jsonl\.zst: zstd frame 1 \(at byte 0\) fails its content checksum \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);

  // A flipped bit inside the stored text (a raw literal): decodes fine, only the checksum notices.
  const flipped = Buffer.from(ZST);
  const at = flipped.indexOf("first");
  flipped[at] ^= 0x20; // "first" → "First"
  fs.writeFileSync(path.join(d, "flip.jsonl.zst"), flipped);
  await rejects(texts({ name: "z", paths: [path.join(d, "flip.jsonl.zst")] }), /flip\.jsonl\.zst: .*fails its content checksum/);

  // Truncated, and trailing garbage after the last frame.
  fs.writeFileSync(path.join(d, "trunc.jsonl.zst"), ZST.subarray(0, ZST.length - 6));
  await rejects(texts({ name: "z", paths: [path.join(d, "trunc.jsonl.zst")] }), /trunc\.jsonl\.zst: truncated: the file ends inside zstd frame 1/);
  fs.writeFileSync(path.join(d, "tail.jsonl.zst"), Buffer.concat([ZST, Buffer.from("junk")]));
  await rejects(texts({ name: "z", paths: [path.join(d, "tail.jsonl.zst")] }), /tail\.jsonl\.zst: bad zstd magic number at byte \d+ after 1 frame/);

  // Two frames back to back (as `cat a.zst b.zst`), and a skippable frame between them.
  const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  fs.writeFileSync(path.join(d, "two.jsonl.zst"), Buffer.concat([ZST, skippable, ZST]));
  assert.equal((await texts({ name: "z", paths: [path.join(d, "two.jsonl.zst")] })).length, 4);
});

test(".zst decoding matches the zstd CLI on larger, multi-block, multi-frame and unchecked files", async (t) => {
  if (spawnSync("zstd", ["--version"]).status !== 0) {
    t.skip("the zstd CLI is not installed (apt-get install zstd); the bundled-bytes test above still ran");
    return;
  }
  const d = tmp();
  const lines = Array.from({ length: 8000 }, (_, i) => JSON.stringify({ text: `doc ${i} ` + "abcdefghij".repeat(i % 37) + ` ${(i * 7919) % 1000}` }));
  const plain = path.join(d, "big.jsonl");
  fs.writeFileSync(plain, lines.join("\n") + "\n");
  const want = createHash("sha256").update(fs.readFileSync(plain)).digest("hex");
  const decodeHash = async (file: string) => {
    const h = createHash("sha256");
    async function* chunks() {
      // Odd-sized chunks so frame, block and checksum boundaries fall inside reads.
      const all = fs.readFileSync(file);
      for (let i = 0; i < all.length; i += 4093) yield all.subarray(i, i + 4093);
    }
    for await (const c of zstdDecode(chunks(), file)) h.update(c);
    return h.digest("hex");
  };
  const z = (args: string[], out: string) => {
    const r = spawnSync("zstd", ["-q", "-f", ...args, "-o", out], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return out;
  };
  for (const args of [[plain], ["-19", plain], ["--no-check", plain], ["--no-content-size", plain], ["-B65536", "-T1", plain]]) {
    assert.equal(await decodeHash(z(args, path.join(d, "x.zst"))), want, `zstd ${args.join(" ")}`);
  }
  // Concatenated frames.
  const half = Math.floor(lines.length / 2);
  fs.writeFileSync(path.join(d, "a"), lines.slice(0, half).join("\n") + "\n");
  fs.writeFileSync(path.join(d, "b"), lines.slice(half).join("\n") + "\n");
  const multi = Buffer.concat([fs.readFileSync(z([path.join(d, "a")], path.join(d, "a.zst"))), fs.readFileSync(z(["-3", path.join(d, "b")], path.join(d, "b.zst")))]);
  fs.writeFileSync(path.join(d, "multi.zst"), multi);
  assert.equal(await decodeHash(path.join(d, "multi.zst")), want);
  // Any single flipped content byte of the second frame is caught (the CLI agrees it is corrupt).
  const bad = Buffer.from(multi);
  bad[multi.length - 1000] ^= 0x01;
  fs.writeFileSync(path.join(d, "bad.zst"), bad);
  assert.notEqual(spawnSync("zstd", ["-t", "-q", path.join(d, "bad.zst")]).status, 0, "zstd -t rejects it too");
  await rejects(decodeHash(path.join(d, "bad.zst")), /bad\.zst: (zstd frame 2|truncated|bad zstd magic)/);
});

test(".gz: a failed CRC or length check is a DataError naming the file", async () => {
  const d = tmp();
  const gz = gzipSync(Buffer.from('{"text": "gzip one"}\n{"text": "gzip two"}\n'));
  const crc = Buffer.from(gz);
  crc[crc.length - 8] ^= 0xff; // CRC32 of the content
  fs.writeFileSync(path.join(d, "crc.jsonl.gz"), crc);
  await rejects(texts({ name: "g", paths: [path.join(d, "crc.jsonl.gz")] }), /crc\.jsonl\.gz: not valid gzip data \(incorrect data check\)/);
  const len = Buffer.from(gz);
  len[len.length - 1] ^= 0x01; // ISIZE
  fs.writeFileSync(path.join(d, "len.jsonl.gz"), len);
  await rejects(texts({ name: "g", paths: [path.join(d, "len.jsonl.gz")] }), /len\.jsonl\.gz: not valid gzip data \(incorrect length check\)/);
});

test('{"text": 12345} is a bad record naming file and line (skipped and counted under --on-bad skip)', async () => {
  const d = tmp();
  const f = path.join(d, "n.jsonl");
  fs.writeFileSync(f, ['{"text": "fine"}', '{"text": 12345}', '{"text": true}', '{"text": {"a": 1}}', '{"text": "also fine"}'].join("\n") + "\n");
  await rejects(texts({ name: "n", paths: [f] }), /n\.jsonl:2: field "text" is not a string \(got number 12345\)/);
  const stats = newReadStats();
  const got: string[] = [];
  for await (const doc of readDocuments({ name: "n", paths: [f], onBad: "skip" }, stats)) got.push(doc.text);
  assert.deepEqual(got, ["fine", "also fine"]);
  assert.equal(stats.skipped, 3);
  assert.match(stats.problems[1], /n\.jsonl:3: field "text" is not a string \(got boolean true\)/);
  assert.match(stats.problems[2], /n\.jsonl:4: field "text" is not a string \(got an object\)/);
  // In a template, numbers are written out: that is formatting, chosen explicitly.
  const g = path.join(d, "qa.jsonl");
  fs.writeFileSync(g, '{"q": "2+2?", "a": 4}\n');
  assert.deepEqual(await texts({ name: "t", paths: [g], template: "Q: {q} A: {a}" }), ["Q: 2+2? A: 4"]);
});

/** Bytes as ids, EOS 256. */
const byteTok: Tokenizer = {
  vocabSize: 257, eosId: 256, bosId: undefined, specialTokens: ["<|endoftext|>"],
  encode: (t) => [...Buffer.from(t, "utf8")], decode: (ids) => Buffer.from(ids.filter((i) => i < 256)).toString("utf8"),
  tokenToId: () => undefined, idToToken: () => undefined,
};

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  (function walk(d: string, rel: string) {
    for (const ent of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p, rel + ent.name + "/");
      else out[rel + ent.name] = createHash("sha256").update(fs.readFileSync(p)).digest("hex");
    }
  })(dir, "");
  return out;
}

test("tokenize --force: bad new input leaves the old shards and index untouched; good input replaces them", async () => {
  const d = tmp();
  const out = path.join(d, "shards");
  const v1 = path.join(d, "v1.jsonl");
  fs.writeFileSync(v1, Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `version one, document ${i}` })).join("\n") + "\n");
  const o = (file: string, extra: Partial<TokenizeOptions> = {}): TokenizeOptions => ({
    out, sources: [{ name: "web", paths: [file] }], tokenizer: byteTok, fingerprint: fingerprintBytes("bytes"), shardTokens: 2048, valFraction: 0.05, ...extra,
  });
  await tokenizeSources(o(v1));
  const before = snapshot(out);
  const docsBefore = openShards(out, "web", "train").numDocs;

  // New input whose 150th record is bad: the scan fails before anything is written.
  const v2 = path.join(d, "v2.jsonl");
  const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `version two, document ${i}` }));
  lines[149] = '{"text": 12345}';
  fs.writeFileSync(v2, lines.join("\n") + "\n");
  await rejects(tokenizeSources(o(v2, { force: true })), /v2\.jsonl:150: field "text" is not a string/);
  assert.deepEqual(snapshot(out), before, "old shards, manifest and index.json unchanged; no temp dirs left");

  // A .zst whose checksum fails: same.
  const v3 = path.join(d, "v3.jsonl.zst");
  const b = Buffer.from(ZST);
  b[b.length - 2] ^= 1;
  fs.writeFileSync(v3, b);
  await rejects(tokenizeSources(o(v3, { force: true })), /v3\.jsonl\.zst: .*fails its content checksum/);
  assert.deepEqual(snapshot(out), before);
  assert.equal(openShards(out, "web", "train").numDocs, docsBefore);

  // A temp dir left by a killed --force run is cleaned up by the next one.
  fs.mkdirSync(path.join(out, ".smol-tmp-web-AbC123"));
  fs.writeFileSync(path.join(out, ".smol-tmp-web-AbC123", "train-00000.bin"), "partial");

  // Good new input: swapped in whole, and index.json describes it.
  lines[149] = JSON.stringify({ text: "version two, document 149" });
  fs.writeFileSync(v2, lines.join("\n") + "\n");
  const [r] = await tokenizeSources(o(v2, { force: true }));
  assert.equal(r.status, "written");
  assert.deepEqual(fs.readdirSync(out).sort(), ["index.json", "web"], "no temp or aside dirs remain");
  const s = openShards(out, "web", "train");
  const first = Buffer.from(s.doc(0).subarray(0, -1)).toString("utf8");
  assert.match(first, /^version two, document \d+$/);
  assert.equal(readIndex(out).sources.web.train.docs + readIndex(out).sources.web.val.docs, 300);
  assert.equal(s.numDocs, readIndex(out).sources.web.train.docs);
  s.close();
});

test("tokenize: a first run whose input is bad writes nothing at all", async () => {
  const d = tmp();
  const out = path.join(d, "never");
  const f = path.join(d, "bad.jsonl");
  fs.writeFileSync(f, '{"text": "ok"}\n{"text": 12345}\n');
  await rejects(tokenizeSources({ out, sources: [{ name: "web", paths: [f] }], tokenizer: byteTok, fingerprint: fingerprintBytes("bytes") }), /bad\.jsonl:2/);
  assert.equal(fs.existsSync(out), false);
});
