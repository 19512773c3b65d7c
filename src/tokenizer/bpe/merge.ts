// The BPE merge loop over counted pre-tokens, with incremental pair counts: an index from each pair
// to the words containing it and a lazy max-heap of (count, pair), so a merge only touches the words
// that contain the merged pair. Ties go to the lexicographically greatest (left bytes, right bytes).
// merge-naive.ts is its slow twin (a full recount per merge), kept as the test oracle.
import { compareBytes } from "./bytes.js";

export interface MergeProgress {
  done: number;
  total: number;
  seconds: number;
}

/** One learned merge: the byte strings of its left and right parts. */
export type BytePair = [left: Uint8Array, right: Uint8Array];

/** Token ids < 2^21, so a pair packs into one exact double. */
const SHIFT = 2 ** 21;

interface PairInfo {
  count: number;
  /** Words that contained the pair when it appeared in them (may hold stale entries and repeats). */
  words: number[];
}

/** Pre-tokens (strings, with their counts) → up to `numMerges` merges, in the order learned. */
export function learnMerges(
  counts: ReadonlyMap<string, number>,
  numMerges: number,
  onProgress?: (p: MergeProgress) => void,
): BytePair[] {
  if (256 + numMerges >= SHIFT) throw new RangeError(`learnMerges: ${numMerges} merges is more than supported (${SHIFT - 257})`);
  const t0 = performance.now();
  const enc = new TextEncoder();
  const tokBytes: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokBytes.push(Uint8Array.of(b));

  // Words with at least two bytes (others never hold a pair).
  const words: Int32Array[] = [];
  const lens: number[] = [];
  const freq: number[] = [];
  for (const [tok, f] of counts) {
    const bytes = enc.encode(tok);
    if (bytes.length < 2) continue;
    words.push(Int32Array.from(bytes));
    lens.push(bytes.length);
    freq.push(f);
  }

  const pairs = new Map<number, PairInfo>();
  for (let w = 0; w < words.length; w++) {
    const s = words[w];
    const f = freq[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i] * SHIFT + s[i + 1];
      let p = pairs.get(key);
      if (!p) pairs.set(key, (p = { count: 0, words: [] }));
      p.count += f;
      if (p.words[p.words.length - 1] !== w) p.words.push(w);
    }
  }

  const heap = new PairHeap(tokBytes);
  for (const [key, p] of pairs) heap.push(p.count, key);

  const merges: BytePair[] = [];
  const seen = new Int32Array(words.length).fill(-1);
  const delta = new Map<number, number>();
  const newWordPairs = new Map<number, number[]>();
  let lastReport = t0;
  while (merges.length < numMerges) {
    // Pop the best pair whose heap entry is current.
    let key = -1;
    while (heap.size > 0) {
      const [c, k] = heap.pop();
      if (pairs.get(k)?.count === c) {
        key = k;
        break;
      }
    }
    if (key < 0) break; // no pair left: every word is a single token
    const a = Math.floor(key / SHIFT);
    const b = key - a * SHIFT;
    const id = 256 + merges.length;
    const left = tokBytes[a];
    const right = tokBytes[b];
    const joined = new Uint8Array(left.length + right.length);
    joined.set(left);
    joined.set(right, left.length);
    tokBytes.push(joined);
    merges.push([left, right]);
    const m = merges.length;

    delta.clear();
    newWordPairs.clear();
    for (const w of pairs.get(key)!.words) {
      if (seen[w] === m) continue;
      seen[w] = m;
      const s = words[w];
      const n = lens[w];
      let hit = false;
      for (let i = 0; i + 1 < n; i++) {
        if (s[i] === a && s[i + 1] === b) {
          hit = true;
          break;
        }
      }
      if (!hit) continue;
      const f = freq[w];
      for (let i = 0; i + 1 < n; i++) {
        const k = s[i] * SHIFT + s[i + 1];
        delta.set(k, (delta.get(k) ?? 0) - f);
      }
      let o = 0;
      for (let i = 0; i < n; ) {
        if (i + 1 < n && s[i] === a && s[i + 1] === b) {
          s[o++] = id;
          i += 2;
        } else s[o++] = s[i++];
      }
      lens[w] = o;
      for (let i = 0; i + 1 < o; i++) {
        const k = s[i] * SHIFT + s[i + 1];
        delta.set(k, (delta.get(k) ?? 0) + f);
        if (s[i] === id || s[i + 1] === id) {
          let list = newWordPairs.get(k);
          if (!list) newWordPairs.set(k, (list = []));
          if (list[list.length - 1] !== w) list.push(w);
        }
      }
    }
    pairs.delete(key);
    delta.delete(key);
    for (const [k, d] of delta) {
      if (d === 0) continue;
      let p = pairs.get(k);
      if (!p) pairs.set(k, (p = { count: 0, words: [] }));
      p.count += d;
      if (p.count <= 0) pairs.delete(k);
      else heap.push(p.count, k);
    }
    for (const [k, list] of newWordPairs) {
      const p = pairs.get(k);
      if (p) for (const w of list) p.words.push(w);
    }
    if (onProgress) {
      const now = performance.now();
      if (now - lastReport > 250 || m === numMerges) {
        lastReport = now;
        onProgress({ done: m, total: numMerges, seconds: (now - t0) / 1000 });
      }
    }
  }
  return merges;
}

/** Max-heap of (count, pair key): larger count first, ties to the greater (left, right) bytes. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  constructor(private readonly tokBytes: Uint8Array[]) {}
  get size(): number {
    return this.counts.length;
  }
  /** true when entry i should sit above entry j. */
  private above(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    if (ci !== cj) return ci > cj;
    const ki = this.keys[i];
    const kj = this.keys[j];
    const ai = Math.floor(ki / SHIFT);
    const aj = Math.floor(kj / SHIFT);
    const c = ai === aj ? 0 : compareBytes(this.tokBytes[ai], this.tokBytes[aj]);
    if (c !== 0) return c > 0;
    return compareBytes(this.tokBytes[ki - ai * SHIFT], this.tokBytes[kj - aj * SHIFT]) > 0;
  }
  private swap(i: number, j: number): void {
    const c = this.counts[i];
    this.counts[i] = this.counts[j];
    this.counts[j] = c;
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  pop(): [count: number, key: number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    const n = this.counts.length;
    if (n > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < n && this.above(l, best)) best = l;
        if (r < n && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}
