// Pretraining's batch source: the stage mixture sampler over a `smol tokenize` shard directory,
// with the stage decided by the trainer's step clock, and a cursor the checkpoints store.
import type { MixtureCursor } from "../data/mixture.js";
import { openStageStream } from "../data/mixture.js";
import type { TrainConfig } from "./config.js";

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

export function openTrainingStream(cfg: TrainConfig): TrainingStream {
  const stages = cfg.data.stages.map((s) => ({ name: s.name, tokens: s.tokens, weights: s.mixture }));
  const opts = { seed: cfg.seed, seqLen: cfg.batch.seq_len, maxEpochs: cfg.data.max_epochs };
  const { micro_batch: B, seq_len: T } = cfg.batch;
  let opened = openStageStream(cfg.data.dir, stages, opts);
  return {
    next(stage) {
      opened.stream.enterStage(stage);
      const b = opened.stream.nextBatch(B, T);
      return { inputs: b.inputs, targets: b.targets, B, T, sources: b.sources };
    },
    cursor: () => opened.stream.cursor(),
    restore(cursor) {
      opened.close();
      opened = openStageStream(cfg.data.dir, stages, opts, cursor as MixtureCursor);
    },
    epochs: () => Object.fromEntries(opened.stream.report().map((r) => [r.name, r.epochs])),
    close: () => opened.close(),
  };
}
