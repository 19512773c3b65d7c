// What a sweep has produced, read from its run directories: each job's state (done, partial,
// pending, or a conflicting run from another configuration), the final validation loss of every
// (N, D) point per method, and the FLOPs split by method (docs/references.md §7: the constant run counts
// once per size up to its last branch point, each branch its cooldown, cosine each full run).
// Written as DIR/results.json and DIR/points*.csv (the params,tokens,loss,flops columns of `smol fit`).
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import type { DecayShape } from "../optim/schedule.js";
import { RESOLVED_CONFIG } from "../io/run-layout.js";
import { readMetrics, type MetricRecord } from "../train/metrics.js";
import { configHash, RunDir, type ResolvedRunFile } from "../train/rundir.js";
import { flopsPerToken } from "../scaling/flops.js";
import type { SweepJob, SweepMethod, SweepPlan } from "./sweep.js";

export type JobStatus = "done" | "partial" | "pending" | "conflict";

export interface JobState {
  status: JobStatus;
  /** Last step with a checkpoint (0 when none). */
  step: number;
  /** For conflicts: what differs. */
  detail?: string;
}

/** Where a job stands on disk. A run directory holding another configuration is a conflict. */
export function jobState(job: SweepJob): JobState {
  const rd = new RunDir(job.runDir);
  const ckpts = rd.checkpoints();
  const step = ckpts.length ? ckpts[ckpts.length - 1] : 0;
  let resolved: Partial<ResolvedRunFile> | undefined;
  try {
    resolved = rd.readResolved();
  } catch (e) {
    return { status: "conflict", step, detail: (e as Error).message };
  }
  if (!resolved) return { status: ckpts.length ? "conflict" : "pending", step, detail: ckpts.length ? `checkpoints but no ${RESOLVED_CONFIG}` : undefined };
  if (job.kind === "cooldown") {
    const c = resolved.config;
    const want = `a ${job.shape} cooldown from step ${job.branchStep} of ${job.parentDir} over ${job.cooldownSteps} steps`;
    if (!c || !c.parent || c.parent.step !== job.branchStep || path.resolve(c.parent.run_dir) !== path.resolve(job.parentDir) || c.steps !== job.steps || c.schedule.shape !== job.shape || c.schedule.decaySteps !== job.cooldownSteps) {
      return { status: "conflict", step, detail: `it is not ${want}` };
    }
  } else if (resolved.config_hash !== configHash(job.cfg)) {
    return { status: "conflict", step, detail: "it was trained with a different configuration (the sweep or base config changed)" };
  }
  return { status: ckpts.includes(job.steps) ? "done" : ckpts.length || fs.existsSync(rd.metricsFile) ? "partial" : "pending", step };
}

export interface SweepPoint {
  size: string;
  method: SweepMethod;
  /** N as the sweep counts it (`params: total | non-embedding`). */
  params: number;
  total_params: number;
  non_embedding_params: number;
  tokens: number;
  steps: number;
  /** Mean validation loss over the sources (nats/token). */
  loss: number;
  loss_by_source: Record<string, number>;
  /** 6·N·D, the compute convention of the Chinchilla fit and `smol fit`. */
  flops: number;
  /** Detailed training FLOPs of a run of D tokens (docs/references.md §7, 3 × forward). */
  flops_detailed: number;
  /** Run directory relative to the sweep directory, and the step read. */
  run: string;
  step: number;
}

export interface SizeFlops {
  size: string;
  /** Detailed training FLOPs per token and the 6N estimate. */
  per_token: number;
  per_token_6n: number;
  /** Constant run up to its last branch point (shared by every branch). */
  constant: number;
  /** Constant run beyond the last branch point (only with SWA readouts, up to the last budget). */
  constant_extension: number;
  /** Sum of the cooldown branches, by shape. */
  cooldowns: Record<string, number>;
  /** Sum of full cosine runs, one per budget (what the grid costs, whether or not it was trained). */
  cosine_grid: number;
  /** docs/references.md §7: F(D_max) + fraction·Σ_{i<max} F(D_i). */
  reference_cooldown: number;
}

export interface FlopsAccount {
  unit: string;
  sizes: SizeFlops[];
  /** What each method costs to produce the whole (N, D) grid on its own. */
  methods: Record<string, number>;
  /** What this sweep trains (shared constant runs counted once). */
  spent: { constant: number; cooldown: number; cosine: number; total: number };
  reference: { formula: string; cooldown: number; cosine: number; ratio: number };
  /** methods.cooldown / methods.cosine and its complement. */
  ratio: number;
  saved_fraction: number;
}

export interface JobSummary {
  id: string;
  kind: SweepJob["kind"];
  size: string;
  run: string;
  status: JobStatus;
  step: number;
  steps: number;
  /** Training seconds recorded in the run's metrics (summed over resumes). */
  elapsed_s: number | null;
  shape?: DecayShape;
  budget?: number;
}

export interface SweepResults {
  format: "smollab-sweep-results";
  version: 1;
  name: string;
  sweep_file: string;
  complete: boolean;
  tokens_per_step: number;
  seq_len: number;
  params: "total" | "non-embedding";
  cooldown: SweepPlan["cooldown"];
  cosine: SweepPlan["cosine"];
  swa: SweepPlan["swa"];
  warmup: number;
  sizes: Array<{
    name: string; params: number; total_params: number; non_embedding_params: number;
    model: { d_model: number; layers: number; heads: number; kv_heads: number; ffn: number; vocab: number };
    lr_constant: number; lr_cosine: number;
    budgets: Array<{ tokens: number; steps: number; branch_step: number; cooldown_steps: number; tokens_per_param: number; requested?: { tokens_per_param: number; tokens: number } }>;
  }>;
  points: SweepPoint[];
  flops: FlopsAccount;
  /** Measured training seconds by method (same split as the FLOPs; concurrency makes them noisy). */
  seconds: Record<string, number>;
  jobs: JobSummary[];
  notes: string[];
}

const methodOf = (j: SweepJob): SweepMethod => (j.kind === "cooldown" ? (j.primary ? "cooldown" : `cooldown-${j.shape}`) : j.kind === "cosine" ? "cosine" : "constant");

function evalAt(recs: MetricRecord[], step: number): MetricRecord | undefined {
  return recs.find((r) => r.type === "eval" && r.step === step && r.val_loss !== undefined);
}

function elapsedAt(recs: MetricRecord[], step: number): number | null {
  let best: MetricRecord | undefined;
  for (const r of recs) if (r.type === "train" && r.step <= step && typeof r.elapsed_s === "number") best = r;
  return best ? (best.elapsed_s as number) : null;
}

/** The FLOPs split of a plan (pure arithmetic on the plan; no run needs to exist). */
export function flopsAccount(plan: SweepPlan): FlopsAccount {
  const tps = plan.tokensPerStep;
  const f = plan.cooldown.fraction;
  const sizes: SizeFlops[] = plan.sizes.map((s) => {
    const fp = flopsPerToken(s.model, plan.seqLen);
    const F = (tokens: number) => fp.train * tokens;
    const lastBranch = Math.max(0, ...s.budgets.map((b) => b.branchStep));
    const cooldowns: Record<string, number> = {};
    for (const shape of [plan.cooldown.shape, ...plan.cooldown.extraShapes]) cooldowns[shape] = s.budgets.reduce((a, b) => a + F(b.cooldownSteps * tps), 0);
    const Ds = s.budgets.map((b) => b.tokens);
    const dMax = Math.max(0, ...Ds);
    return {
      size: s.name,
      per_token: fp.train,
      per_token_6n: fp.sixN,
      constant: F(lastBranch * tps),
      constant_extension: F((s.constantSteps - lastBranch) * tps),
      cooldowns,
      cosine_grid: Ds.reduce((a, d) => a + F(d), 0),
      reference_cooldown: F(dMax) + f * Ds.filter((d) => d !== dMax).reduce((a, d) => a + F(d), 0),
    };
  });
  const sum = (g: (x: SizeFlops) => number) => sizes.reduce((a, x) => a + g(x), 0);
  const methods: Record<string, number> = {
    cooldown: sum((x) => x.constant + x.cooldowns[plan.cooldown.shape]),
    cosine: sum((x) => x.cosine_grid),
  };
  for (const shape of plan.cooldown.extraShapes) methods[`cooldown-${shape}`] = sum((x) => x.constant + x.cooldowns[shape]);
  if (plan.swa) methods.swa = sum((x) => x.constant + x.constant_extension);
  const spentConstant = sum((x) => x.constant + x.constant_extension);
  const spentCooldown = sum((x) => Object.values(x.cooldowns).reduce((a, b) => a + b, 0));
  const spentCosine = plan.cosine ? methods.cosine : 0;
  const refCool = sum((x) => x.reference_cooldown);
  const ratio = methods.cosine > 0 ? methods.cooldown / methods.cosine : NaN;
  return {
    unit: "training FLOPs, detailed count of docs/references.md §7 (3 × forward), at the sweep's sequence length",
    sizes,
    methods,
    spent: { constant: spentConstant, cooldown: spentCooldown, cosine: spentCosine, total: spentConstant + spentCooldown + spentCosine },
    reference: { formula: `Σ over sizes of F(D_max) + ${f}·Σ F(D_i<max), against Σ F(D_i)`, cooldown: refCool, cosine: methods.cosine, ratio: methods.cosine > 0 ? refCool / methods.cosine : NaN },
    ratio,
    saved_fraction: 1 - ratio,
  };
}

/** Collect every job's state and every finished point. */
export function collectResults(plan: SweepPlan): SweepResults {
  const rel = (p: string) => path.relative(plan.outDir, p) || ".";
  const tps = plan.tokensPerStep;
  const points: SweepPoint[] = [];
  const jobs: JobSummary[] = [];
  const seconds: Record<string, number> = {};
  const addSec = (k: string, v: number | null) => {
    if (v !== null) seconds[k] = (seconds[k] ?? 0) + v;
  };
  for (const j of plan.jobs) {
    const size = plan.sizes.find((s) => s.name === j.size)!;
    const st = jobState(j);
    const recs = st.status === "conflict" ? [] : readMetrics(path.join(j.runDir, "metrics.jsonl"));
    const elapsed = elapsedAt(recs, j.steps);
    jobs.push({
      id: j.id, kind: j.kind, size: j.size, run: rel(j.runDir), status: st.status, step: st.step, steps: j.steps, elapsed_s: elapsed,
      ...(j.kind === "cooldown" ? { shape: j.shape } : {}), ...(j.kind !== "constant" ? { budget: j.budget } : {}),
    });
    const fp = flopsPerToken(size.model, plan.seqLen);
    const point = (method: SweepMethod, step: number, rec: MetricRecord, swa = false): SweepPoint => {
      const tokens = step * tps;
      return {
        size: size.name, method, params: size.n, total_params: size.params, non_embedding_params: size.nonEmbeddingParams,
        tokens, steps: step,
        loss: (swa ? rec.val_loss_swa_mean : rec.val_loss_mean) as number,
        loss_by_source: (swa ? rec.val_loss_swa : rec.val_loss) as Record<string, number>,
        flops: 6 * size.n * tokens, flops_detailed: fp.train * tokens, run: rel(j.runDir), step,
      };
    };
    if (j.kind === "constant") {
      const lastBranch = Math.max(0, ...size.budgets.map((b) => b.branchStep));
      const atBranch = elapsedAt(recs, lastBranch);
      addSec("constant", atBranch);
      if (elapsed !== null && atBranch !== null) addSec("constant_extension", elapsed - atBranch);
      for (const b of size.budgets) {
        const rec = evalAt(recs, b.steps);
        if (!rec) continue;
        points.push(point("constant", b.steps, rec));
        if (plan.swa && typeof rec.val_loss_swa_mean === "number") points.push(point("swa", b.steps, rec, true));
      }
    } else {
      addSec(methodOf(j), elapsed !== null && j.kind === "cooldown" ? elapsed - (elapsedAt(recs, j.branchStep) ?? 0) : elapsed);
      if (st.status !== "done") continue;
      const rec = evalAt(recs, j.steps);
      if (rec) points.push(point(methodOf(j), j.steps, rec));
    }
  }
  const order: SweepMethod[] = ["cooldown", ...plan.cooldown.extraShapes.map((s) => `cooldown-${s}` as SweepMethod), "cosine", "swa", "constant"];
  points.sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method) || a.params - b.params || a.tokens - b.tokens);
  return {
    format: "smollab-sweep-results",
    version: 1,
    name: plan.name,
    sweep_file: plan.file,
    complete: jobs.every((j) => j.status === "done"),
    tokens_per_step: tps,
    seq_len: plan.seqLen,
    params: plan.paramsKind,
    cooldown: plan.cooldown,
    cosine: plan.cosine,
    swa: plan.swa,
    warmup: plan.warmup,
    sizes: plan.sizes.map((s) => ({
      name: s.name, params: s.n, total_params: s.params, non_embedding_params: s.nonEmbeddingParams,
      model: { d_model: s.model.d, layers: s.model.layers, heads: s.model.heads, kv_heads: s.model.kvHeads, ffn: s.model.ffn, vocab: s.model.vocab },
      lr_constant: s.lrConstant, lr_cosine: s.lrCosine,
      budgets: s.budgets.map((b) => ({
        tokens: b.tokens, steps: b.steps, branch_step: b.branchStep, cooldown_steps: b.cooldownSteps, tokens_per_param: b.tokens / s.n,
        ...(b.requested ? { requested: b.requested } : {}),
      })),
    })),
    points,
    flops: flopsAccount(plan),
    seconds,
    jobs,
    notes: plan.notes,
  };
}

const CSV_HEAD = "params,tokens,loss,flops,flops_detailed,size,method";

/** Points of one method as the CSV `smol fit` reads. */
export function pointsCsv(points: readonly SweepPoint[]): string {
  return [CSV_HEAD, ...points.map((p) => [p.params, p.tokens, p.loss, p.flops, p.flops_detailed, p.size, p.method].join(","))].join("\n") + "\n";
}

/** Write results.json, points.csv (the main cooldown method) and points-<method>.csv for the others. */
export function writeResults(outDir: string, r: SweepResults): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const written = [path.join(outDir, "results.json")];
  writeJsonAtomic(written[0], r);
  const methods = [...new Set(r.points.map((p) => p.method))];
  if (!methods.includes("cooldown")) methods.unshift("cooldown");
  for (const m of methods) {
    const file = path.join(outDir, m === "cooldown" ? "points.csv" : `points-${m}.csv`);
    writeFileAtomic(file, pointsCsv(r.points.filter((p) => p.method === m)));
    written.push(file);
  }
  return written;
}

/** Read DIR/results.json written by `smol sweep`. */
export function readResults(file: string): SweepResults {
  let r: SweepResults;
  try {
    r = JSON.parse(fs.readFileSync(file, "utf8")) as SweepResults;
  } catch (e) {
    throw new DataError(`${file}: unreadable (${(e as Error).message})`, "rerun `smol sweep` on the same sweep file to rewrite it");
  }
  if (r?.format !== "smollab-sweep-results") throw new DataError(`${file}: not a sweep results file (written by \`smol sweep\`)`);
  return r;
}
