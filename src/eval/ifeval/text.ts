// Text utilities of IFEval's reference checkers (google-research instruction_following_eval,
// instructions_util.py), re-expressed in TypeScript: its regex sentence splitter, word counting as
// nltk's RegexpTokenizer(r"\w+"), a Treebank-style word tokenizer (for capital words), and
// Python's str.isupper/islower.

const ALPHABETS = "([A-Za-z])";
const PREFIXES = "(Mr|St|Mrs|Ms|Dr)[.]";
const SUFFIXES = "(Inc|Ltd|Jr|Sr|Co)";
const STARTERS = "(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\\s|She\\s|It\\s|They\\s|Their\\s|Our\\s|We\\s|But\\s|However\\s|That\\s|This\\s|Wherever)";
const ACRONYMS = "([A-Z][.][A-Z][.](?:[A-Z][.])?)";
const WEBSITES = "[.](com|net|org|io|gov|edu|me)";
const DIGITS = "([0-9])";
const re = (s: string) => new RegExp(s, "g");

/** The reference's split_into_sentences. */
export function splitIntoSentences(input: string): string[] {
  let text = " " + input + "  ";
  text = text.replaceAll("\n", " ");
  text = text.replace(re(PREFIXES), "$1<prd>");
  text = text.replace(re(WEBSITES), "<prd>$1");
  text = text.replace(re(DIGITS + "[.]" + DIGITS), "$1<prd>$2");
  text = text.replace(/\.{2,}/g, (m) => "<prd>".repeat(m.length) + "<stop>");
  if (text.includes("Ph.D")) text = text.replaceAll("Ph.D.", "Ph<prd>D<prd>");
  text = text.replace(re("\\s" + ALPHABETS + "[.] "), " $1<prd> ");
  text = text.replace(re(ACRONYMS + " " + STARTERS), "$1<stop> $2");
  text = text.replace(re(ALPHABETS + "[.]" + ALPHABETS + "[.]" + ALPHABETS + "[.]"), "$1<prd>$2<prd>$3<prd>");
  text = text.replace(re(ALPHABETS + "[.]" + ALPHABETS + "[.]"), "$1<prd>$2<prd>");
  text = text.replace(re(" " + SUFFIXES + "[.] " + STARTERS), " $1<stop> $2");
  text = text.replace(re(" " + SUFFIXES + "[.]"), " $1<prd>");
  text = text.replace(re(" " + ALPHABETS + "[.]"), " $1<prd>");
  if (text.includes("”")) text = text.replaceAll(".”", "”.");
  if (text.includes('"')) text = text.replaceAll('."', '".');
  if (text.includes("!")) text = text.replaceAll('!"', '"!');
  if (text.includes("?")) text = text.replaceAll('?"', '"?');
  text = text.replaceAll(".", ".<stop>").replaceAll("?", "?<stop>").replaceAll("!", "!<stop>").replaceAll("<prd>", ".");
  let sentences = text.split("<stop>").map((s) => pyStrip(s));
  if (sentences.length && !sentences[sentences.length - 1]) sentences = sentences.slice(0, -1);
  return sentences;
}

export const countSentences = (text: string): number => splitIntoSentences(text).length;

/** nltk.tokenize.RegexpTokenizer(r"\w+") token count (Python's Unicode \w). */
export function countWords(text: string): number {
  return (text.match(/[\p{L}\p{N}_]+/gu) ?? []).length;
}

/** Python's whitespace set for str.strip()/split(). */
const PY_WS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
export function pyStrip(s: string, chars: string = PY_WS): string {
  let a = 0, b = s.length;
  while (a < b && chars.includes(s[a])) a++;
  while (b > a && chars.includes(s[b - 1])) b--;
  return s.slice(a, b);
}
export function pyLstrip(s: string, chars: string = PY_WS): string {
  let a = 0;
  while (a < s.length && chars.includes(s[a])) a++;
  return s.slice(a);
}
export function pyRstrip(s: string, chars: string = PY_WS): string {
  let b = s.length;
  while (b > 0 && chars.includes(s[b - 1])) b--;
  return s.slice(0, b);
}
export function pySplit(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (const ch of s) {
    if (PY_WS.includes(ch)) {
      if (cur) out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

const isUpperChar = (c: string) => c !== c.toLowerCase() && c === c.toUpperCase();
const isLowerChar = (c: string) => c !== c.toUpperCase() && c === c.toLowerCase();
const isTitleChar = (c: string) => /\p{Lt}/u.test(c);

/** Python's str.isupper(): some cased character, none lower- or titlecase. */
export function pyIsUpper(s: string): boolean {
  let cased = false;
  for (const c of s) {
    if (isLowerChar(c) || isTitleChar(c)) return false;
    if (isUpperChar(c)) cased = true;
  }
  return cased;
}

/** Python's str.islower(): some cased character, none upper- or titlecase. */
export function pyIsLower(s: string): boolean {
  let cased = false;
  for (const c of s) {
    if (isUpperChar(c) || isTitleChar(c)) return false;
    if (isLowerChar(c)) cased = true;
  }
  return cased;
}

/**
 * Words as nltk.word_tokenize splits them, for what the checkers need (which tokens are all
 * capitals): quotes, brackets and punctuation split off, clitics ('S, 'LL, N'T, …) separated.
 */
export function wordTokenize(text: string): string[] {
  const out: string[] = [];
  for (const sentence of splitIntoSentences(text).length ? [text] : []) {
    let t = sentence;
    t = t.replace(/^"/, "``").replace(/(``)/g, " $1 ").replace(/([ ([{<])("|'{2})/g, "$1 `` ");
    t = t.replace(/([:,])([^\d])/g, " $1 $2").replace(/([:,])$/g, " $1 ");
    t = t.replace(/\.\.\./g, " ... ").replace(/[;@#$%&]/g, " $& ");
    t = t.replace(/([^.])(\.)([\])}>"']*)\s*$/g, "$1 $2$3 ");
    t = t.replace(/[?!]/g, " $& ").replace(/([^'])' /g, "$1 ' ");
    t = t.replace(/[\]\[(){}<>]/g, " $& ").replace(/--/g, " -- ");
    t = " " + t + " ";
    t = t.replace(/"/g, " '' ").replace(/(\S)('')/g, "$1 $2 ");
    t = t.replace(/([^' ])('[sS]|'[mM]|'[dD]|') /g, "$1 $2 ").replace(/([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) /g, "$1 $2 ");
    out.push(...t.split(/\s+/).filter(Boolean));
  }
  return out;
}
