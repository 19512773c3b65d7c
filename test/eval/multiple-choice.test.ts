// Multiple-choice scoring on a tiny random model: acc / acc_norm must pick exactly the choices a
// brute-force computation from the model's own log-probs picks; Winogrande's partial scoring
// scores the shared continuation after each context; lighteval's pair tokenisation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { docRequests, encodePair, type ChoiceDoc } from "../../src/eval/encode.js";
import { scoreLoglikNaive } from "../../src/eval/loglik.js";
import { evalChoiceDocs, normLength } from "../../src/eval/multiple-choice.js";
import { hellaswagPreprocess, winograndeDoc } from "../../src/eval/prompts.js";
import { packageRoot } from "../../src/util/paths.js";
import { byteTokenizer, tinyModel } from "./fixture.js";

/** log p(continuation | context) for byte-level text, by the oracle (one plain forward). */
function bruteForce(model: ReturnType<typeof tinyModel>, context: string, continuation: string): number {
  const enc = (s: string) => Array.from(Buffer.from(s, "utf8"));
  return scoreLoglikNaive(model, [{ context: enc(context), continuations: [enc(continuation)] }])[0][0].logprob;
}

test("normLength: characters without one leading space (code points, as Python len)", () => {
  assert.equal(normLength(" abc"), 3);
  assert.equal(normLength("abc"), 3);
  assert.equal(normLength(" é😀"), 2);
  assert.equal(normLength(" "), 1);
});

test("acc and acc_norm pick what brute force over the model's own log-probs picks", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(new ReferenceBackend(), 7);
  const stems = ["The cat sat on the", "Question: What is two plus two?\nAnswer:", "She opened the door and", "Rain falls from"];
  const options = [[" mat", " a very long and winding answer here", " dog", " x"], [" four", " 4", " twenty-two", " fish and chips"], [" left.", " saw the sea", " smiled", " it was a long way down to the river"], [" clouds", " the sky above us all", " up", " nowhere"]];
  let sawDisagreement = false;
  const docs: ChoiceDoc[] = [];
  const expected: Array<{ pred: number; predNorm: number }> = [];
  stems.forEach((stem, i) => {
    const lps = options[i].map((o) => bruteForce(model, stem, o));
    const pred = lps.indexOf(Math.max(...lps));
    const normed = lps.map((lp, j) => lp / (options[i][j].length - 1));
    const predNorm = normed.indexOf(Math.max(...normed));
    if (pred !== predNorm) sawDisagreement = true;
    expected.push({ pred, predNorm });
    // Gold alternates between the acc pick and the acc_norm pick, so both metrics are exercised.
    docs.push({ contexts: options[i].map(() => stem), continuations: options[i], gold: i % 2 === 0 ? pred : predNorm });
  });
  assert.ok(sawDisagreement, "fixture should contain an item where length normalisation changes the pick");
  const r = evalChoiceDocs(model, tok, docs, { batchSize: 3 });
  r.items.forEach((it, i) => {
    assert.equal(it.pred, expected[i].pred, `item ${i}: acc pick`);
    assert.equal(it.predNorm, expected[i].predNorm, `item ${i}: acc_norm pick`);
    options[i].forEach((o, j) => assert.ok(Math.abs(it.logprobs[j] - bruteForce(model, stems[i], o)) < 1e-9, `item ${i} choice ${j}: log-prob`));
  });
  const wantAcc = docs.filter((d, i) => d.gold === expected[i].pred).length / docs.length;
  const wantNorm = docs.filter((d, i) => d.gold === expected[i].predNorm).length / docs.length;
  assert.equal(r.metrics.acc.value, wantAcc);
  assert.equal(r.metrics.acc_norm.value, wantNorm);
  // Sample stderr of the mean of 0/1 scores.
  const p = wantAcc, n = docs.length;
  assert.ok(Math.abs(r.metrics.acc.stderr! - Math.sqrt((p * (1 - p) * n) / (n - 1) / n)) < 1e-12);
  assert.equal(r.chance, 0.25);
  model.dispose();
});

test("Winogrande (lighteval's prompt): \" {option} {rest}\" scored after the text before the blank, acc_norm by length", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(new ReferenceBackend(), 2);
  const doc = winograndeDoc({
    file: "winogrande.jsonl", line: 1,
    value: { sentence: "Sarah was a much better surgeon than Maria so _ always got the easier cases.", option1: "Sarah", option2: "Maria", answer: "2" },
  });
  assert.deepEqual(doc.contexts, ["Sarah was a much better surgeon than Maria so", "Sarah was a much better surgeon than Maria so"]);
  assert.deepEqual(doc.continuations, [" Sarah always got the easier cases.", " Maria always got the easier cases."]);
  assert.equal(doc.gold, 1);
  const r = evalChoiceDocs(model, tok, [doc]);
  const want = doc.continuations.map((c) => bruteForce(model, "Sarah was a much better surgeon than Maria so", c));
  r.items[0].logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - want[j]) < 1e-9, `option ${j}: ${lp} vs ${want[j]}`));
  // One shared context: one request with both continuations (the option words are scored).
  assert.equal(docRequests(tok, doc).requests.length, 1);
  // The llm-foundry layout gives the same item.
  const lf = winograndeDoc({ file: "w.jsonl", line: 1, value: { context_options: ["Sarah was a much better surgeon than Maria so Sarah", "Sarah was a much better surgeon than Maria so Maria"], continuation: "always got the easier cases.", gold: 1 } });
  assert.deepEqual(lf, doc);
  model.dispose();
});

test("encodePair follows lighteval v0.7: trailing context space moves to the continuation; split at the context's token length", async () => {
  const tok = await loadTokenizer(`${packageRoot()}/data/tokenizer/gpt2`);
  const ctx = "Question: What do cows drink?\nAnswer:";
  const enc = encodePair(tok, ctx + " ", ["milk", " water"]);
  const ctxIds = tok.encode(ctx);
  assert.deepEqual(enc.contexts[0], ctxIds);
  assert.deepEqual(enc.continuations[0], tok.encode(" milk"));
  assert.equal(tok.decode(enc.continuations[1]), "  water");
  // A continuation that merges with the end of the context: the context stays as encoded alone
  // and the continuation is the joint encoding after the context's length (lighteval's quirk:
  // here "The quick bro" + " fox", the merged " brown" token is not scored).
  const merged = encodePair(tok, "The quick bro", ["wn fox"]);
  assert.deepEqual(merged.contexts[0], tok.encode("The quick bro"));
  assert.deepEqual(merged.continuations[0], tok.encode("The quick brown fox").slice(3));
  assert.equal(tok.decode(merged.continuations[0]), " fox");
  // So all choices of an item share the context encoded once: one request.
  const dr = docRequests(tok, { contexts: ["The quick bro", "The quick bro", "The quick bro"], continuations: [" fox", "wn fox", " cat"], gold: 0 });
  assert.equal(dr.requests.length, 1);
  assert.deepEqual(dr.where.map((w) => w.continuation), [0, 1, 2]);
  // A continuation that encodes to nothing new takes the context's last token (lighteval).
  const empty = encodePair(tok, "Hello world", [""]);
  assert.deepEqual(empty.contexts[0], tok.encode("Hello"));
  assert.deepEqual(empty.continuations[0], tok.encode(" world"));
});

test("HellaSwag preprocessing removes WikiHow artifacts as lm-evaluation-harness does", () => {
  assert.equal(hellaswagPreprocess("How to cook [title] Boil water. [step] Add salt."), "How to cook. Boil water. Add salt.");
});
