// The Slurm executor: one batch job per run, submitted with sbatch (branches with
// --dependency=afterok on the job that writes their parent checkpoint), watched with squeue and
// sacct (or scontrol), and resubmitted up to max_retries when it fails, is preempted, cancelled
// or times out — the run resumes from its checkpoints. The jobs' Slurm ids, attempts and states
// live in STATE_DIR/jobs.json so that `smol sweep status` and `smol sweep cancel` find them; a
// cancel marker there stops the watcher from resubmitting. Only Slurm's own CLIs are used.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { SmolError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import { smolCommand, type ExecHooks, type ExecJob, type Executor, type JobOutcome, type QueueResult } from "./executor.js";

/** A Slurm command failed or is missing. */
export class SlurmError extends SmolError {}

/** The `slurm:` section of a sweep (or ablation) file; --partition etc. override it. */
export const SLURM_SCHEMA = z.strictObject({
  partition: z.string().optional().describe("sbatch --partition"),
  account: z.string().optional().describe("sbatch --account"),
  time: z.string().optional().describe("sbatch --time, e.g. 2:00:00"),
  cpus_per_task: z.number().int().min(1).optional().describe("sbatch --cpus-per-task (the job's SMOL_THREADS; default 1)"),
  mem: z.string().optional().describe("sbatch --mem, e.g. 8G"),
  extra: z.array(z.string()).default([]).describe("further sbatch flags, e.g. [--qos=low, --requeue]"),
  max_retries: z.number().int().min(0).default(3).describe("resubmissions of a failed/preempted job (it resumes from its checkpoint)"),
  poll_s: z.number().gt(0).default(10).describe("seconds between squeue polls"),
}).describe("Slurm settings for --executor slurm");

export type SlurmOptions = z.output<typeof SLURM_SCHEMA>;

export const STATE_FILE = "jobs.json";
const CANCEL_FILE = "cancelled";

export interface SlurmJobRecord {
  id: string;
  slurm_ids: string[];
  attempts: number;
  state: "submitted" | "done" | "failed" | "blocked" | "skipped" | "cancelled";
  run_dir: string;
  steps: number;
  log: string;
  script: string;
}

export interface SlurmState {
  format: "smollab-slurm-jobs";
  version: 1;
  jobs: SlurmJobRecord[];
}

/** Slurm states after which a job will not run again by itself. */
const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED"]);

function run(cmd: string, args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) return { ok: false, out: "", err: (r.error as NodeJS.ErrnoException).code === "ENOENT" ? `${cmd}: command not found` : r.error.message };
  return { ok: r.status === 0, out: r.stdout ?? "", err: (r.stderr ?? "").trim() };
}

/** True when sbatch is on PATH. */
export function slurmAvailable(): boolean {
  return run("sbatch", ["--version"]).ok;
}

/** Quote one word for bash. */
function sh(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The batch script of a job: #SBATCH lines from the options, SMOL_THREADS from the allocation. */
export function batchScript(name: string, job: ExecJob, args: string[], o: SlurmOptions): string {
  const flags = [
    `--job-name=${name}`, `--output=${job.logFile}`, "--open-mode=append",
    `--cpus-per-task=${o.cpus_per_task ?? 1}`, "--ntasks=1",
    ...(o.partition ? [`--partition=${o.partition}`] : []), ...(o.account ? [`--account=${o.account}`] : []),
    ...(o.time ? [`--time=${o.time}`] : []), ...(o.mem ? [`--mem=${o.mem}`] : []), ...o.extra,
  ];
  return [
    "#!/bin/bash",
    `# smol job ${job.id}: written by smollab's Slurm executor (resubmitted runs resume from ${job.runDir})`,
    ...flags.map((f) => `#SBATCH ${f}`),
    "export SMOL_THREADS=${SLURM_CPUS_PER_TASK:-1}",
    `echo "=== $(date -u +%FT%TZ) slurm job $SLURM_JOB_ID on $(hostname): smol ${args.map(sh).join(" ").replace(/"/g, '\\"')}"`,
    `exec ${smolCommand(args).map(sh).join(" ")}`,
    "",
  ].join("\n");
}

export function readSlurmState(dir: string): SlurmState | undefined {
  const file = path.join(dir, STATE_FILE);
  if (!fs.existsSync(file)) return undefined;
  try {
    const s = JSON.parse(fs.readFileSync(file, "utf8")) as SlurmState;
    if (s.format === "smollab-slurm-jobs" && Array.isArray(s.jobs)) return s;
  } catch {
    /* fall through */
  }
  throw new SmolError(`${file}: not a SmolLab Slurm job list`);
}

/** Current Slurm state (e.g. RUNNING, COMPLETED, CANCELLED) of each id; absent when Slurm no longer knows it. */
export function querySlurm(ids: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (!ids.length) return out;
  const want = new Set(ids);
  const q = run("squeue", ["-h", "--states=all", "-o", "%i|%T"]);
  if (!q.ok) throw new SlurmError(`squeue failed: ${q.err || q.out}`, "is the Slurm controller reachable (sinfo)? SLURM_CONF points at its slurm.conf");
  for (const line of q.out.split("\n")) {
    const [id, st] = line.trim().split("|");
    if (id && want.has(id)) out.set(id, st);
  }
  const missing = ids.filter((i) => !out.has(i));
  if (missing.length) {
    // Purged from the controller: the accounting database, else the job-completion log (sacct -c).
    let r = run("sacct", ["-n", "-P", "-X", "-j", missing.join(","), "-o", "JobID,State"]);
    if (!r.ok || /accounting storage is disabled/i.test(r.err + r.out)) r = run("sacct", ["-c", "-n", "-P", "-j", missing.join(","), "-o", "JobID,State"]);
    if (r.ok) {
      for (const line of r.out.split("\n")) {
        const [id, st] = line.trim().split("|");
        if (id && want.has(id) && st) out.set(id, st.split(" ")[0]);
      }
    }
  }
  return out;
}

export class SlurmExecutor implements Executor {
  readonly name = "slurm" as const;
  constructor(private readonly opts: SlurmOptions, private readonly stateDir: string, private readonly jobPrefix: string) {}

  describe(jobs: number): string {
    const o = this.opts;
    return `submitting ${jobs} jobs to Slurm (${[o.partition && `partition ${o.partition}`, o.account && `account ${o.account}`, `${o.cpus_per_task ?? 1} CPU(s) each`, o.time && `time ${o.time}`, o.mem && `mem ${o.mem}`].filter(Boolean).join(", ")}); up to ${o.max_retries} resubmission(s) per job; state in ${this.stateDir}`;
  }

  private save(state: SlurmState): void {
    writeJsonAtomic(path.join(this.stateDir, STATE_FILE), state);
  }

  private submit(job: ExecJob, rec: SlurmJobRecord, after: string[]): string {
    const args = job.args("slurm");
    const script = batchScript(`${this.jobPrefix}${job.id}`, job, args, this.opts);
    writeFileAtomic(rec.script, script);
    fs.mkdirSync(path.dirname(job.logFile), { recursive: true });
    // A failed parent leaves its branches pending (not killed): the watcher resubmits the parent and
    // points them at the new job, or cancels them when it gives up.
    const dep = after.length ? [`--dependency=afterok:${after.join(":")}`, "--kill-on-invalid-dep=no"] : [];
    const r = run("sbatch", ["--parsable", ...dep, rec.script]);
    if (!r.ok) throw new SlurmError(`sbatch ${rec.script} failed: ${r.err || r.out}`, "check the partition/account/time flags (smol sweep --help) and that sbatch works here");
    const id = r.out.trim().split(";")[0];
    rec.slurm_ids.push(id);
    rec.attempts++;
    rec.state = "submitted";
    return id;
  }

  async run<J extends ExecJob>(jobs: readonly J[], hooks: ExecHooks<J>): Promise<QueueResult> {
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.rmSync(path.join(this.stateDir, CANCEL_FILE), { force: true });
    const outcomes: Record<string, JobOutcome> = {};
    const errors: Record<string, unknown> = {};
    const prev = readSlurmState(this.stateDir);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    const state: SlurmState = { format: "smollab-slurm-jobs", version: 1, jobs: [] };
    const rec = new Map<string, SlurmJobRecord>();
    for (const j of jobs) {
      const old = prev?.jobs.find((r) => r.id === j.id);
      const r: SlurmJobRecord = {
        id: j.id, slurm_ids: old?.slurm_ids ?? [], attempts: 0, state: "submitted", run_dir: j.runDir, steps: j.steps, log: j.logFile,
        script: path.join(this.stateDir, `${j.id.replace(/[^\w.-]+/g, "_")}.sbatch`),
      };
      rec.set(j.id, r);
      state.jobs.push(r);
    }
    // Jobs of an earlier invocation (whose watcher died) still queued or running are adopted, not resubmitted.
    const live = querySlurm(state.jobs.flatMap((r) => r.slurm_ids.slice(-1)));
    const slurmOf = new Map<string, string>(); // job id -> current Slurm id
    const finish = (j: J, o: JobOutcome, e?: unknown) => {
      outcomes[j.id] = o;
      if (e !== undefined) errors[j.id] = e;
      rec.get(j.id)!.state = o === "done" ? "done" : o === "skipped" ? "skipped" : o === "blocked" ? "blocked" : fs.existsSync(path.join(this.stateDir, CANCEL_FILE)) ? "cancelled" : "failed";
    };
    const dependents = (id: string) => jobs.filter((j) => j.deps.includes(id));
    const block = (j: J) => {
      for (const d of dependents(j.id)) {
        if (outcomes[d.id]) continue;
        const sid = slurmOf.get(d.id);
        if (sid) run("scancel", [sid]);
        finish(d, "blocked");
        hooks.onEvent?.({ type: "blocked", job: d });
        block(d);
      }
    };
    try {
      for (const j of jobs) {
        if (hooks.isDone(j)) {
          finish(j, "skipped");
          hooks.onEvent?.({ type: "skip", job: j });
          continue;
        }
        const after = j.deps.filter((d) => byId.has(d) && outcomes[d] !== "skipped" && outcomes[d] !== "done").map((d) => slurmOf.get(d)!).filter(Boolean);
        if (j.deps.some((d) => outcomes[d] === "blocked" || outcomes[d] === "failed")) {
          finish(j, "blocked");
          hooks.onEvent?.({ type: "blocked", job: j });
          continue;
        }
        const r = rec.get(j.id)!;
        const last = r.slurm_ids.at(-1);
        const lastState = last ? live.get(last) : undefined;
        if (last && lastState && !TERMINAL.has(lastState)) {
          r.attempts = prev?.jobs.find((x) => x.id === j.id)?.attempts ?? 1;
          slurmOf.set(j.id, last);
          hooks.onEvent?.({ type: "adopt", job: j, slurmId: last, attempt: r.attempts });
          continue;
        }
        try {
          const sid = this.submit(j, r, after);
          slurmOf.set(j.id, sid);
          hooks.onEvent?.({ type: "start", job: j, slurmId: sid, attempt: 1 });
        } catch (e) {
          finish(j, "failed", e);
          hooks.onEvent?.({ type: "fail", job: j, error: e });
          block(j);
        }
      }
      this.save(state);
      const t0 = new Map<string, number>([...slurmOf.keys()].map((k) => [k, performance.now()]));
      for (;;) {
        const active = jobs.filter((j) => !outcomes[j.id] && slurmOf.has(j.id));
        if (!active.length) break;
        await new Promise((r) => setTimeout(r, this.opts.poll_s * 1000));
        const states = querySlurm(active.map((j) => slurmOf.get(j.id)!));
        const cancelled = fs.existsSync(path.join(this.stateDir, CANCEL_FILE));
        for (const j of active) {
          const sid = slurmOf.get(j.id)!;
          const st = states.get(sid);
          if (st === undefined || !TERMINAL.has(st)) continue;
          const seconds = (performance.now() - (t0.get(j.id) ?? 0)) / 1000;
          if (st === "COMPLETED" && hooks.isDone(j)) {
            finish(j, "done");
            hooks.onEvent?.({ type: "done", job: j, seconds, slurmId: sid });
            continue;
          }
          const r = rec.get(j.id)!;
          const why = new SmolError(`Slurm job ${sid} ended ${st} (attempt ${r.attempts} of ${this.opts.max_retries + 1}; log: ${j.logFile})`);
          if (!cancelled && r.attempts <= this.opts.max_retries) {
            // Resubmit; its dependents still waiting on the old id now wait on the new one.
            const after = j.deps.filter((d) => byId.has(d) && outcomes[d] !== "done" && outcomes[d] !== "skipped").map((d) => slurmOf.get(d)!).filter(Boolean);
            const nid = this.submit(j, r, after);
            slurmOf.set(j.id, nid);
            for (const d of dependents(j.id)) {
              const did = slurmOf.get(d.id);
              if (did && !outcomes[d.id]) run("scontrol", ["update", `JobId=${did}`, `Dependency=afterok:${nid}`]);
            }
            hooks.onEvent?.({ type: "resubmit", job: j, slurmId: nid, attempt: r.attempts, error: why });
          } else {
            finish(j, "failed", why);
            hooks.onEvent?.({ type: "fail", job: j, error: why, seconds, slurmId: sid });
            block(j);
          }
        }
        this.save(state);
        hooks.onTick?.(jobs.filter((j) => !outcomes[j.id] && slurmOf.has(j.id) && states.get(slurmOf.get(j.id)!) === "RUNNING"));
      }
    } finally {
      this.save(state);
    }
    return { outcomes, errors };
  }
}

/** Rows for `smol sweep status`: each job's Slurm ids, live state (squeue/sacct) and attempts. */
export function slurmStatus(stateDir: string): Array<SlurmJobRecord & { slurm_state: string }> {
  const s = readSlurmState(stateDir);
  if (!s) throw new SmolError(`${stateDir}: no Slurm jobs recorded here`, "was the sweep run with --executor slurm? (local sweeps: smol sweep SWEEP --dry-run shows each job's state)");
  const live = querySlurm(s.jobs.flatMap((r) => r.slurm_ids.slice(-1)));
  return s.jobs.map((r) => ({ ...r, slurm_state: r.slurm_ids.length ? (live.get(r.slurm_ids.at(-1)!) ?? "unknown (purged)") : "—" }));
}

/** Cancel every queued or running job of the state dir (scancel); the watcher stops resubmitting. Returns the ids. */
export function slurmCancel(stateDir: string): string[] {
  const s = readSlurmState(stateDir);
  if (!s) throw new SmolError(`${stateDir}: no Slurm jobs recorded here`, "was the sweep run with --executor slurm?");
  fs.writeFileSync(path.join(stateDir, CANCEL_FILE), new Date().toISOString() + "\n");
  const live = querySlurm(s.jobs.flatMap((r) => r.slurm_ids.slice(-1)));
  const ids = [...live].filter(([, st]) => !TERMINAL.has(st)).map(([id]) => id);
  if (ids.length) {
    const r = run("scancel", ids);
    if (!r.ok) throw new SlurmError(`scancel failed: ${r.err}`);
  }
  return ids;
}
