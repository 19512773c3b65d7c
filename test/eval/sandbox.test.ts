// The code-execution sandbox: real HumanEval problems with their canonical solutions pass; a
// completion that loops forever, allocates without bound, opens a socket, writes outside its
// temporary directory or starts a subprocess is stopped and scored as a failure, and the
// programs after it still run and pass. The bundled MBPP's test split and its reference solutions
// likewise. Needs python3 (installed by .ci/run); the sandbox tests skip without it.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { codeProgram, humanevalProblem, isMbppTest, mbppProblem, scoreCompletions } from "../../src/eval/code.js";
import { bundledEvalDir, readJsonlRecords } from "../../src/eval/data.js";
import { MBPP } from "../../src/eval/gen-tasks.js";
import { findPython, runPython } from "../../src/eval/sandbox.js";

const skip = findPython() === null ? "python3 (3.8+) is not installed: the code sandbox cannot be tested" : false;
if (skip) console.log(`# skip sandbox tests: ${skip}`);

test("HumanEval: canonical solutions pass, hostile or broken completions fail, and evaluation continues", { skip }, async () => {
  const recs = readJsonlRecords(path.join(bundledEvalDir(), "humaneval.jsonl.gz"));
  assert.equal(recs.length, 164);
  const probs = recs.slice(0, 8).map(humanevalProblem);
  const canonical = recs.slice(0, 8).map((r) => String(r.value.canonical_solution));
  const outside = path.join(os.tmpdir(), `smol-escape-${process.pid}-${Date.now()}`);
  const body = (code: string) => code.split("\n").map((l) => "    " + l).join("\n") + "\n";
  const hostile: Array<[string, string]> = [
    ["timeout", body("while True:\n    pass")],
    ["memory", body("x = []\nwhile True:\n    x.append(bytearray(50_000_000))")],
    ["blocked", body("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.connect(('127.0.0.1', 9))")],
    ["blocked", body(`open(${JSON.stringify(outside)}, "w").write("escaped")`)],
    ["blocked", body("import subprocess\nsubprocess.run(['true'])")],
    ["failed", "    return None\n"],
  ];
  // Problems 0-5 get the hostile completions, 6-7 their canonical solutions (which must still pass).
  const completions = [...hostile.map(([, c]) => c), canonical[6], canonical[7]];
  const r = await scoreCompletions(probs, completions, { timeoutS: 3, memoryMb: 512 });
  assert.deepEqual(r.results.map((x) => x.status), [...hostile.map(([s]) => s), "passed", "passed"], r.results.map((x) => x.stderr.slice(-200)).join("\n---\n"));
  assert.equal(fs.existsSync(outside), false, "the write outside the temporary directory did not happen");
  assert.ok(r.results[0].seconds < 8, `the endless loop was stopped after ${r.results[0].seconds}s`);
  assert.equal(r.metrics.pass_at_1.value, 2 / 8);
  assert.deepEqual(r.outcomes, { timeout: 1, memory: 1, blocked: 3, failed: 1, passed: 2 });
  // All canonical solutions of these problems pass.
  const good = await scoreCompletions(probs, canonical, { timeoutS: 10 });
  assert.equal(good.metrics.pass_at_1.value, 1, good.results.map((x) => x.stderr).join("\n"));
});

test("sandbox: writes inside the temporary directory are allowed; the environment is empty", { skip }, async () => {
  const ok = await runPython("import os\nopen('scratch.txt', 'w').write('x')\nassert open('scratch.txt').read() == 'x'\nassert 'SMOL_SECRET' not in os.environ\n");
  assert.equal(ok.status, "passed", ok.stderr);
  process.env.SMOL_SECRET = "1";
  const env = await runPython("import os, sys\nsys.exit(0 if 'SMOL_SECRET' not in os.environ else 1)\n");
  delete process.env.SMOL_SECRET;
  assert.equal(env.status, "passed");
  const bad = await runPython("raise ValueError('boom')\n");
  assert.equal(bad.status, "failed");
  assert.match(bad.stderr, /ValueError: boom/);
});

test("MBPP is bundled: all 974 problems, the test split is ids 11-510, and a --data-dir file still replaces it", () => {
  const recs = readJsonlRecords(path.join(bundledEvalDir(), "mbpp.jsonl.gz"));
  assert.deepEqual(recs.map((r) => r.value.task_id), Array.from({ length: 974 }, (_, i) => i + 1));
  const split = recs.filter(isMbppTest);
  assert.deepEqual(split.map((r) => r.value.task_id), Array.from({ length: 500 }, (_, i) => i + 11));
  // What `smol eval --tasks mbpp` loads from the default data directory: 500 problems, in file order.
  const items = MBPP.load(bundledEvalDir(), undefined, 0);
  assert.equal(items.length, 500);
  assert.equal(items[0].build(0), '"""\nWrite a python function to remove first and last occurrence of a given character from the string.\nassert remove_Occ("hello","l") == "heo"\n"""\n');
  assert.equal(items[499].build(0), `"""\n${split[499].value.text}\n${(split[499].value.test_list as string[])[0]}\n"""\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-mbpp-"));
  fs.writeFileSync(path.join(dir, "mbpp.jsonl"), JSON.stringify({ ...recs[10].value, text: "Your own problem." }) + "\n");
  assert.deepEqual(MBPP.load(dir, undefined, 0).map((it) => it.build(0).split("\n")[1]), ["Your own problem."]);
});

test("MBPP: the reference solutions of the first test problems (and of the one with setup code) pass their tests in the sandbox; a wrong one fails", { skip }, async () => {
  // The first ten, and 367: the one test problem with test_setup_code (objects of the solution's class).
  const all = readJsonlRecords(path.join(bundledEvalDir(), "mbpp.jsonl.gz")).filter(isMbppTest);
  const recs = [...all.slice(0, 10), all.find((r) => r.value.task_id === 367)!];
  const probs = recs.map(mbppProblem);
  const code = recs.map((r) => String(r.value.code));
  assert.ok(codeProgram(probs[0], code[0]).endsWith('\n\nassert remove_Occ("hello","l") == "heo"\nassert remove_Occ("abcda","a") == "bcd"\nassert remove_Occ("PHP","P") == "H"\n'));
  const good = await scoreCompletions(probs, code, { timeoutS: 10 });
  assert.equal(good.metrics.pass_at_1.value, 1, good.results.map((x) => x.stderr).join("\n"));
  const bad = await scoreCompletions(probs.slice(0, 1), ["def remove_Occ(s,ch): \r\n    return s"], { timeoutS: 10 });
  assert.deepEqual(bad.outcomes, { failed: 1 });
});
