// A view of a source that keeps only its long documents (at least `minTokens` tokens, EOS
// included), concatenated in their original order: the token stream a long-context stage samples
// windows from when it upweights long documents (SmolLM2's context extension trained on long
// documents). Any TokenStream reader (the mixture sampler) can use it unchanged.
import { DataError } from "../errors.js";
import type { ShardSet, TokenStream } from "./shards.js";

export class LongDocView implements TokenStream {
  readonly name: string;
  readonly numTokens: number;
  readonly numDocs: number;
  /** Start of each kept document in the view, plus the total at the end. */
  private readonly viewStart: Float64Array;
  /** Start of each kept document in the underlying source. */
  private readonly srcStart: Float64Array;

  constructor(private readonly set: ShardSet, readonly minTokens: number) {
    this.name = set.name;
    const vs: number[] = [];
    const ss: number[] = [];
    let at = 0;
    for (let i = 0; i < set.numDocs; i++) {
      const [a, b] = set.docRange(i);
      if (b - a < minTokens) continue;
      vs.push(at);
      ss.push(a);
      at += b - a;
    }
    if (!vs.length) throw new DataError(`source "${set.source}" has no document of ${minTokens} tokens or more`, "lower the stage's min_doc_tokens for it, or drop it from the stage");
    vs.push(at);
    this.viewStart = Float64Array.from(vs);
    this.srcStart = Float64Array.from(ss);
    this.numDocs = ss.length;
    this.numTokens = at;
  }

  read(start: number, len: number, out: Int32Array = new Int32Array(len)): Int32Array {
    if (!(start >= 0 && start + len <= this.numTokens)) throw new DataError(`${this.name} (documents ≥ ${this.minTokens} tokens): read [${start}, ${start + len}) outside [0, ${this.numTokens})`);
    // The kept document holding `start`: the last k with viewStart[k] ≤ start.
    let lo = 0;
    let hi = this.numDocs - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.viewStart[mid] <= start) lo = mid;
      else hi = mid - 1;
    }
    let k = lo;
    let done = 0;
    while (done < len) {
      const off = start + done - this.viewStart[k];
      const n = Math.min(len - done, this.viewStart[k + 1] - this.viewStart[k] - off);
      this.set.read(this.srcStart[k] + off, n, out.subarray(done, done + n));
      done += n;
      k++;
    }
    return out;
  }
}
