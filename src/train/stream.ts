// Pretraining's batch source: the stage mixture sampler over a `smol tokenize` shard directory,
// with the stage decided by the trainer's step clock, and a cursor the checkpoints store.
// Long-context stages (a stage-level seq_len) read their sources in windows of their own length:
// one sampler per distinct sequence length, each with its own positions (the run's first length
// keeps the run seed; a longer one derives its seed from it), and a cursor holding all of them.
// A run whose stages share one length has exactly the single sampler and cursor it always had.
// A stage's min_doc_tokens makes its sampler read only the long documents of those sources.
import { DataError } from "../errors.js";
import { StageStream, type MixtureCursor } from "../data/mixture.js";
import { LongDocView } from "../data/longdocs.js";
import { openShards, type ShardSet, type TokenStream } from "../data/shards.js";
import { deriveSeed } from "../util/rng.js";
import { stageBatch, type TrainConfig } from "./config.js";

/** B sequences of T tokens (inputs and next-token targets) and the source of each row. */
export interface TokenBatch {
  inputs: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  sources: string[];
}

export interface TrainingStream {
  /** The next micro-batch of the given stage. */
  next(stage: number): TokenBatch;
  cursor(): unknown;
  restore(cursor: unknown): void;
  /** Epochs of data consumed per source (fractional: 1.5 = one and a half passes). */
  epochs(): Record<string, number>;
  close(): void;
}

/** The cursor of a run with several sequence lengths: one mixture cursor per length. */
interface MultiCursor {
  version: "by-seq-len";
  streams: Record<string, MixtureCursor>;
}

export function openTrainingStream(cfg: TrainConfig): TrainingStream {
  const stages = cfg.data.stages.map((s) => ({ name: s.name, tokens: s.tokens, weights: s.mixture }));
  const lens = [...new Set(cfg.data.stages.map((s) => stageBatch(cfg, s).seqLen))];
  const first = stageBatch(cfg, cfg.data.stages[0]).seqLen;
  const optsFor = (T: number) => ({ seed: T === first ? cfg.seed : deriveSeed(cfg.seed, `seq_len:${T}`), seqLen: T, maxEpochs: cfg.data.max_epochs });
  type Opened = { stream: StageStream; close(): void };
  const opened = new Map<number, Opened>();
  const used = [...new Set(stages.flatMap((s) => Object.keys(s.weights)))];
  const open = (T: number, cursor?: MixtureCursor) => {
    opened.get(T)?.close();
    opened.delete(T);
    const filter = cfg.data.stages.find((s) => stageBatch(cfg, s).seqLen === T)?.min_doc_tokens ?? {};
    const sets: ShardSet[] = [];
    const close = () => sets.forEach((x) => x.close());
    try {
      const sources = new Map<string, TokenStream>();
      for (const name of used) {
        const set = openShards(cfg.data.dir, name, "train");
        sets.push(set);
        sources.set(name, filter[name] ? new LongDocView(set, filter[name]) : set);
      }
      opened.set(T, { stream: new StageStream(stages, sources, optsFor(T), cursor), close });
    } catch (e) {
      close();
      throw e;
    }
  };
  const closeAll = () => {
    opened.forEach((o) => o.close());
    opened.clear();
  };
  try {
    for (const T of lens) open(T);
  } catch (e) {
    closeAll();
    throw e;
  }
  const multi = lens.length > 1;
  return {
    next(stage) {
      const { seqLen: T, microBatch: B } = stageBatch(cfg, cfg.data.stages[stage]);
      const st = opened.get(T)!.stream;
      st.enterStage(stage);
      const b = st.nextBatch(B, T);
      return { inputs: b.inputs, targets: b.targets, B, T, sources: b.sources };
    },
    cursor: () => (multi ? ({ version: "by-seq-len", streams: Object.fromEntries([...opened].map(([T, o]) => [String(T), o.stream.cursor()])) } satisfies MultiCursor) : opened.get(first)!.stream.cursor()),
    restore(cursor) {
      const c = cursor as MultiCursor | MixtureCursor;
      if (!multi) return open(first, c as MixtureCursor);
      // A branch from a single-length run's checkpoint: its cursor belongs to the first length.
      const by = (c as MultiCursor).version === "by-seq-len" ? (c as MultiCursor).streams : { [String((c as MixtureCursor).seqLen)]: c as MixtureCursor };
      for (const k of Object.keys(by)) if (!lens.includes(Number(k))) throw new DataError(`data cursor holds sequence length ${k}, which no stage of this run uses`, "resume with the run's original stages");
      for (const T of lens) open(T, by[String(T)]);
    },
    epochs: () => {
      const out: Record<string, number> = {};
      for (const o of opened.values()) for (const r of o.stream.report()) out[r.name] = (out[r.name] ?? 0) + r.epochs;
      return out;
    },
    close: closeAll,
  };
}
