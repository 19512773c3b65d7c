// Benchmark items for decontamination: the text of every evaluation item SmolLab ships (the
// question or context, joined with the gold answer where the task has one; GSM8K's question and
// answer also on their own), from the same data files `smol eval` reads (eval/tasks.ts), plus MMLU
// from the user's CSVs (`mmlu:DIR`).
import { ConfigError } from "../errors.js";
import { bundledEvalDir, findEvalFile, readJsonlRecords, type JsonRecord } from "../eval/data.js";
import { readMmlu } from "../eval/mmlu.js";
import { findTask } from "../eval/tasks.js";

export interface BenchItem {
  task: string;
  /** 0-based position in the task's data file. */
  item: number;
  /** Texts whose n-grams mark contamination. */
  texts: string[];
}

/** The tasks decontamination checks by default: every bundled evaluation set (test/validation splits). */
export const DEFAULT_DECONTAM_TASKS = ["hellaswag", "arc_easy", "arc_challenge", "piqa", "openbookqa_test", "commonsense_qa", "winogrande", "lambada", "gsm8k"];

const s = (v: unknown): string => (typeof v === "string" ? v : "");
const stripQA = (q: string) => q.replace(/^\s*Question:\s*/, "").replace(/\s*Answer:\s*$/, "").trim();

function itemTexts(task: string, r: JsonRecord): string[] {
  const v = r.value;
  const choices = Array.isArray(v.choices) ? (v.choices as unknown[]).map(s) : [];
  const gold = typeof v.gold === "number" ? v.gold : Number(v.gold);
  switch (task) {
    case "hellaswag": {
      const endings = Array.isArray(v.endings) ? (v.endings as unknown[]).map(s) : [];
      return [`${s(v.ctx)} ${endings[Number(v.label)] ?? ""}`];
    }
    case "commonsense_qa": {
      // The original 5-option format: {question, choices: {label, text}, answerKey}.
      const c = (v.choices ?? {}) as { label?: unknown[]; text?: unknown[] };
      const labels = Array.isArray(c.label) ? c.label.map(s) : [];
      const texts = Array.isArray(c.text) ? c.text.map(s) : [];
      const answer = texts[labels.indexOf(s(v.answerKey))] ?? "";
      return [`${s(v.question)} ${answer}`];
    }
    case "winogrande": {
      const opts = Array.isArray(v.context_options) ? (v.context_options as unknown[]).map(s) : [];
      return [`${opts[gold] ?? ""} ${s(v.continuation)}`];
    }
    case "lambada":
      return [`${s(v.context)} ${s(v.continuation)}`];
    case "gsm8k":
      return [s(v.question), s(v.answer), `${s(v.question)} ${s(v.answer)}`];
    default:
      return [`${stripQA(s(v.query))} ${choices[gold] ?? ""}`];
  }
}

/**
 * Load the items of `tasks` (names from DEFAULT_DECONTAM_TASKS, or `mmlu:DIR`) from `dataDir`
 * (default: the bundled evaluation data).
 */
export function loadBenchItems(tasks: readonly string[], dataDir = bundledEvalDir()): BenchItem[] {
  const out: BenchItem[] = [];
  for (const spec of tasks) {
    const colon = spec.indexOf(":");
    const name = colon < 0 ? spec : spec.slice(0, colon);
    if (name === "mmlu") {
      if (colon < 0) throw new ConfigError(`decontaminate: "mmlu" needs the folder of your MMLU CSVs: mmlu:DIR`, [], "MMLU is not bundled; unpack hendrycks/test's data.tar and name its data/ folder");
      readMmlu(spec.slice(colon + 1)).forEach((q, i) => out.push({ task: "mmlu", item: i, texts: [`${q.question} ${q.choices[q.gold]}`] }));
      continue;
    }
    const def = findTask(name);
    if (!def || !def.file || !DEFAULT_DECONTAM_TASKS.includes(name)) {
      throw new ConfigError(`decontaminate: unknown task "${spec}"; known: ${DEFAULT_DECONTAM_TASKS.join(", ")}, mmlu:DIR`);
    }
    const file = findEvalFile(dataDir, def.file, name, def.format ?? "");
    readJsonlRecords(file).forEach((r, i) => out.push({ task: name, item: i, texts: itemTexts(name, r) }));
  }
  return out;
}
