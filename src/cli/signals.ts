// Clean stops for long CLI jobs (train, cooldown, sweep jobs, sft, dpo): the first SIGINT/SIGTERM
// aborts the job's AbortSignal (the trainer finishes its step and writes a checkpoint); the
// handlers are then removed, so a second signal ends the process at once.
import type { Progress } from "./output.js";

export async function withCleanStops<T>(progress: Progress, run: (signal: AbortSignal) => Promise<T>, opts: { quiet?: boolean } = {}): Promise<{ result: T; caught?: NodeJS.Signals; exitCode: number }> {
  const ac = new AbortController();
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    caught = sig;
    ac.abort();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (!opts.quiet) progress.log(`${sig}: finishing the current step and writing a checkpoint (send it again to stop at once)`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await run(ac.signal);
    return { result, caught, exitCode: caught === undefined ? 0 : caught === "SIGTERM" ? 143 : 130 };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
