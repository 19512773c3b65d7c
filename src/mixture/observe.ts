// Where `smol mixture suggest` gets its observations: an ablation's results.json (each finished
// branch's mixture and metrics), or run directories (the last stage's mixture and the final eval
// record: per-source validation loss as val/<source>/loss, benchmark tasks as task/metric). Also
// per-source available tokens (a shard index) and tokens already used (a checkpoint's state).
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, DataError } from "../errors.js";
import { readIndex } from "../data/shards.js";
import { METRICS_FILE, STATE_FILE } from "../io/run-layout.js";
import type { AblationResults } from "../ablate/results.js";
import { readMetrics } from "../train/metrics.js";
import { RunDir } from "../train/rundir.js";
import { readTrainerState } from "../train/checkpoint.js";
import type { Observation } from "./suggest.js";

export interface ObservationSet {
  observations: Observation[];
  /** The shard directory the runs trained on (for available tokens), when known. */
  dataDir?: string;
  /** The mixture the next stage would otherwise use (the ablation's control). */
  current?: Record<string, number>;
  /** The checkpoint the ablation branched from (tokens already used per source). */
  usedFrom?: string;
}

export function fromAblation(dir: string): ObservationSet {
  const file = path.join(dir, "results.json");
  let r: AblationResults;
  try {
    r = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as Error).message.split("\n")[0]})`, "give the --out directory of a finished `smol ablate`");
  }
  if (r?.format !== "smollab-ablation" || !Array.isArray(r.branches)) throw new DataError(`${file}: not an ablation's results.json`);
  const done = r.branches.filter((b) => b.status === "done");
  const observations = done.map((b) => ({ name: b.name, mixture: b.mixture, metrics: Object.fromEntries(Object.entries(b.metrics).map(([k, v]) => [k, v.value])) }));
  let dataDir: string | undefined;
  const first = done[0] ?? r.branches[0];
  if (first) {
    try {
      dataDir = new RunDir(first.run_dir).requireResolved().config.data.dir;
    } catch {
      dataDir = undefined;
    }
  }
  const ctl = r.branches.find((b) => b.control);
  const usedFrom = r.parent ? path.join(r.parent.run_dir, `step-${r.parent.step}`) : undefined;
  return { observations, dataDir, current: ctl?.mixture, usedFrom };
}

export function fromRuns(dirs: readonly string[]): ObservationSet {
  const observations: Observation[] = [];
  let dataDir: string | undefined;
  for (const d of dirs) {
    const cfg = new RunDir(d).requireResolved().config;
    dataDir ??= cfg.data.dir;
    const mixture = cfg.data.stages[cfg.data.stages.length - 1].mixture;
    const evals = fs.existsSync(path.join(d, METRICS_FILE)) ? readMetrics(path.join(d, METRICS_FILE)).filter((m) => m.type === "eval") : [];
    const last = evals[evals.length - 1];
    if (!last || last.step !== cfg.steps) throw new ConfigError(`${d}: no evaluation at the run's last step ${cfg.steps}`, [], "finish the run (its last stage ends with an evaluation), then suggest again");
    const metrics: Record<string, number> = {};
    for (const [s, v] of Object.entries((last.val_loss as Record<string, number> | undefined) ?? {})) metrics[`val/${s}/loss`] = v;
    for (const [k, v] of Object.entries((last.tasks as Record<string, number> | undefined) ?? {})) metrics[k] = v;
    observations.push({ name: path.basename(path.resolve(d)), mixture, metrics });
  }
  return { observations, dataDir };
}

/** Train-split tokens per source of a shard directory. */
export function availableTokens(dataDir: string): Record<string, number> {
  const idx = readIndex(dataDir);
  return Object.fromEntries(Object.entries(idx.sources).map(([k, v]) => [k, v.train.tokens]));
}

/** Tokens trained per source up to a checkpoint (its trainer state); {} for none. */
export function usedTokens(checkpoint: string | undefined): Record<string, number> {
  if (!checkpoint) return {};
  if (!fs.existsSync(path.join(checkpoint, STATE_FILE))) throw new ConfigError(`${checkpoint}: not a checkpoint (no ${STATE_FILE})`, [], "give a run's step-<n> directory");
  return { ...readTrainerState(checkpoint).tokens_by_source };
}
