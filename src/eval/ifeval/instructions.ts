// IFEval's 25 verifiable instructions (Zhou et al. 2023), each a checker with the semantics of the
// reference implementation (google-research instruction_following_eval, instructions.py):
// regular expressions keep Python's meaning where the two differ, relations are "less than" /
// "at least", and language checks use langdetect (the same Java-derived detector and profiles).
import { createRequire } from "node:module";
import { countSentences, countWords, pyIsLower, pyIsUpper, pyLstrip, pyRstrip, pySplit, pyStrip, wordTokenize } from "./text.js";

const require = createRequire(import.meta.url);
const langdetect = require("langdetect") as { detectOne(text: string): string | undefined };

type Kwargs = Record<string, unknown>;
export type Checker = (response: string) => boolean;

/**
 * langdetect.detect(text), undefined where the reference's LangDetectException would pass the
 * check. The detector samples n-grams at random; the draw is seeded per call (as
 * DetectorFactory.seed = 0 makes Python's langdetect deterministic) so results are reproducible.
 */
function detect(text: string): string | undefined {
  const saved = Math.random;
  let s = 0;
  Math.random = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  try {
    return langdetect.detectOne(text) ?? undefined;
  } catch {
    return undefined;
  } finally {
    Math.random = saved;
  }
}

const compare = (relation: unknown, actual: number, n: number): boolean => (relation === "less than" ? actual < n : actual >= n);
const num = (k: Kwargs, key: string) => Number(k[key]);
const str = (k: Kwargs, key: string) => String(k[key] ?? "");
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A Python regex from the data used as-is (keywords are plain words; JS and Python agree there). */
const pyRe = (s: string, flags: string) => new RegExp(s, flags);

export const INSTRUCTIONS: Record<string, (k: Kwargs) => Checker> = {
  "keywords:existence": (k) => {
    const words = [...(k.keywords as string[])].sort();
    return (r) => words.every((w) => pyRe(w, "i").test(r));
  },
  "keywords:frequency": (k) => {
    const w = pyStrip(str(k, "keyword"));
    return (r) => compare(k.relation, (r.match(pyRe(w, "gi")) ?? []).length, num(k, "frequency"));
  },
  "keywords:forbidden_words": (k) => {
    const words = [...new Set(k.forbidden_words as string[])];
    return (r) => !words.some((w) => pyRe(`\\b${w}\\b`, "i").test(r));
  },
  "keywords:letter_frequency": (k) => {
    const letter = pyStrip(str(k, "letter")).toLowerCase();
    // The reference replaces anything but one ASCII letter by a random letter (an unreproducible
    // result); such an instruction counts as not followed here.
    if (!/^[a-z]$/.test(letter)) return () => false;
    return (r) => {
      let n = 0;
      for (const c of r.toLowerCase()) if (c === letter) n++;
      return compare(k.let_relation, n, num(k, "let_frequency"));
    };
  },
  "language:response_language": (k) => (r) => {
    const lang = detect(r);
    return lang === undefined || lang === str(k, "language");
  },
  "length_constraints:number_sentences": (k) => (r) => compare(k.relation, countSentences(r), num(k, "num_sentences")),
  "length_constraints:number_paragraphs": (k) => (r) => {
    const paragraphs = r.split(/\s?\*\*\*\s?/);
    let n = paragraphs.length;
    for (const [i, p] of paragraphs.entries()) {
      if (pyStrip(p)) continue;
      if (i === 0 || i === paragraphs.length - 1) n--;
      else return false;
    }
    return n === num(k, "num_paragraphs");
  },
  "length_constraints:number_words": (k) => (r) => compare(k.relation, countWords(r), num(k, "num_words")),
  "length_constraints:nth_paragraph_first_word": (k) => (r) => {
    const paragraphs = r.split("\n\n");
    let n = paragraphs.length;
    for (const p of paragraphs) if (!pyStrip(p)) n--;
    const nth = num(k, "nth_paragraph");
    if (nth > n) return false;
    const para = pyStrip(paragraphs[nth - 1]);
    if (!para) return false;
    let word = pyStrip(pySplit(para)[0]);
    word = pyLstrip(pyLstrip(word, "'"), '"');
    let first = "";
    for (const c of word) {
      if (".,?!'\"".includes(c)) break;
      first += c.toLowerCase();
    }
    return n === num(k, "num_paragraphs") && first === str(k, "first_word").toLowerCase();
  },
  "detectable_content:number_placeholders": (k) => (r) => (r.match(/\[.*?\]/g) ?? []).length >= num(k, "num_placeholders"),
  "detectable_content:postscript": (k) => {
    const marker = str(k, "postscript_marker");
    const pattern = marker === "P.P.S" ? /\s*p\.\s?p\.\s?s.*$/m : marker === "P.S." ? /\s*p\.\s?s\..*$/m : new RegExp("\\s*" + marker.toLowerCase() + ".*$", "m");
    return (r) => pattern.test(r.toLowerCase());
  },
  "detectable_format:number_bullet_lists": (k) => (r) => {
    const a = r.match(/^\s*\*[^*].*$/gm) ?? [];
    const b = r.match(/^\s*-.*$/gm) ?? [];
    return a.length + b.length === num(k, "num_bullets");
  },
  "detectable_format:constrained_response": () => (r) => {
    const v = pyStrip(r);
    return ["My answer is yes.", "My answer is no.", "My answer is maybe."].some((o) => v.includes(o));
  },
  "detectable_format:number_highlighted_sections": (k) => (r) => {
    let n = 0;
    for (const h of r.match(/\*[^\n*]*\*/g) ?? []) if (pyStrip(pyStrip(h, "*"))) n++;
    for (const h of r.match(/\*\*[^\n*]*\*\*/g) ?? []) if (pyStrip(h.slice(2, -2))) n++;
    return n >= num(k, "num_highlights");
  },
  "detectable_format:multiple_sections": (k) => {
    const splitter = new RegExp("\\s?" + str(k, "section_spliter") + "\\s?\\d+\\s?");
    return (r) => r.split(splitter).length - 1 >= num(k, "num_sections");
  },
  "detectable_format:json_format": () => (r) => {
    let v = pyStrip(r);
    for (const p of ["```json", "```Json", "```JSON", "```"]) if (v.startsWith(p)) v = v.slice(p.length);
    if (v.endsWith("```")) v = v.slice(0, -3);
    v = pyStrip(v);
    try {
      JSON.parse(v);
      return true;
    } catch {
      return false;
    }
  },
  "detectable_format:title": () => (r) => (r.match(/<<[^\n]+>>/g) ?? []).some((t) => pyStrip(pyRstrip(pyLstrip(t, "<"), ">"))),
  "combination:two_responses": () => (r) => {
    const parts = r.split("******");
    const valid: string[] = [];
    for (const [i, p] of parts.entries()) {
      if (!pyStrip(p)) {
        if (i !== 0 && i !== parts.length - 1) return false;
      } else valid.push(p);
    }
    return valid.length === 2 && pyStrip(valid[0]) !== pyStrip(valid[1]);
  },
  "combination:repeat_prompt": (k) => (r) => pyStrip(r).toLowerCase().startsWith(pyStrip(str(k, "prompt_to_repeat")).toLowerCase()),
  "startend:end_checker": (k) => (r) => pyStrip(pyStrip(r), '"').toLowerCase().endsWith(pyStrip(str(k, "end_phrase")).toLowerCase()),
  "startend:quotation": () => (r) => {
    const v = pyStrip(r);
    return v.length > 1 && v[0] === '"' && v[v.length - 1] === '"';
  },
  "change_case:capital_word_frequency": (k) => (r) => compare(k.capital_relation, wordTokenize(r).filter(pyIsUpper).length, num(k, "capital_frequency")),
  "change_case:english_capital": () => (r) => {
    if (!pyIsUpper(r)) return false;
    const lang = detect(r);
    return lang === undefined || lang === "en";
  },
  "change_case:english_lowercase": () => (r) => {
    if (!pyIsLower(r)) return false;
    const lang = detect(r);
    return lang === undefined || lang === "en";
  },
  "punctuation:no_comma": () => (r) => !r.includes(","),
};

export { escapeRe };
