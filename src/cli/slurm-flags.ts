// The Slurm side of the job-queue commands (`smol sweep`, `smol ablate`): the --executor and sbatch
// flags, their help text, the executor they choose (flags over the file's `slurm:` section), and
// the `status DIR` / `cancel DIR` subcommands. One place, so both commands read the same flags.
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../errors.js";
import { METRICS_FILE } from "../io/run-layout.js";
import { SLURM_SCHEMA, SlurmExecutor, slurmAvailable, slurmCancel, slurmStatus, type SlurmOptions } from "../jobs/slurm.js";
import { numberOpt } from "./command.js";
import { table } from "./output.js";

/** parseArgs options of the executor flags. */
export const EXECUTOR_FLAGS = {
  executor: { type: "string" }, partition: { type: "string" }, account: { type: "string" }, time: { type: "string" },
  "cpus-per-task": { type: "string" }, mem: { type: "string" }, "max-retries": { type: "string" },
} as const;

/** Help lines for the executor flags; `what` names a job ("run", "branch"). */
export function executorHelp(cmd: string, what: string, file: string): string {
  return `  --executor E   local (default): child processes of this one; slurm: one sbatch job per ${what}${cmd === "sweep" ? ", a\n                 branch held with --dependency=afterok on the job that writes its parent checkpoint," : ","}
                 logs in DIR/logs/, failed/preempted/cancelled jobs resubmitted (they resume from
                 their checkpoints) up to --max-retries; this command waits and watches (Ctrl-C
                 leaves the jobs queued: smol ${cmd} status/cancel DIR; the same command again adopts
                 them and goes on watching). Job scripts and ids: DIR/slurm/
  --partition P, --account A, --time T, --cpus-per-task N, --mem M, --max-retries N
                 sbatch settings (override the ${file} file's slurm: section; N CPUs = the job's
                 SMOL_THREADS, default 1); further sbatch flags: slurm.extra in the ${file} file`;
}

/**
 * The Slurm executor the flags ask for (undefined: run locally). `section` is the file's `slurm:`
 * mapping; flags override it. Throws a UsageError for a bad --executor or when sbatch is missing.
 */
export function slurmFromFlags(cmd: string, values: Record<string, unknown>, section: SlurmOptions | undefined, stateDir: string, jobPrefix: string): SlurmExecutor | undefined {
  const executor = (values.executor as string | undefined) ?? "local";
  if (executor !== "local" && executor !== "slurm") throw new UsageError(`${cmd}: --executor must be local or slurm, got "${executor}"`);
  const given = ["partition", "account", "time", "mem", "cpus-per-task", "max-retries"].filter((k) => values[k] !== undefined);
  if (executor === "local") {
    if (given.length) throw new UsageError(`${cmd}: --${given[0]} is a Slurm setting`, "add --executor slurm, or drop it");
    return undefined;
  }
  const o = SLURM_SCHEMA.parse(section ?? {});
  for (const k of ["partition", "account", "time", "mem"] as const) if (values[k] !== undefined) o[k] = values[k] as string;
  o.cpus_per_task = numberOpt(cmd, "cpus-per-task", values["cpus-per-task"], { int: true, min: 1 }) ?? o.cpus_per_task;
  o.max_retries = numberOpt(cmd, "max-retries", values["max-retries"], { int: true, min: 0 }) ?? o.max_retries;
  if (!slurmAvailable()) throw new UsageError(`${cmd}: --executor slurm needs sbatch, squeue, sacct and scancel on PATH`, "run it on a Slurm login node (Debian: apt-get install slurm-client), or use --executor local");
  return new SlurmExecutor(o, path.join(stateDir, "slurm"), jobPrefix);
}

/** Last step recorded in a run's metrics (cheap: reads the file's tail). */
export function lastStep(runDir: string): number {
  const file = path.join(runDir, METRICS_FILE);
  try {
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      const n = Math.min(size, 4096);
      const buf = Buffer.alloc(n);
      fs.readSync(fd, buf, 0, n, size - n);
      const m = [...buf.toString("utf8").matchAll(/"step":(\d+)/g)];
      return m.length ? Number(m[m.length - 1][1]) : 0;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return 0;
  }
}

/** `smol CMD status|cancel DIR` for a directory whose jobs ran with --executor slurm. */
export function slurmSubcommand(cmd: string, positionals: string[], example: string): number {
  const sub = positionals[0];
  if (positionals.length !== 2) throw new UsageError(`${cmd} ${sub}: give the ${cmd} directory`, `e.g. smol ${cmd} ${sub} ${example}`);
  const dir = path.join(positionals[1], "slurm");
  if (sub === "status") {
    const rows = slurmStatus(dir);
    console.log(table(["job", "slurm id", "slurm state", "attempts", "recorded", "step"], rows.map((r) => [r.id, r.slurm_ids.at(-1) ?? "—", r.slurm_state, r.attempts, r.state, `${lastStep(r.run_dir)}/${r.steps}`])));
    return 0;
  }
  const ids = slurmCancel(dir);
  console.log(ids.length ? `cancelled ${ids.length} Slurm job(s): ${ids.join(", ")}` : "no queued or running Slurm jobs");
  return 0;
}
