// A small local job queue: runs up to `concurrency` jobs at once, in the given order of preference,
// starting a job once it is ready (a predicate the caller owns, e.g. "the parent's checkpoint at step
// N exists") and skipping jobs already done. How a job runs (a child process, a function) is the
// caller's `start`; the queue only orders, waits and records. A job whose dependencies have all
// settled while it is still not ready is blocked (e.g. its parent failed before the branch point).

export interface QueueJob {
  id: string;
  /** Jobs this one waits on: it is blocked when they have all settled and it is still not ready. */
  deps: readonly string[];
}

export type JobOutcome = "skipped" | "done" | "failed" | "blocked";

export interface QueueEvent<J extends QueueJob> {
  type: "skip" | "start" | "done" | "fail" | "blocked";
  job: J;
  error?: unknown;
  seconds?: number;
}

export interface QueueHooks<J extends QueueJob> {
  /** Finished before the queue ran (checked once, at the start). */
  isDone(job: J): boolean;
  /** May start now (called repeatedly while the job waits). */
  isReady(job: J): boolean;
  /** Run the job to completion; a rejection marks it failed. */
  start(job: J): Promise<void>;
  onEvent?(e: QueueEvent<J>): void;
  /** Called every poll while jobs run (e.g. to redraw a progress line). */
  onTick?(running: readonly J[]): void;
}

export interface QueueResult {
  outcomes: Record<string, JobOutcome>;
  errors: Record<string, unknown>;
}

/** Run the queue to the end; never rejects (failures are in the result). */
export async function runQueue<J extends QueueJob>(jobs: readonly J[], concurrency: number, hooks: QueueHooks<J>, pollMs = 250): Promise<QueueResult> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`runQueue: concurrency must be an integer >= 1, got ${concurrency}`);
  const outcomes: Record<string, JobOutcome> = {};
  const errors: Record<string, unknown> = {};
  const pending: J[] = [];
  for (const j of jobs) {
    if (hooks.isDone(j)) {
      outcomes[j.id] = "skipped";
      hooks.onEvent?.({ type: "skip", job: j });
    } else pending.push(j);
  }
  const running = new Map<string, { job: J; promise: Promise<string> }>();
  const settled = (id: string) => outcomes[id] !== undefined;
  const known = new Set(jobs.map((j) => j.id));
  for (;;) {
    // Start what is ready, in order of preference.
    for (let i = 0; i < pending.length && running.size < concurrency; ) {
      const j = pending[i];
      if (!hooks.isReady(j)) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      hooks.onEvent?.({ type: "start", job: j });
      const t0 = performance.now();
      const promise = hooks.start(j).then(
        () => {
          outcomes[j.id] = "done";
          hooks.onEvent?.({ type: "done", job: j, seconds: (performance.now() - t0) / 1000 });
          return j.id;
        },
        (e: unknown) => {
          outcomes[j.id] = "failed";
          errors[j.id] = e;
          hooks.onEvent?.({ type: "fail", job: j, error: e, seconds: (performance.now() - t0) / 1000 });
          return j.id;
        },
      );
      running.set(j.id, { job: j, promise });
    }
    // Jobs that can never become ready.
    for (let i = 0; i < pending.length; ) {
      const j = pending[i];
      const depsSettled = j.deps.every((d) => !known.has(d) || settled(d));
      if (depsSettled && j.deps.length > 0 && !hooks.isReady(j)) {
        pending.splice(i, 1);
        outcomes[j.id] = "blocked";
        hooks.onEvent?.({ type: "blocked", job: j });
      } else i++;
    }
    if (running.size === 0 && pending.length === 0) break;
    if (running.size === 0) {
      // Nothing runs and nothing could start: only running jobs change readiness, so these wait forever.
      for (const j of pending.splice(0)) {
        outcomes[j.id] = "blocked";
        hooks.onEvent?.({ type: "blocked", job: j });
      }
      break;
    }
    const tick = sleep(pollMs).then(() => "");
    const id = await Promise.race([...[...running.values()].map((r) => r.promise), tick]);
    if (id) running.delete(id);
    hooks.onTick?.([...running.values()].map((r) => r.job));
  }
  return { outcomes, errors };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
