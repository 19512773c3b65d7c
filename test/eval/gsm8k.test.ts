// GSM8K: answer extraction on the real reference solutions of the bundled files, the flexible and
// strict (lighteval) matching rules, shot sampling, the prompt layout, and greedy generation with
// stop sequences equal to the project's KV-cached generate().
import { test } from "node:test";
import assert from "node:assert/strict";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { bundledEvalDir, findEvalFile, readJsonlRecords } from "../../src/eval/data.js";
import { extractAnswer, generateUntil, goldAnswer, normalizeNumber, sampleShots, strictAnswer } from "../../src/eval/gsm8k.js";
import { gsm8kProblem, gsm8kPrompt } from "../../src/eval/prompts.js";
import { generate } from "../../src/models/generate.js";
import { byteTokenizer, tinyModel } from "./fixture.js";

const test100 = readJsonlRecords(findEvalFile(bundledEvalDir(), "gsm8k_test", "gsm8k", ""), 100).map(gsm8kProblem);

test("the gold answer of real GSM8K solutions is the number on the #### line", () => {
  assert.equal(goldAnswer(test100[0].answer), "18"); // Janet's ducks
  for (const p of test100) {
    const last = p.answer.trim().split("\n").pop()!;
    const want = last.replace(/^####\s*/, "").replaceAll(",", "");
    assert.equal(goldAnswer(p.answer), String(Number(want)), `answer ${JSON.stringify(last)}`);
    // The reference solution itself, read as a model output, gives its own gold answer.
    assert.equal(extractAnswer(p.answer), goldAnswer(p.answer));
    assert.equal(strictAnswer(p.answer), want);
  }
});

test("model outputs: after #### if present, else the last number; $, commas and trailing .0 normalised", () => {
  assert.equal(extractAnswer(" She makes 9 * 2 = $18 every day.\n#### 18"), "18");
  assert.equal(extractAnswer(" 3 + 4 = 7 apples, so the answer is $1,234.00."), "1234");
  assert.equal(extractAnswer(" The total is 5 then 12.5"), "12.5");
  assert.equal(extractAnswer(" #### -3"), "-3");
  assert.equal(extractAnswer(" #### 1,000 and later 7"), "1000");
  assert.equal(extractAnswer(" no digits here"), undefined);
  assert.equal(normalizeNumber("$18.00"), "18");
  assert.equal(normalizeNumber("18."), "18");
  // lighteval's strict rule needs "#### n" and compares strings after removing commas.
  assert.equal(strictAnswer("so 18 eggs"), "[invalid]");
  assert.equal(strictAnswer("#### 1,234"), "1234");
  assert.notEqual(strictAnswer("#### 18.0"), strictAnswer("#### 18"));
});

test("k-shot prompts: shots from the pool, distinct, seeded, in lighteval's plain-text layout", () => {
  const pool = test100.slice(50);
  const a = sampleShots(pool, 5, 1234, 0);
  assert.equal(new Set(a).size, 5);
  assert.deepEqual(sampleShots(pool, 5, 1234, 0), a);
  assert.notDeepEqual(sampleShots(pool, 5, 1234, 1), a);
  assert.ok(a.every((s) => pool.includes(s)));
  const p = gsm8kPrompt(a.slice(0, 2), "What is 2+2?");
  const parts = p.split("\n\n");
  assert.equal(parts.length >= 3, true);
  assert.ok(p.startsWith(`Question: ${a[0].question}\nAnswer: ${a[0].answer.trim()}\n\nQuestion: ${a[1].question}`));
  assert.ok(p.endsWith("\n\nQuestion: What is 2+2?\nAnswer:"));
});

test("generateUntil: greedy tokens equal generate(); stops at a stop string and cuts it off", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(new ReferenceBackend(), 12, { maxSeq: 64 });
  const prompt = tok.encode("Question: 1+1?\nAnswer:");
  const ref = generate(model, prompt, { maxNewTokens: 12, temperature: 0, topK: 0, topP: 1, seed: 0 });
  const mine = generateUntil(model, tok, prompt, { maxNewTokens: 12, stop: [], prefillChunk: 5 });
  assert.equal(mine.text, tok.decode(ref.ids, true));
  assert.equal(mine.stoppedBy, "length");
  // Use a piece of the greedy text as a stop string: generation ends there, the stop text is cut.
  const text = tok.decode(ref.ids, true);
  const stop = text.slice(4, 6);
  const cut = generateUntil(model, tok, prompt, { maxNewTokens: 12, stop: [stop] });
  assert.equal(cut.stoppedBy, "stop");
  assert.equal(cut.text, text.slice(0, text.indexOf(stop)));
  // A prompt longer than the room left for new tokens is cut from the left.
  const long = generateUntil(model, tok, Array.from({ length: 80 }, () => 65), { maxNewTokens: 4, stop: [] });
  assert.equal(long.truncated, 80 - 60);
  model.dispose();
});
