// The training data stream of a run: the stage mixture sampler over a `smol tokenize` shard
// directory, wrapped so the trainer can checkpoint and restore its cursor.
import type { MixtureCursor } from "../data/mixture.js";
import { openStageStream, type Batch } from "../data/mixture.js";
import type { TrainConfig } from "./config.js";

export interface TrainingStream {
  /** The next micro-batch of B sequences of T tokens (+ shifted targets). */
  next(B: number, T: number, stageIndex: number): Batch;
  cursor(): unknown;
  restore(cursor: unknown): void;
  /** Epochs of data consumed per source (fractional: 1.5 = one and a half passes). */
  epochs(): Record<string, number>;
  close(): void;
}

export function openTrainingStream(cfg: TrainConfig): TrainingStream {
  const stages = cfg.data.stages.map((s) => ({ name: s.name, tokens: s.tokens, weights: s.mixture }));
  const opts = { seed: cfg.seed, seqLen: cfg.batch.seq_len, maxEpochs: cfg.data.max_epochs };
  let opened = openStageStream(cfg.data.dir, stages, opts);
  return {
    next: (B) => opened.stream.nextBatch(B),
    cursor: () => opened.stream.cursor(),
    restore(cursor) {
      opened.close();
      opened = openStageStream(cfg.data.dir, stages, opts, cursor as MixtureCursor);
    },
    epochs: () => Object.fromEntries(opened.stream.report().map((r) => [r.name, r.epochs])),
    close: () => opened.close(),
  };
}
