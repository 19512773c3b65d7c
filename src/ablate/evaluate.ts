// Evaluating one finished ablation branch: benchmark tasks (eval/run.ts, each metric with its
// standard error) and per-source validation loss on the run's held-out windows (train/validation's
// windows, the trainer's eval records' data) with the standard error over windows, plus the tokens
// the branch actually trained on per source (its final trainer state minus its starting one).
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { CheckpointError } from "../errors.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import { runEvalTasks } from "../eval/run.js";
import { meanWithStderr, type MetricValue } from "../eval/stats.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { checkpointDir, STATE_FILE } from "../io/run-layout.js";
import { loadModel } from "../models/hf.js";
import type { LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import { readTrainerState } from "../train/checkpoint.js";
import { configHash } from "../train/rundir.js";
import { loadValSets, type ValSet } from "../train/validation.js";
import type { BranchJob } from "./plan.js";

export interface BranchEval {
  format: "smollab-ablation-branch";
  version: 1;
  name: string;
  config_hash: string;
  step: number;
  /** "task/metric" (e.g. arc_easy/acc, val/math/loss) → value and standard error. */
  metrics: Record<string, MetricValue & { higher_is_better: boolean }>;
  /** Tokens trained on per source in the ablated part of the branch. */
  tokens_per_source: Record<string, number>;
}

export interface EvalSettings {
  tasks: readonly string[];
  limit: number;
  seed?: number;
  /** Generation budget (default min(256, half the model's context)). */
  maxNewTokens?: number;
  onProgress?: (task: string, done: number, total: number) => void;
}

/** Per-window validation loss of every source: mean and standard error over windows. */
export function perSourceLoss<Fb extends FloatBuf>(model: LlamaModel<Fb>, sets: readonly ValSet[], seqLen: number): Record<string, MetricValue> {
  const e = new Engine(model.be);
  const out: Record<string, MetricValue> = {};
  try {
    e.noGrad(() => {
      for (const s of sets) {
        const xs: number[] = [];
        for (let r = 0; r < s.rows; r++) {
          const { loss } = model.loss(e, s.inputs.subarray(r * seqLen, (r + 1) * seqLen), s.targets.subarray(r * seqLen, (r + 1) * seqLen), 1, seqLen);
          xs.push(loss.data[0]);
          e.reset();
        }
        out[s.source] = meanWithStderr(xs);
      }
    });
  } finally {
    e.arena.dispose();
  }
  return out;
}

/** Tokens per source trained between two checkpoints' trainer states (start absent: from zero). */
export function tokensBetween(startDir: string | undefined, endDir: string): Record<string, number> {
  const end = readTrainerState(endDir).tokens_by_source;
  const start = startDir ? readTrainerState(startDir).tokens_by_source : {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(end)) if (v - (start[k] ?? 0) > 0) out[k] = v - (start[k] ?? 0);
  return out;
}

/** Evaluate a branch whose run has finished; the result is also written to `file`. */
export async function evaluateBranch<Fb extends FloatBuf>(job: BranchJob, be: Backend<Fb>, settings: EvalSettings, file: string): Promise<BranchEval> {
  const cfg = job.cfg;
  const final = checkpointDir(job.runDir, cfg.steps);
  if (!fs.existsSync(path.join(final, STATE_FILE))) throw new CheckpointError(`${job.runDir}: branch ${job.id} has no final checkpoint (step ${cfg.steps})`, "run the ablation again to finish it");
  const model = loadModel(final, be, { withGrad: false });
  const metrics: BranchEval["metrics"] = {};
  try {
    if (settings.tasks.length) {
      const tok = await loadTokenizer(cfg.tokenizer ?? final);
      const res = await runEvalTasks(model, tok, settings.tasks, {
        limit: settings.limit, seed: settings.seed ?? cfg.seed, onProgress: settings.onProgress,
        maxNewTokens: settings.maxNewTokens ?? Math.min(256, Math.floor(model.config.maxSeq / 2)),
      });
      for (const r of res.results) for (const m of r.metrics) metrics[`${r.task}/${m.name}`] = { value: m.value, ...(m.stderr !== undefined ? { stderr: m.stderr } : {}), higher_is_better: m.higherIsBetter };
    }
    const sets = loadValSets(cfg.data.dir, cfg.batch.seq_len, cfg.eval.tokens);
    for (const [src, v] of Object.entries(perSourceLoss(model, sets, cfg.batch.seq_len))) metrics[`val/${src}/loss`] = { ...v, higher_is_better: false };
  } finally {
    model.dispose();
  }
  const out: BranchEval = {
    format: "smollab-ablation-branch", version: 1, name: job.id, config_hash: configHash(cfg), step: cfg.steps, metrics,
    tokens_per_source: tokensBetween(job.from?.checkpoint, final),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJsonAtomic(file, out);
  return out;
}

/** The saved evaluation of a branch, when it exists and belongs to this branch's config. */
export function readBranchEval(file: string, job: BranchJob): BranchEval | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const v = JSON.parse(fs.readFileSync(file, "utf8")) as BranchEval;
    return v.format === "smollab-ablation-branch" && v.config_hash === configHash(job.cfg) ? v : undefined;
  } catch {
    return undefined;
  }
}
