// Near-dedup correctness: MinHash signatures equal their naive twin; planted document pairs with
// known Jaccard similarity (0.1 … 0.95, and exact copies) are caught at the rate of the LSH curve
// 1 − (1 − s^r)^b; exact dedup removes normalised copies; union-find and the band spill agree
// with a direct pairwise check.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { parsePipeline } from "../../src/curate/config.js";
import { MinHasher, minhashSignatureNaive, nativeMinhashKernel } from "../../src/curate/minhash.js";
import { runCurate } from "../../src/curate/pipeline.js";
import { lshProbability } from "../../src/curate/steps/minhash.js";
import { normalizedWords } from "../../src/curate/text.js";
import { rng } from "../helpers.js";
import { randomWords, readRecords, tmpDir, vocabulary, writeJsonl } from "./helpers.js";

/** Exact Jaccard similarity of word 5-gram sets, computed independently with strings. */
function jaccard(a: string, b: string, n = 5): number {
  const grams = (t: string) => {
    const w = normalizedWords(t);
    const s = new Set<string>();
    for (let i = 0; i + n <= w.length; i++) s.add(w.slice(i, i + n).join(" "));
    return s;
  };
  const A = grams(a);
  const B = grams(b);
  let inter = 0;
  for (const g of A) if (B.has(g)) inter++;
  return inter / (A.size + B.size - inter);
}

test("MinHash signature equals the naive twin (shingle set, per-row minimum)", () => {
  const r = rng(7);
  const vocab = vocabulary(300, 1);
  const p = { ngram: 5, bands: 14, rows: 8, seed: 3 };
  const h = new MinHasher(p);
  for (let k = 0; k < 20; k++) {
    const text = randomWords(vocab, 1 + Math.floor(r() * 200), r).join(k % 2 ? " " : ", ") + (k % 3 ? "" : " The END.");
    h.signature(text);
    assert.deepEqual(Array.from(h.sig), Array.from(minhashSignatureNaive(text, p)), `text ${k}`);
  }
  // Case and punctuation do not change a signature.
  h.signature("Hello, World! this is it.");
  const a = Array.from(h.sig);
  h.signature("hello world this IS it");
  assert.deepEqual(Array.from(h.sig), a);
});

test("band keys: the native kernel, the TypeScript batch loop and per-document hashing agree bit for bit", (t) => {
  const r = rng(9);
  const vocab = vocabulary(500, 4);
  const texts = Array.from({ length: 40 }, (_, k) => (k % 7 === 3 ? "" : k % 7 === 5 ? "!!! ..." : randomWords(vocab, 1 + Math.floor(r() * 300), r).join(" ")));
  for (const p of [{ ngram: 5, bands: 14, rows: 8, seed: 1 }, { ngram: 3, bands: 1, rows: 10, seed: 7 }]) {
    const h = new MinHasher(p);
    const per = 2 * p.bands;
    const one = new Uint32Array(texts.length * per);
    const okOne = texts.map((tx, d) => (h.bandKeys(tx, one, d * per) ? 1 : 0));
    const js = new Uint32Array(texts.length * per);
    const okJs = new Uint8Array(texts.length);
    h.bandKeysBatch(texts, js, okJs, null);
    assert.deepEqual(Array.from(okJs), okOne);
    assert.deepEqual(Array.from(js), Array.from(one));
    const kernel = nativeMinhashKernel();
    if (!kernel) {
      t.diagnostic("native addon not loaded: native MinHash kernel not compared");
      continue;
    }
    const nat = new Uint32Array(texts.length * per);
    const okNat = new Uint8Array(texts.length);
    h.bandKeysBatch(texts, nat, okNat, kernel);
    assert.deepEqual(Array.from(okNat), okOne);
    assert.deepEqual(Array.from(nat), Array.from(one));
  }
});

test("planted pairs are caught at the rate of the LSH curve 1 − (1 − s^r)^b; exact copies always; nothing below 0.3", async () => {
  const dir = tmpDir("lsh");
  const vocab = vocabulary(20000, 2);
  const r = rng(11);
  const W = 120;
  const levels = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];
  const perLevel = 120;
  const docs: Array<{ id: string; text: string }> = [];
  const pairs: Array<{ level: number; a: string; b: string; s: number }> = [];
  for (const s of levels) {
    for (let k = 0; k < perLevel; k++) {
      const A = randomWords(vocab, W, r);
      // B shares A's first L words, then continues with fresh words: shared shingles L−4 of W−4 each.
      const shared = Math.round((s * 2 * (W - 4)) / (1 + s));
      const L = s === 1 ? W : shared + 4;
      const B = [...A.slice(0, L), ...randomWords(vocab, W - L, r)];
      const a = `p${s}-${k}-a`;
      const b = `p${s}-${k}-b`;
      const ta = A.join(" ");
      const tb = s === 1 ? ta.toUpperCase().replace(/ /g, ", ") : B.join(" ");
      docs.push({ id: a, text: ta }, { id: b, text: tb });
      pairs.push({ level: s, a, b, s: jaccard(ta, tb) });
    }
  }
  writeJsonl(path.join(dir, "raw", "docs.jsonl"), docs);
  const p = parsePipeline({ input: { paths: ["raw/*.jsonl"] }, steps: [{ minhash: { ngram: 5, bands: 14, rows: 8 } }], output: { format: "jsonl.zst" } }, dir);
  const res = await runCurate(p, { out: path.join(dir, "out") });
  const removed = new Map(readRecords(path.join(dir, "out", "removed", "minhash")).map((x) => [x.id as string, x]));
  assert.equal(res.stats.steps[0].removed, removed.size);
  for (const s of levels) {
    const ps = pairs.filter((x) => x.level === s);
    // Each pair's first document is always kept (the smaller index); a caught pair removes its second.
    assert.ok(ps.every((x) => !removed.has(x.a)), `level ${s}: a first document was removed`);
    const caught = ps.filter((x) => removed.has(x.b));
    for (const c of caught) assert.equal(removed.get(c.b)!.duplicate_of, c.a);
    const frac = caught.length / ps.length;
    const expect = ps.reduce((acc, x) => acc + lshProbability(x.s, 14, 8), 0) / ps.length;
    const tol = 4 * Math.sqrt((expect * (1 - expect)) / ps.length) + 0.03;
    const meanS = ps.reduce((acc, x) => acc + x.s, 0) / ps.length;
    assert.ok(Math.abs(frac - expect) <= tol, `s≈${meanS.toFixed(3)}: caught ${frac.toFixed(3)}, LSH curve ${expect.toFixed(3)} ± ${tol.toFixed(3)}`);
    if (s === 1) assert.equal(frac, 1, "exact copies (re-cased, re-punctuated) are always caught");
    if (s < 0.3) assert.equal(caught.length, 0, `nothing below 0.3 is caught (s≈${meanS.toFixed(2)})`);
  }
  // Near the targets: the planted similarities are what they claim.
  for (const s of [0.3, 0.5, 0.8, 0.95]) {
    const ps = pairs.filter((x) => x.level === s);
    const meanS = ps.reduce((acc, x) => acc + x.s, 0) / ps.length;
    assert.ok(Math.abs(meanS - s) < 0.02, `planted ${s}, measured ${meanS}`);
  }
});

test("FineMath's single band of 10 hashes is expressible and follows its own curve", async () => {
  const dir = tmpDir("lsh1");
  const vocab = vocabulary(8000, 5);
  const r = rng(13);
  const W = 100;
  const docs: Array<{ id: string; text: string }> = [];
  const n = 150;
  const s = 0.93;
  let sumP = 0;
  for (let k = 0; k < n; k++) {
    const A = randomWords(vocab, W, r);
    const L = Math.round((s * 2 * (W - 4)) / (1 + s)) + 4;
    const B = [...A.slice(0, L), ...randomWords(vocab, W - L, r)];
    docs.push({ id: `a${k}`, text: A.join(" ") }, { id: `b${k}`, text: B.join(" ") });
    sumP += lshProbability(jaccard(A.join(" "), B.join(" ")), 1, 10);
  }
  writeJsonl(path.join(dir, "d.jsonl"), docs);
  const p = parsePipeline({ input: { paths: ["d.jsonl"] }, steps: [{ minhash: { bands: 1, rows: 10 } }] }, dir);
  const res = await runCurate(p, { out: path.join(dir, "out") });
  const frac = res.stats.steps[0].removed / n;
  const expect = sumP / n;
  assert.ok(Math.abs(frac - expect) <= 4 * Math.sqrt((expect * (1 - expect)) / n) + 0.03, `caught ${frac}, curve ${expect}`);
});

test("exact dedup: normalised copies removed naming the first; other fields kept intact", async () => {
  const dir = tmpDir("exact");
  writeJsonl(path.join(dir, "a.jsonl"), [
    { id: "x1", text: "The cat sat on the mat.", url: "u1", n: 1 },
    { id: "x2", text: "the CAT sat, on the mat", url: "u2" },
    { id: "x3", text: "The dog sat on the mat.", meta: { k: [1, 2] } },
    { text: "The cat sat on the mat." },
  ]);
  const p = parsePipeline({ input: { paths: ["a.jsonl"] }, steps: [{ exact_dedup: {} }] }, dir);
  await runCurate(p, { out: path.join(dir, "out") });
  const kept = readRecords(path.join(dir, "out", "kept"));
  assert.deepEqual(kept, [{ id: "x1", text: "The cat sat on the mat.", url: "u1", n: 1 }, { id: "x3", text: "The dog sat on the mat.", meta: { k: [1, 2] } }]);
  const rem = readRecords(path.join(dir, "out", "removed", "exact_dedup"));
  assert.deepEqual(rem.map((x) => [x.id, x.duplicate_of]), [["x2", "x1"], ["a.jsonl:4", "x1"]]);
  assert.match(String(rem[0].reason), /exact duplicate of x1/);
});
