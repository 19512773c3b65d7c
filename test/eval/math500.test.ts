// The bundled MATH-500 (data/eval/math_500.jsonl.gz, openai/prm800k's math_splits/test.jsonl):
// its bytes, its 500 items, the \boxed{} extraction against every reference answer, and how the
// `math` task finds it (bundled unless --data-dir holds a math_500.jsonl; the 4 demonstrations of
// the 4-shot variant are not bundled, so `math` still asks for them while `math:0` needs nothing).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DataError } from "../../src/errors.js";
import { bundledEvalDir, findEvalFile, readJsonlRecords, readTextFile } from "../../src/eval/data.js";
import { MATH, mathQuery } from "../../src/eval/gen-tasks.js";
import { lastBoxed, mathCorrect } from "../../src/eval/math-answer.js";

const bundled = path.join(bundledEvalDir(), "math_500.jsonl.gz");
const FIRST_PROBLEM = "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.  Enter your answer in the form $(r,\\theta),$ where $r > 0$ and $0 \\le \\theta < 2 \\pi.$";
const FIRST_ANSWER = "\\left( 3, \\frac{\\pi}{2} \\right)";

test("MATH-500 bundled: prm800k's test.jsonl byte for byte, 500 problems with their prm800k fields", () => {
  // sha256 and size recorded by openai/prm800k's Git LFS pointer for prm800k/math_splits/test.jsonl.
  const text = readTextFile(bundled);
  assert.equal(Buffer.byteLength(text), 446564);
  assert.equal(createHash("sha256").update(text).digest("hex"), "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132");
  const recs = readJsonlRecords(bundled).map((r) => r.value);
  assert.equal(recs.length, 500);
  for (const r of recs) assert.deepEqual(Object.keys(r), ["problem", "solution", "answer", "subject", "level", "unique_id"]);
  assert.equal(recs[0].problem, FIRST_PROBLEM);
  assert.equal(recs[0].answer, FIRST_ANSWER);
  assert.equal(recs[0].unique_id, "test/precalculus/807.json");
  const ids = recs.map((r) => r.unique_id as string);
  assert.equal(new Set(ids).size, 500);
  for (const id of ids) assert.match(id, /^test\/[a-z_]+\/\d+\.json$/);
  for (const r of recs) assert.ok(Number.isInteger(r.level) && (r.level as number) >= 1 && (r.level as number) <= 5);
  assert.equal(recs.some((r) => (r.problem as string).startsWith("Return your final response")), false);
});

test("MATH-500: the last \\boxed{} of each reference solution is its answer (500 of 500)", () => {
  const recs = readJsonlRecords(bundled).map((r) => r.value as { solution: string; answer: string });
  const exact = recs.filter((r) => lastBoxed(r.solution) === r.answer).length;
  const judged = recs.filter((r) => mathCorrect(r.solution, r.answer)).length;
  assert.equal(exact, 500);
  assert.equal(judged, 500);
});

test("math:0 runs on the bundled MATH-500 from an empty --data-dir; a math_500.jsonl there replaces it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-math500-"));
  assert.equal(findEvalFile(dir, "math_500", "math", ""), bundled);
  assert.deepEqual(MATH.locate(dir, "0"), [bundled]);
  const items = MATH.load(dir, undefined, 0, "0");
  assert.equal(items.length, 500);
  assert.equal(items[0].shots, 0);
  assert.equal(items[0].build(0), mathQuery(FIRST_PROBLEM));
  // The 4-shot default still needs the user's demonstrations (not bundled).
  assert.throws(() => MATH.locate(dir), (e: unknown) => e instanceof DataError && /math_fewshot/.test((e as Error).message));
  // The user's file wins over the bundled one.
  fs.writeFileSync(path.join(dir, "math_500.jsonl"), JSON.stringify({ problem: "1+1?", solution: "$\\boxed{2}$", answer: "2" }) + "\n");
  assert.deepEqual(MATH.locate(dir, "0"), [path.join(dir, "math_500.jsonl")]);
  const mine = MATH.load(dir, undefined, 0, "0");
  assert.equal(mine.length, 1);
  assert.equal(mine[0].build(0), mathQuery("1+1?"));
  fs.rmSync(dir, { recursive: true, force: true });
});
