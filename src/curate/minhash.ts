// MinHash signatures over word n-gram shingles and their LSH band keys. Each of the bands × rows
// hash functions is a seeded bijection of the 32-bit shingle hash (xor a seed, multiply by an odd
// constant, xorshift), so a signature row is the minimum of a pseudo-random permutation and two
// documents agree on a row with probability equal to their shingle-set Jaccard similarity. The
// naive twin (`minhashSignatureNaive`) is the test oracle; bucketing and clustering live in lsh.ts.
import { defaultBackend } from "../backend/index.js";
import type { NativeBackend } from "../backend/native.js";
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

  /** Fill `this.sig` with the signature of shingle hashes xs[begin..end); false when there are none. */
  private signatureOf(xs: Uint32Array, begin: number, end: number): boolean {
    const sig = this.sig;
    sig.fill(0x7fffffff);
    if (end <= begin) return false;
    const xor = this.fam.xor;
    const mul = this.fam.mul;
    const k = this.k;
    for (let j = begin; j < end; j++) {
      const x = xs[j] | 0;
      for (let i = 0; i < k; i++) {
        let v = Math.imul(x ^ xor[i], mul[i]);
        v ^= v >>> 15;
        if (v < sig[i]) sig[i] = v;
      }
    }
    return true;
  }

  /** Fill `this.sig` with the document's signature; returns false for a document without words. */
  signature(text: string): boolean {
    wordHashes(text, this.words);
    const n = shingleHashes(this.words, this.p.ngram, this.shingles);
    return this.signatureOf(this.shingles.data, 0, n);
  }

  /** Fold `this.sig` into two 32-bit keys per band at out[off..]. */
  private keysFromSig(out: Uint32Array, off: number): void {
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
  }

  /**
   * Append the document's band keys to `out` at `off`: two 32-bit hashes per band (bands × 2
   * values). Returns false for a document without words (it then has no keys and is never a
   * near-duplicate).
   */
  bandKeys(text: string, out: Uint32Array, off: number): boolean {
    if (!this.signature(text)) return false;
    this.keysFromSig(out, off);
    return true;
  }

  private all = new U32Buf();
  private offsets = new Int32Array(1025);

  /**
   * Band keys of a batch of texts into keys[d * bands * 2 ..] and ok[d]. Shingling runs here; the
   * signatures run in the native kernel when the addon is loaded, else in the loop above
   * (bit-identical results). `kernel`: undefined picks the native one when loaded, null forces the loop.
   */
  bandKeysBatch(texts: readonly string[], keys: Uint32Array, ok: Uint8Array, kernelArg?: MinhashKernel | null): void {
    const kernel = kernelArg === undefined ? nativeMinhashKernel() : kernelArg ?? undefined;
    const n = texts.length;
    const per = 2 * this.p.bands;
    if (this.offsets.length < n + 1) this.offsets = new Int32Array(n + 1);
    const offsets = this.offsets;
    const all = this.all;
    all.reset();
    for (let d = 0; d < n; d++) {
      offsets[d] = all.length;
      wordHashes(texts[d], this.words);
      const m = shingleHashes(this.words, this.p.ngram, this.shingles);
      for (let j = 0; j < m; j++) all.push(this.shingles.data[j]);
    }
    offsets[n] = all.length;
    if (kernel) {
      const sh = new Int32Array(all.data.buffer, 0, all.length);
      kernel(keys, ok, sh, offsets, this.fam.xor, this.fam.mul, n, this.p.bands, this.p.rows);
      return;
    }
    for (let d = 0; d < n; d++) {
      ok[d] = this.signatureOf(all.data, offsets[d], offsets[d + 1]) ? 1 : 0;
      if (ok[d]) this.keysFromSig(keys, d * per);
      else keys.fill(0, d * per, (d + 1) * per);
    }
  }
}

/** The native band-key kernel's signature (NativeBackend.minhashBands). */
export type MinhashKernel = (keys: Uint32Array, ok: Uint8Array, shingles: Int32Array, offsets: Int32Array, xor: Int32Array, mul: Int32Array, nDocs: number, bands: number, rows: number) => void;

let kernelCache: MinhashKernel | null | undefined;

/** The native MinHash kernel when the addon is loaded (SMOL_BACKEND=reference turns it off). */
export function nativeMinhashKernel(): MinhashKernel | undefined {
  if (kernelCache === undefined) {
    const be = defaultBackend().backend as Partial<NativeBackend>;
    kernelCache = typeof be.minhashBands === "function" ? be.minhashBands.bind(be) : null;
  }
  return kernelCache ?? undefined;
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
