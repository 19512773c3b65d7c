// `smol sweep`: a scaling-law study with reusable runs (Hägele et al.): per model size one
// constant-LR run, a cooldown branch per token budget, optional cosine baselines and SWA readouts,
// run by a local job queue of child processes (resumable), with results.json and points.csv.
// Planning, the queue and the results are sweep/'s, running the jobs an executor's (jobs/: local
// child processes or Slurm); this file picks one, prints and exits. Also `smol sweep status|cancel DIR`.
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultBackend } from "../../backend/index.js";
import { BackendError, ConfigError, UsageError } from "../../errors.js";
import { METRICS_FILE } from "../../io/run-layout.js";
import { writeJsonAtomic } from "../../io/atomic.js";
import { listCheckpoints } from "../../io/run-layout.js";
import { readMetrics } from "../../train/metrics.js";
import { jobSpec, planSweepFile, type JobSpec, type SweepJob, type SweepPlan } from "../../sweep/sweep.js";
import type { ExecJob, Executor } from "../../jobs/executor.js";
import { LocalExecutor, totalThreads } from "../../jobs/local.js";
import type { SlurmExecutor } from "../../jobs/slurm.js";
import { collectResults, flopsAccount, jobState, writeResults, type SweepResults } from "../../sweep/results.js";
import { numberOpt, parseCommandArgs, type Command } from "../command.js";
import { EXECUTOR_FLAGS, executorHelp, lastStep, slurmFromFlags, slurmSubcommand } from "../slurm-flags.js";
import { Progress, duration, fmtNum, human, table } from "../output.js";
import { printSummary, runTraining } from "./train.js";

const help = `Usage: smol sweep SWEEP.yaml [--out DIR] [--jobs N] [--executor local|slurm …] [--dry-run]
       smol sweep status DIR        jobs of a Slurm sweep: Slurm ids, state (squeue/sacct), attempts, step
       smol sweep cancel DIR        scancel every queued or running job of a Slurm sweep

A scaling-law study with reusable runs (Hägele et al. 2024, docs/references.md §7). For each model size:
ONE constant-LR run with checkpoints at every budget's cooldown start (1 − fraction)·D, a cooldown
branch from each (ending at D), optional cosine runs from scratch per budget, and optional SWA
readouts of the constant run at every budget. A local queue runs what is ready (a branch as soon as
its parent has written the checkpoint it starts from), N jobs at once as child processes with the
threads split between them. Re-running the command skips finished runs and resumes the others.

Writes DIR/results.json (every job, the final validation loss of every (N, D) point per method, the
FLOPs split by method), DIR/points.csv (the cooldown points, columns params,tokens,loss,flops for
\`smol fit\`; flops = 6ND, flops_detailed the docs/references.md §7 count) and points-<method>.csv for cosine,
swa, constant (no cooldown) and extra shapes. Runs live in DIR/runs/<size>/, logs in DIR/logs/.

Options:
  --out DIR      where the sweep lives (default runs/<name>)
  --jobs N       jobs at once (default 1); each gets SMOL_THREADS/N threads (SMOL_THREADS
                 defaults to all cores)
  --dry-run      print the plan and its FLOPs accounting; train nothing
${executorHelp("sweep", "run", "sweep")}
  --job FILE     internal: run one job spec written by the queue (what its child processes run)
  --run-job ID   internal: plan the sweep and run its job ID (what Slurm batch jobs run)

Sweep file (YAML or JSON):
  base              training config: a path relative to the sweep file, or an inline mapping
                    (one data stage: its mixture is used, its tokens replaced by the budgets)
  data_dir, tokenizer, seed   override the base config's
  params            total | non-embedding: the N of points.csv and tokens_per_param (default total)
  sizes[]           name, and a preset or d_model/layers/heads/kv_heads/ffn; optional lr, cosine_lr,
                    budgets (overrides the top-level budgets for this size)
  budgets           tokens: [..] (each a multiple of step_multiple steps; an error otherwise) or
                    tokens_per_param: [..] (rounded to the nearest reachable count; reported);
                    step_multiple: default the fewest steps whose branch point is whole (5 at 20%)
  constant          lr (default the base optimizer.lr), warmup (default the base schedule.warmup)
  cooldown          fraction (default 0.2), shape (default 1-sqrt), extra_shapes (e.g. [linear]),
                    final_lr (default 0)
  cosine            lr (default 2 × constant lr), final_fraction (default 0.1), warmup; enabled
  swa               window (steps), interval (default 5): SWA readouts of the constant run, which
                    then runs to the largest budget
  slurm             partition, account, time, cpus_per_task, mem, extra (list of sbatch flags),
                    max_retries (default 3), poll_s (default 10): for --executor slurm

Example:
  smol sweep examples/micro-study/sweep.yaml --out runs/micro-study/sweep --jobs 2
  smol sweep examples/micro-study/sweep.yaml --executor slurm --partition cpu --time 1:00:00 --cpus-per-task 8
  smol sweep status runs/micro-study/sweep
  smol report runs/micro-study/sweep`;

export const command: Command = {
  name: "sweep",
  summary: "scaling-law sweep with reusable runs: constant LR + cooldown branches (+ cosine, SWA)",
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs("sweep", argv, {
      out: { type: "string" }, jobs: { type: "string" }, "dry-run": { type: "boolean" }, job: { type: "string" },
      ...EXECUTOR_FLAGS, "run-job": { type: "string" },
    }, true);
    if (values.job !== undefined) return runJob(values.job as string);
    if (positionals[0] === "status" || positionals[0] === "cancel") return slurmSubcommand("sweep", positionals, "runs/micro-study/sweep");
    if (positionals.length !== 1) throw new UsageError("sweep: give exactly one SWEEP file", "e.g. smol sweep examples/micro-study/sweep.yaml");
    const jobs = numberOpt("sweep", "jobs", values.jobs, { int: true, min: 1, max: 64 }) ?? 1;
    const plan = planSweepFile(positionals[0], { outDir: values.out as string | undefined });
    if (values["run-job"] !== undefined) return runPlannedJob(plan, values["run-job"] as string);
    printPlan(plan);
    const states = new Map(plan.jobs.map((j) => [j.id, jobState(j)]));
    const conflicts = plan.jobs.filter((j) => states.get(j.id)!.status === "conflict");
    if (conflicts.length) {
      throw new ConfigError(`${plan.outDir} holds runs that do not match this sweep`, conflicts.map((j) => `${j.runDir}: ${states.get(j.id)!.detail}`), "use a new --out, or delete those run directories to train them again");
    }
    if (values["dry-run"]) {
      console.log(table(["job", "kind", "steps", "status"], plan.jobs.map((j) => [j.id, j.kind, j.steps, `${states.get(j.id)!.status}${states.get(j.id)!.step ? ` (step ${states.get(j.id)!.step})` : ""}`])));
      return 0;
    }
    const slurm = slurmFromFlags("sweep", values, plan.slurm, plan.outDir, `smol-${plan.name}:`);
    return runSweep(plan, jobs, slurm, positionals[0]);
  },
};

function printPlan(plan: SweepPlan): void {
  console.log(`sweep ${plan.name}: ${plan.sizes.length} size(s), ${plan.cooldown.fraction * 100}% ${plan.cooldown.shape} cooldowns${plan.cooldown.extraShapes.length ? ` (+ ${plan.cooldown.extraShapes.join(", ")})` : ""}${plan.cosine ? ", cosine baselines" : ""}${plan.swa ? `, SWA readouts (window ${plan.swa.window})` : ""} → ${plan.outDir}`);
  const rows: Array<Array<string | number>> = [];
  for (const s of plan.sizes) {
    for (const b of s.budgets) {
      rows.push([s.name, human(s.n), `${s.model.d}×${s.model.layers}`, b.tokens, `${(b.tokens / s.n).toFixed(1)}`, b.steps, b.branchStep, b.cooldownSteps]);
    }
  }
  console.log(table(["size", "N", "d×layers", "tokens D", "D/N", "steps", "branch at", "cooldown"], rows));
  for (const n of plan.notes) console.log(`note: ${n}`);
  const f = flopsAccount(plan);
  console.log(
    `FLOPs (detailed): reusable runs ${fmtNum(f.methods.cooldown)} vs cosine grid ${fmtNum(f.methods.cosine)} = ${f.ratio.toFixed(3)} ` +
      `(docs/references.md §7 formula F(Dmax) + ${plan.cooldown.fraction}·ΣF(Di<max): ${f.reference.ratio.toFixed(3)}); this sweep trains ${fmtNum(f.spent.total)} in all`,
  );
}

async function runSweep(plan: SweepPlan, concurrency: number, slurm: SlurmExecutor | undefined, sweepFile: string): Promise<number> {
  const threads = Math.max(1, Math.floor(totalThreads() / concurrency));
  // Every job uses the backend this process finds, so a sweep never mixes float32 and float64 runs
  // (and a job whose addon went missing mid-sweep stops instead of running ~100× slower).
  const choice = defaultBackend();
  const backend = choice.fallbackReason ? "reference" : choice.backend.name;
  if (choice.fallbackReason) process.stderr.write(`smol: warning: ${choice.fallbackReason}; every job of this sweep will use it\n`);
  const jobsDir = path.join(plan.outDir, "jobs");
  const logsDir = path.join(plan.outDir, "logs");
  const progress = new Progress(process.stderr, 30_000);
  const t0 = performance.now();
  const stamp = () => duration((performance.now() - t0) / 1000).padStart(6);
  const fileOf = (dir: string, j: SweepJob, ext: string) => path.join(dir, `${j.id}${ext}`);
  let finished = 0;
  let lastStatus = performance.now();
  const save = () => writeResults(plan.outDir, collectResults(plan));
  const executor: Executor = slurm ?? new LocalExecutor({ concurrency, threads, env: backend === "reference" ? { SMOL_BACKEND: "reference" } : {} });
  console.log(executor.describe(plan.jobs.length));
  type Job = SweepJob & ExecJob;
  const jobs: Job[] = plan.jobs.map((j) => ({
    ...j, deps: j.kind === "cooldown" ? [j.parent] : [], logFile: fileOf(logsDir, j, ".log"),
    args: (ex: "local" | "slurm") => {
      // Slurm submits a branch before its parent checkpoint exists: the batch job plans it when it runs.
      if (ex === "slurm") return ["sweep", path.resolve(sweepFile), "--out", path.resolve(plan.outDir), "--run-job", j.id];
      const spec: JobSpec = { ...jobSpec(j), backend };
      const specFile = fileOf(jobsDir, j, ".json");
      fs.mkdirSync(path.dirname(specFile), { recursive: true });
      writeJsonAtomic(specFile, spec);
      return ["sweep", "--job", specFile];
    },
  }));
  const res = await executor.run(jobs, {
    isDone: (j) => jobState(j).status === "done",
    isReady: (j) => j.kind !== "cooldown" || listCheckpoints(j.parentDir).includes(j.branchStep),
    onEvent: (e) => {
      const j = e.job;
      const sid = "slurmId" in e && e.slurmId ? ` (Slurm job ${e.slurmId})` : "";
      if (e.type === "skip") progress.log(`${stamp()}  skip   ${j.id} (finished)`);
      else if (e.type === "start") {
        const st = jobState(j);
        progress.log(`${stamp()}  ${slurm ? "submit" : "start "} ${j.id}${st.step ? ` (resuming at step ${st.step})` : ""}${sid}`);
      } else if (e.type === "adopt") {
        progress.log(`${stamp()}  adopt  ${j.id}${sid}: still queued or running from an earlier invocation`);
      } else if (e.type === "resubmit") {
        progress.log(`${stamp()}  resubmit ${j.id}${sid}, attempt ${e.attempt}: ${e.error instanceof Error ? e.error.message : ""}; it resumes from its last checkpoint (step ${jobState(j).step ?? 0})`);
      } else if (e.type === "done") {
        finished++;
        progress.log(`${stamp()}  done   ${j.id} in ${duration(e.seconds ?? 0)}`);
      } else if (e.type === "fail") progress.log(`${stamp()}  FAILED ${j.id} after ${duration(e.seconds ?? 0)}: ${e.error instanceof Error ? e.error.message : String(e.error)}`);
      else progress.log(`${stamp()}  blocked ${j.id}: its parent ${j.kind === "cooldown" ? j.parent : ""} has no checkpoint at step ${j.kind === "cooldown" ? j.branchStep : "?"}`);
      if (e.type === "done" || e.type === "fail") save();
    },
    onTick: (running) => {
      // On a terminal the line redraws in place; in a log, one status line every 30 s is enough.
      if (!process.stderr.isTTY && performance.now() - lastStatus < 30_000) return;
      lastStatus = performance.now();
      progress.update(`${stamp()}  ${finished} done; running ${running.map((j) => `${j.id} ${lastStep(j.runDir)}/${j.steps}`).join(", ")}`);
    },
  });
  progress.done();
  const results = collectResults(plan);
  const files = writeResults(plan.outDir, results);
  printResults(results);
  const bad = Object.entries(res.outcomes).filter(([, o]) => o === "failed" || o === "blocked");
  console.log(`\nwrote ${files.join(", ")}`);
  if (bad.length) {
    console.log(`${bad.length} job(s) did not finish: ${bad.map(([id, o]) => `${id} (${o})`).join(", ")}; fix the cause and run the same command again to continue`);
    return 1;
  }
  console.log(`all ${plan.jobs.length} jobs finished in ${duration((performance.now() - t0) / 1000)}; next: smol report ${plan.outDir}`);
  return 0;
}

function printResults(r: SweepResults): void {
  const methods = [...new Set(r.points.map((p) => p.method))];
  if (!methods.length) return;
  const key = (size: string, tokens: number) => `${size}|${tokens}`;
  const by = new Map<string, Record<string, number>>();
  for (const p of r.points) {
    const k = key(p.size, p.tokens);
    if (!by.has(k)) by.set(k, {});
    by.get(k)![p.method] = p.loss;
  }
  const rows: Array<Array<string | number>> = [];
  for (const s of r.sizes) {
    for (const b of s.budgets) {
      const m = by.get(key(s.name, b.tokens));
      if (!m) continue;
      rows.push([s.name, b.tokens, ...methods.map((x) => (m[x] !== undefined ? Number(m[x].toFixed(4)) : "—"))]);
    }
  }
  console.log("\nfinal validation loss (mean over sources, nats/token):");
  console.log(table(["size", "tokens D", ...methods], rows));
  const f = r.flops;
  console.log(`\nFLOPs: reusable runs ${fmtNum(f.methods.cooldown)}, cosine grid ${fmtNum(f.methods.cosine)} (ratio ${f.ratio.toFixed(3)}, ${(f.saved_fraction * 100).toFixed(1)}% saved)`);
}

/** Slurm batch-job mode: plan the sweep (the parent checkpoint of a branch exists by now) and run job `id`. */
async function runPlannedJob(plan: SweepPlan, id: string): Promise<number> {
  const job = plan.jobs.find((j) => j.id === id);
  if (!job) throw new UsageError(`sweep --run-job: no job "${id}" in ${plan.file} (it has: ${plan.jobs.map((j) => j.id).join(", ")})`);
  if (jobState(job).status === "done") {
    console.log(`job ${id}: already finished (${job.runDir})`);
    return 0;
  }
  return runSpec(jobSpec(job));
}

/** Child-process mode: run one job spec (a resolved config, its run directory, a start checkpoint). */
async function runJob(file: string): Promise<number> {
  let spec: JobSpec;
  try {
    spec = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`sweep --job: cannot read ${file} (${(e as Error).message})`);
  }
  if (spec?.format !== "smollab-sweep-job" || !spec.config || !spec.run_dir) throw new UsageError(`sweep --job: ${file} is not a job spec written by smol sweep`);
  return runSpec(spec);
}

async function runSpec(spec: JobSpec): Promise<number> {
  const choice = defaultBackend();
  if (spec.backend && spec.backend !== "reference" && choice.fallbackReason) {
    throw new BackendError(`sweep --job ${spec.id}: ${choice.fallbackReason.replace(/;.*$/, "")}, but the sweep started with the ${spec.backend} backend; stopping rather than mixing backends`, "rebuild the addon (npm rebuild smollab), then run the same smol sweep command again to continue");
  }
  console.log(`job ${spec.id}: ${spec.config.steps} steps → ${spec.run_dir}${spec.from ? ` (from ${spec.from.checkpoint})` : ""} on the ${choice.backend.name} backend`);
  const { summary, exitCode } = await runTraining(spec.config, spec.run_dir, spec.from);
  if (exitCode !== 0) return exitCode;
  printSummary(summary);
  const evals = readMetrics(path.join(spec.run_dir, METRICS_FILE)).filter((r) => r.type === "eval" && r.step === summary.steps);
  if (evals.length && typeof evals[0].val_loss_mean === "number") console.log(`final validation loss ${(evals[0].val_loss_mean as number).toFixed(4)}`);
  return 0;
}
