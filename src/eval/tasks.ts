// The task registry: every task's name, kind, data file and format, and the groups (`all`,
// `mc`, `arc`) a --tasks list may name. Task specs are `name` or `name:ARG` (val:FILE|DIR,
// mmlu:DIR, gsm8k:K shots). Parsing checks names up front and lists the known ones on a typo.
import * as path from "node:path";
import { ConfigError } from "../errors.js";
import { findEvalFile, readJsonlRecords, type JsonRecord } from "./data.js";
import type { ChoiceDoc } from "./encode.js";
import { findMmluFiles, readMmlu } from "./mmlu.js";
import {
  arcDoc, commonsenseQaDoc, commonsenseQaMcfDoc, hellaswagDoc, mmluClozeDoc, mmluMcfDoc, openbookqaDoc, piqaDoc, winograndeDoc,
} from "./prompts.js";

export type TaskKind = "mc" | "lambada" | "gsm8k" | "val";

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
}

const LLMF = '{"query": "Question: …", "choices": [strings], "gold": index}';

export const TASKS: readonly TaskDef[] = [
  { name: "hellaswag", kind: "mc", summary: "HellaSwag validation (10,042), sentence completion", file: "hellaswag_val", format: '{"ctx": "…", "endings": [4 strings], "label": 0-3}', metrics: ["acc", "acc_norm"], doc: hellaswagDoc },
  { name: "arc_easy", kind: "mc", summary: "ARC-Easy test (2,376), science questions", file: "arc_easy", format: LLMF, metrics: ["acc", "acc_norm"], doc: arcDoc },
  { name: "arc_challenge", kind: "mc", summary: "ARC-Challenge test (1,172)", file: "arc_challenge", format: LLMF, metrics: ["acc", "acc_norm"], doc: arcDoc },
  { name: "piqa", kind: "mc", summary: "PIQA validation (1,838), physical commonsense", file: "piqa", format: '{"query": "Question: goal\\n", "choices": [2 strings], "gold": 0|1}', metrics: ["acc", "acc_norm"], doc: piqaDoc },
  { name: "openbookqa", kind: "mc", summary: "OpenBookQA test (500)", file: "openbook_qa", format: '{"query": question_stem, "choices": [strings], "gold": index}', metrics: ["acc", "acc_norm"], doc: openbookqaDoc },
  { name: "commonsense_qa", kind: "mc", summary: "CommonsenseQA dev (1,221), cloze form (answer texts)", file: "commonsense_qa", format: '{"query": "Question: …\\nChoices:\\nA. …\\nAnswer:", "choices": ["A", …], "gold": index}', metrics: ["acc", "acc_norm"], doc: commonsenseQaDoc },
  { name: "commonsense_qa_mcf", kind: "mc", summary: "CommonsenseQA dev, multiple-choice-letter form", file: "commonsense_qa", format: '{"query": "Question: …\\nChoices:\\nA. …\\nAnswer:", "choices": ["A", …], "gold": index}', metrics: ["acc"], doc: commonsenseQaMcfDoc },
  { name: "winogrande", kind: "mc", summary: "Winogrande dev (1,267), partial scoring", file: "winogrande", format: '{"context_options": [2 strings], "continuation": "…", "gold": 0|1}', metrics: ["acc"], doc: winograndeDoc },
  { name: "lambada", kind: "lambada", summary: "LAMBADA (OpenAI) test (5,153): greedy last word and its perplexity", file: "lambada_openai", format: '{"context": "…", "continuation": "last word"}', metrics: ["acc", "ppl"] },
  { name: "gsm8k", kind: "gsm8k", summary: "GSM8K test (1,319), 5-shot greedy generation, exact match", file: "gsm8k_test", format: '{"question": "…", "answer": "… #### n"}', metrics: ["em", "em_strict"], arg: "K: number of shots (default 5, or --shots)" },
  { name: "mmlu", kind: "mc", summary: "MMLU test, cloze form (needs your MMLU CSVs)", metrics: ["acc", "acc_norm"], mmlu: "cloze", arg: "DIR: the MMLU data folder (default <data-dir>/mmlu)" },
  { name: "mmlu_mcf", kind: "mc", summary: "MMLU test, multiple-choice-letter form (needs your MMLU CSVs)", metrics: ["acc"], mmlu: "mcf", arg: "DIR: the MMLU data folder (default <data-dir>/mmlu)" },
  { name: "val", kind: "val", summary: "validation loss, perplexity and bits per byte of a text/JSONL file or a shard directory's val split (per source)", metrics: ["loss", "ppl", "bpb"], arg: "PATH: text/JSONL file or shard directory (or --data; default: a run checkpoint's data)" },
];

/** Named groups of tasks. */
export const GROUPS: Readonly<Record<string, readonly string[]>> = {
  all: ["hellaswag", "arc_easy", "arc_challenge", "piqa", "openbookqa", "commonsense_qa", "winogrande", "lambada", "gsm8k"],
  mc: ["hellaswag", "arc_easy", "arc_challenge", "piqa", "openbookqa", "commonsense_qa", "winogrande"],
  arc: ["arc_easy", "arc_challenge"],
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
  if (t.def.file) return findEvalFile(dataDir, t.def.file, t.def.name, t.def.format ?? "");
  return undefined;
}

function mmluDir(t: TaskSpec, dataDir: string): string {
  return t.arg ?? path.join(dataDir, "mmlu");
}

/** Load a multiple-choice task's items (the first `limit`). */
export function loadChoiceDocs(t: TaskSpec, dataDir: string, limit?: number): ChoiceDoc[] {
  if (t.def.mmlu) {
    const qs = readMmlu(mmluDir(t, dataDir), limit);
    return qs.map(t.def.mmlu === "cloze" ? mmluClozeDoc : mmluMcfDoc);
  }
  const file = findEvalFile(dataDir, t.def.file!, t.def.name, t.def.format ?? "");
  return readJsonlRecords(file, limit).map(t.def.doc!);
}
