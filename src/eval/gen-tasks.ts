// The generative tasks of SmolLM2's tables besides GSM8K: BBH (3-shot chain of thought, exact
// match on "So the answer is …"), TriviaQA (alias-normalised exact match), MATH (4-shot,
// \boxed{} extraction and normalisation), HumanEval and MBPP (pass@1 in the sandbox). Each loads
// its items (a seeded --limit sample), builds a prompt per item with a number of whole shots that
// generative.ts may reduce to fit, and scores the generated texts.
import * as path from "node:path";
import { DataError } from "../errors.js";
import { HUMANEVAL_STOP, humanevalProblem, isMbppTest, MBPP_STOP, mbppProblem, scoreCompletions, type CodeProblem } from "./code.js";
import { findEvalFile, readJsonlRecords, sampleItems, str, type JsonRecord } from "./data.js";
import { lastBoxed, mathCorrect } from "./math-answer.js";
import { meanWithStderr, type MetricValue } from "./stats.js";

export interface GenItem {
  /** Index in the task's data (doc_id). */
  id: number;
  /** The prompt with the first k shots. */
  build: (k: number) => string;
  /** Shots available (build(shots) is the full prompt). */
  shots: number;
}

export interface GenScore {
  metric: string;
  value: MetricValue;
  extra?: Record<string, unknown>;
}

export interface GenTask {
  stop: readonly string[];
  maxNewTokens: number;
  /** Check data files exist (before any model work); returns them. */
  locate(dataDir: string, arg?: string): string[];
  load(dataDir: string, limit: number | undefined, seed: number, arg?: string): GenItem[];
  score(items: readonly GenItem[], outputs: readonly string[], onProgress?: (done: number, total: number) => void): Promise<GenScore>;
}

// --- BBH ---------------------------------------------------------------------------------------

const BBH_FORMAT = '{"subtask", "input", "target"} (bundled from suzgunmirac/BIG-Bench-Hard)';

/** A BBH chain-of-thought prompt file split into its task description and its shots ("Q: …\nA: …"). */
export function parseCotPrompt(text: string): { description: string; shots: string[] } {
  const body = text.includes("-----\n") ? text.slice(text.indexOf("-----\n") + 6) : text;
  const parts = body.trim().split(/\n\nQ: /);
  return { description: parts[0].trim(), shots: parts.slice(1).map((p) => "Q: " + p.trim()) };
}

/** Suzgun et al.'s CoT layout: description, shots, then "Q: {input}\nA: Let's think step by step." — blocks joined by blank lines. */
export function bbhPrompt(description: string, shots: readonly string[], input: string): string {
  return [description, ...shots, `Q: ${input}\nA: Let's think step by step.`].join("\n\n");
}

/** The answer a chain of thought commits to: after the first "So the answer is", without a final period. */
export function bbhAnswer(output: string): string | undefined {
  const m = /So the answer is\s+(.*?)(?:\.\s*$|\.\n|\n|$)/.exec(output);
  return m ? m[1].trim() : undefined;
}

const bbhTargets = new WeakMap<GenItem, { subtask: string; target: string }>();

export const BBH: GenTask = {
  stop: ["\n\nQ:", "\n\n"],
  maxNewTokens: 256,
  locate: (dir) => [findEvalFile(dir, "bbh", "bbh", BBH_FORMAT), findEvalFile(dir, "bbh_cot_prompts", "bbh", '{"subtask", "prompt"} (the cot-prompts/*.txt files)')],
  load(dir, limit, seed) {
    const [file, promptFile] = BBH.locate(dir);
    const prompts = new Map(readJsonlRecords(promptFile).map((r) => [str(r, "subtask"), parseCotPrompt(str(r, "prompt"))]));
    const recs = readJsonlRecords(file);
    return sampleItems(recs.length, limit, seed, "bbh").map((id) => {
      const r = recs[id];
      const subtask = str(r, "subtask");
      const p = prompts.get(subtask);
      if (!p) throw new DataError(`${r.file}:${r.line}: no chain-of-thought prompt for subtask "${subtask}"`);
      const input = str(r, "input");
      const item: GenItem = { id, shots: p.shots.length, build: (k) => bbhPrompt(p.description, p.shots.slice(0, k), input) };
      bbhTargets.set(item, { subtask, target: str(r, "target").trim() });
      return item;
    });
  },
  async score(items, outputs) {
    const per: Record<string, number[]> = {};
    const hits = items.map((it, i) => {
      const { subtask, target } = bbhTargets.get(it)!;
      const ok = bbhAnswer(outputs[i]) === target ? 1 : 0;
      (per[subtask] ??= []).push(ok);
      return ok;
    });
    const subtasks = Object.fromEntries(Object.entries(per).map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / v.length]));
    return { metric: "em", value: meanWithStderr(hits), extra: { subtasks } };
  },
};

// --- TriviaQA ----------------------------------------------------------------------------------

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** lighteval's TriviaQA normalisation: lower case, ASCII punctuation removed, trimmed. */
export function triviaNormalize(s: string): string {
  return s.toLowerCase().replace(PUNCT, "").trim();
}

/** lighteval's triviaqa prompt keeps, of the sorted aliases, only those without a kept alias as prefix. */
export function removePrefixes(aliases: readonly string[]): string[] {
  const sorted = [...aliases].sort();
  const out = [sorted[0]];
  for (const a of sorted.slice(1)) if (!a.startsWith(out[out.length - 1])) out.push(a);
  return out;
}

function triviaAliases(r: JsonRecord): string[] {
  const a = r.value.answer;
  const list = typeof a === "object" && a !== null && !Array.isArray(a) ? (a as Record<string, unknown>).aliases : r.value.answers;
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== "string")) throw new DataError(`${r.file}:${r.line}: expected "answer": {"aliases": [strings]} (or "answers": [strings])`);
  return list as string[];
}

const triviaGold = new WeakMap<GenItem, string[]>();

export const TRIVIAQA: GenTask = {
  stop: ["Question:", "Question"],
  maxNewTokens: 20,
  locate: (dir) => [findEvalFile(dir, "triviaqa_validation", "trivia_qa", '{"question", "answer": {"aliases": [...]}} (mandarjoshi/trivia_qa rc.nocontext validation, not bundled)')],
  load(dir, limit, seed) {
    const recs = readJsonlRecords(TRIVIAQA.locate(dir)[0]);
    return sampleItems(recs.length, limit, seed, "trivia_qa").map((id) => {
      const r = recs[id];
      const q = str(r, "question");
      const item: GenItem = { id, shots: 0, build: () => `Question: ${q}\nAnswer:` };
      triviaGold.set(item, removePrefixes(triviaAliases(r)).map(triviaNormalize));
      return item;
    });
  },
  async score(items, outputs) {
    const hits = items.map((it, i) => (triviaGold.get(it)!.includes(triviaNormalize(outputs[i])) ? 1 : 0));
    return { metric: "em", value: meanWithStderr(hits) };
  },
};

// --- MATH --------------------------------------------------------------------------------------

/** SmolLM2's prompt_math query. */
export function mathQuery(problem: string): string {
  return `${problem}\nPlease reason step by step, and put your final answer within \\boxed{}.\n\n`;
}

const mathGold = new WeakMap<GenItem, string>();

export const MATH: GenTask = {
  stop: ["\n\n"],
  maxNewTokens: 1024,
  locate: (dir, arg) => [
    findEvalFile(dir, "math_500", "math", '{"problem", "solution", "answer"} (MATH-500: openai/prm800k prm800k/math_splits/test.jsonl; bundled as data/eval/math_500.jsonl.gz, a file in --data-dir replaces it)'),
    ...(arg === "0" ? [] : [findEvalFile(dir, "math_fewshot", "math (shots)", '{"problem", "solution"} per line: the 4 demonstrations, not bundled (SmolLM2 used HuggingFaceTB/math_tasks "demo", whose content could not be obtained); run math:0 for zero-shot on the bundled MATH-500')]),
  ],
  load(dir, limit, seed, arg) {
    const files = MATH.locate(dir, arg);
    const shots = files[1] ? readJsonlRecords(files[1]).slice(0, 4).map((r) => mathQuery(str(r, "problem")) + `${str(r, "solution")}\n\n`) : [];
    const recs = readJsonlRecords(files[0]);
    return sampleItems(recs.length, limit, seed, "math").map((id) => {
      const r = recs[id];
      const q = mathQuery(str(r, "problem"));
      const item: GenItem = { id, shots: shots.length, build: (k) => shots.slice(0, k).join("") + q };
      const answer = typeof r.value.answer === "string" ? r.value.answer : lastBoxed(str(r, "solution"));
      if (answer === undefined) throw new DataError(`${r.file}:${r.line}: no "answer" field and no \\boxed{} in "solution"`);
      mathGold.set(item, answer);
      return item;
    });
  },
  async score(items, outputs) {
    return { metric: "em", value: meanWithStderr(items.map((it, i) => (mathCorrect(outputs[i], mathGold.get(it)!) ? 1 : 0))) };
  },
};

// --- code --------------------------------------------------------------------------------------

const codeProblems = new WeakMap<GenItem, CodeProblem>();

function codeTask(name: string, file: string, format: string, parse: (r: JsonRecord) => CodeProblem, keep: (r: JsonRecord) => boolean, stop: readonly string[]): GenTask {
  const task: GenTask = {
    stop,
    maxNewTokens: 512,
    locate: (dir) => [findEvalFile(dir, file, name, format)],
    load(dir, limit, seed) {
      const recs = readJsonlRecords(task.locate(dir)[0]).filter(keep);
      if (recs.length === 0) throw new DataError(`${name}: ${path.basename(task.locate(dir)[0])} holds no test problems`);
      return sampleItems(recs.length, limit, seed, name).map((id) => {
        const p = parse(recs[id]);
        const item: GenItem = { id, shots: 0, build: () => p.prompt };
        codeProblems.set(item, p);
        return item;
      });
    },
    async score(items, outputs, onProgress) {
      const r = await scoreCompletions(items.map((it) => codeProblems.get(it)!), outputs, { timeoutS: 10, memoryMb: 1024 }, onProgress);
      return { metric: "pass_at_1", value: r.metrics.pass_at_1, extra: { outcomes: r.outcomes } };
    },
  };
  return task;
}

export const HUMANEVAL = codeTask("humaneval", "humaneval", '{"task_id", "prompt", "entry_point", "test"} (openai/human-eval)', humanevalProblem, () => true, HUMANEVAL_STOP);
export const MBPP = codeTask("mbpp", "mbpp", '{"task_id", "text", "code", "test_list", "test_setup_code"} (google-research mbpp.jsonl, bundled; test split = ids 11-510)', mbppProblem, isMbppTest, MBPP_STOP);
