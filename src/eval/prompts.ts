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

/** Python's str.capitalize(): the first character upper-cased, the rest lower-cased. */
export function pyCapitalize(s: string): string {
  const cps = [...s];
  if (cps.length === 0) return s;
  return cps[0].toUpperCase() + cps.slice(1).join("").toLowerCase();
}

/**
 * HellaSwag as SmolLM2's `prompt_hellaswag` builds it, from the original record
 * {"activity_label", "ctx_a", "ctx_b", "endings", "label"}: the context is
 * preprocess("{activity_label}: {ctx_a} {ctx_b.capitalize()} ") — ending in a space, which the
 * request moves to the continuation, so the scored continuation is "  ending" (two spaces), as in
 * lighteval's requests — and each choice is " " + preprocess(ending).
 * The older export with only the joined, preprocessed "ctx" ("{activity_label}: {ctx_a} {ctx_b}")
 * is read too: its ctx_b cannot be capitalised (docs/eval.md states the difference).
 */
export function hellaswagDoc(r: JsonRecord): ChoiceDoc {
  const endings = strList(r, "endings", 2);
  const ctx =
    r.value.ctx_a !== undefined || r.value.activity_label !== undefined
      ? hellaswagPreprocess(`${str(r, "activity_label")}: ${str(r, "ctx_a")} ${pyCapitalize(str(r, "ctx_b"))} `)
      : hellaswagPreprocess(str(r, "ctx")).replace(/\s+$/u, "") + " ";
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

/**
 * The choice texts, labels and gold index of a Hugging Face-style record
 * {"choices": {"text": [...], "label": ["A", ...]}, "answerKey": "B"} or of AI2's original layout
 * {"question": {"stem", "choices": [{"text", "label"}]}, "answerKey"}.
 */
export function labelledChoices(r: JsonRecord): { texts: string[]; gold: number } {
  const q = r.value.question;
  const raw = (typeof q === "object" && q !== null && !Array.isArray(q) ? (q as Record<string, unknown>).choices : undefined) ?? r.value.choices;
  let texts: unknown[] = [];
  let labels: unknown[] = [];
  if (Array.isArray(raw)) {
    texts = raw.map((c) => (c as Record<string, unknown>)?.text);
    labels = raw.map((c) => (c as Record<string, unknown>)?.label);
  } else if (typeof raw === "object" && raw !== null) {
    const o = raw as Record<string, unknown>;
    texts = Array.isArray(o.text) ? o.text : [];
    labels = Array.isArray(o.label) ? o.label : [];
  }
  if (texts.length < 2 || texts.length !== labels.length || texts.some((t) => typeof t !== "string") || labels.some((l) => typeof l !== "string")) {
    throw new DataError(`${r.file}:${r.line}: field "choices" must hold at least 2 {text, label} choices (as {"text": [...], "label": [...]} or a list of {"text", "label"})`);
  }
  const key = str(r, "answerKey").trim();
  const gold = (labels as string[]).indexOf(key);
  if (gold < 0) throw new DataError(`${r.file}:${r.line}: answerKey "${key}" is not one of the labels ${JSON.stringify(labels)}`);
  return { texts: texts as string[], gold };
}

/** The question text of a HF-style ("question" or "question_stem" string) or AI2-style ({"question": {"stem"}}) record. */
function questionText(r: JsonRecord, key: "question" | "question_stem"): string {
  const q = r.value.question;
  if (typeof q === "object" && q !== null && !Array.isArray(q) && typeof (q as Record<string, unknown>).stem === "string") return (q as Record<string, string>).stem;
  return str(r, key);
}

/**
 * OpenBookQA (lighteval `openbookqa`): question_stem → " choice". Reads the HF export
 * {"question_stem", "choices": {"text", "label"}, "answerKey"}, AI2's original
 * {"question": {"stem", "choices"}, "answerKey"}, or llm-foundry's {"query", "choices", "gold"}.
 */
export function openbookqaDoc(r: JsonRecord): ChoiceDoc {
  if (r.value.answerKey !== undefined) {
    const { texts, gold } = labelledChoices(r);
    const ctx = r.value.question_stem !== undefined ? str(r, "question_stem") : questionText(r, "question_stem");
    return { contexts: same(ctx, texts.length), continuations: texts.map((c) => " " + c), gold };
  }
  const choices = strList(r, "choices", 2);
  const ctx = str(r, "query").replace(/\s+$/u, "");
  return { contexts: same(ctx, choices.length), continuations: choices.map((c) => " " + c), gold: index(r, "gold", choices.length) };
}

/** CommonsenseQA as SmolLM2's `prompt_commonsense_qa` scores it (cloze): question → " answer text", all 5 options. */
export function commonsenseQaDoc(r: JsonRecord): ChoiceDoc {
  const { texts, gold } = labelledChoices(r);
  const q = questionText(r, "question");
  return { contexts: same(q, texts.length), continuations: texts.map((o) => " " + o), gold };
}

/**
 * CommonsenseQA in multiple-choice-letter form, exactly as lighteval's `commonsense_qa` writes it:
 * "The following are multiple choice questions (with answers) about common sense.⏎Question: q⏎A.  …⏎…⏎E.  …⏎Answer:"
 * — each option is formatted from " {text}", so two spaces follow the letter's period — and the
 * bare letters "A" … "E" (no leading space) as the choices.
 */
export function commonsenseQaMcfDoc(r: JsonRecord): ChoiceDoc {
  const { texts, gold } = labelledChoices(r);
  const letters = texts.map((_, i) => String.fromCharCode(65 + i));
  const ctx =
    `The following are multiple choice questions (with answers) about common sense.\nQuestion: ${questionText(r, "question")}\n` +
    texts.map((t, i) => `${letters[i]}.  ${t}\n`).join("") +
    "Answer:";
  return { contexts: same(ctx, texts.length), continuations: letters, gold };
}

/**
 * Winogrande as lighteval's `winogrande` prompt (SmolLM2's task) builds it: the sentence up to
 * the blank is the context, each choice is " {option} {rest after the blank}" (scored with
 * length-normalised accuracy). Reads the original {"sentence", "option1", "option2", "answer"}
 * or llm-foundry's {"context_options": [2], "continuation", "gold"}, whose shared prefix up to the
 * last space before the options is the text before the blank.
 */
export function winograndeDoc(r: JsonRecord): ChoiceDoc {
  let before: string;
  let options: string[];
  let rest: string;
  let gold: number;
  if (r.value.sentence !== undefined) {
    const sentence = str(r, "sentence");
    const cut = sentence.indexOf("_");
    if (cut < 0) throw new DataError(`${r.file}:${r.line}: field "sentence" has no "_" blank`);
    before = sentence.slice(0, cut);
    rest = sentence.slice(cut + 1).trim();
    options = [str(r, "option1"), str(r, "option2")];
    gold = index(r, "answer", 3) - 1;
    if (gold < 0) throw new DataError(`${r.file}:${r.line}: field "answer" must be "1" or "2"`);
  } else {
    const ctxs = strList(r, "context_options", 2).map((c) => c.replace(/\s+$/u, ""));
    let p = 0;
    while (ctxs.every((c) => p < c.length && c[p] === ctxs[0][p])) p++;
    const sp = ctxs[0].lastIndexOf(" ", p - 1);
    before = sp < 0 ? "" : ctxs[0].slice(0, sp + 1);
    options = ctxs.map((c) => c.slice(before.length));
    rest = str(r, "continuation").trim();
    gold = index(r, "gold", ctxs.length);
  }
  const ctx = before.replace(/\s+$/u, "");
  return { contexts: same(ctx, options.length), continuations: options.map((o) => ` ${o} ${rest}`), gold };
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

/**
 * MMLU-Pro as smollm's `mmlu_pro_mc_prompt` builds it, from {"question", "options", "answer_index",
 * "category"}: "The following are multiple choice questions (with answers) about {category}.⏎⏎{q}⏎A. …⏎Answer:"
 * with the letters themselves as choices — no leading space, as smollm passes them.
 */
export function mmluProDoc(r: JsonRecord): ChoiceDoc {
  const options = strList(r, "options", 2);
  const letters = options.map((_, i) => String.fromCharCode(65 + i));
  const ctx =
    `The following are multiple choice questions (with answers) about ${topic(str(r, "category"))}.\n\n${str(r, "question")}\n` +
    options.map((o, i) => `${letters[i]}. ${o}\n`).join("") +
    "Answer:";
  return { contexts: same(ctx, options.length), continuations: letters, gold: index(r, "answer_index", options.length) };
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
