// IFEval checkers against the reference implementation: its per-prompt strict and loose results on
// the GPT-4 responses it ships (even keys, bundled in data/eval/ifeval), through the CLI contract
// `smol eval --tasks ifeval --responses FILE --details DIR` and in the reference's file format;
// plus the text utilities on cases with known answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { INSTRUCTIONS } from "../../src/eval/ifeval/instructions.js";
import { countWords, splitIntoSentences, pyIsUpper, pyIsLower } from "../../src/eval/ifeval/text.js";
import { packageRoot } from "../../src/util/paths.js";
import { runSmol } from "../helpers.js";

const D = path.join(packageRoot(), "data/eval/ifeval");
const readLines = (f: string) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l));

/**
 * Known, explained differences from the reference (keys): 1122 asks for the frequency of "#",
 * which the reference replaces by a random letter (its strict and loose runs disagree); 1174's loose
 * variant needs nltk's punkt sentence tokenizer, which the reference uses to count sentences.
 */
const KNOWN = { strict: new Set<number>(), loose: new Set([1122, 1174]) };

test("smol eval --tasks ifeval --responses reproduces the reference's per-prompt strict and loose results", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "smol-ifeval-"));
  const r = await runSmol(["eval", "--tasks", "ifeval", "--responses", path.join(D, "input_response_data_gpt4_20231107_145030.jsonl"), "--details", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /prompt_level_strict_acc/);
  assert.match(r.stderr, /1 IFEval prompt\(s\) have no response/);
  for (const kind of ["strict", "loose"] as const) {
    const mine = new Map(readLines(path.join(out, `eval_results_${kind}.jsonl`)).map((x) => [x.key, x]));
    assert.equal(mine.size, 540, "one line per answered prompt, as the reference");
    const ref = readLines(path.join(D, `eval_results_${kind}.even_keys.jsonl`));
    assert.equal(ref.length, 242);
    const bad: number[] = [];
    for (const want of ref) {
      const got = mine.get(want.key);
      assert.ok(got, `key ${want.key} missing`);
      assert.deepEqual(Object.keys(got).sort(), ["follow_all_instructions", "follow_instruction_list", "instruction_id_list", "key", "prompt", "response"]);
      assert.equal(got.prompt, want.prompt);
      if (JSON.stringify(got.follow_instruction_list) !== JSON.stringify(want.follow_instruction_list) || got.follow_all_instructions !== want.follow_all_instructions) bad.push(want.key);
    }
    assert.deepEqual(bad.filter((k) => !KNOWN[kind].has(k)), [], `${kind}: prompts whose results differ from the reference`);
    assert.ok(bad.length <= KNOWN[kind].size);
  }
  const bad = await runSmol(["eval", "--tasks", "hellaswag", "--responses", path.join(D, "input_data.jsonl")]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--responses scores IFEval only/);
});

test("IFEval text utilities and checkers on known cases", () => {
  // As the reference: "p.m." is not an acronym of capitals, so no sentence ends there.
  assert.deepEqual(splitIntoSentences("Dr. Smith went to Washington. He arrived at 3.45 p.m. It was late! Really?"), ["Dr. Smith went to Washington.", "He arrived at 3.45 p.m. It was late!", "Really?"]);
  assert.equal(countWords("Hello, world — it's 2024_x!"), 5);
  assert.ok(pyIsUpper("HELLO 123!") && !pyIsUpper("123") && !pyIsUpper("HeLLO"));
  assert.ok(pyIsLower("hello, world") && !pyIsLower("Hello"));
  assert.equal(INSTRUCTIONS["punctuation:no_comma"]({})("a, b"), false);
  assert.equal(INSTRUCTIONS["detectable_format:title"]({})("<<My Title>>\nbody"), true);
  assert.equal(INSTRUCTIONS["detectable_format:number_bullet_lists"]({ num_bullets: 2 })("* one\n* two\ntext"), true);
  assert.equal(INSTRUCTIONS["length_constraints:number_paragraphs"]({ num_paragraphs: 2 })("a\n***\nb"), true);
  assert.equal(INSTRUCTIONS["keywords:frequency"]({ keyword: "cat", frequency: 2, relation: "at least" })("Cat and cat"), true);
  assert.equal(INSTRUCTIONS["change_case:english_lowercase"]({})("this is a plain english sentence about the weather today."), true);
  assert.equal(INSTRUCTIONS["language:response_language"]({ language: "de" })("Das ist ein kurzer deutscher Satz über das Wetter und die Stadt."), true);
  assert.equal(INSTRUCTIONS["combination:two_responses"]({})("first answer******second answer"), true);
});
