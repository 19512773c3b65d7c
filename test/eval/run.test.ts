// End to end: every bundled task through runEvalTasks on a small random model (--limit small),
// chance levels, MMLU from a tiny CSV, validation loss / bits per byte on a file and on a shard
// directory's val split, and the bad-input messages of `smol eval`.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultBackend } from "../../src/backend/index.js";
import { tokenizeSources } from "../../src/data/tokenize.js";
import { ConfigError, DataError } from "../../src/errors.js";
import { parseCsv, readMmlu } from "../../src/eval/mmlu.js";
import { fileStream, predictedBytes, streamLoss, windowPlan } from "../../src/eval/perplexity.js";
import { runEvalTasks } from "../../src/eval/run.js";
import { scoreSequences } from "../../src/eval/score.js";
import { GROUPS, parseTaskList } from "../../src/eval/tasks.js";
import { runSmol } from "../helpers.js";
import { byteTokenizer, savedTinyModel, tinyModel } from "./fixture.js";

const be = defaultBackend().backend;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "smol-evaltest-"));

test("every bundled task runs end to end on a small random model", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(be, 1);
  const res = await runEvalTasks(model, tok, ["all", "commonsense_qa_mcf"], { limit: 3, shots: 1, maxNewTokens: 8 });
  const names = res.results.map((r) => r.task);
  assert.deepEqual(names, [...GROUPS.all, "commonsense_qa_mcf", "arc"]);
  for (const r of res.results) {
    assert.equal(r.n, r.task === "arc" ? 6 : 3, `${r.task}: items`);
    for (const m of r.metrics) assert.ok(Number.isFinite(m.value), `${r.task}/${m.name} = ${m.value}`);
    assert.ok(r.perSecond > 0);
  }
  const chance = Object.fromEntries(res.results.map((r) => [r.task, r.metrics[0].chance]));
  const rounded = Object.fromEntries(Object.entries(chance).map(([k, v]) => [k, v === undefined ? v : Math.round(v * 1e9) / 1e9]));
  assert.deepEqual(rounded, { hellaswag: 0.25, arc_easy: 0.25, arc_challenge: 0.25, piqa: 0.5, commonsense_qa: 0.2, winogrande: 0.5, lambada: 0, gsm8k: 0, commonsense_qa_mcf: 0.2, arc: 0.25 });
  const arc = res.results.find((r) => r.task === "arc")!;
  assert.equal(arc.metrics[1].value, (res.flat["arc_easy/acc_norm"] + res.flat["arc_challenge/acc_norm"]) / 2);
  assert.ok(res.flat["hellaswag/acc_norm"] !== undefined && res.flat["lambada/ppl"] > 1);
  model.dispose();
});

test("an untrained model scores near chance", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(be, 5);
  const res = await runEvalTasks(model, tok, ["piqa", "winogrande", "arc_easy"], { limit: 100 });
  for (const r of res.results) {
    for (const m of r.metrics) {
      // 100 items: the stderr of a chance-level score is 0.043 (4 choices) to 0.05 (2); allow 4 of them.
      assert.ok(Math.abs(m.value - m.chance!) < 0.2, `${r.task}/${m.name} = ${m.value}, chance ${m.chance}`);
    }
  }
  model.dispose();
});

test("MMLU from hendrycks-style CSVs: quoted fields, cloze and letter forms", async () => {
  const dir = path.join(tmp(), "mmlu", "test");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "high_school_physics_test.csv"), '"What is 1, plus ""1""?",1,2,"3\nor more",4,B\nWhich is a vector?,mass,speed,velocity,time,C\n');
  fs.writeFileSync(path.join(dir, "anatomy_test.csv"), "How many bones?,206,12,3,1,a\n");
  const rows = parseCsv('a,"b,c","d""e"\r\n\n"x\ny",z,w\n', "t.csv");
  assert.deepEqual(rows, [{ line: 1, fields: ["a", "b,c", 'd"e'] }, { line: 3, fields: ["x\ny", "z", "w"] }]);
  const qs = readMmlu(path.dirname(dir));
  assert.deepEqual(qs.map((q) => [q.subject, q.gold]), [["anatomy", 0], ["high_school_physics", 1], ["high_school_physics", 2]]);
  assert.deepEqual(qs[1].choices, ["1", "2", "3\nor more", "4"]);
  const tok = await byteTokenizer();
  const model = tinyModel(be, 2);
  const res = await runEvalTasks(model, tok, ["mmlu", "mmlu_mcf"], { dataDir: path.dirname(path.dirname(dir)) });
  assert.deepEqual(res.results.map((r) => [r.task, r.n, r.metrics.map((m) => m.name).join()]), [["mmlu", 3, "acc,acc_norm"], ["mmlu_mcf", 3, "acc"]]);
  fs.writeFileSync(path.join(dir, "bad_test.csv"), "q,a,b,c,d,E\n");
  assert.throws(() => readMmlu(path.dirname(dir)), (e: Error) => e instanceof DataError && /bad_test\.csv:1: answer must be one of A, B, C, D/.test(e.message));
  assert.throws(() => readMmlu(tmp()), (e: Error) => e instanceof DataError && /no \*_test\.csv files/.test(e.message));
  model.dispose();
});

test("val: windows predict every token once; loss and bits per byte equal a direct computation", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(be, 3, { maxSeq: 64 });
  const file = path.join(tmp(), "docs.jsonl");
  const texts = ["The cat sat on the mat. ", "Ünïcödé bytes count as bytes: é = 2 bytes.", "A third document, somewhat longer than the others, so windows wrap around it twice or more."];
  fs.writeFileSync(file, texts.map((t) => JSON.stringify({ text: t })).join("\n") + "\n");
  const stream = await fileStream(tok, file);
  const seqLen = 32;
  assert.deepEqual(windowPlan(stream.length, seqLen), { windows: Math.ceil((stream.length - 1) / seqLen), predicted: stream.length - 1 });
  const r = streamLoss(model, stream, { seqLen, chunk: 7, byteless: tok.eosId });
  // Direct: score each window with scoreSequences (one plain forward per window).
  let nats = 0, count = 0;
  for (let s = 0; s < stream.length - 1; s += seqLen) {
    const win = Array.from(stream.subarray(s, Math.min(stream.length, s + seqLen + 1)));
    const lp = scoreSequences(model, [win]).logprobs[0];
    nats -= lp.reduce((a, x) => a + x, 0);
    count += lp.length;
  }
  assert.equal(r.tokens, count);
  assert.ok(Math.abs(r.loss - nats / count) < 1e-4, `${r.loss} vs ${nats / count}`);
  // Bytes: every document's UTF-8 bytes except the first token's one byte (EOS has none).
  const bytes = predictedBytes(tok, stream, r.tokens);
  assert.equal(bytes, texts.reduce((a, t) => a + Buffer.byteLength(t), 0) - 1);
  const res = await runEvalTasks(model, tok, [`val:${file}`], { seqLen });
  const m = Object.fromEntries(res.results[0].metrics.map((x) => [x.name, x.value]));
  // 1e-6, not exact: the two paths batch windows differently, and on the native backend a batch of
  // at most 4 rows takes the GEMV path (another fp32 summation order than the packed GEMM).
  assert.ok(Math.abs(m.bpb - (r.byteNats / Math.LN2 / bytes)) < 1e-6, `${m.bpb} vs ${r.byteNats / Math.LN2 / bytes}`);
  assert.ok(Math.abs(m.ppl - Math.exp(r.loss)) < 1e-6 * Math.exp(r.loss), `${m.ppl} vs ${Math.exp(r.loss)}`);
  model.dispose();
});

test("val on a shard directory reports each source's held-out split", async () => {
  const tok = await byteTokenizer();
  const root = tmp();
  const lines = (f: (i: number) => string) => Array.from({ length: 60 }, (_, i) => JSON.stringify({ text: f(i) })).join("\n") + "\n";
  fs.writeFileSync(path.join(root, "prose.jsonl"), lines((i) => `story number ${i}: the dog ran home and slept.`));
  fs.writeFileSync(path.join(root, "math.jsonl"), lines((i) => `${i} + ${i} = ${2 * i}.`));
  const out = path.join(root, "shards");
  await tokenizeSources({ out, sources: [{ name: "prose", paths: [path.join(root, "prose.jsonl")] }, { name: "math", paths: [path.join(root, "math.jsonl")] }], tokenizer: tok, fingerprint: "0".repeat(32), valFraction: 0.2 });
  const model = tinyModel(be, 4, { maxSeq: 64 });
  const res = await runEvalTasks(model, tok, ["val"], { valData: out, seqLen: 32, limit: 2 });
  assert.deepEqual(res.results.map((r) => r.task), ["val/math", "val/prose"]);
  for (const r of res.results) {
    assert.equal(r.n, 64, `${r.task}: 2 windows of 32`);
    assert.ok(r.metrics.find((m) => m.name === "bpb")!.value > 0);
  }
  // A run checkpoint: `val` alone finds the run's shards, seq_len and eval.tokens in config.resolved.json.
  const run = path.join(root, "runs", "r1");
  fs.mkdirSync(path.join(run, "step-10"), { recursive: true });
  fs.writeFileSync(path.join(run, "config.resolved.json"), JSON.stringify({ config: { data: { dir: out }, batch: { seq_len: 16 }, eval: { tokens: 48 } } }));
  const fromRun = await runEvalTasks(model, tok, ["val"], { modelDir: path.join(run, "step-10") });
  assert.deepEqual(fromRun.results.map((r) => [r.task, r.n, r.extra?.seq_len]), [["val/math", 48, 16], ["val/prose", 48, 16]]);
  assert.equal(fromRun.flat["val/math/loss"], fromRun.results[0].metrics[0].value);
  model.dispose();
});

test("task lists: groups expand, unknown names list the known ones, bad args are rejected", () => {
  assert.deepEqual(parseTaskList(["arc,piqa"]).map((t) => t.spec), ["arc_easy", "arc_challenge", "piqa"]);
  assert.deepEqual(parseTaskList(["gsm8k:3"]).map((t) => t.arg), ["3"]);
  assert.throws(() => parseTaskList(["hellaswg"]), (e: Error) => e instanceof ConfigError && /unknown eval task "hellaswg"; known tasks: hellaswag, arc_easy/.test(e.message));
  assert.throws(() => parseTaskList(["piqa:x"]), /piqa takes no ":ARG"/);
  assert.throws(() => parseTaskList(["gsm8k:five"]), /non-negative integer/);
});

test("smol eval: table, JSON, and one-line errors for bad input", async () => {
  const model = savedTinyModel(be, 6);
  const json = path.join(tmp(), "out.json");
  const ok = await runSmol(["eval", "--model", model, "--tasks", "piqa,winogrande", "--limit", "4", "--json", json]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /task\s+metric\s+value\s+stderr\s+n\s+chance/);
  assert.match(ok.stdout, /piqa\s+acc_norm\s+[\d.]+\s+[\d.]+\s+4\s+0\.500/);
  assert.match(ok.stdout, /winogrande: 4 items in [\d.]+s \([\d.]+ items\/s\)/);
  const doc = JSON.parse(fs.readFileSync(json, "utf8"));
  assert.equal(doc.results.length, 2);
  assert.ok("piqa/acc" in doc.flat);

  const unknown = await runSmol(["eval", "--model", model, "--tasks", "piqa,hellaswg"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown eval task "hellaswg"; known tasks: hellaswag, arc_easy, arc_challenge, piqa/);
  assert.doesNotMatch(unknown.stderr, /\n\s+at /);

  const empty = tmp();
  const missing = await runSmol(["eval", "--model", model, "--tasks", "hellaswag,openbookqa", "--data-dir", empty]);
  assert.equal(missing.code, 1);
  // hellaswag falls back to the bundled copy; openbookqa's validation split is never bundled.
  assert.match(missing.stderr, new RegExp(`openbookqa: data file not found: expected ${path.join(empty, "openbookqa_validation.jsonl").replaceAll("/", "\\/")} \\(or \\.jsonl\\.gz\\), JSONL with one item per line: \\{"question"`));
  assert.match(missing.stderr, /hint: pass --data-dir DIR holding it/);

  const bad = tmp();
  fs.writeFileSync(path.join(bad, "piqa.jsonl"), '{"query": "Question: a\\n", "choices": ["x", "y"], "gold": 0}\n{"query": "Question: b\\n", "choices": ["x", "y"], "gold": 0\n');
  const malformed = await runSmol(["eval", "--model", model, "--tasks", "piqa", "--data-dir", bad]);
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, new RegExp(`${path.join(bad, "piqa.jsonl").replaceAll("/", "\\/")}:2: not valid JSON`));
  fs.writeFileSync(path.join(bad, "piqa.jsonl"), '{"query": "Question: a\\n", "choices": ["x", "y"], "gold": 5}\n');
  const badField = await runSmol(["eval", "--model", model, "--tasks", "piqa", "--data-dir", bad]);
  assert.match(badField.stderr, /piqa\.jsonl:1: field "gold" must be an integer in \[0, 2\); got 5/);

  const noModel = await runSmol(["eval", "--tasks", "piqa"]);
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /eval: missing --model/);
  const help = await runSmol(["eval", "--help"]);
  assert.match(help.stdout, /Usage: smol eval --model DIR --tasks LIST/);
});
