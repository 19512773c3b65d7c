// The names inside a run directory, in one place. train/rundir.ts owns the directory (lock,
// identity, manifests, cleanup); readers below train/ (eval, report) use these names to find
// things without depending on the trainer.
import * as fs from "node:fs";
import * as path from "node:path";

/** The resolved config, the run's identity and its model shape. */
export const RESOLVED_CONFIG = "config.resolved.json";
/** One JSON record per line: train records every log step, eval records. */
export const METRICS_FILE = "metrics.jsonl";
/** Held by the process training in the directory: {pid, host, started}. */
export const LOCK_FILE = "train.lock";
/** Inside a checkpoint: step, tokens, RNG, data cursor. Its presence marks a complete checkpoint. */
export const STATE_FILE = "trainer_state.json";
/** Inside a checkpoint: SHA-256 and size of every other file, verified on resume. */
export const MANIFEST_FILE = "manifest.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const AVERAGES_FILE = "averages.safetensors";
/** Benchmark-task results per evaluation: RUN/eval/step-<n>.json. */
export const EVAL_DIR = "eval";
/** SWA window means: RUN/swa/window-<n>.safetensors. */
export const SWA_DIR = "swa";

export function checkpointDir(runDir: string, step: number): string {
  return path.join(runDir, `step-${step}`);
}

/** Steps of the checkpoints in a run directory that hold a trainer state, ascending. */
export function listCheckpoints(runDir: string): number[] {
  if (!fs.existsSync(runDir)) return [];
  return fs
    .readdirSync(runDir)
    .map((n) => /^step-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && fs.existsSync(path.join(runDir, m[0], STATE_FILE)))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The raw resolved-config file of a run directory, or undefined when there is none or it is unreadable. */
export function readResolvedFile(runDir: string): { config?: Record<string, unknown>; [k: string]: unknown } | undefined {
  const file = path.join(runDir, RESOLVED_CONFIG);
  if (!fs.existsSync(file)) return undefined;
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8"));
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
