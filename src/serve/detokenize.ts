// Incremental detokenizing for streamed completions: the text of the tokens so far without
// decoding the whole completion again for every new token. Tokens are committed to a fixed prefix
// once they decode to complete characters; this is exact for tokenizers whose decoding is
// concatenative at token boundaries (byte-level BPE: GPT-2, SmolLM2), which is checked once per
// tokenizer — others fall back to decoding everything each time.
import type { Tokenizer } from "../tokenizer/types.js";

const PROBE = "Hello world, héllo — naïve café 😊 again.\n  Indented: x=1; y = [2, 3]";

/** Whether decode(a) + decode(b) equals decode(a + b) at every split of a probe text. */
export function decodesConcatenatively(tok: Tokenizer): boolean {
  const ids = tok.encode(PROBE);
  const whole = tok.decode(ids, true);
  for (let i = 1; i < ids.length; i++) {
    const a = tok.decode(ids.slice(0, i), true);
    const b = tok.decode(ids.slice(i), true);
    if (a.includes("\uFFFD") || b.includes("\uFFFD")) continue; // a split inside a character
    if (a + b !== whole) return false;
  }
  return true;
}

export class IncrementalText {
  private readonly ids: number[] = [];
  private fixedIds = 0;
  private fixedText = "";
  constructor(private readonly tok: Tokenizer, private readonly incremental: boolean) {}

  push(id: number): void {
    this.ids.push(id);
  }

  /** The text of every token pushed so far (an incomplete character shows as U+FFFD at the end). */
  text(): string {
    if (!this.incremental) return this.tok.decode(this.ids, true);
    const tail = this.tok.decode(this.ids.slice(this.fixedIds), true);
    if (this.ids.length - this.fixedIds >= 16 && !tail.includes("\uFFFD")) {
      this.fixedText += tail;
      this.fixedIds = this.ids.length;
      return this.fixedText;
    }
    return this.fixedText + tail;
  }
}
