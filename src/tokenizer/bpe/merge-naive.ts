// The slow, obvious twin of merge.ts: recount every adjacent pair over all words before each merge
// and take the max (count, then greatest (left bytes, right bytes)). The test oracle for learnMerges.
import { compareBytes } from "./bytes.js";
import type { BytePair } from "./merge.js";

export function learnMergesNaive(counts: ReadonlyMap<string, number>, numMerges: number): BytePair[] {
  const enc = new TextEncoder();
  const words: Array<{ syms: Uint8Array[]; f: number }> = [];
  for (const [tok, f] of counts) words.push({ syms: Array.from(enc.encode(tok), (b) => Uint8Array.of(b)), f });
  const merges: BytePair[] = [];
  const hex = (u: Uint8Array) => Array.from(u, (x) => x.toString(16).padStart(2, "0")).join("");
  while (merges.length < numMerges) {
    const tally = new Map<string, { pair: BytePair; count: number }>();
    for (const { syms, f } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = hex(syms[i]) + "|" + hex(syms[i + 1]);
        const e = tally.get(k);
        if (e) e.count += f;
        else tally.set(k, { pair: [syms[i], syms[i + 1]], count: f });
      }
    }
    let best: { pair: BytePair; count: number } | undefined;
    for (const e of tally.values()) {
      if (!best || e.count > best.count) best = e;
      else if (e.count === best.count) {
        const c = compareBytes(e.pair[0], best.pair[0]) || compareBytes(e.pair[1], best.pair[1]);
        if (c > 0) best = e;
      }
    }
    if (!best) break;
    const [l, r] = best.pair;
    const joined = new Uint8Array(l.length + r.length);
    joined.set(l);
    joined.set(r, l.length);
    for (const w of words) {
      const out: Uint8Array[] = [];
      for (let i = 0; i < w.syms.length; ) {
        if (i + 1 < w.syms.length && compareBytes(w.syms[i], l) === 0 && compareBytes(w.syms[i + 1], r) === 0) {
          out.push(joined);
          i += 2;
        } else out.push(w.syms[i++]);
      }
      w.syms = out;
    }
    merges.push([l, r]);
  }
  return merges;
}
