// GPT-2 pre-tokenisation: special tokens split the text first (and are never merged), then the
// GPT-2 regex cuts each piece into pre-tokens. Also where a long text may be cut into chunks that
// pre-tokenise exactly as the whole would (for streaming and for worker threads).

/** The GPT-2 pre-tokenisation pattern (the one tokenizer.json's ByteLevel pre_tokenizer means). */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** A fresh global regex for GPT2_PATTERN (regexes with /g carry state: one per user). */
export function gpt2Regex(): RegExp {
  return new RegExp(GPT2_PATTERN, "gu");
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A global regex matching any of `specials`, longest first; undefined when there are none. */
export function specialsRegex(specials: readonly string[]): RegExp | undefined {
  const list = [...new Set(specials)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return list.length ? new RegExp(list.map(escapeRegex).join("|"), "g") : undefined;
}

/** Split `text` on special tokens: calls `onText` for each piece between them, `onSpecial` for each one. */
export function splitOnSpecials(
  text: string,
  re: RegExp | undefined,
  onText: (piece: string) => void,
  onSpecial?: (special: string) => void,
): void {
  if (!re) {
    if (text.length) onText(text);
    return;
  }
  re.lastIndex = 0;
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > start) onText(text.slice(start, m.index));
    onSpecial?.(m[0]);
    start = m.index + m[0].length;
  }
  if (start < text.length) onText(text.slice(start));
}

/** Add the pre-token counts of `text` (special tokens already removed) into `counts`. */
export function countPretokens(text: string, counts: Map<string, number>, re: RegExp = gpt2Regex()): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const t = m[0];
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
}

/** The pre-tokens of `text` (special tokens already removed), in order. */
export function pretokenize(text: string, re: RegExp = gpt2Regex()): string[] {
  return text.match(re) ?? [];
}

const LETTER = /\p{L}/u;
const NUMBER = /\p{N}/u;
const SPACE = /\s/u;
/** 0 letter, 1 number, 2 whitespace, 3 anything else. */
function charClass(ch: string): number {
  return LETTER.test(ch) ? 0 : NUMBER.test(ch) ? 1 : SPACE.test(ch) ? 2 : 3;
}

/**
 * A position p where text may be cut so that pre-tokenising text[0,p) and text[p,…) gives exactly
 * the pre-tokens of the whole: the character before p is a letter or number and the one at p is of
 * another class (so the letter/number run, or contraction, ends at p, and no whitespace run or
 * lookahead crosses it); p is not inside a surrogate pair nor inside a special token.
 * Returns the largest such p with lo < p <= hi (hi < text.length), or -1 if there is none.
 */
export function findSafeCut(text: string, hi: number, lo = 0, specials: readonly string[] = []): number {
  const maxSpecial = specials.reduce((m, s) => Math.max(m, s.length), 0);
  for (let p = Math.min(hi, text.length - 1); p > Math.max(0, lo); p--) {
    const at = text.charCodeAt(p);
    if (at >= 0xdc00 && at <= 0xdfff) continue; // inside a surrogate pair
    const prevUnit = text.charCodeAt(p - 1);
    const prev = prevUnit >= 0xdc00 && prevUnit <= 0xdfff && p >= 2 ? text.slice(p - 2, p) : text[p - 1];
    const cb = charClass(prev);
    if (cb > 1) continue;
    const ca = charClass(String.fromCodePoint(text.codePointAt(p) ?? 0));
    if (ca === cb) continue;
    if (maxSpecial && insideSpecial(text, p, specials, maxSpecial)) continue;
    return p;
  }
  return -1;
}

function insideSpecial(text: string, p: number, specials: readonly string[], maxLen: number): boolean {
  const from = Math.max(0, p - maxLen + 1);
  for (const s of specials) {
    for (let i = text.indexOf(s, from); i >= 0 && i < p; i = text.indexOf(s, i + 1)) {
      if (i + s.length > p) return true;
    }
  }
  return false;
}
