// The mixture sampler: training sequences of T+1 tokens drawn from several token sources in
// proportion to per-stage weights, deterministic from the run seed and resumable from a plain-JSON
// cursor; stages follow one another by token budget. Also deterministic validation batches.
// Token storage is shards.ts's (any TokenStream works); training loops and checkpoints are train/'s.
//
// What the numbers mean (DESIGN.md principle 10):
// - A weight is the fraction of a stage's training TOKENS that come from that source. Every source
//   is cut into fixed windows of T+1 tokens of its concatenated token stream (documents are packed,
//   separated by EOS, and may span windows), so every sequence carries exactly T training tokens and
//   token shares equal sequence shares.
// - Which source supplies the next sequence: deterministic "largest deficit first" (smooth weighted
//   round robin): pick argmax_i (w_i·(n+1) − c_i) over the stage's sources, ties to the earlier one,
//   where c_i counts sequences already taken from source i in this stage and n = Σ c_i. After any n
//   draws |c_i − w_i·n| < 1, so proportions hold even over a few batches, with no RNG state; the
//   order of content inside each source is what is random.
// - Each source reads its windows in a fresh permutation per epoch: sourceSeed = deriveSeed(runSeed,
//   "mixture:" + name), epochSeed = deriveSeed(sourceSeed, "epoch:" + e) (deriveSeed = FNV-1a of the
//   label mixed with the seed, then splitmix32; util/rng.ts), permutation = Fisher–Yates with
//   Rng(epochSeed). Running out starts the next epoch; starting epoch maxEpochs+1 is a DataError.
// - A stage ends once it has supplied `tokens` training tokens (T per sequence, checked per sequence,
//   so one batch may straddle two stages). The last stage runs on past its budget.
// - A source's position (epoch, window) is shared by every stage that uses it.
import { DataError } from "../errors.js";
import { Rng, deriveSeed } from "../util/rng.js";
import { openShards, type OpenShardsOptions, type ShardSet, type TokenStream } from "./shards.js";

export interface StageSpec {
  name: string;
  /** Training tokens this stage supplies before the next begins (optional on the last stage). */
  tokens?: number;
  /** Source name → fraction of the stage's tokens. Must be ≥ 0 and sum to 1 (±1e-6). */
  weights: Record<string, number>;
}

export interface MixtureOptions {
  seed: number;
  /** T: each sequence is T+1 tokens (T inputs, T shifted targets). */
  seqLen: number;
  /** Most epochs any source may start (default unlimited). */
  maxEpochs?: number;
}

export interface SourcePosition {
  /** 0-based epoch being read. */
  epoch: number;
  /** Windows already taken from this epoch's permutation. */
  pos: number;
  /** Sequences taken from this source over the run. */
  drawn: number;
}

/** Everything needed to continue exactly (plain JSON; goes into checkpoints). */
export interface MixtureCursor {
  version: 1;
  seed: number;
  seqLen: number;
  stage: number;
  /** Sequences supplied by the current stage, per source in the stage's weight order. */
  stageCounts: number[];
  sources: Record<string, SourcePosition>;
}

export interface Batch {
  /** B·T input ids, row-major. */
  inputs: Int32Array;
  /** B·T target ids (inputs shifted by one). */
  targets: Int32Array;
  /** Source of each row. */
  sources: string[];
  /** Stage of each row. */
  stages: string[];
}

export interface SourceReport {
  name: string;
  windows: number;
  tokensPerEpoch: number;
  epoch: number;
  /** Epochs consumed, fractional (epoch + pos / windows). */
  epochs: number;
  drawn: number;
}

/** Per-source seed: how a source's permutations derive from the run seed. */
export function sourceSeed(runSeed: number, name: string): number {
  return deriveSeed(runSeed, `mixture:${name}`);
}

/** The window order of one epoch of one source. */
export function epochPermutation(runSeed: number, name: string, epoch: number, windows: number): Uint32Array {
  const perm = new Uint32Array(windows);
  for (let i = 0; i < windows; i++) perm[i] = i;
  new Rng(deriveSeed(sourceSeed(runSeed, name), `epoch:${epoch}`)).shuffle(perm);
  return perm;
}

class SourceReader {
  readonly windows: number;
  private perm: Uint32Array | undefined;
  private permEpoch = -1;
  constructor(
    readonly name: string,
    private readonly tokens: TokenStream,
    private readonly seed: number,
    private readonly T: number,
    private readonly maxEpochs: number,
    readonly at: SourcePosition,
  ) {
    this.windows = Math.floor((tokens.numTokens - 1) / T);
    if (this.windows < 1) {
      throw new DataError(`source "${name}" has ${tokens.numTokens} tokens, fewer than one sequence of ${T + 1}`, "add data to it, lower the sequence length, or drop it from the mixture");
    }
    if (at.pos > this.windows) throw new DataError(`cursor position of source "${name}" (window ${at.pos}) does not fit its ${this.windows} windows`, "resume with the run's original shards and sequence length");
    if (at.epoch >= maxEpochs) throw new DataError(`source "${name}" is in epoch ${at.epoch + 1} by the cursor, beyond max epochs ${maxEpochs}`, "raise the max-epochs cap to resume this run");
  }

  /** Copy the next window (T+1 tokens) into `out`. */
  next(out: Int32Array): void {
    if (this.at.pos === this.windows) {
      if (this.at.epoch + 1 >= this.maxEpochs) {
        throw new DataError(
          `source "${this.name}" ran out of data: it would start epoch ${this.at.epoch + 2}, but max epochs is ${this.maxEpochs} ` +
            `(${this.windows} sequences of ${this.T + 1} tokens per epoch)`,
          "lower its weight, add data to it, or raise the max-epochs cap",
        );
      }
      this.at.epoch++;
      this.at.pos = 0;
    }
    if (this.permEpoch !== this.at.epoch) {
      this.perm = epochPermutation(this.seed, this.name, this.at.epoch, this.windows);
      this.permEpoch = this.at.epoch;
    }
    const w = this.perm![this.at.pos];
    this.tokens.read(w * this.T, this.T + 1, out);
    this.at.pos++;
    this.at.drawn++;
  }

  report(): SourceReport {
    return {
      name: this.name, windows: this.windows, tokensPerEpoch: this.windows * this.T, epoch: this.at.epoch,
      epochs: this.at.epoch + this.at.pos / this.windows, drawn: this.at.drawn,
    };
  }
}

interface Stage {
  name: string;
  budget: number;
  names: string[];
  weights: number[];
}

function checkStages(stages: readonly StageSpec[], available: readonly string[]): Stage[] {
  const problems: string[] = [];
  if (stages.length === 0) problems.push("no stages given");
  const out = stages.map((s, i) => {
    const where = `stages[${i}] (${s.name})`;
    const names = Object.keys(s.weights);
    const weights = names.map((n) => s.weights[n]);
    if (names.length === 0) problems.push(`${where}: no sources`);
    names.forEach((n, j) => {
      if (!available.includes(n)) problems.push(`${where}.weights.${n}: no such source (have: ${available.join(", ")})`);
      if (!(Number.isFinite(weights[j]) && weights[j] >= 0)) problems.push(`${where}.weights.${n}: must be a number >= 0, got ${weights[j]}`);
    });
    const sum = weights.reduce((a, b) => a + b, 0);
    if (names.length && Math.abs(sum - 1) > 1e-6) problems.push(`${where}.weights: must sum to 1 (fractions of the stage's tokens), got ${sum}`);
    const last = i === stages.length - 1;
    if (s.tokens === undefined ? !last : !(s.tokens > 0 && Number.isFinite(s.tokens))) {
      problems.push(`${where}.tokens: ${last ? "must be > 0 when given" : "a token budget > 0 is required for every stage but the last"}`);
    }
    return { name: s.name, budget: s.tokens ?? Infinity, names, weights };
  });
  if (problems.length) throw new DataError(`invalid mixture:\n  - ${problems.join("\n  - ")}`);
  return out;
}

/**
 * Draws training sequences through a list of stages (one stage is a plain mixture). Construct with
 * a cursor to continue a run exactly where that cursor was taken.
 */
export class StageStream {
  private readonly stages: Stage[];
  private readonly readers = new Map<string, SourceReader>();
  private stage: number;
  /** Set by enterStage(): the stage follows the caller's clock, not the token budgets. */
  private driven = false;
  private counts: number[];
  private readonly T: number;
  private readonly seed: number;
  private readonly window: Int32Array;

  constructor(stages: readonly StageSpec[], sources: ReadonlyMap<string, TokenStream> | Record<string, TokenStream>, opts: MixtureOptions, cursor?: MixtureCursor) {
    const map = sources instanceof Map ? sources : new Map(Object.entries(sources));
    if (!(Number.isInteger(opts.seqLen) && opts.seqLen >= 1)) throw new DataError(`seqLen must be an integer >= 1, got ${opts.seqLen}`);
    if (!Number.isInteger(opts.seed)) throw new DataError(`seed must be an integer, got ${opts.seed}`);
    const maxEpochs = opts.maxEpochs ?? Infinity;
    if (!(maxEpochs >= 1)) throw new DataError(`maxEpochs must be >= 1, got ${maxEpochs}`);
    this.stages = checkStages(stages, [...map.keys()]);
    this.T = opts.seqLen;
    this.seed = opts.seed;
    this.window = new Int32Array(this.T + 1);
    if (cursor) {
      if (cursor.version !== 1 || cursor.seed !== opts.seed || cursor.seqLen !== opts.seqLen) {
        throw new DataError(`data cursor was taken with seed ${cursor.seed} and seqLen ${cursor.seqLen}, not ${opts.seed} and ${opts.seqLen}`, "resume with the run's original seed and sequence length");
      }
      if (!(cursor.stage >= 0 && cursor.stage < this.stages.length) || cursor.stageCounts.length !== this.stages[cursor.stage].names.length) {
        throw new DataError(`data cursor stage ${cursor.stage} does not match the configured stages`, "resume with the run's original mixture");
      }
    }
    this.stage = cursor?.stage ?? 0;
    this.counts = cursor ? [...cursor.stageCounts] : new Array<number>(this.stages[0].names.length).fill(0);
    const used = new Set(this.stages.flatMap((s) => s.names));
    for (const name of used) {
      const pos = cursor?.sources[name] ?? { epoch: 0, pos: 0, drawn: 0 };
      this.readers.set(name, new SourceReader(name, map.get(name)!, this.seed, this.T, maxEpochs, { ...pos }));
    }
  }

  /** Restore from a cursor (same stages, sources and options as the run that took it). */
  static fromCursor(stages: readonly StageSpec[], sources: ReadonlyMap<string, TokenStream> | Record<string, TokenStream>, opts: MixtureOptions, cursor: MixtureCursor): StageStream {
    return new StageStream(stages, sources, opts, cursor);
  }

  get seqLen(): number {
    return this.T;
  }

  /** Name of the stage that supplies the next sequence. */
  get stageName(): string {
    return this.stages[this.stage].name;
  }

  /** Training tokens supplied by the current stage so far. */
  get stageTokens(): number {
    return this.counts.reduce((a, b) => a + b, 0) * this.T;
  }

  /**
   * Let the caller's clock decide the stage from here on (the trainer's step counter): the sampler
   * no longer advances by token budget, and moving back to an earlier stage is an error.
   */
  enterStage(stage: number): void {
    this.driven = true;
    if (stage === this.stage) return;
    if (!(Number.isInteger(stage) && stage > this.stage && stage < this.stages.length)) {
      throw new DataError(`enterStage: cannot go from stage ${this.stage} to ${stage} (of ${this.stages.length})`, "stages only move forward");
    }
    this.stage = stage;
    this.counts = new Array<number>(this.stages[stage].names.length).fill(0);
  }

  /** Pick the source for the next sequence (largest deficit first) and advance stages by budget. */
  private pick(): { reader: SourceReader; stage: Stage } {
    let st = this.stages[this.stage];
    if (!this.driven && this.stageTokens >= st.budget && this.stage + 1 < this.stages.length) {
      this.stage++;
      st = this.stages[this.stage];
      this.counts = new Array<number>(st.names.length).fill(0);
    }
    const n = this.counts.reduce((a, b) => a + b, 0);
    let best = -1;
    let bestDeficit = -Infinity;
    for (let i = 0; i < st.names.length; i++) {
      if (st.weights[i] === 0) continue;
      const d = st.weights[i] * (n + 1) - this.counts[i];
      if (d > bestDeficit + 1e-12) {
        bestDeficit = d;
        best = i;
      }
    }
    this.counts[best]++;
    return { reader: this.readers.get(st.names[best])!, stage: st };
  }

  /** Copy the next sequence (T+1 tokens) into `out`; returns its source name. */
  nextSequence(out: Int32Array = new Int32Array(this.T + 1)): { tokens: Int32Array; source: string; stage: string } {
    const { reader, stage } = this.pick();
    reader.next(out);
    return { tokens: out, source: reader.name, stage: stage.name };
  }

  /** B sequences as inputs/targets of B·T ids each. T must equal the configured seqLen. */
  nextBatch(B: number, T: number = this.T): Batch {
    if (T !== this.T) throw new DataError(`nextBatch: T=${T} but the sampler was built for seqLen ${this.T}`, "build the sampler with the run's sequence length");
    if (!(Number.isInteger(B) && B >= 1)) throw new DataError(`nextBatch: B must be an integer >= 1, got ${B}`);
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    const sources: string[] = [];
    const stages: string[] = [];
    const w = this.window;
    for (let r = 0; r < B; r++) {
      const s = this.nextSequence(w);
      inputs.set(w.subarray(0, T), r * T);
      targets.set(w.subarray(1, T + 1), r * T);
      sources.push(s.source);
      stages.push(s.stage);
    }
    return { inputs, targets, sources, stages };
  }

  /** A plain-JSON snapshot; `fromCursor` with it continues exactly. */
  cursor(): MixtureCursor {
    const sources: Record<string, SourcePosition> = {};
    for (const [name, r] of this.readers) sources[name] = { ...r.at };
    return { version: 1, seed: this.seed, seqLen: this.T, stage: this.stage, stageCounts: [...this.counts], sources };
  }

  /** Per-source epochs and draws. */
  report(): SourceReport[] {
    return [...this.readers.values()].map((r) => r.report());
  }
}

/** A single-stage mixture: weights only. */
export function mixture(weights: Record<string, number>, sources: ReadonlyMap<string, TokenStream> | Record<string, TokenStream>, opts: MixtureOptions, cursor?: MixtureCursor): StageStream {
  return new StageStream([{ name: "main", weights }], sources, opts, cursor);
}

/**
 * Open the train splits of every source the stages use from a `smol tokenize` output directory and
 * build the stream (from `cursor` when resuming). Call `close()` on the returned shard sets when done.
 */
export function openStageStream(
  shardDir: string,
  stages: readonly StageSpec[],
  opts: MixtureOptions & OpenShardsOptions,
  cursor?: MixtureCursor,
): { stream: StageStream; shards: Map<string, ShardSet>; close(): void } {
  const shards = new Map<string, ShardSet>();
  const close = () => shards.forEach((s) => s.close());
  try {
    for (const st of stages) for (const name of Object.keys(st.weights)) if (!shards.has(name)) shards.set(name, openShards(shardDir, name, "train", opts));
    return { stream: new StageStream(stages, shards, opts, cursor), shards, close };
  } catch (e) {
    close();
    throw e;
  }
}

export interface ValidationBatch {
  /** Rows in this batch (the last batch may have fewer than B). */
  rows: number;
  inputs: Int32Array;
  targets: Int32Array;
}

/** Number of validation sequences of T+1 tokens in a stream (non-overlapping windows, stride T). */
export function validationWindows(stream: TokenStream, T: number): number {
  return Math.max(0, Math.floor((stream.numTokens - 1) / T));
}

/**
 * Deterministic validation batches from a held-out stream: windows j = [j·T, j·T+T+1) in order, B
 * per batch, at most `maxBatches`. The same stream and B, T give the same batches every time.
 */
export function* validationBatches(stream: TokenStream, B: number, T: number, maxBatches = Infinity): Generator<ValidationBatch> {
  if (!(Number.isInteger(B) && B >= 1 && Number.isInteger(T) && T >= 1)) throw new DataError(`validationBatches: B and T must be integers >= 1, got B=${B} T=${T}`);
  const total = validationWindows(stream, T);
  if (total === 0) throw new DataError(`validation split of "${stream.name}" has ${stream.numTokens} tokens, fewer than one sequence of ${T + 1}`, "tokenize with a larger --val-fraction, or use a shorter sequence length");
  const w = new Int32Array(T + 1);
  for (let b = 0, j = 0; b < maxBatches && j < total; b++) {
    const rows = Math.min(B, total - j);
    const inputs = new Int32Array(rows * T);
    const targets = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++, j++) {
      stream.read(j * T, T + 1, w);
      inputs.set(w.subarray(0, T), r * T);
      targets.set(w.subarray(1), r * T);
    }
    yield { rows, inputs, targets };
  }
}
