// Cooldown branches (Hägele et al.): a child run that starts from a parent's checkpoint at step
// N, continues the same data stream, and decays the LR from the parent's constant value over K
// steps — identical, step for step, to a single WSD run whose decay starts at N.
import * as path from "node:path";
import { CheckpointError, ConfigError } from "../errors.js";
import { branchSchedule, DECAY_SHAPES, type DecayShape } from "../optim/schedule.js";
import type { TrainConfig } from "./config.js";
import { RunDir } from "./rundir.js";

export interface BranchRequest {
  parentDir: string;
  /** Branch after this many parent updates (default: the parent's latest checkpoint). */
  step?: number;
  /** Cooldown length in steps, or as a fraction of the branch's total length (0.2 = 20%). */
  steps?: number;
  fraction?: number;
  shape?: DecayShape;
  finalLr?: number;
}

/** The child config and the checkpoint it starts from. */
export function planBranch(req: BranchRequest): { cfg: TrainConfig; checkpoint: string; step: number; decaySteps: number } {
  const rd = new RunDir(req.parentDir);
  const parent = rd.requireResolved().config;
  const available = rd.checkpoints();
  if (!available.length) throw new CheckpointError(`${req.parentDir}: no complete checkpoints to branch from`);
  const N = req.step ?? available[available.length - 1];
  if (!available.includes(N)) throw new CheckpointError(`${req.parentDir}: no checkpoint at step ${N}`, `available steps: ${available.join(", ")}`);
  if ((req.steps === undefined) === (req.fraction === undefined)) throw new ConfigError("cooldown: give exactly one of --steps K or --fraction F");
  let K: number;
  if (req.steps !== undefined) K = req.steps;
  else {
    const f = req.fraction!;
    if (!(f > 0 && f < 1)) throw new ConfigError(`cooldown: --fraction must be in (0, 1), got ${f}`);
    K = Math.max(1, Math.round((N * f) / (1 - f)));
  }
  if (!Number.isInteger(K) || K < 1) throw new ConfigError(`cooldown: the cooldown must be at least 1 step, got ${K}`);
  const shape = req.shape ?? "1-sqrt";
  if (!DECAY_SHAPES.includes(shape)) throw new ConfigError(`cooldown: --shape must be one of ${DECAY_SHAPES.join(", ")}, got "${shape}"`);
  if (parent.schedule.warmup && N < parent.schedule.warmup) throw new ConfigError(`cooldown: step ${N} is inside the parent's warmup (${parent.schedule.warmup} steps)`);
  const total = N + K;
  const stages = parent.data.stages
    .filter((s) => s.startStep < total)
    .map((s, i, all) => {
      const end = i === all.length - 1 ? total : Math.min(s.endStep, total);
      return { ...s, endStep: end, tokens: (end - s.startStep) * parent.batch.tokens_per_step };
    });
  const cfg: TrainConfig = {
    ...parent,
    name: `${parent.name}-cooldown-${N}+${K}`,
    data: { ...parent.data, stages },
    schedule: branchSchedule(parent.schedule.lr, N, K, shape, {
      warmup: parent.schedule.warmup, warmupStartFactor: parent.schedule.warmupStartFactor, power: parent.schedule.power, finalLr: req.finalLr ?? 0,
    }),
    checkpoint: { ...parent.checkpoint, at_steps: [] },
    steps: total,
    parent: { run_dir: path.resolve(req.parentDir), step: N },
  };
  return { cfg, checkpoint: rd.checkpointDir(N), step: N, decaySteps: K };
}
