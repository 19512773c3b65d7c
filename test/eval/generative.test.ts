// The generative tasks' answer handling and an end-to-end run: MATH's \boxed{} extraction and
// normalisation, BBH's "So the answer is", TriviaQA's alias normalisation, GSM8K batched vs one
// at a time, and every generative task (plus MMLU-Pro and the ARC average) through runEvalTasks.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultBackend } from "../../src/backend/index.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { bundledEvalDir, readJsonlRecords } from "../../src/eval/data.js";
import { bbhAnswer, parseCotPrompt, removePrefixes, triviaNormalize } from "../../src/eval/gen-tasks.js";
import { evalGsm8k } from "../../src/eval/gsm8k.js";
import { gsm8kProblem } from "../../src/eval/prompts.js";
import { lastBoxed, mathCorrect, normalizeMathAnswer } from "../../src/eval/math-answer.js";
import { runEvalTasks } from "../../src/eval/run.js";
import { findPython } from "../../src/eval/sandbox.js";
import { byteTokenizer, tinyModel } from "./fixture.js";

test("MATH: the last \\boxed{} with nested braces, normalised as the MATH equivalence rules do", () => {
  assert.equal(lastBoxed("so $\\boxed{1}$ then $\\boxed{\\frac{1}{2}}$."), "\\frac{1}{2}");
  assert.equal(lastBoxed("no box"), undefined);
  assert.equal(normalizeMathAnswer("\\dfrac12"), "\\frac{1}{2}");
  assert.equal(normalizeMathAnswer("\\left( 3, \\frac{\\pi}{2} \\right)"), "(3,\\frac{\\pi}{2})");
  assert.equal(normalizeMathAnswer("0.5"), "\\frac{1}{2}");
  assert.equal(normalizeMathAnswer("x = 5"), "5");
  assert.equal(normalizeMathAnswer("10\\text{ inches}"), "10");
  assert.equal(normalizeMathAnswer("90^\\circ"), "90");
  assert.equal(normalizeMathAnswer("\\$18.00"), "18.00");
  assert.equal(normalizeMathAnswer("3/4"), "\\frac{3}{4}");
  assert.ok(mathCorrect("The answer is $\\boxed{\\tfrac{3}{4}}$.", "3/4"));
  assert.ok(!mathCorrect("The answer is 3/4.", "3/4"));
});

test("BBH: the answer after 'So the answer is', the CoT prompt split into description and shots", () => {
  assert.equal(bbhAnswer("A = True. So the answer is False."), "False");
  assert.equal(bbhAnswer("… So the answer is (B).\nQ: more"), "(B)");
  assert.equal(bbhAnswer("no conclusion"), undefined);
  const p = readJsonlRecords(path.join(bundledEvalDir(), "bbh_cot_prompts.jsonl.gz"));
  assert.equal(p.length, 27);
  for (const r of p) {
    const { description, shots } = parseCotPrompt(String(r.value.prompt));
    assert.equal(shots.length, 3, String(r.value.subtask));
    assert.ok(description.length > 0 && !description.includes("canary"));
    assert.ok(shots.every((s) => s.startsWith("Q: ") && s.includes("\nA: Let's think step by step.") && /So the answer is .+\.$/.test(s)), String(r.value.subtask));
  }
});

test("TriviaQA: lower case, no punctuation; aliases with a kept prefix are dropped (lighteval)", () => {
  assert.equal(triviaNormalize(" David Seville! "), "david seville");
  assert.deepEqual(removePrefixes(["Paris, France", "Paris", "City of Light"]), ["City of Light", "Paris"]);
});

test("GSM8K batched generation gives the same outputs and scores as one prompt at a time", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(new ReferenceBackend(), 4, { maxSeq: 512 });
  const test8 = readJsonlRecords(path.join(bundledEvalDir(), "gsm8k_test.jsonl.gz")).slice(0, 5).map(gsm8kProblem);
  const train = readJsonlRecords(path.join(bundledEvalDir(), "gsm8k_train.jsonl.gz")).slice(0, 30).map(gsm8kProblem);
  const opts = { shots: 1, seed: 3, maxNewTokens: 12 };
  const one = evalGsm8k(model, tok, test8, train, { ...opts, batchSize: 1 });
  const many = evalGsm8k(model, tok, test8, train, { ...opts, batchSize: 16 });
  assert.deepEqual(many.items.map((i) => i.output), one.items.map((i) => i.output));
  assert.deepEqual(many.metrics, one.metrics);
  model.dispose();
});

test("every generative task, MMLU-Pro and the ARC average run end to end on a small model", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(defaultBackend().backend, 6, { maxSeq: 2048 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-gen-"));
  for (const f of fs.readdirSync(bundledEvalDir())) if (f.endsWith(".gz")) fs.copyFileSync(path.join(bundledEvalDir(), f), path.join(dir, f));
  const put = (name: string, recs: object[]) => fs.writeFileSync(path.join(dir, name), recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
  put("mmlu_pro_test.jsonl", [{ question: "2+2?", options: ["3", "4", "5"], answer_index: 1, category: "math" }, { question: "Sky?", options: ["blue", "green"], answer_index: 0, category: "other" }]);
  put("triviaqa_validation.jsonl", [{ question: "Capital of France?", answer: { aliases: ["Paris"] } }]);
  put("math_500.jsonl", [{ problem: "1+1?", solution: "$\\boxed{2}$", answer: "2" }]);
  const tasks = ["arc_easy", "arc_challenge", "mmlu_pro", "bbh", "trivia_qa", "math:0", ...(findPython() ? ["humaneval"] : [])];
  const res = await runEvalTasks(model, tok, tasks, { dataDir: dir, limit: 2, genBatchSize: 4 });
  assert.deepEqual(res.results.map((r) => r.task), [...tasks, "arc"]);
  for (const r of res.results) for (const m of r.metrics) assert.ok(Number.isFinite(m.value) && m.value >= 0 && m.value <= 1, `${r.task}/${m.name} = ${m.value}`);
  assert.ok(res.flat["bbh/em"] !== undefined && res.flat["trivia_qa/em"] !== undefined && res.flat["math:0/em"] !== undefined);
  if (findPython()) assert.deepEqual(Object.values(res.results.find((r) => r.task === "humaneval")!.extra!.outcomes as object).reduce((a: number, b) => a + (b as number), 0), 2);
  model.dispose();
});
