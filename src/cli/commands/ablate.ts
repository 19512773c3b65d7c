// `smol ablate`: data ablations (SmolLM2 §2): anneal branches from a run's checkpoint with each
// candidate source mixed in, or small runs from scratch per candidate mixture; every branch
// evaluated on tasks and per-source validation loss; results.json, a table with standard errors
// and the differences to the control, report.html. Branches are child processes run by the sweep
// job queue locally or as Slurm batch jobs (resumable). Planning, evaluation and results are ablate/'s; this file spawns and prints.
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultBackend } from "../../backend/index.js";
import { UsageError } from "../../errors.js";
import { writeJsonAtomic } from "../../io/atomic.js";
import { listCheckpoints } from "../../io/run-layout.js";
import type { TrainConfig } from "../../train/config.js";
import type { QueueResult } from "../../sweep/queue.js";
import type { Executor } from "../../jobs/executor.js";
import { LocalExecutor, totalThreads } from "../../jobs/local.js";
import type { SlurmExecutor } from "../../jobs/slurm.js";
import { evaluateBranch, readBranchEval } from "../../ablate/evaluate.js";
import { planAblation, type AblationPlan, type BranchJob } from "../../ablate/plan.js";
import { branchEvalFile, collectResults, resultRows, writeResults } from "../../ablate/results.js";
import { ablationHelp, readAblationFile } from "../../ablate/spec.js";
import { writeAblationReport } from "../../report/ablation.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, type Command } from "../command.js";
import { EXECUTOR_FLAGS, executorHelp, slurmFromFlags, slurmSubcommand } from "../slurm-flags.js";
import { Progress, duration, table } from "../output.js";
import { runTraining } from "./train.js";

const help = `Usage: smol ablate ABLATION.yaml [--out DIR] [--jobs N] [--executor local|slurm …] [--dry-run]
       smol ablate status DIR       branches of a Slurm ablation: Slurm ids, state (squeue/sacct), attempts, step
       smol ablate cancel DIR       scancel every queued or running branch of a Slurm ablation

Data ablations as SmolLM2 chose its data (Allal et al. 2025, REFERENCE.md §2):

  kind: anneal   from a checkpoint of a run (from: RUN, step: N), one branch per candidate source
                 whose mixture is the candidate at \`share\` plus the previous mixture scaled to the
                 rest, the LR decaying to final_lr over decay.tokens with decay.shape — a cooldown
                 branch (Hägele et al.) with another mixture — and a control branch on the previous
                 mixture alone. A candidate at share 0 is the control, bit for bit.
  kind: scratch  one small run from scratch per candidate mixture, same budget and seed.

Each branch is evaluated on eval.tasks (each metric with its standard error) and on the validation
loss of every source (standard error over the held-out windows). Prints a table of every metric with
the difference to the control, marked * when it exceeds two standard errors of the difference, and
writes DIR/results.json (branches[]: name, metrics {"task/metric": {value, stderr}},
tokens_per_source, token_shares, diff), DIR/report.html, DIR/runs/<branch>/ (the training runs),
DIR/evals/<branch>.json and DIR/logs/<branch>.log. Running the same command again skips finished
branches and resumes the others from their newest checkpoint (also after a SIGKILL).

Options:
  --out DIR      where the ablation lives (default runs/<name>)
  --jobs N       branches at once (default 1); each gets SMOL_THREADS/N threads
  --dry-run      print the branches and their mixtures; train nothing
${executorHelp("ablate", "branch", "ablation")}
  --job FILE     internal: run one branch spec written by the queue (what its child processes run)

Ablation file keys:
${ablationHelp().join("\n")}

Example (after \`smol demo\`):
  smol ablate examples/ablation/anneal.yaml --out runs/ablation --jobs 2
  smol ablate examples/ablation/anneal.yaml --out runs/ablation --executor slurm --partition cpu --cpus-per-task 8
  smol ablate status runs/ablation`;

export const command: Command = {
  name: "ablate",
  summary: "data ablations: anneal candidates from a checkpoint, or small runs from scratch; table with stderr",
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs("ablate", argv, { out: { type: "string" }, jobs: { type: "string" }, "dry-run": { type: "boolean" }, job: { type: "string" }, ...EXECUTOR_FLAGS }, true);
    if (values.job !== undefined) return runBranchJob(values.job as string);
    if (positionals[0] === "status" || positionals[0] === "cancel") return slurmSubcommand("ablate", positionals, "runs/ablation");
    if (positionals.length !== 1) throw new UsageError("ablate: give exactly one ABLATION file", "e.g. smol ablate examples/ablation/anneal.yaml --out runs/ablation");
    const file = positionals[0];
    const jobs = numberOpt("ablate", "jobs", values.jobs, { int: true, min: 1, max: 64 }) ?? 1;
    const spec = readAblationFile(file);
    const plan = planAblation(spec, { outDir: (values.out as string | undefined) ?? path.join("runs", spec.name!), specDir: path.dirname(path.resolve(file)) });
    const slurm = slurmFromFlags("ablate", values, spec.slurm, plan.outDir, `smol-${plan.name}:`);
    printPlan(plan);
    if (values["dry-run"]) return 0;
    return runAblation(plan, jobs, slurm);
  },
};

function printPlan(plan: AblationPlan): void {
  const p = plan.parent;
  console.log(`ablation ${plan.name} (${plan.kind}): ${plan.jobs.length} branch(es)${p ? ` from ${p.run_dir} step ${p.step}, ${p.decay_steps} decay steps` : ""} → ${plan.outDir}`);
  const fmtMix = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${k} ${+v.toFixed(4)}`).join(", ");
  console.log(table(["branch", "mixture", "steps", "status"], plan.jobs.map((j) => [
    `${j.id}${j.id === plan.control ? " (control)" : ""}`, fmtMix(j.mixture), j.cfg.steps - j.startStep,
    readBranchEval(branchEvalFile(plan, j), j) ? "done" : listCheckpoints(j.runDir).length ? `resume at step ${Math.max(...listCheckpoints(j.runDir)) - j.startStep}` : "to run",
  ])));
}

interface BranchSpec {
  format: "smollab-ablation-job";
  id: string;
  config: TrainConfig;
  run_dir: string;
  from?: { checkpoint: string };
  start_step: number;
  mixture: Record<string, number>;
  eval: { tasks: string[]; limit: number; max_new_tokens?: number };
  eval_file: string;
  backend: string;
}


/**
 * THE place branches are executed: by the local executor of src/jobs/ (one child process per
 * branch) or the Slurm one (one batch job per branch); either runs `smol ablate --job FILE`, the
 * branch spec written when the branch starts or is submitted. Branches have no dependencies.
 */
export async function executeBranches(plan: AblationPlan, concurrency: number, log: (line: string) => void, slurm?: SlurmExecutor): Promise<QueueResult> {
  const threads = Math.max(1, Math.floor(totalThreads() / concurrency));
  const choice = defaultBackend();
  const backend = choice.fallbackReason ? "reference" : choice.backend.name;
  const t0 = performance.now();
  const stamp = () => duration((performance.now() - t0) / 1000).padStart(6);
  const jobs = plan.jobs.map((j) => ({
    ...j,
    steps: j.cfg.steps,
    logFile: path.join(plan.outDir, "logs", `${j.id}.log`),
    args: () => {
      const spec: BranchSpec = {
        format: "smollab-ablation-job", id: j.id, config: j.cfg, run_dir: j.runDir, from: j.from, start_step: j.startStep, mixture: j.mixture,
        eval: { tasks: [...plan.spec.eval.tasks], limit: plan.spec.eval.limit, max_new_tokens: plan.spec.eval.max_new_tokens }, eval_file: branchEvalFile(plan, j), backend,
      };
      const specFile = path.join(plan.outDir, "jobs", `${j.id}.json`);
      fs.mkdirSync(path.dirname(specFile), { recursive: true });
      writeJsonAtomic(specFile, spec);
      return ["ablate", "--job", specFile];
    },
  }));
  const executor: Executor = slurm ?? new LocalExecutor({ concurrency, threads, env: backend === "reference" ? { SMOL_BACKEND: "reference" } : {} });
  log(executor.describe(jobs.length));
  return executor.run(jobs, {
    isDone: (j) => readBranchEval(branchEvalFile(plan, j), j) !== undefined,
    isReady: () => true,
    onEvent: (e) => {
      if (e.type === "skip") log(`${stamp()}  skip   ${e.job.id} (finished)`);
      else if (e.type === "start") log(`${stamp()}  ${slurm ? "submit" : "start "} ${e.job.id}${e.slurmId ? ` (Slurm job ${e.slurmId})` : ""}`);
      else if (e.type === "adopt") log(`${stamp()}  adopt  ${e.job.id} (Slurm job ${e.slurmId}): still queued or running from an earlier invocation`);
      else if (e.type === "resubmit") log(`${stamp()}  resubmit ${e.job.id} (Slurm job ${e.slurmId}), attempt ${e.attempt}: ${e.error instanceof Error ? e.error.message : ""}; it resumes from its last checkpoint`);
      else if (e.type === "done") log(`${stamp()}  done   ${e.job.id} in ${duration((e as { seconds?: number }).seconds ?? 0)}`);
      else if (e.type === "fail") log(`${stamp()}  FAILED ${e.job.id}: ${e.error instanceof Error ? e.error.message : String(e.error)}`);
    },
  });
}

export async function runAblation(plan: AblationPlan, concurrency: number, slurm?: SlurmExecutor): Promise<number> {
  const progress = new Progress();
  const t0 = performance.now();
  const res = await executeBranches(plan, concurrency, (l) => progress.log(l), slurm);
  progress.done();
  const results = collectResults(plan);
  const file = writeResults(plan, results);
  const report = writeAblationReport(plan.outDir, results);
  const { headers, rows } = resultRows(results);
  console.log(`\nvalue ± standard error; (difference to ${plan.control}, * when it exceeds 2 standard errors)`);
  console.log(table(headers, rows));
  console.log("\ntokens trained per source (share):");
  console.log(table(["branch", "tokens", "shares"], results.branches.map((b) => [b.name, Object.values(b.tokens_per_source).reduce((a, x) => a + x, 0), Object.entries(b.token_shares).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", ")])));
  console.log(`\nwrote ${file} and ${report}`);
  const bad = Object.entries(res.outcomes).filter(([, o]) => o === "failed" || o === "blocked");
  if (bad.length) {
    console.log(`${bad.length} branch(es) did not finish: ${bad.map(([id]) => id).join(", ")}; fix the cause (see ${path.join(plan.outDir, "logs")}) and run the same command again to continue`);
    return 1;
  }
  console.log(`all ${plan.jobs.length} branches finished in ${duration((performance.now() - t0) / 1000)}`);
  return 0;
}

/** Child-process mode: train one branch (resuming), then evaluate it. */
async function runBranchJob(file: string): Promise<number> {
  let spec: BranchSpec;
  try {
    spec = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`ablate --job: cannot read ${file} (${(e as Error).message})`);
  }
  if (spec?.format !== "smollab-ablation-job" || !spec.config || !spec.run_dir) throw new UsageError(`ablate --job: ${file} is not a branch spec written by smol ablate`);
  const job: BranchJob = { id: spec.id, control: false, mixture: spec.mixture, cfg: spec.config, runDir: spec.run_dir, from: spec.from, startStep: spec.start_step, deps: [] };
  console.log(`branch ${spec.id}: steps ${spec.start_step}..${spec.config.steps} → ${spec.run_dir}`);
  const { exitCode } = await runTraining(spec.config, spec.run_dir, spec.from);
  if (exitCode !== 0) return exitCode;
  const progress = new Progress();
  const ev = await evaluateBranch(job, cliBackend(), { tasks: spec.eval.tasks, limit: spec.eval.limit, maxNewTokens: spec.eval.max_new_tokens, onProgress: (t, d, n) => progress.update(`eval ${t} ${d}/${n}`) }, spec.eval_file);
  progress.done();
  for (const [k, m] of Object.entries(ev.metrics)) console.log(`${k} ${m.value.toFixed(4)}${m.stderr !== undefined ? ` ± ${m.stderr.toFixed(4)}` : ""}`);
  return 0;
}
