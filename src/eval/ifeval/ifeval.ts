// IFEval scoring (the reference's evaluation_main): each prompt's instructions checked on a
// response strictly, and loosely (the best of the response with its first and/or last line
// removed and/or "*" removed), giving prompt-level and instruction-level accuracy, and the
// reference's per-prompt result files (eval_results_strict.jsonl / eval_results_loose.jsonl).
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { INSTRUCTIONS } from "./instructions.js";
import { pyStrip } from "./text.js";

export interface IfevalPrompt {
  key: number;
  prompt: string;
  instruction_id_list: string[];
  kwargs: Array<Record<string, unknown>>;
}

export interface IfevalResult {
  key: number;
  follow_all_instructions: boolean;
  follow_instruction_list: boolean[];
  instruction_id_list: string[];
  prompt: string;
  response: string;
}

export interface IfevalScores {
  prompt_level_strict_acc: number;
  inst_level_strict_acc: number;
  prompt_level_loose_acc: number;
  inst_level_loose_acc: number;
  prompts: number;
  instructions: number;
}

function readJsonl<T>(file: string): T[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return text.split("\n").flatMap((line, i) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as T];
    } catch (e) {
      throw new DataError(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
  });
}

export function readIfevalPrompts(file: string): IfevalPrompt[] {
  return readJsonl<IfevalPrompt>(file);
}

/** The reference's {"prompt", "response"} lines, as a map from prompt to response. */
export function readResponses(file: string): Map<string, string> {
  const m = new Map<string, string>();
  readJsonl<{ prompt?: unknown; response?: unknown }>(file).forEach((r, i) => {
    if (typeof r.prompt !== "string" || typeof r.response !== "string") throw new DataError(`${file}:${i + 1}: each line needs string "prompt" and "response" fields`);
    m.set(r.prompt, r.response);
  });
  return m;
}

function checkers(p: IfevalPrompt) {
  return p.instruction_id_list.map((id, i) => {
    const make = INSTRUCTIONS[id];
    if (!make) throw new DataError(`IFEval prompt ${p.key}: unknown instruction "${id}"`);
    // As the reference: only truthy kwargs are passed.
    const kw = Object.fromEntries(Object.entries(p.kwargs[i] ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== "" && v !== 0));
    if (id === "combination:repeat_prompt" && kw.prompt_to_repeat === undefined) kw.prompt_to_repeat = p.prompt;
    return make(kw);
  });
}

export function scoreStrict(p: IfevalPrompt, response: string): IfevalResult {
  const list = checkers(p).map((c) => pyStrip(response) !== "" && c(response));
  return { key: p.key, follow_all_instructions: list.every(Boolean), follow_instruction_list: list, instruction_id_list: p.instruction_id_list, prompt: p.prompt, response };
}

export function scoreLoose(p: IfevalPrompt, response: string): IfevalResult {
  const lines = response.split("\n");
  const first = pyStrip(lines.slice(1).join("\n"));
  const last = pyStrip(lines.slice(0, -1).join("\n"));
  const both = pyStrip(lines.slice(1, -1).join("\n"));
  const variants = [response, response.replaceAll("*", ""), first, last, both, first.replaceAll("*", ""), last.replaceAll("*", ""), both.replaceAll("*", "")];
  const list = checkers(p).map((c) => variants.some((r) => pyStrip(r) !== "" && c(r)));
  return { key: p.key, follow_all_instructions: list.every(Boolean), follow_instruction_list: list, instruction_id_list: p.instruction_id_list, prompt: p.prompt, response };
}

/**
 * Score every prompt that has a response (matched by its exact text, as the reference does); the
 * keys of prompts without one are listed in `missing` and left out, as in the reference's results.
 */
export function scoreAll(prompts: readonly IfevalPrompt[], responses: Map<string, string>): { strict: IfevalResult[]; loose: IfevalResult[]; scores: IfevalScores; missing: number[] } {
  const missing = prompts.filter((p) => !responses.has(p.prompt)).map((p) => p.key);
  if (missing.length === prompts.length) throw new DataError(`none of the ${prompts.length} IFEval prompts has a response`, "the responses file needs one {\"prompt\", \"response\"} line per prompt, with the prompt text exactly as in the input data");
  const answered = prompts.filter((p) => responses.has(p.prompt));
  const strict = answered.map((p) => scoreStrict(p, responses.get(p.prompt)!));
  const loose = answered.map((p) => scoreLoose(p, responses.get(p.prompt)!));
  const acc = (rs: IfevalResult[]) => ({
    prompt: rs.filter((r) => r.follow_all_instructions).length / rs.length,
    inst: rs.flatMap((r) => r.follow_instruction_list).filter(Boolean).length / rs.flatMap((r) => r.follow_instruction_list).length,
  });
  const s = acc(strict), l = acc(loose);
  return {
    strict, loose, missing,
    scores: { prompt_level_strict_acc: s.prompt, inst_level_strict_acc: s.inst, prompt_level_loose_acc: l.prompt, inst_level_loose_acc: l.inst, prompts: answered.length, instructions: strict.flatMap((r) => r.follow_instruction_list).length },
  };
}

/** Write DIR/eval_results_strict.jsonl and DIR/eval_results_loose.jsonl (one line per prompt). */
export function writeDetails(dir: string, strict: IfevalResult[], loose: IfevalResult[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const lines = (rs: IfevalResult[]) => rs.map((r) => JSON.stringify(r)).join("\n") + "\n";
  writeFileAtomic(path.join(dir, "eval_results_strict.jsonl"), lines(strict));
  writeFileAtomic(path.join(dir, "eval_results_loose.jsonl"), lines(loose));
}
