// Byte-level BPE training end to end: count pre-tokens (count.ts), learn merges (merge.ts) and lay
// out the vocabulary as GPT-2-style files expect it: special tokens first (ids 0…), then the 256
// byte tokens in GPT-2 order, then one token per merge. Writing files is left to tokenizer/tokenizer.ts.
import { ConfigError } from "../../errors.js";
import { BYTE_ORDER, BYTE_TO_CHAR, bytesToToken } from "./bytes.js";
import { countPretokensInFiles, type CountProgress } from "./count.js";
import { learnMerges, type MergeProgress } from "./merge.js";
import { countPretokens, gpt2Regex, specialsRegex, splitOnSpecials } from "./pretokenize.js";

/** Largest vocabulary trainBpe* accepts (token ids pack into pair keys below 2^21). */
export const MAX_VOCAB = 2_000_000;

export type TrainProgress = ({ phase: "count" } & CountProgress) | ({ phase: "merge" } & MergeProgress);

export interface TrainBpeOptions {
  /** Final vocabulary size, special tokens and the 256 byte tokens included. */
  vocabSize: number;
  /** Special tokens, e.g. ["<|endoftext|>"]: they split the text, are never merged, and take ids 0…. */
  specials?: readonly string[];
  /** Counting threads for file input (default: available cores). */
  threads?: number;
  onProgress?: (p: TrainProgress) => void;
}

/** A trained byte-level BPE: tokens are GPT-2 byte-level strings ("Ġthe"); specials are raw. */
export interface TrainedBpe {
  /** id → token. */
  vocab: string[];
  /** Merges in rank order, as byte-level strings. */
  merges: Array<[string, string]>;
  specials: string[];
  /** Distinct pre-tokens seen and their total count (for reports). */
  stats: { uniquePretokens: number; totalPretokens: number };
}

/** Check the options; returns the number of merges to learn. */
export function validateTrainOptions(opts: TrainBpeOptions): number {
  const specials = opts.specials ?? [];
  const problems: string[] = [];
  if (!Number.isInteger(opts.vocabSize)) problems.push(`vocabSize: must be an integer, got ${opts.vocabSize}`);
  const min = 256 + specials.length;
  if (opts.vocabSize > MAX_VOCAB) problems.push(`vocabSize: ${opts.vocabSize} is more than the ${MAX_VOCAB} supported`);
  if (opts.vocabSize < min) {
    problems.push(`vocabSize: ${opts.vocabSize} is smaller than the 256 byte tokens + ${specials.length} special token(s) = ${min}`);
  }
  const seen = new Set<string>();
  for (const s of specials) {
    if (s.length === 0) problems.push("specials: a special token is the empty string");
    else if (seen.has(s)) problems.push(`specials: "${s}" is given twice`);
    else if (s.length === 1 && BYTE_TO_CHAR.includes(s)) problems.push(`specials: "${s}" is also a byte token; pick a longer string`);
    seen.add(s);
  }
  if (problems.length) throw new ConfigError("invalid BPE training options", problems, "e.g. --vocab-size 16384 --special '<|endoftext|>'");
  return opts.vocabSize - min;
}

/** Train on text files (streamed, counted on worker threads). */
export async function trainBpeFromFiles(files: readonly string[], opts: TrainBpeOptions): Promise<TrainedBpe> {
  const numMerges = validateTrainOptions(opts);
  const specials = [...(opts.specials ?? [])];
  const counts = await countPretokensInFiles(files, {
    specials,
    threads: opts.threads,
    onProgress: opts.onProgress && ((p) => opts.onProgress!({ phase: "count", ...p })),
  });
  return trainBpeFromCounts(counts, numMerges, specials, opts.onProgress);
}

/** Train on an in-memory string (on the calling thread; for tests and small inputs). */
export function trainBpeFromText(text: string, opts: TrainBpeOptions): TrainedBpe {
  const numMerges = validateTrainOptions(opts);
  const specials = [...(opts.specials ?? [])];
  const counts = new Map<string, number>();
  const re = gpt2Regex();
  splitOnSpecials(text, specialsRegex(specials), (piece) => countPretokens(piece, counts, re));
  return trainBpeFromCounts(counts, numMerges, specials, opts.onProgress);
}

/** Learn merges from pre-token counts and lay out the vocabulary. */
export function trainBpeFromCounts(
  counts: ReadonlyMap<string, number>,
  numMerges: number,
  specials: readonly string[],
  onProgress?: (p: TrainProgress) => void,
): TrainedBpe {
  const learned = learnMerges(counts, numMerges, onProgress && ((p) => onProgress({ phase: "merge", ...p })));
  const merges = learned.map(([l, r]) => [bytesToToken(l), bytesToToken(r)] as [string, string]);
  const vocab = [...specials, ...BYTE_ORDER.map((b) => BYTE_TO_CHAR[b]), ...merges.map(([l, r]) => l + r)];
  const special = new Set(specials);
  for (const [l, r] of merges) {
    if (special.has(l + r)) throw new ConfigError(`special token "${l + r}" is also a learned token`, [], "choose special tokens that cannot occur as ordinary text, e.g. <|endoftext|>");
  }
  let total = 0;
  for (const c of counts.values()) total += c;
  return { vocab, merges, specials: [...specials], stats: { uniquePretokens: counts.size, totalPretokens: total } };
}
