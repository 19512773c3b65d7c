// Data parallelism over a Collective (backend/collective.ts): which micro-batches of the global
// batch a rank computes (round-robin, so every rank draws the same global stream and the data
// cursor stays global), the per-step agreement on scalars (micro-batch losses summed in global
// order, tokens per source, a stop request on any rank), the weight checksum that every rank must
// share, and the preflight rules (accumulation divisible by the ranks; resume with the rank count
// that wrote the checkpoint).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Collective } from "../backend/collective.js";
import { SmolError } from "../errors.js";
import { STATE_FILE } from "../io/run-layout.js";

/** Weights differ between ranks, or ranks disagree on the step. */
export class ParallelError extends SmolError {}

/** Micro-batch `a` of a step belongs to rank a mod size. */
export function ownsMicroBatch(a: number, comm: Pick<Collective, "rank" | "size">): boolean {
  return a % comm.size === comm.rank;
}

export interface StepShare {
  /** This rank's micro-batch losses, in the order computed. */
  losses: number[];
  bySource: Record<string, number>;
  stop: boolean;
}

/**
 * Gather every rank's share of a step. The loss sum is taken over micro-batches in global order
 * (micro-batch a came from rank a mod size), so it is the same double on every rank.
 */
export function agreeOnStep(comm: Collective, mine: StepShare, accumulation: number): { lossSum: number; bySource: Record<string, number>; stop: boolean } {
  const enc = JSON.stringify({ l: mine.losses.map(String), s: mine.bySource, a: mine.stop });
  const all = comm.allgather(enc).map((x) => JSON.parse(x) as { l: string[]; s: Record<string, number>; a: boolean });
  let lossSum = 0;
  for (let a = 0; a < accumulation; a++) lossSum += Number(all[a % comm.size].l[Math.floor(a / comm.size)]);
  const bySource: Record<string, number> = {};
  for (const r of all) for (const [k, n] of Object.entries(r.s)) bySource[k] = (bySource[k] ?? 0) + n;
  return { lossSum, bySource, stop: all.some((r) => r.a) };
}

/** SHA-256 of the weight buffers' bytes. */
export function weightChecksum(bufs: ArrayLike<number>[]): string {
  const h = createHash("sha256");
  for (const b of bufs as (Float32Array | Float64Array)[]) h.update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  return h.digest("hex");
}

/** Every rank holds the same weights at the same step, or a ParallelError names the ranks that differ. */
export function checkWeightsAgree(comm: Collective, bufs: ArrayLike<number>[], step: number): void {
  const mine = `${step}:${weightChecksum(bufs)}`;
  const all = comm.allgather(mine);
  const bad = all.map((s, r) => [r, s] as const).filter(([, s]) => s !== all[0]);
  if (!bad.length) return;
  const show = (s: string) => s.replace(/^(\d+):(.{12}).*/, "step $1, weights $2…");
  throw new ParallelError(
    `the ranks disagree after step ${step}: rank 0 has ${show(all[0])}, ${bad.map(([r, s]) => `rank ${r} has ${show(s)}`).join(", ")}`,
    "every rank must run the same smollab build with the same threads and SMOL_ISA; restart the job to resume from the last checkpoint",
  );
}

/** Preflight problems of a data-parallel start (none for a single process). */
export function parallelProblems(accumulation: number, ranks: number): string[] {
  if (ranks <= 1 || accumulation % ranks === 0) return [];
  return [`batch.tokens_per_step: ${accumulation} micro-batches per step cannot be split evenly over ${ranks} ranks; make accumulation (tokens_per_step / (micro_batch × seq_len)) a multiple of ${ranks}`];
}

/**
 * The rank count that wrote a run's newest checkpoint (1 when it does not say), or undefined when
 * there is none; checked before any write so that a resume with another count is refused.
 */
export function checkpointRanks(checkpointDir: string): number | undefined {
  try {
    const st = JSON.parse(fs.readFileSync(path.join(checkpointDir, STATE_FILE), "utf8")) as { ranks?: number };
    return typeof st.ranks === "number" ? st.ranks : 1;
  } catch {
    return undefined; // damaged: the trainer's fallback reports it
  }
}
