// Decontamination: planted GSM8K, ARC and MMLU-format test items (verbatim, re-cased,
// re-punctuated, embedded in longer text) are removed and listed in stats.json; clean documents that
// share only short phrases with benchmark items are kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parsePipeline } from "../../src/curate/config.js";
import { loadBenchItems } from "../../src/curate/benchmarks.js";
import { runCurate } from "../../src/curate/pipeline.js";
import { bundledEvalDir, readJsonlRecords } from "../../src/eval/data.js";
import { readRecords, tmpDir, writeJsonl } from "./helpers.js";

const rec = (file: string, i: number) => readJsonlRecords(path.join(bundledEvalDir(), file))[i].value as Record<string, unknown>;

test("planted benchmark items are removed in every disguise; short shared phrases are not", async () => {
  const dir = tmpDir("decon");
  const g = rec("gsm8k_test.jsonl.gz", 5);
  const arc = rec("arc_challenge.jsonl.gz", 10);
  const arcQ = String(arc.query).replace(/^Question:\s*/, "");
  const arcA = (arc.choices as string[])[arc.gold as number];
  const mmluDir = path.join(dir, "mmlu");
  fs.mkdirSync(mmluDir);
  const mq = "Which of the following best describes the balance the Supreme Court has struck between the establishment clause and the free-exercise clause";
  fs.writeFileSync(path.join(mmluDir, "us_foreign_policy_test.csv"), `"${mq}?",Freedom of speech,"Separation of church and state, with accommodation of religious practice",Taxation,Due process,B\n`);
  const filler = "Our town library reopened this week after a long renovation, and volunteers painted the reading room.";
  const docs = [
    { id: "gsm-verbatim", text: `${g.question}` },
    { id: "gsm-answer-embedded", text: `${filler} Here is how to solve it: ${String(g.answer)} ${filler}` },
    { id: "arc-recased", text: `${arcQ.toUpperCase()} ${arcA.toUpperCase()}` },
    { id: "arc-repunct", text: `${filler}\n${arcQ.replace(/[?,.]/g, " ;")} -- ${arcA}!!\n${filler}` },
    { id: "mmlu-embedded", text: `Quiz night: ${mq.toLowerCase()}? Answer: separation of church and state, with accommodation of religious practice. ${filler}` },
    { id: "clean-short-phrases", text: `Which of the following is true? How many apples does she have left? ${filler} The answer is 42.` },
    { id: "clean", text: filler },
  ];
  writeJsonl(path.join(dir, "docs.jsonl"), docs);
  const p = parsePipeline({ input: { paths: ["docs.jsonl"] }, steps: [{ decontaminate: { ngram: 13, tasks: ["gsm8k", "arc_challenge", "arc_easy", "mmlu:mmlu"] } }] }, dir);
  const res = await runCurate(p, { out: path.join(dir, "out") });
  const kept = readRecords(path.join(dir, "out", "kept")).map((r) => r.id);
  assert.deepEqual(kept, ["clean-short-phrases", "clean"]);
  const removed = readRecords(path.join(dir, "out", "removed", "decontaminate"));
  assert.deepEqual(removed.map((r) => r.id), ["gsm-verbatim", "gsm-answer-embedded", "arc-recased", "arc-repunct", "mmlu-embedded"]);
  assert.ok((removed[0].benchmark_items as string[]).includes("gsm8k#5"));
  assert.ok((removed[2].benchmark_items as string[]).includes("arc_challenge#10"));
  assert.ok((removed[4].benchmark_items as string[]).includes("mmlu#0"));
  const s = res.stats.steps[0] as Record<string, unknown>;
  const hits = s.hits as Array<{ task: string; item: number; documents: number }>;
  assert.deepEqual(hits.find((h) => h.task === "gsm8k" && h.item === 5)?.documents, 2);
  assert.deepEqual(hits.find((h) => h.task === "arc_challenge" && h.item === 10)?.documents, 2);
  assert.equal((s.per_task as Record<string, { items_hit: number }>).mmlu.items_hit, 1);
});

test("every bundled evaluation set yields items with text", () => {
  const items = loadBenchItems(["hellaswag", "arc_easy", "arc_challenge", "piqa", "openbookqa_test", "commonsense_qa", "winogrande", "lambada", "gsm8k"]);
  const per = new Map<string, number>();
  for (const it of items) {
    assert.ok(it.texts.every((t) => t.trim().length > 0), `${it.task}#${it.item} has an empty text`);
    per.set(it.task, (per.get(it.task) ?? 0) + 1);
  }
  assert.equal(per.get("gsm8k"), 1319);
  assert.equal(per.get("hellaswag"), 10042);
  assert.equal(per.get("commonsense_qa"), 1221);
  // CommonsenseQA items carry the gold answer's text, not its letter.
  const csqa = items.find((i) => i.task === "commonsense_qa")!;
  assert.ok(csqa.texts[0].split(" ").length > 4);
});
