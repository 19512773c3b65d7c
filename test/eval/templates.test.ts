// Golden request strings: the first item of every task, as its reference template (lighteval's
// prompt functions, smollm's tasks.py, the BBH/HumanEval/MBPP papers' formats) writes it,
// compared with what `smol eval --dump-requests` produces. A changed template fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { defaultBackend } from "../../src/backend/index.js";
import { bundledEvalDir } from "../../src/eval/data.js";
import { CHATML_TEMPLATE } from "../../src/models/chat.js";
import { requestLine, type TextRequest } from "../../src/eval/requests.js";
import { runEvalTasks } from "../../src/eval/run.js";
import { runSmol } from "../helpers.js";
import { byteTokenizer, savedTinyModel, tinyModel } from "./fixture.js";

const be = defaultBackend().backend;

/** A data folder holding the first `n` lines of every bundled file, plus the user-file tasks' first items. */
function firstItems(n = 2): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-templates-"));
  for (const f of fs.readdirSync(bundledEvalDir()).filter((x) => x.endsWith(".jsonl.gz"))) {
    const lines = gunzipSync(fs.readFileSync(path.join(bundledEvalDir(), f))).toString("utf8").split("\n");
    // MBPP's test split starts at task 11 (line 11); its lines 1-10 are prompting/training problems.
    const keep = f.startsWith("bbh_cot") || f.startsWith("gsm8k_train") ? lines : f.startsWith("mbpp") ? lines.slice(10, 10 + n) : lines.slice(0, n);
    fs.writeFileSync(path.join(dir, f.replace(/\.gz$/, "")), keep.join("\n").trim() + "\n");
  }
  const put = (name: string, recs: object[]) => fs.writeFileSync(path.join(dir, name), recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
  put("mmlu_pro_test.jsonl", [{ question_id: 70, question: "Typical advertising regulatory bodies suggest, for example that adverts must not: encourage _________, cause unnecessary ________ or _____, and must not cause _______ offence.", options: ["Safe practices, Fear, Jealousy, Trivial", "Unsafe practices, Distress, Joy, Trivial"], answer: "B", answer_index: 1, category: "business" }]);
  put("triviaqa_validation.jsonl", [{ question: "Who was the man behind The Chipmunks?", answer: { aliases: ["David Seville", "David Seville and the Chipmunks"], value: "David Seville" } }]);
  put("math_500.jsonl", [{ problem: "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.", solution: "… so $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$", answer: "\\left( 3, \\frac{\\pi}{2} \\right)" }]);
  put("math_fewshot.jsonl", [{ problem: "What is $1+1$?", solution: "$1+1=\\boxed{2}$." }]);
  put("openbookqa_validation.jsonl", [{ id: "8-376", question_stem: "Frilled sharks and angler fish live far beneath the surface of the ocean, which is why they are known as", choices: { text: ["Deep sea animals", "fish", "Long Sea Fish", "Far Sea Animals"], label: ["A", "B", "C", "D"] }, answerKey: "A" }]);
  fs.mkdirSync(path.join(dir, "mmlu"));
  fs.writeFileSync(path.join(dir, "mmlu", "abstract_algebra_test.csv"), "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.,0,1,2,3,B\n");
  return dir;
}

const TASKS = ["hellaswag", "arc_easy", "arc_challenge", "piqa", "openbookqa", "openbookqa_test", "commonsense_qa", "commonsense_qa_mcf", "winogrande", "lambada", "gsm8k:0", "mmlu", "mmlu_mcf", "mmlu_pro", "bbh", "trivia_qa", "math", "humaneval", "mbpp"];

test("the first request of every task is the reference template's, character for character", async () => {
  const tok = await byteTokenizer();
  const model = tinyModel(be, 1, { maxSeq: 4096 });
  const reqs: TextRequest[] = [];
  await runEvalTasks(model, tok, TASKS, { dataDir: firstItems(), requestsOnly: true, onRequest: (r) => reqs.push(r) });
  const first = new Map<string, TextRequest>();
  for (const r of reqs) if (!first.has(r.task)) first.set(r.task, r);
  const ll = (context: string, continuations: string[], gold: number) => ({ kind: "loglikelihood", context, continuations, gold });
  const gen = (context: string, stop: string[], max_new_tokens: number) => ({ kind: "generate", context, stop, max_new_tokens });
  const want: Record<string, object> = {
    hellaswag: ll("Roof shingle removal: A man is sitting on a roof. he", ["  is using wrap to wrap a pair of skis.", "  is ripping level tiles off.", "  is holding a rubik's cube.", "  starts pulling up roofing on a roof."], 3),
    arc_easy: ll("Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:", [" Sunlight is the source of energy for nearly all ecosystems.", " Most ecosystems are found on land instead of in water.", " Carbon dioxide is more available than other gases.", " The producers in all ecosystems are plants."], 0),
    arc_challenge: ll("Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely effect of this increase in rotation?\nAnswer:", [" Planetary density will decrease.", " Planetary years will become longer.", " Planetary days will become shorter.", " Planetary gravity will become stronger."], 2),
    piqa: ll("Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:", [" Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips, you will also need to supply it with a water bottle and a food dish.", " Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material, you will also need to supply it with a water bottle and a food dish."], 0),
    openbookqa: ll("Frilled sharks and angler fish live far beneath the surface of the ocean, which is why they are known as", [" Deep sea animals", " fish", " Long Sea Fish", " Far Sea Animals"], 0),
    openbookqa_test: ll("A person wants to start saving money so that they can afford a nice vacation at the end of the year. After looking over their budget and expenses, they decide the best way to save money is to", [" make more phone calls", " quit eating lunch out", " buy less with monopoly money", " have lunch with friends"], 1),
    commonsense_qa: ll("A revolving door is convenient for two direction travel, but it also serves as a security measure at a what?", [" bank", " library", " department store", " mall", " new york"], 0),
    commonsense_qa_mcf: ll("The following are multiple choice questions (with answers) about common sense.\nQuestion: A revolving door is convenient for two direction travel, but it also serves as a security measure at a what?\nA.  bank\nB.  library\nC.  department store\nD.  mall\nE.  new york\nAnswer:", ["A", "B", "C", "D", "E"], 0),
    winogrande: ll("Sarah was a much better surgeon than Maria so", [" Sarah always got the easier cases.", " Maria always got the easier cases."], 1),
    lambada: ll("In my palm is a clear stone, and inside it is a small ivory statuette. A guardian angel.\n\n\"Figured if you're going to be out at night getting hit by cars, you might as well have some backup.\"\n\nI look at him, feeling stunned. Like this is some sort of sign. But as I stare at Harlin, his mouth curved in a confident grin, I don't care about", [" signs"], 0),
    "gsm8k:0": gen("Question: Janet\u2019s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?\nAnswer:", ["Question:", "Question"], 256),
    mmlu: ll("The following are questions about abstract algebra.\nQuestion: Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nAnswer:", [" 0", " 1", " 2", " 3"], 1),
    mmlu_mcf: ll("The following are multiple choice questions (with answers) about abstract algebra.\n\nFind all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer:", [" A", " B", " C", " D"], 1),
    mmlu_pro: ll("The following are multiple choice questions (with answers) about business.\n\nTypical advertising regulatory bodies suggest, for example that adverts must not: encourage _________, cause unnecessary ________ or _____, and must not cause _______ offence.\nA. Safe practices, Fear, Jealousy, Trivial\nB. Unsafe practices, Distress, Joy, Trivial\nAnswer:", ["A", "B"], 1),
    trivia_qa: gen("Question: Who was the man behind The Chipmunks?\nAnswer:", ["Question:", "Question"], 20),
    math: gen("What is $1+1$?\nPlease reason step by step, and put your final answer within \\boxed{}.\n\n$1+1=\\boxed{2}$.\n\nConvert the point $(0,3)$ in rectangular coordinates to polar coordinates.\nPlease reason step by step, and put your final answer within \\boxed{}.\n\n", ["\n\n"], 1024),
    humaneval: gen('from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    """ Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\n    True\n    """\n', ["\nclass", "\ndef", "\n#", "\nif", "\nprint"], 512),
    mbpp: gen('"""\nWrite a python function to remove first and last occurrence of a given character from the string.\nassert remove_Occ("hello","l") == "heo"\n"""\n', ["\nclass", "\nassert", '\n"""', "\nprint", "\nif", "\n```"], 512),
  };
  for (const [task, w] of Object.entries(want)) {
    const got = first.get(task);
    assert.ok(got, `${task}: no request`);
    const { task: _t, doc_id, ...rest } = got!;
    assert.equal(doc_id, 0, task);
    assert.deepEqual(rest, w, `${task}: request differs from the reference template`);
  }
  // BBH: Suzgun et al.'s CoT prompt (description, 3 shots) then the question.
  const bbh = first.get("bbh")!;
  assert.equal(bbh.kind, "generate");
  assert.ok(bbh.context.startsWith("Evaluate the result of a random Boolean expression.\n\nQ: not ( ( not not True ) ) is\nA: Let's think step by step.\n"), bbh.context.slice(0, 200));
  assert.ok(bbh.context.endsWith("So the answer is True.\n\nQ: not ( True ) and ( True ) is\nA: Let's think step by step."), bbh.context.slice(-200));
  assert.equal(bbh.context.split("\n\nQ: ").length, 5);
  assert.ok(!bbh.context.includes("canary"));
  model.dispose();
});

test("smol eval --dump-requests writes one JSON line per request in the contract's shape, and scores nothing", async () => {
  const dir = savedTinyModel(be, 3, { maxSeq: 512 });
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "smol-dump-")), "req.jsonl");
  const r = await runSmol(["eval", "--model", dir, "--tasks", "arc_easy,gsm8k", "--limit", "3", "--dump-requests", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote 6 requests/);
  const lines = fs.readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 6);
  assert.deepEqual(Object.keys(lines[0]), ["task", "doc_id", "kind", "context", "continuations", "gold"]);
  assert.deepEqual(Object.keys(lines[3]), ["task", "doc_id", "kind", "context", "stop", "max_new_tokens"]);
  assert.deepEqual(lines.map((l) => l.kind), ["loglikelihood", "loglikelihood", "loglikelihood", "generate", "generate", "generate"]);
  // Same seed, same sample; the line text is requestLine's.
  const again = path.join(path.dirname(out), "again.jsonl");
  await runSmol(["eval", "--model", dir, "--tasks", "arc_easy,gsm8k", "--limit", "3", "--dump-requests", again]);
  assert.equal(fs.readFileSync(again, "utf8"), fs.readFileSync(out, "utf8"));
  assert.equal(requestLine(lines[0]), fs.readFileSync(out, "utf8").split("\n")[0]);
});

test("--chat wraps each prompt in the chat template's user turn; smollm2 becomes the instruct table", async () => {
  const dir = savedTinyModel(be, 3, { maxSeq: 512 });
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "smol-chat-")), "req.jsonl");
  // A model without a chat template is refused (no silent fallback); with SmolLM2's ChatML it runs.
  const none = await runSmol(["eval", "--model", dir, "--tasks", "arc_easy", "--limit", "1", "--chat", "--dump-requests", out]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /has no chat template/);
  fs.writeFileSync(path.join(dir, "chat_template.jinja"), CHATML_TEMPLATE);
  const r = await runSmol(["eval", "--model", dir, "--tasks", "arc_easy", "--limit", "1", "--chat", "--dump-requests", out]);
  assert.equal(r.code, 0, r.stderr);
  const line = JSON.parse(fs.readFileSync(out, "utf8").trim());
  assert.ok(line.context.startsWith("<|im_start|>user\nQuestion: "), line.context);
  assert.ok(line.context.endsWith("\nAnswer:<|im_end|>\n<|im_start|>assistant"), line.context);
  assert.ok(line.continuations.every((c: string) => c.startsWith("\n ")));
  // The base table needs MMLU first; the instruct table asks for MMLU-Pro instead.
  const base = await runSmol(["eval", "--model", dir, "--tasks", "smollm2", "--limit", "1"]);
  assert.match(base.stderr, /mmlu: no \*_test\.csv files/);
  const chat = await runSmol(["eval", "--model", dir, "--tasks", "smollm2", "--chat", "--limit", "1"]);
  assert.match(chat.stderr, /mmlu_pro: data file not found: expected .*mmlu_pro_test\.jsonl/);
  assert.equal(chat.stderr.trim().split("\n").length, 2, "one error line and its hint");
});
