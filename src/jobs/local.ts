// The local executor: today's behaviour of `smol sweep` — up to N jobs at once as child processes
// of this one (`node smol …`), each with SMOL_THREADS threads, output appended to its log file, a
// job started once it is ready (sweep/queue.ts orders, waits and records).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultThreadCount } from "../backend/threads.js";
import { SmolError } from "../errors.js";
import { runQueue } from "../sweep/queue.js";
import { smolCommand, type ExecHooks, type ExecJob, type Executor, type QueueResult } from "./executor.js";

/**
 * Kernel threads a queue splits between its jobs — the same rule as the default backend's pool:
 * SMOL_THREADS, else OMP_NUM_THREADS (its first level), else the CPUs this process may use.
 */
export function totalThreads(): number {
  for (const v of [process.env.SMOL_THREADS, process.env.OMP_NUM_THREADS?.split(",")[0]]) {
    const n = Number(v);
    if (v !== undefined && v.trim() !== "" && Number.isInteger(n) && n > 0) return n;
  }
  return defaultThreadCount();
}

export interface LocalOptions {
  /** Jobs at once. */
  concurrency: number;
  /** Kernel threads per job (SMOL_THREADS of each child). */
  threads: number;
  /** Extra environment for every child (e.g. SMOL_BACKEND). */
  env?: Record<string, string>;
  pollMs?: number;
}

/** The last error line of a job's log (for the one-line failure report). */
export function lastError(logFile: string): string {
  try {
    const lines = fs.readFileSync(logFile, "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
    return lines.find((l) => l.startsWith("smol: error:") || l.startsWith("smol: internal error:"))?.replace(/^smol: /, "") ?? lines[lines.length - 1] ?? "no output";
  } catch {
    return "no output";
  }
}

export class LocalExecutor implements Executor {
  readonly name = "local" as const;
  constructor(private readonly opts: LocalOptions) {}

  describe(jobs: number): string {
    return `running ${jobs} jobs, ${this.opts.concurrency} at a time with ${this.opts.threads} thread(s) each`;
  }

  run<J extends ExecJob>(jobs: readonly J[], hooks: ExecHooks<J>): Promise<QueueResult> {
    const { threads } = this.opts;
    return runQueue(jobs, this.opts.concurrency, {
      isDone: (j) => hooks.isDone(j),
      isReady: (j) => hooks.isReady(j),
      onEvent: (e) => hooks.onEvent?.(e),
      onTick: (r) => hooks.onTick?.(r),
      start: (j) => new Promise<void>((resolve, reject) => {
        let args: string[];
        try {
          args = j.args("local");
        } catch (e) {
          reject(e);
          return;
        }
        fs.mkdirSync(path.dirname(j.logFile), { recursive: true });
        const fd = fs.openSync(j.logFile, "a");
        fs.writeSync(fd, `\n=== ${new Date().toISOString()} smol ${args.join(" ")} (SMOL_THREADS=${threads})\n`);
        const [cmd, ...rest] = smolCommand(args);
        const child = spawn(cmd, rest, { env: { ...process.env, SMOL_THREADS: String(threads), ...this.opts.env }, stdio: ["ignore", fd, fd] });
        child.on("error", (e) => {
          fs.closeSync(fd);
          reject(e);
        });
        child.on("close", (code, signal) => {
          fs.closeSync(fd);
          if (code === 0) resolve();
          else reject(new SmolError(`${signal ? `killed by ${signal}` : `exit code ${code}`}: ${lastError(j.logFile)} (log: ${j.logFile})`));
        });
      }),
    }, this.opts.pollMs);
  }
}
