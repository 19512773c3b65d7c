// The defects found comparing `smol eval` with SmolLM2's evaluation (lighteval + smollm's
// tasks.py), one test each: OpenBookQA's split, CommonsenseQA's five options, Winogrande's and
// HellaSwag's requests, GSM8K's whole-shot fitting and strict headline metric, --limit as a
// sample, and bits per byte without the EOS tokens' loss.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultBackend } from "../../src/backend/index.js";
import { DataError } from "../../src/errors.js";
import { sampleItems } from "../../src/eval/data.js";
import { gsm8kPrompts } from "../../src/eval/gsm8k.js";
import { fileStream, predictedBytes } from "../../src/eval/perplexity.js";
import { hellaswagDoc, pyCapitalize } from "../../src/eval/prompts.js";
import { choiceRequest, type TextRequest } from "../../src/eval/requests.js";
import { runEvalTasks } from "../../src/eval/run.js";
import { scoreSequences } from "../../src/eval/score.js";
import { findTask, loadChoiceDocs, parseTaskList } from "../../src/eval/tasks.js";
import { bundledEvalDir, readJsonlRecords } from "../../src/eval/data.js";
import { byteTokenizer, tinyModel } from "./fixture.js";

const be = defaultBackend().backend;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "smol-smollm2-"));

async function requestsOf(tasks: string[], opts: Parameters<typeof runEvalTasks>[3] = {}, maxSeq = 2048): Promise<TextRequest[]> {
  const tok = await byteTokenizer();
  const model = tinyModel(be, 1, { maxSeq });
  const out: TextRequest[] = [];
  await runEvalTasks(model, tok, tasks, { ...opts, requestsOnly: true, onRequest: (r) => out.push(r) });
  model.dispose();
  return out;
}

test("1. OpenBookQA is scored on the validation split (a user file), the test split only as openbookqa_test", async () => {
  assert.equal(findTask("openbookqa")!.file, "openbookqa_validation");
  const dir = tmp();
  // The Hugging Face export of allenai/openbookqa "main" validation: the first record.
  const rec = { id: "8-376", question_stem: "Frilled sharks and angler fish live far beneath the surface of the ocean, which is why they are known as", choices: { text: ["Deep sea animals", "fish", "Long Sea Fish", "Far Sea Animals"], label: ["A", "B", "C", "D"] }, answerKey: "A" };
  fs.writeFileSync(path.join(dir, "openbookqa_validation.jsonl"), JSON.stringify(rec) + "\n");
  const reqs = await requestsOf(["openbookqa"], { dataDir: dir });
  assert.deepEqual(reqs, [{ task: "openbookqa", doc_id: 0, kind: "loglikelihood", context: rec.question_stem, continuations: [" Deep sea animals", " fish", " Long Sea Fish", " Far Sea Animals"], gold: 0 }]);
  await assert.rejects(requestsOf(["openbookqa"], { dataDir: tmp() }), (e: Error) => e instanceof DataError && /openbookqa_validation\.jsonl/.test(e.message));
});

test("2. CommonsenseQA has its 5 options: always answering C scores about 1/5, and chance is 0.2", () => {
  for (const name of ["commonsense_qa", "commonsense_qa_mcf"]) {
    const docs = loadChoiceDocs(parseTaskList([name])[0], bundledEvalDir());
    assert.equal(docs.length, 1221);
    assert.ok(docs.every((d) => d.item.continuations.length === 5), `${name}: every item has 5 options`);
    const alwaysC = docs.filter((d) => d.item.gold === 2).length / docs.length;
    assert.ok(alwaysC < 0.22, `${name}: always-C scores ${alwaysC}`);
  }
});

test("3. Winogrande requests are lighteval's: the text before _ then \" {option} {rest}\", with acc_norm", async () => {
  const reqs = await requestsOf(["winogrande"], { limit: 1267 });
  assert.deepEqual(reqs[0], { task: "winogrande", doc_id: 0, kind: "loglikelihood", context: "Sarah was a much better surgeon than Maria so", continuations: [" Sarah always got the easier cases.", " Maria always got the easier cases."], gold: 1 });
  assert.deepEqual(findTask("winogrande")!.metrics, ["acc", "acc_norm"]);
  // Every item: both continuations differ (the option is scored), the context is shared.
  assert.ok(reqs.every((r) => r.kind === "loglikelihood" && r.continuations[0] !== r.continuations[1]));
});

test("4. HellaSwag: SmolLM2's prompt_hellaswag from activity_label/ctx_a/ctx_b, two spaces before each ending", () => {
  // The first record of rowanz/hellaswag data/hellaswag_val.jsonl.
  const orig = {
    ind: 24, activity_label: "Roof shingle removal", ctx_a: "A man is sitting on a roof.", ctx_b: "he", ctx: "A man is sitting on a roof. he",
    split: "val", split_type: "indomain", label: 3,
    endings: ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing on a roof."],
    source_id: "activitynet~v_-JhWjGDPHMY",
  };
  const req = choiceRequest("hellaswag", 0, hellaswagDoc({ file: "h.jsonl", line: 1, value: orig }));
  assert.deepEqual(req, {
    task: "hellaswag", doc_id: 0, kind: "loglikelihood", context: "Roof shingle removal: A man is sitting on a roof. He",
    continuations: ["  is using wrap to wrap a pair of skis.", "  is ripping level tiles off.", "  is holding a rubik's cube.", "  starts pulling up roofing on a roof."], gold: 3,
  });
  // Python's str.capitalize lower-cases the rest; WikiHow brackets are cleaned after joining.
  assert.equal(pyCapitalize("the MAN"), "The man");
  const wiki = hellaswagDoc({ file: "h.jsonl", line: 2, value: { activity_label: "Home and Garden", ctx_a: "[header] How to x [title] Do y.", ctx_b: "", endings: ["[step] a", "b"], label: 0 } });
  assert.deepEqual([wiki.contexts[0], wiki.continuations[0]], ["Home and Garden: How to x. Do y. ", "  a"]);
  // The bundled export (joined ctx) gets the same two-space continuation.
  const bundled = choiceRequest("hellaswag", 0, hellaswagDoc(readJsonlRecords(path.join(bundledEvalDir(), "hellaswag_val.jsonl.gz"))[0]));
  assert.equal(bundled.context, "Roof shingle removal: A man is sitting on a roof. he");
  assert.equal(bundled.continuations[3], "  starts pulling up roofing on a roof.");
});

test("5. GSM8K drops whole shots to fit, shrinks the budget on a small context, and leads with the strict metric", async () => {
  const tok = await byteTokenizer();
  const train = readJsonlRecords(path.join(bundledEvalDir(), "gsm8k_train.jsonl.gz")).slice(0, 50).map((r) => ({ question: String(r.value.question), answer: String(r.value.answer) }));
  const problem = { question: "What is 2 + 3?", answer: "2 + 3 = 5\n#### 5" };
  const [fit] = gsm8kPrompts(tok, 1200, [problem], train, { shots: 5, seed: 1, maxNewTokens: 256 });
  assert.ok(fit.shots < 5 && fit.ids.length + 256 <= 1200, `${fit.shots} shots, ${fit.ids.length} tokens`);
  // Whole shots only: the prompt is k complete "Question/Answer" blocks then the query.
  const blocks = fit.prompt.split("\n\n");
  assert.equal(blocks.filter((b) => b.startsWith("Question: ")).length, fit.shots + 1);
  assert.ok(fit.prompt.startsWith("Question: ") && fit.prompt.endsWith("Question: What is 2 + 3?\nAnswer:"));
  assert.equal(fit.truncated, 0);
  // A 256-token model with the default 256-token budget: runs, every request fits the context.
  const reqs = await requestsOf(["gsm8k"], { limit: 4 }, 256);
  assert.equal(reqs.length, 4);
  for (const r of reqs) {
    assert.equal(r.kind, "generate");
    if (r.kind === "generate") assert.ok(tok.encode(r.context).length + r.max_new_tokens <= 256 && r.max_new_tokens >= 1);
  }
  const model = tinyModel(be, 2, { maxSeq: 256 });
  const res = await runEvalTasks(model, tok, ["gsm8k"], { limit: 2, shots: 5 });
  assert.deepEqual(res.results[0].metrics.map((m) => m.name), ["em_strict", "em"]);
  model.dispose();
});

test("6. --limit N is a seeded sample across the whole set (every MMLU subject), in file order", async () => {
  const s = sampleItems(1000, 50, 1234, "mmlu");
  assert.equal(new Set(s).size, 50);
  assert.deepEqual(s, [...s].sort((a, b) => a - b));
  assert.deepEqual(sampleItems(1000, 50, 1234, "mmlu"), s);
  assert.notDeepEqual(sampleItems(1000, 50, 99, "mmlu"), s);
  assert.ok(s[s.length - 1] > 500 && s[0] < 500, "spread over the set");
  assert.deepEqual(sampleItems(5, 10, 1, "x"), [0, 1, 2, 3, 4]);
  const dir = path.join(tmp(), "mmlu");
  fs.mkdirSync(dir, { recursive: true });
  for (const subj of ["abstract_algebra", "anatomy", "virology"]) {
    fs.writeFileSync(path.join(dir, `${subj}_test.csv`), Array.from({ length: 40 }, (_, i) => `${subj} question ${i}?,a,b,c,d,A`).join("\n") + "\n");
  }
  const reqs = await requestsOf([`mmlu:${dir}`], { limit: 30 });
  const subjects = new Set(reqs.map((r) => /about (\w+)/.exec(r.context)![1]));
  assert.equal(reqs.length, 30);
  assert.equal(subjects.size, 3, `sampled subjects: ${[...subjects]}`);
});

test("7. bits per byte leaves out the loss of predicting EOS (which carries no bytes)", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(be, 3, { maxSeq: 64 });
  const file = path.join(tmp(), "docs.jsonl");
  const texts = ["Short one.", "Another document here.", "A third, with ünïcödé."];
  fs.writeFileSync(file, texts.map((t) => JSON.stringify({ text: t })).join("\n") + "\n");
  const stream = await fileStream(tok, file);
  const seqLen = 200 > stream.length ? 64 : 64;
  const res = await runEvalTasks(model, tok, [`val:${file}`], { seqLen });
  const bpb = res.results[0].metrics.find((m) => m.name === "bpb")!.value;
  // Direct: per-token log-probs of each window, EOS targets skipped, over the predicted bytes.
  let nats = 0;
  let eosNats = 0;
  for (let s = 0; s < stream.length - 1; s += seqLen) {
    const win = Array.from(stream.subarray(s, Math.min(stream.length, s + seqLen + 1)));
    scoreSequences(model, [win]).logprobs[0].forEach((lp, i) => {
      if (win[i + 1] === tok.eosId) eosNats -= lp;
      else nats -= lp;
    });
  }
  const bytes = predictedBytes(tok, stream, stream.length - 1);
  assert.ok(eosNats > 0);
  assert.ok(Math.abs(bpb - nats / Math.LN2 / bytes) < 1e-5, `${bpb} vs ${nats / Math.LN2 / bytes}`);
  assert.ok(Math.abs(bpb - (nats + eosNats) / Math.LN2 / bytes) > 1e-3);
  model.dispose();
});
