// A fast byte-level BPE encoder/decoder for tokenizer.json files of the GPT-2 family (GPT-2,
// SmolLM2, ours): added tokens split the text, an optional Digits split, the GPT-2 regex, then BPE
// by merge rank with a cache of pre-token → ids. tokenizer/tokenizer.ts checks a file fits (byteLevelSpec)
// and otherwise encodes with @huggingface/tokenizers, the reference this is tested against.
import { BYTE_TO_CHAR, tokenToBytes } from "./bytes.js";
import { gpt2Regex, specialsRegex, splitOnSpecials } from "./pretokenize.js";

export interface AddedTokenSpec {
  id: number;
  content: string;
  special: boolean;
}

export interface ByteLevelBpeSpec {
  /** token → id of the BPE model (added tokens may be listed here too). */
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order. */
  merges: ReadonlyArray<readonly [string, string]>;
  added: readonly AddedTokenSpec[];
  /** A `Digits` pre-tokenizer before the byte-level one: split off each digit, or each run of digits. */
  digits: "none" | "individual" | "runs";
  addPrefixSpace: boolean;
  useRegex: boolean;
  /** A pre-token that is itself in the vocab is emitted whole (tokenizer.json `ignore_merges`). */
  ignoreMerges: boolean;
}

const SHIFT = 2 ** 21;
/** Cached pre-tokens kept before the cache is cleared (bounded memory on endless text). */
const CACHE_LIMIT = 1 << 19;

export class ByteLevelBpeEncoder {
  private readonly byteIds = new Int32Array(256);
  /** (left id, right id) → rank. */
  private readonly ranks = new Map<number, number>();
  private readonly mergedId: Int32Array;
  private readonly addedById = new Map<number, AddedTokenSpec>();
  private readonly addedByContent = new Map<string, AddedTokenSpec>();
  private readonly addedRe: RegExp | undefined;
  private readonly re = gpt2Regex();
  private readonly digitRe: RegExp | undefined;
  private readonly cache = new Map<string, Int32Array>();
  private readonly idToBytes: Array<Uint8Array | undefined> = [];
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

  /** Throws an Error naming what does not fit when the spec cannot be encoded exactly this way. */
  constructor(private readonly spec: ByteLevelBpeSpec) {
    for (let b = 0; b < 256; b++) {
      const id = spec.vocab.get(BYTE_TO_CHAR[b]);
      if (id === undefined) throw new Error(`byte token ${JSON.stringify(BYTE_TO_CHAR[b])} is not in the vocab`);
      this.byteIds[b] = id;
    }
    this.mergedId = new Int32Array(spec.merges.length);
    spec.merges.forEach(([l, r], rank) => {
      const a = spec.vocab.get(l);
      const b = spec.vocab.get(r);
      const m = spec.vocab.get(l + r);
      if (a === undefined || b === undefined || m === undefined) throw new Error(`merge "${l} ${r}" uses a token missing from the vocab`);
      if (a >= SHIFT || b >= SHIFT) throw new Error("vocab ids too large");
      const key = a * SHIFT + b;
      this.ranks.set(key, rank); // a repeated merge keeps its last rank, as @huggingface/tokenizers does
      this.mergedId[rank] = m;
    });
    for (const [tok, id] of spec.vocab) this.idToBytes[id] = tokenToBytes(tok);
    for (const a of spec.added) {
      this.addedById.set(a.id, a);
      this.addedByContent.set(a.content, a);
    }
    this.addedRe = specialsRegex(spec.added.map((a) => a.content));
    // The patterns @huggingface/tokenizers uses for Digits (JavaScript's ASCII \d).
    if (spec.digits !== "none") this.digitRe = spec.digits === "individual" ? /[^\d]+|\d/gu : /[^\d]+|\d+/gu;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    splitOnSpecials(
      text,
      this.addedRe,
      (section) => this.encodeSection(section, out),
      (tok) => out.push(this.addedByContent.get(tok)!.id),
    );
    return out;
  }

  private encodeSection(section: string, out: number[]): void {
    const d = this.digitRe;
    if (d) {
      d.lastIndex = 0;
      for (let m = d.exec(section); m !== null; m = d.exec(section)) this.encodePiece(m[0], out);
    } else this.encodePiece(section, out);
  }

  private encodePiece(piece: string, out: number[]): void {
    if (this.spec.addPrefixSpace && !piece.startsWith(" ")) piece = " " + piece;
    if (!this.spec.useRegex) {
      this.encodeWord(piece, out);
      return;
    }
    const re = this.re;
    re.lastIndex = 0;
    for (let m = re.exec(piece); m !== null; m = re.exec(piece)) this.encodeWord(m[0], out);
  }

  private encodeWord(word: string, out: number[]): void {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = this.bpe(word);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  /** BPE one pre-token: repeatedly merge the lowest-ranked adjacent pair (leftmost on ties). */
  private bpe(word: string): Int32Array {
    const bytes = this.enc.encode(word);
    if (this.spec.ignoreMerges) {
      let s = "";
      for (const b of bytes) s += BYTE_TO_CHAR[b];
      const whole = this.spec.vocab.get(s);
      if (whole !== undefined) return Int32Array.of(whole);
    }
    const syms = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) syms[i] = this.byteIds[bytes[i]];
    let n = syms.length;
    while (n > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < n; i++) {
        const r = this.ranks.get(syms[i] * SHIFT + syms[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      syms[best] = this.mergedId[bestRank];
      syms.copyWithin(best + 1, best + 2, n);
      n--;
    }
    return syms.slice(0, n);
  }

  /** Ids → text; bytes that do not form UTF-8 become U+FFFD. Throws RangeError on an unknown id. */
  decode(ids: readonly number[], skipSpecial = false): string {
    let text = "";
    const buf: number[] = [];
    const flush = () => {
      if (buf.length) text += this.dec.decode(Uint8Array.from(buf));
      buf.length = 0;
    };
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (added) {
        flush();
        if (!(skipSpecial && added.special)) text += added.content;
        continue;
      }
      const bytes = this.idToBytes[id];
      if (bytes === undefined) throw new RangeError(`token id ${id} is not in the vocabulary`);
      for (let i = 0; i < bytes.length; i++) buf.push(bytes[i]);
    }
    flush();
    return text;
  }
}
