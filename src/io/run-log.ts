// What a training process tells the outside about its run besides metrics.jsonl: RUN/status.json
// (running → finished or failed, io/run-status.ts) and, with `tensorboard`, TensorBoard event files
// in the run directory (io/tensorboard.ts). One object for the trainer to call at start, beside
// each metrics.jsonl append, at the end and on failure.
import { writeRunStatus } from "./run-status.js";
import { createTensorboardWriter, type TensorboardWriter } from "./tensorboard.js";

export interface RunLog {
  /** Call beside every metrics.jsonl append with the same record. */
  record(rec: { type: string; step: number } & Record<string, unknown>): void;
  /** The run reached its last step. */
  finish(step: number): void;
  /** The run stopped on an error (the message is shown by the dashboard). */
  fail(step: number, error: unknown): void;
}

/** Mark the run as running (with this pid) and open an event file when `tensorboard` is set. */
export function openRunLog(runDir: string, opts: { tensorboard?: boolean; step?: number } = {}): RunLog {
  writeRunStatus(runDir, "running", { step: opts.step ?? 0 });
  let tb: TensorboardWriter | undefined = opts.tensorboard ? createTensorboardWriter(runDir) : undefined;
  const close = () => {
    tb?.close();
    tb = undefined;
  };
  return {
    record: (rec) => tb?.addRecord(rec),
    finish(step) {
      close();
      writeRunStatus(runDir, "finished", { step });
    },
    fail(step, error) {
      close();
      writeRunStatus(runDir, "failed", { step, error: error instanceof Error ? error.message : String(error) });
    },
  };
}
