// Quality classifiers end to end: annotation through a real OpenAI-compatible server backed by a
// tiny SmolLab model (scores are noise: the plumbing, retries, cache and resume are checked), the
// answer parser, training the hashed n-gram model and the frozen-embedding head on imported
// annotations with held-out metrics checked against a direct computation, and the classifier step
// adding score / int_score in `smol curate`.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultBackend } from "../../src/backend/index.js";
import { annotate } from "../../src/curate/classify/annotate.js";
import { evaluate, intScore, loadClassifier } from "../../src/curate/classify/model.js";
import { FINEWEB_EDU_PROMPT, parseScore } from "../../src/curate/classify/prompts.js";
import { isHeldOut, trainClassifier } from "../../src/curate/classify/train.js";
import { parsePipeline } from "../../src/curate/config.js";
import { runCurate } from "../../src/curate/pipeline.js";
import { rng, runSmol, smolArgv } from "../helpers.js";
import { savedTinyModel } from "../eval/fixture.js";
import { faultyProxy, startTinyServer, withChatTemplate } from "./openai-server.js";
import { randomWords, readRecords, tmpDir, vocabulary, writeJsonl } from "./helpers.js";

test("answer parser: the last 'score: N' line, 0-5 only", () => {
  assert.equal(parseScore("The extract is basic.\nEducational score: 3"), 3);
  assert.equal(parseScore("Educational score:  **4**"), 4);
  assert.equal(parseScore("score: 2 ... Final score: 5"), 5);
  assert.equal(parseScore("Educational score: 7"), undefined);
  assert.equal(parseScore("no number here"), undefined);
  assert.equal(parseScore("Educational score: 3.5"), undefined);
});

test("annotate against a real smol serve endpoint (tiny model): retries, cache, resume without asking again", async () => {
  const dir = tmpDir("annot");
  // The FineWeb-Edu prompt alone is ~2,000 byte-level tokens: the tiny judge gets a longer context.
  const server = await startTinyServer(savedTinyModel(defaultBackend().backend, 3, { maxSeq: 4096 }));
  const proxy = await faultyProxy(server.url, 2);
  try {
    // The real server answers in OpenAI's format.
    const models = (await (await fetch(`${server.url}/models`)).json()) as { data: Array<{ id: string }> };
    assert.equal(models.data[0].id, "tiny");
    const bad = await fetch(`${server.url}/chat/completions`, { method: "POST", body: JSON.stringify({ model: "tiny", messages: [] }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /messages/);
    const docs = Array.from({ length: 6 }, (_, i) => ({ id: `d${i}`, text: `Document ${i}: plants make food from light.` }));
    const o = { endpoint: proxy.url, model: "tiny", prompt: FINEWEB_EDU_PROMPT, cacheFile: path.join(dir, "cache.jsonl"), concurrency: 2, retries: 3, backoffMs: 5, maxTokens: 8, temperature: 0, maxChars: 200 };
    // The first run is "interrupted": only the first 4 documents.
    const a = await annotate(docs.slice(0, 4), o);
    assert.equal(a.requested, 4);
    assert.equal(a.retries, 2, "the two 503 answers were retried");
    assert.equal(proxy.requests, 6);
    assert.equal(server.requests, 4);
    assert.equal(a.annotations.length, 4);
    assert.equal(a.unparseable, a.annotations.filter((x) => x.score === null).length);
    for (const x of a.annotations) assert.ok(typeof x.answer === "string");
    // Resume: the cached four are not asked again.
    const b = await annotate(docs, o);
    assert.equal(b.cached, 4);
    assert.equal(b.requested, 2);
    assert.equal(server.requests, 6);
    assert.deepEqual(b.annotations.slice(0, 4).map((x) => x.answer), a.annotations.map((x) => x.answer));
    assert.equal(fs.readFileSync(o.cacheFile, "utf8").trim().split("\n").length, 6);
    // Through the CLI, everything comes from the cache.
    writeJsonl(path.join(dir, "docs.jsonl"), docs);
    fs.copyFileSync(o.cacheFile, path.join(dir, "ann.jsonl.cache"));
    const c = await runSmol(["curate", "annotate", "--input", path.join(dir, "docs.jsonl"), "--endpoint", server.url, "--model", "tiny", "--max-chars", "200", "--max-tokens", "8", "--out", path.join(dir, "ann.jsonl")]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /6 documents: 0 asked, 6 from the cache/);
    assert.equal(server.requests, 6);
  } finally {
    await proxy.close();
    await server.close();
  }
  // A server that is not there: a clear error after the retries.
  await assert.rejects(
    annotate([{ id: "x", text: "t" }], { endpoint: "http://127.0.0.1:9/v1", model: "m", prompt: "{text}", cacheFile: path.join(dir, "c2.jsonl"), concurrency: 1, retries: 1, backoffMs: 1, maxTokens: 4, temperature: 0, maxChars: 10 }),
    /no answer after 2 tries/,
  );
});

test("smol serve as a process, smol curate annotate against it, killed and resumed", async () => {
  const dir = tmpDir("serve");
  const modelDir = withChatTemplate(savedTinyModel(defaultBackend().backend, 4, { maxSeq: 4096 }));
  const { spawn } = await import("node:child_process");
  const [cmd, ...pre] = smolArgv();
  const p = spawn(cmd, [...pre, "serve", "--model", modelDir, "--port", "0", "--name", "judge"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      p.stdout.on("data", (d) => {
        out += d;
        const m = out.match(/on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
        if (m) resolve(m[1]);
      });
      p.on("exit", (code) => reject(new Error(`smol serve exited ${code}`)));
    });
    const docs = Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, text: `Sample ${i} about fractions and decimals.` }));
    writeJsonl(path.join(dir, "docs.jsonl"), docs);
    const args = ["curate", "annotate", "--input", path.join(dir, "docs.jsonl"), "--endpoint", url, "--model", "judge", "--max-tokens", "8", "--concurrency", "2", "--out", path.join(dir, "ann.jsonl")];
    const a = await runSmol(args);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /5 documents: 5 asked, 0 from the cache, (\d) unparseable/);
    const cache = fs.readFileSync(path.join(dir, "ann.jsonl.cache"), "utf8").trim().split("\n");
    assert.equal(cache.length, 5);
    // Lose two answers (as if killed before they arrived): the rerun asks only for those.
    fs.writeFileSync(path.join(dir, "ann.jsonl.cache"), cache.slice(0, 3).join("\n") + "\n");
    const b = await runSmol(args);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /5 documents: 2 asked, 3 from the cache/);
  } finally {
    p.kill("SIGTERM");
  }
  const busy = await runSmol(["serve", "--model", "/nonexistent/model"]);
  assert.equal(busy.code, 1);
  assert.doesNotMatch(busy.stderr, /\n\s+at /);
});

/** Imported annotations: the score follows how many "educational" words a document has. */
function syntheticAnnotations(n: number, seed: number): Array<{ text: string; score: number }> {
  const r = rng(seed);
  const filler = vocabulary(3000, seed);
  const edu = ["photosynthesis", "equation", "theorem", "experiment", "hypothesis", "molecule", "fraction", "geometry", "evidence", "definition"];
  return Array.from({ length: n }, () => {
    const k = Math.floor(r() * 6);
    const words = randomWords(filler, 60, r);
    for (let i = 0; i < k * 3; i++) words[Math.floor(r() * words.length)] = edu[Math.floor(r() * edu.length)];
    return { text: words.join(" "), score: k };
  });
}

test("train the hashed n-gram classifier on imported annotations: held-out metrics, saved folder, curate step", async () => {
  const dir = tmpDir("cls");
  const data = syntheticAnnotations(1500, 4);
  const out = path.join(dir, "edu");
  const res = await trainClassifier(data, { kind: "hashed-ngram", out, heldout: 0.2, threshold: 3, bits: 16, ngrams: 2, epochs: 8, lr: 0.3, l2: 1e-6, seed: 1, maxTokens: 0, lambda: 0, source: "synthetic" });
  assert.ok(res.heldout > 200 && res.train > 1000);
  assert.ok(res.metrics.f1 > 0.8, `F1 at 3: ${res.metrics.f1}`);
  assert.ok(res.metrics.mse < 1, `MSE ${res.metrics.mse}`);
  // The saved classifier reproduces the reported metrics.
  const scorer = await loadClassifier(out);
  const held = data.filter((d) => isHeldOut(d.text, 0.2));
  const m2 = evaluate(held.map((d) => scorer.score(d.text)), held.map((d) => d.score));
  assert.ok(Math.abs(m2.mse - res.metrics.mse) < 1e-4 && m2.f1 === res.metrics.f1);
  assert.equal(m2.confusion.flat().reduce((a, b) => a + b, 0), res.heldout);
  // As a pipeline step: score and int_score added, below-threshold documents removed.
  writeJsonl(path.join(dir, "docs.jsonl"), data.slice(0, 200).map((d, i) => ({ id: `t${i}`, text: d.text, label: d.score })));
  const p = parsePipeline({ input: { paths: ["docs.jsonl"] }, steps: [{ classifier: { model: "edu", threshold: 3 } }] }, dir);
  const run = await runCurate(p, { out: path.join(dir, "o") });
  const kept = readRecords(path.join(dir, "o", "kept"));
  const removed = readRecords(path.join(dir, "o", "removed", "classifier"));
  assert.equal(kept.length + removed.length, 200);
  for (const k of kept) {
    assert.ok((k.int_score as number) >= 3 && k.int_score === intScore(k.score as number));
    assert.ok("label" in k);
  }
  for (const r of removed) assert.ok((r.int_score as number) < 3);
  assert.ok(kept.filter((k) => (k.label as number) >= 3).length / kept.length > 0.8, "kept documents are mostly the educational ones");
  const html = fs.readFileSync(path.join(dir, "o", "report.html"), "utf8");
  assert.match(html, /classifier: score/);
  assert.equal(run.stats.steps[0].removed, removed.length);
});

test("frozen-embedding regression head on a local Llama model folder (and the CLI reports F1)", async () => {
  const dir = tmpDir("emb");
  const model = savedTinyModel(defaultBackend().backend, 5);
  const data = syntheticAnnotations(160, 9);
  writeJsonl(path.join(dir, "ann.jsonl"), data);
  const a = await runSmol(["curate", "train", "--data", path.join(dir, "ann.jsonl"), "--kind", "embedding-head", "--encoder", model, "--max-tokens", "64", "--heldout", "0.25", "--out", path.join(dir, "head"), "--json"]);
  assert.equal(a.code, 0, a.stderr);
  const r = JSON.parse(a.stdout);
  assert.ok(Number.isFinite(r.metrics.mse) && r.metrics.f1 >= 0 && r.metrics.f1 <= 1);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "head", "classifier.json"), "utf8"));
  assert.equal(meta.kind, "embedding-head");
  const scorer = await loadClassifier(path.join(dir, "head"));
  assert.ok(Number.isFinite(scorer.score("some text")));
  scorer.dispose();
  const b = await runSmol(["curate", "train", "--data", path.join(dir, "ann.jsonl"), "--out", path.join(dir, "hashed")]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /F1 \d\.\d{3}/);
  assert.match(b.stdout, /confusion/);
});
