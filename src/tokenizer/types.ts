// The tokenizer contract every data/eval/model command codes against. Implementations
// (HF tokenizer.json loading, BPE training) live in tokenizer/tokenizer.ts and tokenizer/bpe/.

export interface Tokenizer {
  /** Number of ids the tokenizer can produce (including added/special tokens). */
  readonly vocabSize: number;
  /** End-of-sequence / document separator id, if the tokenizer has one. */
  readonly eosId: number | undefined;
  /** Beginning-of-sequence id, if any. */
  readonly bosId: number | undefined;
  /** Special (added) tokens, e.g. "<|endoftext|>", "<|im_start|>". */
  readonly specialTokens: readonly string[];
  /** Text to ids; special tokens written in the text are recognised; no BOS/EOS is added. */
  encode(text: string): number[];
  /** Ids to text (special tokens kept unless skipSpecial). */
  decode(ids: readonly number[], skipSpecial?: boolean): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}
