// Text normalisation and hashing shared by dedup and decontamination: words are runs of letters and
// digits (Unicode), lower-cased, punctuation and whitespace dropped; each word becomes a 32-bit
// FNV-1a hash without building strings, and word n-grams roll into 32-bit (MinHash shingles) or
// 53-bit (decontamination keys) hashes. Everything is deterministic and allocation-light.

/** 1 for characters that belong to words (letters, digits, marks), for every UTF-16 code unit. */
const WORD = new Uint8Array(65536);
/** Lower-case of each UTF-16 code unit (identity when the lower-case is not one unit). */
const LOWER = new Uint16Array(65536);
(() => {
  const re = /[\p{L}\p{N}\p{M}]/u;
  for (let c = 0; c < 65536; c++) {
    const s = String.fromCharCode(c);
    const lo = s.toLowerCase();
    LOWER[c] = lo.length === 1 ? lo.charCodeAt(0) : c;
    // Surrogates count as word characters, so astral letters (and emoji) stay inside words.
    WORD[c] = c >= 0xd800 && c <= 0xdfff ? 1 : re.test(s) ? 1 : 0;
  }
})();

/** Growable Uint32 buffer reused between documents. */
export class U32Buf {
  data = new Uint32Array(1024);
  length = 0;
  reset(): void {
    this.length = 0;
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Uint32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/**
 * Hash every normalised word of `text` (FNV-1a over lower-cased UTF-16 units) into `out`
 * (reset first). Returns the word count.
 */
export function wordHashes(text: string, out: U32Buf): number {
  out.reset();
  let h = 0x811c9dc5;
  let inWord = false;
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (WORD[c] === 1) {
      h = Math.imul(h ^ LOWER[c], 0x01000193);
      inWord = true;
    } else if (inWord) {
      out.push(h >>> 0);
      h = 0x811c9dc5;
      inWord = false;
    }
  }
  if (inWord) out.push(h >>> 0);
  return out.length;
}

/** The normalised words of a text as strings (for messages, tests and small inputs). */
export function normalizedWords(text: string): string[] {
  const words: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (WORD[c] === 1) cur += String.fromCharCode(LOWER[c]);
    else if (cur !== "") {
      words.push(cur);
      cur = "";
    }
  }
  if (cur !== "") words.push(cur);
  return words;
}

/** Murmur3's 32-bit finaliser: a bijective avalanche mix. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** B^k mod 2^32. */
function powU32(b: number, k: number): number {
  let r = 1;
  for (let i = 0; i < k; i++) r = Math.imul(r, b);
  return r;
}

const BASE1 = 0x01000193;
const BASE2 = 0x2545f491;

/**
 * Hash every word n-gram (window of `n` consecutive word hashes) into `out` as 32-bit values
 * (polynomial rolling hash, then fmix32). A text with fewer than `n` words yields one hash over
 * all its words (so short documents still have a shingle), none when it has no words.
 */
export function shingleHashes(words: U32Buf, n: number, out: U32Buf): number {
  out.reset();
  const w = words.data;
  const len = words.length;
  if (len === 0) return 0;
  const m = Math.min(n, len);
  const top = powU32(BASE1, m - 1);
  let h = 0;
  for (let i = 0; i < m; i++) h = (Math.imul(h, BASE1) + w[i]) | 0;
  out.push(fmix32(h));
  for (let i = m; i < len; i++) {
    h = (Math.imul((h - Math.imul(w[i - m], top)) | 0, BASE1) + w[i]) | 0;
    out.push(fmix32(h));
  }
  return out.length;
}

/**
 * Visit the 53-bit key of every n-gram of `words[0..len)` (two independent rolling hashes; exact
 * integers, usable as Map keys). `visit` returns true to stop early.
 */
export function forEachNgramKey(words: Uint32Array, len: number, n: number, visit: (key: number, start: number) => boolean | void): void {
  if (len < n || n <= 0) return;
  const top1 = powU32(BASE1, n - 1);
  const top2 = powU32(BASE2, n - 1);
  let h1 = 0;
  let h2 = 0;
  for (let i = 0; i < n; i++) {
    h1 = (Math.imul(h1, BASE1) + w32(words[i])) | 0;
    h2 = (Math.imul(h2, BASE2) + w32(words[i] ^ 0x5bd1e995)) | 0;
  }
  if (visit(ngramKey(h1, h2), 0)) return;
  for (let i = n; i < len; i++) {
    h1 = (Math.imul((h1 - Math.imul(w32(words[i - n]), top1)) | 0, BASE1) + w32(words[i])) | 0;
    h2 = (Math.imul((h2 - Math.imul(w32(words[i - n] ^ 0x5bd1e995), top2)) | 0, BASE2) + w32(words[i] ^ 0x5bd1e995)) | 0;
    if (visit(ngramKey(h1, h2), i - n + 1)) return;
  }
}

function w32(x: number): number {
  return x | 0;
}

function ngramKey(h1: number, h2: number): number {
  return fmix32(h1) + (fmix32(h2 ^ 0x9e3779b9) & 0x1fffff) * 4294967296;
}
