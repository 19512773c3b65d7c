// Heuristic quality filters with their published defaults (docs/curate.md lists them with sources):
// Gopher quality and repetition rules (Rae et al. 2021, MassiveText; thresholds as in datatrove),
// the C4 line rules (Raffel et al. 2020; line filtering rewrites the text) and FineWeb's extra
// rules (Penedo et al. 2024). Each rule names itself in the removal reason with the measured value.
import type { CurateDoc } from "../records.js";
import { forEachNgramKey } from "../text.js";
import type { LocalStep, Removal } from "./step.js";

const TERMINAL = [".", "!", "?", '"', "'", "”", "’", "…", "。", "！", "？"];
const endsTerminal = (line: string) => TERMINAL.some((p) => line.endsWith(p));
const words = (text: string) => text.split(/\s+/).filter((w) => w !== "");
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
const fail = (rule: string, value: number, op: string, thr: number): Removal => ({ reason: `${rule} ${fmt(value)} ${op} ${fmt(thr)}`, details: { rule, value } });

function simpleStep(name: string, type: string, check: (doc: CurateDoc) => Removal | undefined): LocalStep {
  const counts = new Map<string, number>();
  return {
    kind: "local",
    name,
    type,
    reset: () => counts.clear(),
    apply(doc) {
      const r = check(doc);
      if (r) {
        const rule = String(r.details?.rule ?? r.reason);
        counts.set(rule, (counts.get(rule) ?? 0) + 1);
      }
      return r;
    },
    summary: () => ({ removed_by_rule: Object.fromEntries([...counts.entries()].sort()) }),
  };
}

// ---- Gopher quality ----------------------------------------------------------------------------

export interface GopherQualityConfig {
  min_doc_words: number;
  max_doc_words: number;
  min_avg_word_length: number;
  max_avg_word_length: number;
  max_symbol_word_ratio: number;
  max_bullet_lines_ratio: number;
  max_ellipsis_lines_ratio: number;
  max_non_alpha_words_ratio: number;
  min_stop_words: number;
}
export const GOPHER_QUALITY_DEFAULTS: GopherQualityConfig = {
  min_doc_words: 50, max_doc_words: 100000, min_avg_word_length: 3, max_avg_word_length: 10, max_symbol_word_ratio: 0.1,
  max_bullet_lines_ratio: 0.9, max_ellipsis_lines_ratio: 0.3, max_non_alpha_words_ratio: 0.8, min_stop_words: 2,
};
const STOP_WORDS = new Set(["the", "be", "to", "of", "and", "that", "have", "with"]);
const PUNCT_ONLY = /^[\p{P}\p{S}]+$/u;
const HAS_ALPHA = /\p{L}/u;

export function gopherQuality(text: string, c: GopherQualityConfig): Removal | undefined {
  const all = words(text);
  const ws = all.filter((w) => !PUNCT_ONLY.test(w));
  const n = ws.length;
  if (n < c.min_doc_words) return fail("gopher_short_doc: words", n, "<", c.min_doc_words);
  if (n > c.max_doc_words) return fail("gopher_long_doc: words", n, ">", c.max_doc_words);
  const avg = ws.reduce((s, w) => s + w.length, 0) / n;
  if (avg < c.min_avg_word_length) return fail("gopher_below_avg_threshold: mean word length", avg, "<", c.min_avg_word_length);
  if (avg > c.max_avg_word_length) return fail("gopher_above_avg_threshold: mean word length", avg, ">", c.max_avg_word_length);
  const symbols = (text.split("#").length - 1) + (text.split("...").length - 1) + (text.split("…").length - 1);
  if (symbols / n > c.max_symbol_word_ratio) return fail("gopher_too_many_symbols: symbols per word", symbols / n, ">", c.max_symbol_word_ratio);
  const lines = text.split("\n");
  const bullets = lines.filter((l) => /^\s*[•‣⁃◦∙\-*]/.test(l)).length / lines.length;
  if (bullets > c.max_bullet_lines_ratio) return fail("gopher_too_many_bullets: bullet lines", bullets, ">", c.max_bullet_lines_ratio);
  const ell = lines.filter((l) => /(\.\.\.|…)\s*$/.test(l)).length / lines.length;
  if (ell > c.max_ellipsis_lines_ratio) return fail("gopher_too_many_end_ellipsis: lines ending in an ellipsis", ell, ">", c.max_ellipsis_lines_ratio);
  const alpha = all.filter((w) => HAS_ALPHA.test(w)).length / Math.max(1, all.length);
  if (alpha < c.max_non_alpha_words_ratio) return fail("gopher_below_alpha_threshold: words with a letter", alpha, "<", c.max_non_alpha_words_ratio);
  const stop = all.filter((w) => STOP_WORDS.has(w.toLowerCase())).length;
  if (stop < c.min_stop_words) return fail("gopher_enough_stop_words: stop words", stop, "<", c.min_stop_words);
  return undefined;
}

// ---- Gopher repetition -------------------------------------------------------------------------

export interface GopherRepetitionConfig {
  dup_line_frac: number;
  dup_para_frac: number;
  dup_line_char_frac: number;
  dup_para_char_frac: number;
  /** [n, max fraction of characters in the most frequent n-gram] */
  top_n_grams: number[][];
  /** [n, max fraction of characters in duplicated n-grams] */
  dup_n_grams: number[][];
}
export const GOPHER_REPETITION_DEFAULTS: GopherRepetitionConfig = {
  dup_line_frac: 0.3, dup_para_frac: 0.3, dup_line_char_frac: 0.2, dup_para_char_frac: 0.2,
  top_n_grams: [[2, 0.2], [3, 0.18], [4, 0.16]],
  dup_n_grams: [[5, 0.15], [6, 0.14], [7, 0.13], [8, 0.12], [9, 0.11], [10, 0.1]],
};

/** Elements that repeat an earlier one: how many, and how many characters they hold. */
export function findDuplicates(items: string[]): [count: number, chars: number] {
  const seen = new Set<string>();
  let count = 0;
  let chars = 0;
  for (const x of items) {
    if (seen.has(x)) {
      count++;
      chars += x.length;
    } else seen.add(x);
  }
  return [count, chars];
}

/** JavaScript's \s: the separators of whitespace-split words. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Whitespace-split words as 32-bit hashes (case and punctuation kept) and prefix sums of their lengths. */
function wordTokens(text: string): { hashes: Uint32Array; n: number; prefix: Float64Array } {
  const hashes: number[] = [];
  const lens: number[] = [];
  let h = 0x811c9dc5;
  let len = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (isSpace(c)) {
      if (len > 0) {
        hashes.push(h >>> 0);
        lens.push(len);
      }
      h = 0x811c9dc5;
      len = 0;
    } else {
      h = Math.imul(h ^ c, 0x01000193);
      len++;
    }
  }
  const prefix = new Float64Array(lens.length + 1);
  for (let i = 0; i < lens.length; i++) prefix[i + 1] = prefix[i] + lens[i];
  return { hashes: Uint32Array.from(hashes), n: hashes.length, prefix };
}

/** Characters of the n-gram starting at word i (words joined by one space). */
const gramChars = (prefix: Float64Array, i: number, n: number) => prefix[i + n] - prefix[i] + n - 1;

/** Open-addressing counts keyed by 53-bit n-gram keys (faster than a Map for these short-lived sets). */
class KeyCounts {
  private keys = new Float64Array(1024).fill(-1);
  private counts = new Int32Array(1024);
  /** Where each key was first seen (the n-gram's start). */
  first = new Int32Array(1024);
  private mask = 1023;
  /** Empty the table, sized for up to n distinct keys. */
  reset(n: number): void {
    let cap = 1024;
    while (cap < 2 * n) cap *= 2;
    if (cap !== this.keys.length) {
      this.keys = new Float64Array(cap);
      this.counts = new Int32Array(cap);
      this.first = new Int32Array(cap);
      this.mask = cap - 1;
    }
    this.keys.fill(-1);
  }
  /** Slot of a key (claimed with count 0, first seen at `at`, if new). */
  slot(key: number, at = 0): number {
    let i = (key >>> 0) & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === key) return i;
      if (k === -1) {
        this.keys[i] = key;
        this.counts[i] = 0;
        this.first[i] = at;
        return i;
      }
      i = (i + 1) & this.mask;
    }
  }
  /** Add one to the count at a slot; returns the new count. */
  incSlot(slot: number): number {
    return ++this.counts[slot];
  }
}

const table = new KeyCounts();

/** Characters of the most frequent n-gram (the first to reach the top count) times its count; 0 when none repeats. */
function topNgramChars(t: ReturnType<typeof wordTokens>, n: number): number {
  if (t.n < n) return 0;
  table.reset(t.n);
  // Ties go to the n-gram seen first (Counter.most_common's order, as datatrove).
  let best = 1;
  let bestStart = -1;
  forEachNgramKey(t.hashes, t.n, n, (key, start) => {
    const s = table.slot(key, start);
    const c = table.incSlot(s);
    const f = table.first[s];
    if (c > best || (c === best && bestStart >= 0 && f < bestStart)) {
      best = c;
      bestStart = f;
    }
  });
  if (bestStart < 0) return 0;
  return gramChars(t.prefix, bestStart, n) * best;
}

/** Characters in n-grams that repeat an earlier one, each repeated span counted once without overlap. */
function dupNgramChars(t: ReturnType<typeof wordTokens>, n: number): number {
  if (t.n < n) return 0;
  const keys = new Float64Array(t.n - n + 1);
  forEachNgramKey(t.hashes, t.n, n, (key, start) => {
    keys[start] = key;
  });
  table.reset(t.n);
  let chars = 0;
  let i = 0;
  while (i + n <= t.n) {
    if (table.incSlot(table.slot(keys[i])) > 1) {
      chars += gramChars(t.prefix, i, n);
      i += n;
    } else i++;
  }
  return chars;
}

export function gopherRepetition(text: string, c: GopherRepetitionConfig): Removal | undefined {
  const len = Math.max(1, text.length);
  const paras = text.trim().split(/\n{2,}/);
  const [pd, pc] = findDuplicates(paras);
  if (pd / paras.length > c.dup_para_frac) return fail("dup_para_frac: duplicated paragraphs", pd / paras.length, ">", c.dup_para_frac);
  if (pc / len > c.dup_para_char_frac) return fail("dup_para_char_frac: characters in duplicated paragraphs", pc / len, ">", c.dup_para_char_frac);
  const lines = text.split(/\n+/);
  const [ld, lc] = findDuplicates(lines);
  if (ld / lines.length > c.dup_line_frac) return fail("dup_line_frac: duplicated lines", ld / lines.length, ">", c.dup_line_frac);
  if (lc / len > c.dup_line_char_frac) return fail("dup_line_char_frac: characters in duplicated lines", lc / len, ">", c.dup_line_char_frac);
  const ws = wordTokens(text);
  for (const [n, thr] of c.top_n_grams) {
    const f = topNgramChars(ws, n) / len;
    if (f > thr) return fail(`top_${n}_gram: characters in the top ${n}-gram`, f, ">", thr);
  }
  for (const [n, thr] of c.dup_n_grams) {
    const f = dupNgramChars(ws, n) / len;
    if (f > thr) return fail(`duplicated_${n}_n_grams: characters in repeated ${n}-grams`, f, ">", thr);
  }
  return undefined;
}

// ---- C4 ----------------------------------------------------------------------------------------

export interface C4Config {
  remove_citations: boolean;
  filter_no_terminal_punct: boolean;
  min_num_sentences: number;
  min_words_per_line: number;
  max_word_length: number;
  filter_lorem_ipsum: boolean;
  filter_javascript: boolean;
  filter_curly_bracket: boolean;
  filter_policy: boolean;
}
export const C4_DEFAULTS: C4Config = {
  remove_citations: true, filter_no_terminal_punct: true, min_num_sentences: 5, min_words_per_line: 3, max_word_length: 1000,
  filter_lorem_ipsum: true, filter_javascript: true, filter_curly_bracket: true, filter_policy: true,
};
const POLICY = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"];
const CITATION = /\[\d*]|\[edit]|\[citation needed]/gi;

/** C4's rules: returns the kept text (lines dropped) or a removal. */
export function c4Filter(text: string, c: C4Config): { text: string } | Removal {
  const lower = text.toLowerCase();
  if (c.filter_lorem_ipsum && lower.includes("lorem ipsum")) return { reason: "c4 lorem ipsum", details: { rule: "lorem_ipsum" } };
  if (c.filter_curly_bracket && text.includes("{")) return { reason: "c4 curly bracket ({)", details: { rule: "curly_bracket" } };
  const kept: string[] = [];
  let sentences = 0;
  for (let line of text.split("\n")) {
    line = line.trim();
    if (c.remove_citations) line = line.replace(CITATION, "");
    if (line === "") continue;
    const ws = words(line);
    if (ws.some((w) => w.length > c.max_word_length)) continue;
    if (c.filter_no_terminal_punct && (!endsTerminal(line) || line.endsWith("..."))) continue;
    if (ws.length < c.min_words_per_line) continue;
    const ll = line.toLowerCase();
    if (c.filter_javascript && ll.includes("javascript")) continue;
    if (c.filter_policy && POLICY.some((p) => ll.includes(p))) continue;
    sentences += line.split(/[.!?]+(?:\s|$)/).filter((s) => s.trim() !== "").length;
    kept.push(line);
  }
  if (kept.length === 0) return { reason: "c4 no line left", details: { rule: "no_lines" } };
  if (sentences < c.min_num_sentences) return fail("c4_too_few_sentences: sentences", sentences, "<", c.min_num_sentences);
  return { text: kept.join("\n") };
}

// ---- FineWeb ------------------------------------------------------------------------------------

export interface FineWebConfig {
  line_punct_thr: number;
  line_punct_exclude_zero: boolean;
  short_line_thr: number;
  short_line_length: number;
  char_duplicates_ratio: number;
  new_line_ratio: number;
}
export const FINEWEB_DEFAULTS: FineWebConfig = {
  line_punct_thr: 0.12, line_punct_exclude_zero: false, short_line_thr: 0.67, short_line_length: 30, char_duplicates_ratio: 0.01, new_line_ratio: 0.3,
};

export function fineWebQuality(text: string, c: FineWebConfig): Removal | undefined {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) return { reason: "fineweb empty", details: { rule: "empty" } };
  const punct = lines.filter(endsTerminal).length / lines.length;
  if (punct < c.line_punct_thr && !(punct === 0 && c.line_punct_exclude_zero)) return fail("line_punct_ratio: lines ending in punctuation", punct, "<", c.line_punct_thr);
  const short = lines.filter((l) => l.length <= c.short_line_length).length / lines.length;
  if (short > c.short_line_thr) return fail("short_line_ratio: short lines", short, ">", c.short_line_thr);
  const dup = findDuplicates(lines)[1] / Math.max(1, text.length);
  if (dup > c.char_duplicates_ratio) return fail("char_dup_ratio: characters in duplicated lines", dup, ">", c.char_duplicates_ratio);
  const nw = words(text).length;
  const nl = text.split("\n").length - 1;
  if (nw > 0 && nl / nw > c.new_line_ratio) return fail("list_ratio: newlines per word", nl / nw, ">", c.new_line_ratio);
  return undefined;
}

// ---- steps -------------------------------------------------------------------------------------

export function gopherQualityStep(name: string, c: GopherQualityConfig): LocalStep {
  return simpleStep(name, "gopher_quality", (d) => gopherQuality(d.text, c));
}
export function gopherRepetitionStep(name: string, c: GopherRepetitionConfig): LocalStep {
  return simpleStep(name, "gopher_repetition", (d) => gopherRepetition(d.text, c));
}
export function fineWebStep(name: string, c: FineWebConfig): LocalStep {
  return simpleStep(name, "fineweb_quality", (d) => fineWebQuality(d.text, c));
}
export function c4Step(name: string, c: C4Config): LocalStep {
  return simpleStep(name, "c4", (d) => {
    const r = c4Filter(d.text, c);
    if ("reason" in r) return r;
    if (r.text !== d.text) {
      d.text = r.text;
      d.rewritten = true;
    }
    return undefined;
  });
}
