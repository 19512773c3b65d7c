// The task registry: every task's name, kind, data file and format, and the groups (`all`,
// `mc`, `arc`) a --tasks list may name. Task specs are `name` or `name:ARG` (val:FILE|DIR,
// mmlu:DIR, gsm8k:K shots). Parsing checks names up front and lists the known ones on a typo.
import * as path from "node:path";
import { ConfigError } from "../errors.js";
import { findEvalFile, readJsonlRecords, sampleItems, type JsonRecord } from "./data.js";
import type { ChoiceDoc } from "./encode.js";
import { BBH, HUMANEVAL, MATH, MBPP, TRIVIAQA, type GenTask } from "./gen-tasks.js";
import { findMmluFiles, readMmlu } from "./mmlu.js";
import {
  arcDoc, commonsenseQaDoc, commonsenseQaMcfDoc, hellaswagDoc, mmluClozeDoc, mmluMcfDoc, mmluProDoc, openbookqaDoc, piqaDoc, winograndeDoc,
} from "./prompts.js";

export type TaskKind = "mc" | "lambada" | "gsm8k" | "gen" | "val";

export interface TaskDef {
  name: string;
  kind: TaskKind;
  summary: string;
  /** Data file base name (NAME.jsonl[.gz] in the data directory), for bundled tasks. */
  file?: string;
  /** The record format, for missing-file messages. */
  format?: string;
  /** Metrics reported (multiple choice: acc only when acc_norm equals it by construction). */
  metrics: string[];
  /** What `name:ARG` means, when the task takes one. */
  arg?: string;
  /** Multiple choice: a record to a scored item. */
  doc?: (r: JsonRecord) => ChoiceDoc;
  /** Multiple choice from MMLU CSVs instead of JSONL. */
  mmlu?: "cloze" | "mcf";
  /** Generative tasks other than GSM8K. */
  gen?: GenTask;
}

const LLMF = '{"query": "Question: …", "choices": [strings], "gold": index}';
const HF_MC = '{"question" (or "question_stem"), "choices": {"text": [...], "label": ["A", …]}, "answerKey": "A"} (Hugging Face export) or AI2\'s {"question": {"stem", "choices": [{"text", "label"}]}, "answerKey"}';

export const TASKS: readonly TaskDef[] = [
  { name: "hellaswag", kind: "mc", summary: "HellaSwag validation (10,042), sentence completion (SmolLM2's prompt_hellaswag)", file: "hellaswag_val", format: '{"activity_label", "ctx_a", "ctx_b", "endings": [4], "label"} (rowanz/hellaswag) or the bundled export {"ctx", "endings", "label"}', metrics: ["acc", "acc_norm"], doc: hellaswagDoc },
  { name: "arc_easy", kind: "mc", summary: "ARC-Easy test (2,376), science questions", file: "arc_easy", format: LLMF, metrics: ["acc", "acc_norm"], doc: arcDoc },
  { name: "arc_challenge", kind: "mc", summary: "ARC-Challenge test (1,172)", file: "arc_challenge", format: LLMF, metrics: ["acc", "acc_norm"], doc: arcDoc },
  { name: "piqa", kind: "mc", summary: "PIQA validation (1,838), physical commonsense", file: "piqa", format: '{"query": "Question: goal\\n", "choices": [2 strings], "gold": 0|1}', metrics: ["acc", "acc_norm"], doc: piqaDoc },
  { name: "openbookqa", kind: "mc", summary: "OpenBookQA validation (500), SmolLM2's split (your file: not bundled)", file: "openbookqa_validation", format: HF_MC, metrics: ["acc", "acc_norm"], doc: openbookqaDoc },
  { name: "openbookqa_test", kind: "mc", summary: "OpenBookQA test (500) (not SmolLM2's split)", file: "openbook_qa", format: '{"query": question_stem, "choices": [strings], "gold": index}', metrics: ["acc", "acc_norm"], doc: openbookqaDoc },
  { name: "commonsense_qa", kind: "mc", summary: "CommonsenseQA validation (1,221, 5 options), cloze (SmolLM2's prompt_commonsense_qa)", file: "commonsense_qa_validation", format: HF_MC, metrics: ["acc", "acc_norm"], doc: commonsenseQaDoc },
  { name: "commonsense_qa_mcf", kind: "mc", summary: "CommonsenseQA validation, letter form (lighteval commonsense_qa)", file: "commonsense_qa_validation", format: HF_MC, metrics: ["acc"], doc: commonsenseQaMcfDoc },
  { name: "winogrande", kind: "mc", summary: 'Winogrande dev (1,267): " {option} {rest}" after the text before the blank', file: "winogrande", format: '{"sentence", "option1", "option2", "answer"} or {"context_options": [2], "continuation", "gold"}', metrics: ["acc", "acc_norm"], doc: winograndeDoc },
  { name: "lambada", kind: "lambada", summary: "LAMBADA (OpenAI) test (5,153): greedy last word and its perplexity", file: "lambada_openai", format: '{"context": "…", "continuation": "last word"}', metrics: ["acc", "ppl"] },
  { name: "gsm8k", kind: "gsm8k", summary: "GSM8K test (1,319), 5-shot greedy generation, strict exact match", file: "gsm8k_test", format: '{"question": "…", "answer": "… #### n"}', metrics: ["em_strict", "em"], arg: "K: number of shots (default 5, or --shots)" },
  { name: "mmlu_pro", kind: "mc", summary: "MMLU-Pro test (12,032, up to 10 options), letter form as smollm scores it (your file: not bundled)", file: "mmlu_pro_test", format: '{"question", "options": [...], "answer_index", "category"} (TIGER-Lab/MMLU-Pro test as JSONL)', metrics: ["acc", "acc_norm"], doc: mmluProDoc },
  { name: "bbh", kind: "gen", summary: "BIG-Bench Hard (27 subtasks, 6,511), 3-shot chain of thought, exact match", metrics: ["em"], gen: BBH },
  { name: "trivia_qa", kind: "gen", summary: "TriviaQA rc.nocontext validation, greedy answer, alias-normalised exact match (your file)", metrics: ["em"], gen: TRIVIAQA },
  { name: "math", kind: "gen", summary: "MATH-500 (500, bundled), 4-shot, \\boxed{} answer, normalised exact match (the 4 demonstrations: your file; math:0 needs none)", metrics: ["em"], gen: MATH, arg: "0: zero-shot (no demonstrations file needed)" },
  { name: "humaneval", kind: "gen", summary: "HumanEval (164), pass@1 of the greedy completion run in a sandbox (needs python3)", metrics: ["pass_at_1"], gen: HUMANEVAL },
  { name: "mbpp", kind: "gen", summary: "MBPP test (500, ids 11-510), pass@1 of the greedy completion run in a sandbox (needs python3)", metrics: ["pass_at_1"], gen: MBPP },
  { name: "mmlu", kind: "mc", summary: "MMLU test, cloze form (needs your MMLU CSVs)", metrics: ["acc", "acc_norm"], mmlu: "cloze", arg: "DIR: the MMLU data folder (default <data-dir>/mmlu)" },
  { name: "mmlu_mcf", kind: "mc", summary: "MMLU test, multiple-choice-letter form (needs your MMLU CSVs)", metrics: ["acc"], mmlu: "mcf", arg: "DIR: the MMLU data folder (default <data-dir>/mmlu)" },
  { name: "val", kind: "val", summary: "validation loss, perplexity and bits per byte of a text/JSONL file or a shard directory's val split (per source)", metrics: ["loss", "ppl", "bpb"], arg: "PATH: text/JSONL file or shard directory (or --data; default: a run checkpoint's data)" },
];

/** Named groups of tasks. */
export const GROUPS: Readonly<Record<string, readonly string[]>> = {
  all: ["hellaswag", "arc_easy", "arc_challenge", "piqa", "commonsense_qa", "winogrande", "lambada", "gsm8k"],
  mc: ["hellaswag", "arc_easy", "arc_challenge", "piqa", "commonsense_qa", "winogrande"],
  arc: ["arc_easy", "arc_challenge"],
  /** SmolLM2's base-model table (MMLU in cloze form; ARC reported as the easy/challenge average). */
  smollm2: ["hellaswag", "arc_easy", "arc_challenge", "piqa", "mmlu", "commonsense_qa", "trivia_qa", "winogrande", "openbookqa", "gsm8k", "mmlu_pro", "math", "humaneval", "mbpp"],
  /** SmolLM2's instruct table (`smollm2` with --chat); IFEval comes with post-training. */
  smollm2_instruct: ["hellaswag", "arc_easy", "arc_challenge", "piqa", "mmlu_pro", "bbh", "gsm8k"],
};

export interface TaskSpec {
  /** As written (e.g. "val:data/x.jsonl"). */
  spec: string;
  def: TaskDef;
  arg?: string;
}

export function findTask(name: string): TaskDef | undefined {
  return TASKS.find((t) => t.name === name);
}

/** Every task and group name, for messages and help. */
export function knownTaskNames(): string {
  return `${TASKS.map((t) => t.name).join(", ")}; groups: ${Object.entries(GROUPS).map(([g, l]) => `${g} (${l.join(", ")})`).join("; ")}`;
}

/** Expand a comma list of task specs and groups; unknown names are a ConfigError listing the known ones. */
export function parseTaskList(list: readonly string[]): TaskSpec[] {
  const out: TaskSpec[] = [];
  const seen = new Set<string>();
  const add = (spec: string) => {
    if (seen.has(spec)) return;
    const colon = spec.indexOf(":");
    const name = colon < 0 ? spec : spec.slice(0, colon);
    const arg = colon < 0 ? undefined : spec.slice(colon + 1);
    const def = findTask(name);
    if (!def) throw new ConfigError(`unknown eval task "${spec}"; known tasks: ${knownTaskNames()}`);
    if (arg !== undefined && (def.arg === undefined || arg === "")) throw new ConfigError(`eval task "${spec}": ${def.arg === undefined ? `${name} takes no ":ARG"` : `empty ARG (${def.arg})`}`);
    if (def.name === "math" && arg !== undefined && arg !== "0") throw new ConfigError(`eval task "${spec}": math takes only ":0" (zero-shot)`);
    if (def.kind === "gsm8k" && arg !== undefined && !/^\d+$/.test(arg)) throw new ConfigError(`eval task "${spec}": the number of shots must be a non-negative integer`);
    seen.add(spec);
    out.push({ spec, def, arg });
  };
  for (const raw of list.flatMap((s) => s.split(","))) {
    const s = raw.trim();
    if (s === "") continue;
    if (s in GROUPS) GROUPS[s].forEach(add);
    else add(s);
  }
  if (out.length === 0) throw new ConfigError(`no eval tasks given; known tasks: ${knownTaskNames()}`);
  return out;
}

/** Check a multiple-choice or file task's data exists (before any model work); returns the file or folder. */
export function locateTaskData(t: TaskSpec, dataDir: string): string | undefined {
  if (t.def.mmlu) {
    findMmluFiles(mmluDir(t, dataDir));
    return mmluDir(t, dataDir);
  }
  if (t.def.gen) return t.def.gen.locate(dataDir, t.arg)[0];
  if (t.def.file) return findEvalFile(dataDir, t.def.file, t.def.name, t.def.format ?? "");
  return undefined;
}

function mmluDir(t: TaskSpec, dataDir: string): string {
  return t.arg ?? path.join(dataDir, "mmlu");
}

/** One item of a task: its index in the full data file (lighteval's doc_id) and the item. */
export interface Indexed<T> {
  id: number;
  item: T;
}

/** Load a multiple-choice task's items: all of them, or a seeded sample of `limit` (sampleItems). */
export function loadChoiceDocs(t: TaskSpec, dataDir: string, limit?: number, seed = 1234): Array<Indexed<ChoiceDoc>> {
  if (t.def.mmlu) {
    const qs = readMmlu(mmluDir(t, dataDir));
    const doc = t.def.mmlu === "cloze" ? mmluClozeDoc : mmluMcfDoc;
    return sampleItems(qs.length, limit, seed, t.def.name).map((id) => ({ id, item: doc(qs[id]) }));
  }
  const file = findEvalFile(dataDir, t.def.file!, t.def.name, t.def.format ?? "");
  const recs = readJsonlRecords(file);
  return sampleItems(recs.length, limit, seed, t.def.name).map((id) => ({ id, item: t.def.doc!(recs[id]) }));
}
