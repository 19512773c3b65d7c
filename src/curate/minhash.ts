// MinHash signatures over word n-gram shingles and their LSH band keys. Each of the bands × rows
// hash functions is a seeded bijection of the 32-bit shingle hash (xor a seed, multiply by an odd
// constant, xorshift), so a signature row is the minimum of a pseudo-random permutation and two
// documents agree on a row with probability equal to their shingle-set Jaccard similarity. The
// naive twin (`minhashSignatureNaive`) is the test oracle; bucketing and clustering live in lsh.ts.
import { Rng } from "../util/rng.js";
import { fmix32, shingleHashes, U32Buf, wordHashes } from "./text.js";

export interface MinHashParams {
  /** Words per shingle (datatrove: 5). */
  ngram: number;
  /** LSH bands (datatrove: 14; FineMath: 1). */
  bands: number;
  /** Hashes per band (datatrove: 8; FineMath: 10). */
  rows: number;
  /** Seed of the hash functions. */
  seed: number;
}

/** The per-row seeds and odd multipliers of the bands × rows hash functions. */
export interface HashFamily {
  xor: Int32Array;
  mul: Int32Array;
}

export function hashFamily(p: MinHashParams): HashFamily {
  const k = p.bands * p.rows;
  const rng = new Rng(p.seed);
  const xor = new Int32Array(k);
  const mul = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    xor[i] = rng.nextU32() | 0;
    mul[i] = (rng.nextU32() | 1) | 0;
  }
  return { xor, mul };
}

/** Row i's hash of a shingle hash x (a bijection of 32-bit values, compared as signed ints). */
export function rowHash(fam: HashFamily, i: number, x: number): number {
  const v = Math.imul(x ^ fam.xor[i], fam.mul[i]);
  return v ^ (v >>> 15);
}

/** Reusable scratch buffers for one thread. */
export class MinHasher {
  readonly fam: HashFamily;
  readonly k: number;
  private words = new U32Buf();
  private shingles = new U32Buf();
  readonly sig: Int32Array;
  constructor(readonly p: MinHashParams) {
    this.fam = hashFamily(p);
    this.k = p.bands * p.rows;
    this.sig = new Int32Array(this.k);
  }

  /** Fill `this.sig` with the document's signature; returns false for a document without words. */
  signature(text: string): boolean {
    wordHashes(text, this.words);
    const n = shingleHashes(this.words, this.p.ngram, this.shingles);
    const sig = this.sig;
    sig.fill(0x7fffffff);
    if (n === 0) return false;
    const xs = this.shingles.data;
    const xor = this.fam.xor;
    const mul = this.fam.mul;
    const k = this.k;
    for (let j = 0; j < n; j++) {
      const x = xs[j] | 0;
      for (let i = 0; i < k; i++) {
        let v = Math.imul(x ^ xor[i], mul[i]);
        v ^= v >>> 15;
        if (v < sig[i]) sig[i] = v;
      }
    }
    return true;
  }

  /**
   * Append the document's band keys to `out` at `off`: two 32-bit hashes per band (bands × 2
   * values). Returns false for a document without words (it then has no keys and is never a
   * near-duplicate).
   */
  bandKeys(text: string, out: Uint32Array, off: number): boolean {
    if (!this.signature(text)) return false;
    const { bands, rows } = this.p;
    for (let b = 0; b < bands; b++) {
      let h1 = 0x9747b28c ^ b;
      let h2 = 0x5bd1e995 ^ Math.imul(b, 0x27d4eb2d);
      for (let r = 0; r < rows; r++) {
        const v = this.sig[b * rows + r];
        h1 = fmix32((h1 ^ v) + 0x7f4a7c15);
        h2 = fmix32(Math.imul(h2 ^ v, 0x165667b1) + 0x3c6ef372);
      }
      out[off + 2 * b] = h1;
      out[off + 2 * b + 1] = h2;
    }
    return true;
  }
}

/** The naive twin: shingles as a Set of strings, each row's minimum computed separately. */
export function minhashSignatureNaive(text: string, p: MinHashParams): Int32Array {
  const fam = hashFamily(p);
  const words = new U32Buf();
  const sh = new U32Buf();
  wordHashes(text, words);
  const n = shingleHashes(words, p.ngram, sh);
  const set = new Set<number>();
  for (let j = 0; j < n; j++) set.add(sh.data[j] | 0);
  const sig = new Int32Array(p.bands * p.rows).fill(0x7fffffff);
  for (let i = 0; i < sig.length; i++) for (const x of set) sig[i] = Math.min(sig[i], rowHash(fam, i, x));
  return sig;
}
