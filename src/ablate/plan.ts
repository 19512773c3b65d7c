// Planning an ablation: one training job per branch. An anneal branch is a cooldown branch
// (train/cooldown.ts's idea) from the parent's checkpoint at step N whose last stage is a new
// "anneal" stage on the branch's mixture — the candidate at `share` plus the previous mixture
// scaled by (1 − share) — with the LR decaying over K = decay.tokens / tokens_per_step steps. The
// control branch is the same with the previous mixture alone, so a candidate at share 0 is the
// control, bit for bit. A scratch branch is the base config with every stage's mixture replaced.
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../errors.js";
import { readIndex } from "../data/shards.js";
import { branchSchedule, type DecayShape } from "../optim/schedule.js";
import { readConfigFile, resolveTrainConfig, type StageConfig, type TrainConfig } from "../train/config.js";
import { RunDir } from "../train/rundir.js";
import type { AblationSpec, AnnealSpec, ScratchSpec } from "./spec.js";

/** Name of the stage every anneal branch trains in (the same in every branch, control included). */
export const ANNEAL_STAGE = "anneal";
export const CONTROL = "control";

export interface BranchJob {
  /** Branch name (the results' `name`). */
  id: string;
  control: boolean;
  /** The candidate source of an anneal branch. */
  source?: string;
  /** The mixture this branch's ablated stage trains on. */
  mixture: Record<string, number>;
  cfg: TrainConfig;
  runDir: string;
  /** The checkpoint an anneal branch starts from. */
  from?: { checkpoint: string };
  /** First step of the ablated part (N for anneal, 0 for scratch). */
  startStep: number;
  deps: string[];
}

export interface AblationPlan {
  name: string;
  kind: "anneal" | "scratch";
  outDir: string;
  spec: AblationSpec;
  control: string;
  jobs: BranchJob[];
  /** Where results.json, the report and the per-branch evaluations go. */
  evalDir: string;
  /** Anneal: the parent run, its step, the previous mixture and the decay in steps. */
  parent?: { run_dir: string; step: number; mixture: Record<string, number>; decay_steps: number };
}

/** The candidate at `share`, the previous mixture scaled to the rest; zero weights dropped. */
export function annealMixture(prev: Record<string, number>, source: string, share: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, w] of Object.entries(prev)) out[k] = (1 - share) * w;
  out[source] = (out[source] ?? 0) + share;
  for (const k of Object.keys(out)) if (!(out[k] > 0)) delete out[k];
  return out;
}

function safeName(n: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) throw new ConfigError(`branch name "${n}": use letters, digits, '.', '_' and '-' (it names a directory)`);
  return n;
}

function resolvePath(p: string, specDir: string): string {
  if (path.isAbsolute(p) || fs.existsSync(p)) return path.resolve(p);
  const rel = path.resolve(specDir, p);
  return fs.existsSync(rel) ? rel : path.resolve(p);
}

export function planAblation(spec: AblationSpec, opts: { outDir: string; specDir?: string }): AblationPlan {
  const outDir = path.resolve(opts.outDir);
  return spec.kind === "anneal" ? planAnneal(spec, outDir, opts.specDir ?? ".") : planScratch(spec, outDir, opts.specDir ?? ".");
}

function planAnneal(spec: AnnealSpec, outDir: string, specDir: string): AblationPlan {
  const parentDir = resolvePath(spec.from, specDir);
  const rd = new RunDir(parentDir);
  const parent = rd.requireResolved().config;
  const N = spec.step;
  const problems: string[] = [];
  const available = rd.checkpoints();
  if (!available.includes(N)) problems.push(`step: ${parentDir} has no checkpoint at step ${N} (available: ${available.join(", ") || "none"})`);
  const tps = parent.batch.tokens_per_step;
  if (spec.decay.tokens % tps !== 0) {
    const lo = Math.floor(spec.decay.tokens / tps) * tps;
    problems.push(`decay.tokens: ${spec.decay.tokens} is not a multiple of the run's batch.tokens_per_step ${tps} (use ${lo || tps} or ${lo + tps})`);
  }
  if (parent.schedule.warmup && N < parent.schedule.warmup) problems.push(`step: ${N} is inside the run's warmup (${parent.schedule.warmup} steps)`);
  const K = Math.max(1, Math.round(spec.decay.tokens / tps));
  const stageAt = parent.data.stages.find((s) => N - 1 >= s.startStep && N - 1 < s.endStep) ?? parent.data.stages[parent.data.stages.length - 1];
  const prev = spec.base_mixture ?? stageAt.mixture;
  const sum = Object.values(prev).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-6) problems.push(`base_mixture: the weights sum to ${+sum.toFixed(6)}; they must sum to 1`);
  let sources: string[] = [];
  try {
    sources = Object.keys(readIndex(parent.data.dir).sources);
  } catch (e) {
    problems.push(`from: the run's data directory ${parent.data.dir} cannot be read (${(e as Error).message.split("\n")[0]})`);
  }
  if (sources.length) {
    for (const [b, s] of Object.entries(spec.candidates)) if (!sources.includes(s)) problems.push(`candidates.${b}: no source "${s}" in ${parent.data.dir} (it has: ${sources.join(", ")})`);
    for (const s of Object.keys(prev)) if (!sources.includes(s)) problems.push(`base_mixture.${s}: no such source in ${parent.data.dir}`);
  }
  if (spec.control && spec.candidates[CONTROL] !== undefined) problems.push(`candidates.${CONTROL}: the name is taken by the control branch`);
  if (problems.length) throw new ConfigError(`${spec.name ?? "ablation"}: cannot plan the anneal branches`, problems);
  const kept: StageConfig[] = parent.data.stages.filter((s) => s.startStep < N).map((s) => ({ ...s, endStep: Math.min(s.endStep, N), tokens: (Math.min(s.endStep, N) - s.startStep) * tps }));
  const schedule = branchSchedule(parent.schedule.lr, N, K, spec.decay.shape as DecayShape, {
    warmup: parent.schedule.warmup, warmupStartFactor: parent.schedule.warmupStartFactor, power: parent.schedule.power, finalLr: spec.decay.final_lr,
  });
  const branch = (id: string, mixture: Record<string, number>, source?: string): BranchJob => {
    const cfg: TrainConfig = {
      ...parent,
      name: `${parent.name}-anneal-${id}`,
      data: { ...parent.data, max_epochs: spec.max_epochs ?? parent.data.max_epochs, stages: [...kept, { name: ANNEAL_STAGE, tokens: K * tps, mixture, startStep: N, endStep: N + K }] },
      schedule,
      eval: { ...parent.eval, every: 0, tasks: [], tokens: spec.eval.val_tokens ?? parent.eval.tokens },
      checkpoint: { every: spec.checkpoint_every, keep_last: 2, keep_every: 0, at_steps: [] },
      averaging: { ...parent.averaging, swa_window: 0, ema_decay: 0 },
      steps: N + K,
      parent: { run_dir: parentDir, step: N },
    };
    return { id: safeName(id), control: source === undefined, source, mixture, cfg, runDir: path.join(outDir, "runs", id), from: { checkpoint: rd.checkpointDir(N) }, startStep: N, deps: [] };
  };
  const jobs: BranchJob[] = [];
  if (spec.control) jobs.push(branch(CONTROL, { ...prev }));
  for (const [b, s] of Object.entries(spec.candidates)) jobs.push(branch(b, annealMixture(prev, s, spec.share), s));
  return {
    name: spec.name ?? "ablation", kind: "anneal", outDir, spec, control: spec.control ? CONTROL : jobs[0].id, jobs, evalDir: path.join(outDir, "evals"),
    parent: { run_dir: parentDir, step: N, mixture: { ...prev }, decay_steps: K },
  };
}

function planScratch(spec: ScratchSpec, outDir: string, specDir: string): AblationPlan {
  const baseTree = typeof spec.base === "string" ? readConfigFile(resolvePath(spec.base, specDir)) : structuredClone(spec.base);
  const names = Object.keys(spec.candidates);
  const control = spec.control ?? names[0];
  if (!names.includes(control)) throw new ConfigError(`${spec.name ?? "ablation"}: control "${control}" is not one of the candidates (${names.join(", ")})`);
  const jobs: BranchJob[] = [];
  const problems: string[] = [];
  for (const id of names) {
    const mixture = Object.fromEntries(Object.entries(spec.candidates[id]).filter(([, w]) => w > 0));
    const tree = structuredClone(baseTree) as { data?: { dir?: string; stages?: Array<Record<string, unknown>>; max_epochs?: number }; tokenizer?: string; eval?: Record<string, unknown>; checkpoint?: Record<string, unknown>; name?: string };
    if (!tree.data || !Array.isArray(tree.data.stages)) throw new ConfigError(`${spec.name ?? "ablation"}: base: not a training config (no data.stages)`);
    tree.name = `${spec.name ?? "ablation"}-${id}`;
    if (spec.data_dir) tree.data.dir = spec.data_dir;
    if (spec.tokenizer) tree.tokenizer = spec.tokenizer;
    if (spec.max_epochs) tree.data.max_epochs = spec.max_epochs;
    tree.data.stages = tree.data.stages.map((s) => ({ ...s, mixture }));
    tree.eval = { ...(tree.eval ?? {}), tasks: [], ...(spec.eval.val_tokens ? { tokens: spec.eval.val_tokens } : {}) };
    tree.checkpoint = { ...(tree.checkpoint ?? {}), every: spec.checkpoint_every, at_steps: undefined };
    try {
      const cfg = resolveTrainConfig(tree as Record<string, unknown>, { file: `candidates.${id}` });
      jobs.push({ id: safeName(id), control: id === control, mixture, cfg, runDir: path.join(outDir, "runs", id), startStep: 0, deps: [] });
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...(e.problems.length ? e.problems.map((p) => `candidates.${id}: ${p}`) : [e.message]));
      else throw e;
    }
  }
  if (problems.length) throw new ConfigError(`${spec.name ?? "ablation"}: cannot plan the scratch runs`, problems);
  return { name: spec.name ?? "ablation", kind: "scratch", outDir, spec, control, jobs, evalDir: path.join(outDir, "evals") };
}
