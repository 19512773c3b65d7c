// Executors run a list of training jobs (sweep runs, cooldown branches, ablation arms) to the end:
// `local` (a pool of child processes on this machine) or `slurm` (one batch job per run, branches
// held with --dependency=afterok on their parent, failures resubmitted). A job is a `smol`
// command line plus its run directory, log file and the jobs it waits on; whether it is finished
// is the caller's (run directories know). Both executors report through the same events.
import type { JobOutcome, QueueEvent, QueueResult } from "../sweep/queue.js";

export type { JobOutcome, QueueResult };

export interface ExecJob {
  id: string;
  /** Job ids this one waits on (a branch waits on the run that writes its parent checkpoint). */
  deps: readonly string[];
  /** The run directory the job trains in (resubmissions resume from its checkpoints). */
  runDir: string;
  /** Optimizer steps of the run (for progress). */
  steps: number;
  /** Where the job's stdout/stderr go (appended across attempts). */
  logFile: string;
  /**
   * The `smol` arguments that run the job, asked for when it starts (local) or is submitted
   * (slurm); e.g. ["sweep", FILE, "--out", DIR, "--run-job", ID].
   */
  args(executor: "local" | "slurm"): string[];
}

export interface ExecEvent<J extends ExecJob> extends QueueEvent<J> {
  /** Slurm: the batch job id; "resubmit" events carry the attempt number. */
  slurmId?: string;
  attempt?: number;
}

export interface ExecHooks<J extends ExecJob> {
  /** Finished before the executor ran (checked once, at the start). */
  isDone(job: J): boolean;
  /** Local: may start now (e.g. the parent's checkpoint exists). Slurm uses dependencies instead. */
  isReady(job: J): boolean;
  onEvent?(e: ExecEvent<J> | { type: "resubmit" | "adopt"; job: J; slurmId: string; attempt: number; error?: unknown }): void;
  onTick?(running: readonly J[]): void;
}

export interface Executor {
  readonly name: "local" | "slurm";
  /** One line for the user: what runs where. */
  describe(jobs: number): string;
  run<J extends ExecJob>(jobs: readonly J[], hooks: ExecHooks<J>): Promise<QueueResult>;
}

/** argv that runs the `smol` CLI of this installation (the same node, the same entry script). */
export function smolCommand(args: string[]): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1], ...args];
}
