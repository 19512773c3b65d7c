// Training as one library call: `train({ config, runDir })` runs a job — fresh, resumed, branched
// from a checkpoint (`from`), or continued from an HF model (`model.from`) — on the shared loop.
// Order of business: every check (preflight, reading only), then the run directory's lock, temp
// cleanup and the first write; a failed start leaves the directory as it was.
import * as fs from "node:fs";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { SingleProcess, type Collective } from "../backend/collective.js";
import { defaultBackend } from "../backend/index.js";
import type { TrainConfig } from "./config.js";
import type { LlamaModel } from "../models/llama.js";
import { prepareRun, type ExternalData } from "./preflight.js";
import { Trainer, type BatchSource, type Objective, type TrainHooks, type TrainSummary } from "./trainer.js";

export interface TrainJob<Bt = unknown> {
  config: TrainConfig;
  runDir: string;
  /** Start from this checkpoint of another run (a branch) when the run directory has none. */
  from?: { checkpoint: string };
  /** Compute backend (default: the native addon, else the reference backend). */
  backend?: Backend<FloatBuf>;
  hooks?: TrainHooks;
  /** Abort to stop after the current step; a checkpoint is written first. */
  signal?: AbortSignal;
  /** Post-training seams: where batches come from and what is minimised (default: pretraining). */
  source?: BatchSource<Bt>;
  objective?: Objective<Bt>;
  schedule?: (step: number) => number;
  /** Data that is not a shard directory (post-training), checked by its owner: see prepareRun. */
  external?: ExternalData;
  /** Called under the lock before the trainer opens: write files the run needs (e.g. a reference cache). */
  prepareDir?: (runDir: string) => void | Promise<void>;
  /** Load the starting weights of a fresh run (instead of model.from / initialisation). */
  loadStart?: (model: LlamaModel<FloatBuf>) => void;
  /** Data-parallel peers (default: a single process). Rank 0 alone locks and writes the run directory. */
  collective?: Collective;
}

export async function train<Bt>(job: TrainJob<Bt>): Promise<TrainSummary> {
  const comm = job.collective ?? new SingleProcess();
  const prepared = prepareRun(job.config, job.runDir, { from: job.from, external: job.external, ranks: comm.size });
  const be = job.backend ?? defaultBackend().backend;
  if (job.config.threads) be.setThreads(job.config.threads);
  const rd = prepared.runDir;
  if (comm.rank !== 0) return followerRun(job, prepared, be, comm);
  const created = !fs.existsSync(rd.dir);
  rd.lock();
  let trainer: Trainer<Bt> | undefined;
  try {
    // Under the lock: another process may have started this run since the preflight read it.
    const now = rd.readResolved();
    if (now) rd.checkIdentity(now, prepared.identity);
    const removed = rd.cleanTemps();
    if (removed.length) job.hooks?.onLog?.(`removed ${removed.length} temporary file(s) left by an interrupted write: ${removed.join(", ")}`);
    await job.prepareDir?.(rd.dir);
    trainer = new Trainer<Bt>(be, prepared, job.hooks, { source: job.source, objective: job.objective, schedule: job.schedule, loadStart: job.loadStart, collective: comm });
    trainer.open();
    if (!now) rd.writeResolved({ format: "smollab-run", version: 2, config_hash: prepared.identity.config_hash, identity: prepared.identity, config: job.config, model: prepared.modelConfig });
    return await trainer.run(job.signal);
  } catch (e) {
    if (created && !rd.readResolved()) {
      trainer?.dispose();
      trainer = undefined;
      rd.unlock();
      fs.rmSync(rd.dir, { recursive: true, force: true });
    }
    throw e;
  } finally {
    trainer?.dispose();
    rd.unlock();
  }
}

/**
 * Ranks other than 0 of a data-parallel run: the same start and loop, but no lock, no temp
 * cleanup and no writes (rank 0 owns the run directory). Rank 0 cannot finish a step before every
 * rank has loaded its start, so no checkpoint appears while a follower is choosing its own.
 */
async function followerRun<Bt>(job: TrainJob<Bt>, prepared: ReturnType<typeof prepareRun>, be: Backend<FloatBuf>, comm: Collective): Promise<TrainSummary> {
  const trainer = new Trainer<Bt>(be, prepared, job.hooks, { source: job.source, objective: job.objective, schedule: job.schedule, loadStart: job.loadStart, collective: comm });
  try {
    trainer.open();
    return await trainer.run(job.signal);
  } finally {
    trainer.dispose();
  }
}
