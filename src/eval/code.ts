// Code tasks: HumanEval and MBPP (both bundled). A prompt is completed greedily, cut at the
// task's stop sequences, and the program (prompt + completion + the task's tests) runs in the
// sandbox (sandbox.ts); pass@1 is the fraction that exit 0. A program that hangs, exhausts memory,
// touches the network or writes outside its directory is stopped and counts as a failure; the
// evaluation goes on with the next one.
import { DataError } from "../errors.js";
import { str, strList, type JsonRecord } from "./data.js";
import { runPythonMany, type SandboxLimits, type SandboxResult } from "./sandbox.js";
import { meanWithStderr, type MetricValue } from "./stats.js";

export interface CodeProblem {
  id: string;
  /** The text the model continues. */
  prompt: string;
  /** Appended after prompt + completion: the tests, and the call that runs them. */
  tests: string;
  /**
   * MBPP's test_setup_code, placed after the completion and before the tests: its one use in the
   * test split (task 367) builds objects of a class the solution defines.
   */
  setup: string;
}

/** Codex / HumanEval stop sequences: a new top-level block starts. */
export const HUMANEVAL_STOP = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"];

/** bigcode-evaluation-harness's MBPP stop sequences. */
export const MBPP_STOP = ["\nclass", "\nassert", '\n"""', "\nprint", "\nif", "\n```"];

/** {"task_id", "prompt", "entry_point", "test", …} (openai/human-eval). */
export function humanevalProblem(r: JsonRecord): CodeProblem {
  const entry = str(r, "entry_point");
  return { id: str(r, "task_id"), prompt: str(r, "prompt"), tests: `\n\n${str(r, "test")}\n\ncheck(${entry})\n`, setup: "" };
}

/**
 * MBPP (google-research/mbpp JSONL {"task_id", "text", "code", "test_list", "test_setup_code"}),
 * prompted as bigcode-evaluation-harness does: the description and the first test in a
 * docstring, then the code follows.
 */
export function mbppProblem(r: JsonRecord): CodeProblem {
  const tests = strList(r, "test_list", 1);
  const id = r.value.task_id;
  if (typeof id !== "number" && typeof id !== "string") throw new DataError(`${r.file}:${r.line}: field "task_id" is missing`);
  const setup = typeof r.value.test_setup_code === "string" ? r.value.test_setup_code : "";
  return { id: String(id), prompt: `"""\n${str(r, "text")}\n${tests[0]}\n"""\n`, tests: `\n\n${tests.join("\n")}\n`, setup: setup ? setup + "\n" : "" };
}

/** MBPP's test split: task ids 11–510 (the file may hold all 974 problems). */
export function isMbppTest(r: JsonRecord): boolean {
  const id = Number(r.value.task_id);
  return id >= 11 && id <= 510;
}

/** The program that decides a completion: prompt, completion, setup, tests. */
export function codeProgram(p: CodeProblem, completion: string): string {
  return p.prompt + completion + (p.setup ? "\n" + p.setup : "") + p.tests;
}

export interface CodeEval {
  results: SandboxResult[];
  metrics: { pass_at_1: MetricValue };
  /** How many ended in each way (passed, failed, timeout, memory, blocked). */
  outcomes: Record<string, number>;
}

/** Run every completion's program in the sandbox and score pass@1 (greedy: one sample each). */
export async function scoreCompletions(problems: readonly CodeProblem[], completions: readonly string[], limits: SandboxLimits = {}, onDone?: (done: number, total: number) => void): Promise<CodeEval> {
  const results = await runPythonMany(problems.map((p, i) => codeProgram(p, completions[i])), limits, undefined, onDone);
  const outcomes: Record<string, number> = {};
  for (const r of results) outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
  return { results, metrics: { pass_at_1: meanWithStderr(results.map((r) => (r.status === "passed" ? 1 : 0))) }, outcomes };
}
