// Prompt templates: one function per task turning a data record into the strings that are
// scored. Each follows lighteval's prompt function (or the SmolLM2 evaluation's variant of it);
// docs/eval.md tabulates them and states every deviation. Records are read strictly: a bad or
// missing field is a DataError naming file and line.
import { DataError } from "../errors.js";
import { index, str, strList, type JsonRecord } from "./data.js";
import type { ChoiceDoc } from "./encode.js";

/** lm-evaluation-harness / lighteval HellaSwag cleanup (WikiHow artifacts, double spaces). */
export function hellaswagPreprocess(text: string): string {
  return text.replaceAll(" [title]", ". ").replace(/\[.*?\]/g, "").replaceAll("  ", " ");
}

const same = (ctx: string, n: number) => Array.from({ length: n }, () => ctx);

/** {"ctx", "endings", "label"}: ctx → " ending" (lighteval hellaswag_harness). */
export function hellaswagDoc(r: JsonRecord): ChoiceDoc {
  const endings = strList(r, "endings", 2);
  const ctx = hellaswagPreprocess(str(r, "ctx")).replace(/\s+$/u, "");
  return { contexts: same(ctx, endings.length), continuations: endings.map((e) => " " + hellaswagPreprocess(e)), gold: index(r, "label", endings.length) };
}

/** llm-foundry {"query": "Question: …", "choices", "gold"}: "Question: q\nAnswer:" → " choice" (lighteval arc). */
export function arcDoc(r: JsonRecord): ChoiceDoc {
  const choices = strList(r, "choices", 2);
  const q = str(r, "query").replace(/\s+$/u, "");
  const ctx = (q.startsWith("Question:") ? q : `Question: ${q}`) + "\nAnswer:";
  return { contexts: same(ctx, choices.length), continuations: choices.map((c) => " " + c), gold: index(r, "gold", choices.length) };
}

/** llm-foundry {"query": "Question: goal\n", …}: "Question: goal\nAnswer:" → " solution" (lighteval piqa_harness). */
export function piqaDoc(r: JsonRecord): ChoiceDoc {
  return arcDoc(r);
}

/** llm-foundry {"query": question_stem, …}: question_stem → " choice" (lighteval openbookqa). */
export function openbookqaDoc(r: JsonRecord): ChoiceDoc {
  const choices = strList(r, "choices", 2);
  const ctx = str(r, "query").replace(/\s+$/u, "");
  return { contexts: same(ctx, choices.length), continuations: choices.map((c) => " " + c), gold: index(r, "gold", choices.length) };
}

const CSQA_QUERY = /^Question: ([\s\S]*?)\nChoices:\n((?:[A-Z]\. .*\n)+)Answer:\s*$/;

/** The question and option texts inside llm-foundry's CommonsenseQA query. */
export function parseCsqaQuery(r: JsonRecord): { question: string; options: string[] } {
  const m = CSQA_QUERY.exec(str(r, "query"));
  if (!m) throw new DataError(`${r.file}:${r.line}: field "query" is not of the form "Question: …\\nChoices:\\nA. …\\nB. …\\nAnswer:"`);
  const options = m[2].split("\n").filter(Boolean).map((l) => l.slice(3));
  return { question: m[1], options };
}

/** CommonsenseQA as SmolLM2 scored it (cloze): question → " answer text". */
export function commonsenseQaDoc(r: JsonRecord): ChoiceDoc {
  const { question, options } = parseCsqaQuery(r);
  const choices = strList(r, "choices", 2);
  if (choices.length !== options.length) throw new DataError(`${r.file}:${r.line}: the query lists ${options.length} options but "choices" has ${choices.length}`);
  return { contexts: same(question, options.length), continuations: options.map((o) => " " + o), gold: index(r, "gold", options.length) };
}

/** CommonsenseQA in multiple-choice-letter form: the llm-foundry query as given → " A" … */
export function commonsenseQaMcfDoc(r: JsonRecord): ChoiceDoc {
  const choices = strList(r, "choices", 2);
  parseCsqaQuery(r);
  const ctx = str(r, "query").replace(/\s+$/u, "");
  return { contexts: same(ctx, choices.length), continuations: choices.map((c) => " " + c.trim()), gold: index(r, "gold", choices.length) };
}

/** {"context_options": [2], "continuation", "gold"}: partial scoring, each context → " continuation". */
export function winograndeDoc(r: JsonRecord): ChoiceDoc {
  const options = strList(r, "context_options", 2).map((c) => c.replace(/\s+$/u, ""));
  const cont = " " + str(r, "continuation").replace(/^\s+/u, "");
  return { contexts: options, continuations: options.map(() => cont), gold: index(r, "gold", options.length) };
}

/** {"context", "continuation"}: context → " last word" (lighteval lambada). */
export function lambadaDoc(r: JsonRecord): { context: string; continuation: string } {
  const ctx = str(r, "context").replace(/\s+$/u, "");
  const word = str(r, "continuation").trim();
  if (word === "") throw new DataError(`${r.file}:${r.line}: field "continuation" is empty`);
  return { context: ctx, continuation: " " + word };
}

/** One MMLU question (hendrycks CSV row) with its subject (file name without _test.csv). */
export interface MmluQuestion {
  subject: string;
  question: string;
  choices: string[];
  gold: number;
}

const topic = (s: string) => s.replaceAll("_", " ");

/** MMLU cloze (SmolLM2's mmlu_cloze_prompt): answer texts scored after the question. */
export function mmluClozeDoc(q: MmluQuestion): ChoiceDoc {
  const ctx = `The following are questions about ${topic(q.subject)}.\nQuestion: ${q.question}\nAnswer:`;
  return { contexts: same(ctx, q.choices.length), continuations: q.choices.map((c) => " " + c), gold: q.gold };
}

/** MMLU multiple-choice form (lighteval mmlu_harness): options listed A.–D., letters scored. */
export function mmluMcfDoc(q: MmluQuestion): ChoiceDoc {
  const letters = q.choices.map((_, i) => String.fromCharCode(65 + i));
  const ctx =
    `The following are multiple choice questions (with answers) about ${topic(q.subject)}.\n\n${q.question}\n` +
    q.choices.map((c, i) => `${letters[i]}. ${c}\n`).join("") +
    "Answer:";
  return { contexts: same(ctx, q.choices.length), continuations: letters.map((l) => " " + l), gold: q.gold };
}

/** A GSM8K problem. */
export interface MathProblem {
  question: string;
  answer: string;
}

/** {"question", "answer"} with the answer's last line "#### n". */
export function gsm8kProblem(r: JsonRecord): MathProblem {
  const answer = str(r, "answer");
  if (!/####\s*\S/.test(answer)) throw new DataError(`${r.file}:${r.line}: field "answer" has no final "#### <number>" line`);
  return { question: str(r, "question"), answer };
}

/**
 * k-shot GSM8K prompt (lighteval gsm8k prompt with its plain-text few-shot layout): each shot is
 * "Question: q\nAnswer: a", shots and the query joined by blank lines, ending "Answer:".
 */
export function gsm8kPrompt(shots: readonly MathProblem[], question: string): string {
  return [...shots.map((s) => `Question: ${s.question}\nAnswer: ${s.answer.trim()}`), `Question: ${question}\nAnswer:`].join("\n\n");
}
