// The training loop shared by pretraining, cooldown branches, sweeps (and, through its two seams,
// post-training): gradient accumulation over micro-batches from a BatchSource, a loss from an
// Objective, clipping, AdamW at the scheduled LR, metrics, validation per source, weight averaging
// and checkpoints with exact resume. One clock — the optimizer step — decides the stage. Library
// code: it reports through hooks, stops cleanly on an AbortSignal, and never touches the terminal.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { SingleProcess, type Collective } from "../backend/collective.js";
import { CheckpointError, SmolError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { runEvalTasks } from "../eval/run.js";
import { writeSafetensors } from "../io/safetensors.js";
import { parameterCount, type LlamaConfig } from "../models/config.js";
import { readWeightsInto } from "../models/hf.js";
import { LlamaModel } from "../models/llama.js";
import { AdamW } from "../optim/adamw.js";
import { makeSchedule } from "../optim/schedule.js";
import { flopsPerToken } from "../scaling/flops.js";
import { Engine } from "../tensor/engine.js";
import type { Tensor } from "../tensor/tensor.js";
import { Rng } from "../util/rng.js";
import { WeightAverager } from "./averaging.js";
import { applyRetention, loadBuffers, readTrainerState, saveCheckpoint, type TrainerState } from "./checkpoint.js";
import { AVERAGES_FILE, OPTIMIZER_FILE } from "../io/run-layout.js";
import { stageBatch, stageContext, type TrainConfig } from "./config.js";
import { MetricsLog, type MetricRecord } from "./metrics.js";
import { openRunLog } from "../io/run-log.js";
import type { PreparedRun } from "./preflight.js";
import { configHash } from "./rundir.js";
import { agreeOnStep, checkWeightsAgree, ownsMicroBatch } from "./parallel.js";
import { openTrainingStream, type TokenBatch } from "./stream.js";
import { loadValSets, validationLoss, type ValSet } from "./validation.js";

export class TrainingError extends SmolError {}

export interface ProgressInfo {
  step: number;
  steps: number;
  stage: string;
  loss: number;
  lr: number;
  tokensPerS: number;
  etaS: number;
}

export interface TrainHooks {
  onProgress?(p: ProgressInfo): void;
  onLog?(line: string): void;
  /** At each evaluation point: extra metrics for the eval record (e.g. SFT reward accuracy). */
  onEvaluate?(ctx: { step: number; model: LlamaModel<FloatBuf> }): Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** Where micro-batches come from; its cursor is part of every checkpoint. */
export interface BatchSource<Bt> {
  /** The next micro-batch of the given stage (the trainer's clock decides the stage). */
  next(stage: number): Bt;
  cursor(): unknown;
  restore(cursor: unknown): void;
  /** Epochs consumed per source (for the metrics). */
  epochs(): Record<string, number>;
  close(): void;
}

/** What is minimised: a scalar loss tensor for one micro-batch, and the tokens it covers per source. */
export interface Objective<Bt> {
  loss(model: LlamaModel<FloatBuf>, e: Engine<FloatBuf>, batch: Bt): { loss: Tensor<FloatBuf>; tokensBySource: Record<string, number>; metrics?: Record<string, number> };
}

/** Next-token cross-entropy on a token stream: pretraining's objective. */
export const nextTokenObjective: Objective<TokenBatch> = {
  loss(model, e, b) {
    const tokensBySource: Record<string, number> = {};
    for (const s of b.sources) tokensBySource[s] = (tokensBySource[s] ?? 0) + b.T;
    return { loss: model.loss(e, b.inputs, b.targets, b.B, b.T).loss, tokensBySource };
  },
};

export interface TrainSummary {
  runDir: string;
  steps: number;
  tokens: number;
  finalLoss: number;
  resumedFrom?: number;
  /** Validation loss per source after each stage, by stage name. */
  stageEval: Record<string, Record<string, number>>;
  lastCheckpoint: string;
  /** Steps whose update was skipped for a non-finite loss. */
  skippedSteps: number;
  /** Set when an AbortSignal stopped the run early (after writing a checkpoint). */
  interrupted?: boolean;
}

export class Trainer<Bt = TokenBatch> {
  readonly model: LlamaModel<FloatBuf>;
  readonly opt: AdamW<FloatBuf>;
  readonly averager: WeightAverager<FloatBuf>;
  readonly cfg: TrainConfig;
  readonly runDir: string;
  readonly modelConfig: LlamaConfig;
  private readonly schedule: (step: number) => number;
  private readonly source: BatchSource<Bt>;
  private readonly objective: Objective<Bt>;
  /** Validation windows by sequence length (long-context stages validate on their own length). */
  private valSets = new Map<number, ValSet[]>();
  private metrics: MetricsLog;
  private step = 0;
  private tokens = 0;
  private elapsed = 0;
  private skipped = 0;
  private rng: Rng;
  private tokensBySource: Record<string, number> = {};
  private tokensByStage: Record<string, number> = {};
  private resumedFrom: number | undefined;
  private tokenizer: Tokenizer | undefined;
  private readonly loadStart: ((model: LlamaModel<FloatBuf>) => void) | undefined;
  /** Data-parallel peers (a single process by default); rank 0 alone writes to the run directory. */
  readonly comm: Collective;
  private readonly writer: boolean;

  constructor(
    readonly be: Backend<FloatBuf>,
    private readonly run_: PreparedRun,
    private readonly hooks: TrainHooks = {},
    opts: { schedule?: (step: number) => number; source?: BatchSource<Bt>; objective?: Objective<Bt>; loadStart?: (model: LlamaModel<FloatBuf>) => void; collective?: Collective } = {},
  ) {
    this.loadStart = opts.loadStart;
    this.comm = opts.collective ?? new SingleProcess();
    this.writer = this.comm.rank === 0;
    const cfg = (this.cfg = run_.cfg);
    this.runDir = run_.runDir.dir;
    this.modelConfig = run_.modelConfig;
    this.model = new LlamaModel(be, run_.modelConfig);
    this.opt = new AdamW(be, this.model.params, {
      beta1: cfg.optimizer.beta1, beta2: cfg.optimizer.beta2, eps: cfg.optimizer.eps, weightDecay: cfg.optimizer.weight_decay,
      decayNorms: cfg.optimizer.decay_norms, decayEmbeddings: cfg.optimizer.decay_embeddings, gradClip: cfg.optimizer.grad_clip,
      moments: cfg.optimizer.moments,
    });
    this.averager = new WeightAverager(this.model.params, cfg.averaging);
    this.schedule = opts.schedule ?? makeSchedule(cfg.schedule);
    this.rng = new Rng(cfg.seed);
    this.source = opts.source ?? (openTrainingStream(cfg) as unknown as BatchSource<Bt>);
    this.objective = opts.objective ?? (nextTokenObjective as unknown as Objective<Bt>);
    this.metrics = new MetricsLog(run_.runDir.metricsFile);
  }

  /**
   * Load the starting weights and state: the newest good checkpoint of the run directory (a damaged
   * one falls back to the previous, with a warning), else a branch's checkpoint, else model.from's
   * weights or a fresh initialisation. Writes nothing but the metrics cut back to that step.
   */
  open(): void {
    const rd = this.run_.runDir;
    if (this.run_.index) this.valSets.set(this.cfg.batch.seq_len, loadValSets(this.cfg.data.dir, this.cfg.batch.seq_len, this.cfg.eval.tokens));
    const had = rd.checkpoints();
    const good = rd.latestGoodCheckpoint((m) => this.hooks.onLog?.(m), (dir) => this.restore(dir, true));
    if (had.length && !good) {
      throw new CheckpointError(`${rd.dir}: every checkpoint is damaged (${had.map((s) => `step-${s}`).join(", ")})`, "move them away to start the run over, or restore them from a backup");
    }
    if (good) return;
    if (this.run_.from) this.restore(this.run_.from.checkpoint, false);
    else {
      if (this.loadStart) this.loadStart(this.model);
      else if (this.cfg.model.from) readWeightsInto(this.cfg.model.from, this.model);
      else this.model.initialize(this.cfg.seed);
      if (this.writer) this.metrics.truncateAfter(0);
    }
  }

  private restore(dir: string, sameRun: boolean): void {
    const st: TrainerState = readTrainerState(dir);
    if (sameRun && st.config_hash !== configHash(this.cfg)) throw new CheckpointError(`${dir}: written by a different configuration`);
    readWeightsInto(dir, this.model);
    loadBuffers(path.join(dir, OPTIMIZER_FILE), this.opt.buffers());
    this.opt.step = st.optimizer_step;
    const avg = this.averager.buffers();
    if (Object.keys(avg).length) {
      const file = path.join(dir, AVERAGES_FILE);
      if (fs.existsSync(file)) {
        loadBuffers(file, avg);
        this.averager.state = st.averaging as WeightAverager<FloatBuf>["state"];
      }
    }
    this.source.restore(st.data_cursor);
    this.step = st.step;
    this.tokens = st.tokens;
    this.elapsed = sameRun ? st.elapsed_s : 0;
    this.skipped = sameRun ? (st.skipped_steps ?? 0) : 0;
    this.tokensBySource = { ...st.tokens_by_source };
    this.tokensByStage = { ...(st.tokens_by_stage ?? {}) };
    this.rng = Rng.fromState(st.rng as Parameters<typeof Rng.fromState>[0]);
    this.resumedFrom = st.step;
    if (this.writer) this.metrics.truncateAfter(st.step);
  }

  /** The stage of the optimizer step about to run (0-based step): the run's one clock. */
  stageIndex(step: number): number {
    const s = this.cfg.data.stages.findIndex((x) => step >= x.startStep && step < x.endStep);
    return s < 0 ? this.cfg.data.stages.length - 1 : s;
  }

  private checkpoint(): string {
    const st: TrainerState = {
      format: "smollab-trainer-state", version: 1, step: this.step, tokens: this.tokens, config_hash: configHash(this.cfg),
      optimizer_step: this.opt.step, data_cursor: this.source.cursor(), rng: this.rng.getState(), averaging: this.averager.state,
      stage: this.stageIndex(Math.max(0, this.step - 1)), elapsed_s: this.elapsed, tokens_by_source: this.tokensBySource,
      tokens_by_stage: this.tokensByStage, skipped_steps: this.skipped, ranks: this.comm.size,
    };
    const dir = saveCheckpoint(this.runDir, this.model, st, this.opt.buffers(), this.averager.buffers(), { tokenizerDir: this.run_.tokenizerDir });
    const protect = [...(this.cfg.checkpoint.at_steps ?? []), ...this.cfg.data.stages.map((s) => s.endStep)];
    applyRetention(this.runDir, this.cfg.checkpoint.keep_last, this.cfg.checkpoint.keep_every, protect);
    return dir;
  }

  /** Benchmark tasks (eval.tasks) on the current weights; results also go to RUN/eval/step-<n>.json. */
  private async evaluateTasks(): Promise<Record<string, number>> {
    this.tokenizer ??= await loadTokenizer(this.run_.tokenizerDir!);
    const res = await runEvalTasks(this.model, this.tokenizer, this.cfg.eval.tasks, { limit: this.cfg.eval.task_limit, seed: this.cfg.seed });
    const dir = this.run_.runDir.evalDir;
    fs.mkdirSync(dir, { recursive: true });
    writeJsonAtomic(path.join(dir, `step-${this.step}.json`), { step: this.step, tokens: this.tokens, results: res.results });
    this.hooks.onLog?.(`step ${this.step} tasks: ${Object.entries(res.flat).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}`);
    return res.flat;
  }

  /** Give the model the context (RoPE base, length) of stage `si`; a no-op when it has it. */
  private enterContext(si: number): void {
    const ctx = stageContext(this.cfg, si, this.modelConfig);
    this.model.setContext(ctx.ropeTheta, ctx.maxSeq);
  }

  private valSetsFor(seqLen: number): ValSet[] {
    let sets = this.valSets.get(seqLen);
    if (!sets && !this.run_.index) return []; // post-training runs without a shard directory
    if (!sets) this.valSets.set(seqLen, (sets = loadValSets(this.cfg.data.dir, seqLen, this.cfg.eval.tokens)));
    return sets;
  }

  private evaluate(si: number): Record<string, unknown> {
    const rec: Record<string, unknown> = {};
    const { seqLen: seq_len, microBatch: micro_batch } = stageBatch(this.cfg, this.cfg.data.stages[si]);
    const valSets = this.valSetsFor(seq_len);
    if (!valSets.length) return rec;
    const raw = validationLoss(this.model, valSets, seq_len, micro_batch);
    rec.val_loss = raw;
    rec.val_loss_mean = mean(Object.values(raw));
    if (this.averager.enabled) {
      const tmp = new LlamaModel(this.be, this.model.config, { withGrad: false });
      try {
        if (this.averager.swaWeights(tmp.params.data)) {
          const swa = validationLoss(tmp, valSets, seq_len, micro_batch);
          rec.val_loss_swa = swa;
          rec.val_loss_swa_mean = mean(Object.values(swa));
        }
        if (this.averager.ema && this.averager.state.ema_initialized) {
          tmp.params.copyFrom(this.averager.ema);
          const ema = validationLoss(tmp, valSets, seq_len, micro_batch);
          rec.val_loss_ema = ema;
          rec.val_loss_ema_mean = mean(Object.values(ema));
        }
      } finally {
        tmp.dispose();
      }
    }
    return rec;
  }

  /** Train to the end of the schedule, or until `signal` aborts (then a checkpoint is written first). */
  async run(signal?: AbortSignal): Promise<TrainSummary> {
    const cfg = this.cfg;
    const { tokens_per_step, seq_len } = cfg.batch;
    const e = new Engine(this.be, undefined, { precision: cfg.precision ?? "fp32", checkpointing: cfg.activation_checkpointing ?? false });
    const flops = flopsPerToken(this.modelConfig, seq_len);
    const stageEval: TrainSummary["stageEval"] = {};
    let lastCkpt = this.resumedFrom !== undefined && this.run_.runDir.checkpoints().includes(this.step) ? this.run_.runDir.checkpointDir(this.step) : "";
    let windowStart = performance.now();
    let windowTokens = 0;
    let finalLoss = NaN;
    let interrupted = false;
    const startStep = this.step;
    const comm = this.comm;
    const multi = comm.size > 1;
    const checkEvery = cfg.parallel?.check_every ?? 50;
    // Every rank must start from the same weights at the same step (same checkpoint, same build).
    if (multi) checkWeightsAgree(comm, this.model.params.data, this.step);
    if (this.resumedFrom !== undefined) this.hooks.onLog?.(`resuming from step ${this.resumedFrom} (${this.runDir})`);
    else this.hooks.onLog?.(`training ${parameterCount(this.modelConfig).toLocaleString("en-US")} parameters for ${cfg.steps} steps (${(cfg.steps * tokens_per_step).toLocaleString("en-US")} tokens) → ${this.runDir}`);
    // Rank 0's run log: RUN/status.json (running → finished/failed) and, with log.tensorboard, event files.
    const runLog = this.writer ? openRunLog(this.runDir, { tensorboard: cfg.log.tensorboard, step: this.step }) : undefined;
    const logRecord = (rec: MetricRecord) => {
      this.metrics.append(rec);
      runLog?.record(rec);
    };
    try {
      while (this.step < cfg.steps) {
        const t0 = performance.now();
        const si = this.stageIndex(this.step);
        const stage = cfg.data.stages[si];
        const { accumulation } = stageBatch(cfg, stage);
        this.enterContext(si);
        const lr = this.schedule(this.step);
        this.model.params.zeroGrad();
        let lossSum = 0;
        let bySource: Record<string, number> = {};
        const objMetrics: Record<string, number> = {};
        const microLosses: number[] = [];
        for (let a = 0; a < accumulation; a++) {
          // Every rank draws every micro-batch of the global batch (the data cursor stays global)
          // and computes its share; gradients are summed across ranks below.
          const batch = this.source.next(si);
          if (!ownsMicroBatch(a, comm)) continue;
          const out = this.objective.loss(this.model, e, batch);
          for (const [s, n] of Object.entries(out.tokensBySource)) bySource[s] = (bySource[s] ?? 0) + n;
          // Objective metrics (e.g. DPO rewards): the mean over the step's micro-batches, before the update.
          for (const [k, v] of Object.entries(out.metrics ?? {})) objMetrics[k] = (objMetrics[k] ?? 0) + v / accumulation;
          microLosses.push(out.loss.data[0]);
          lossSum += out.loss.data[0];
          e.backward(out.loss, 1 / accumulation);
          e.reset();
        }
        let stopAgreed = false;
        if (multi) {
          comm.barrier(); // the wait for the slowest rank, timed apart from the reduction itself
          for (const g of this.model.params.grad) comm.allreduceSum(g);
          if (signal) await new Promise<void>((r) => setImmediate(r));
          const agreed = agreeOnStep(comm, { losses: microLosses, bySource, stop: signal?.aborted === true }, accumulation);
          lossSum = agreed.lossSum;
          bySource = agreed.bySource;
          stopAgreed = agreed.stop;
        }
        const loss = lossSum / accumulation;
        const finite = Number.isFinite(loss);
        let gradNorm: number | null = null;
        if (finite) {
          gradNorm = this.opt.clip();
          this.opt.update(lr);
          finalLoss = loss;
        } else if (cfg.on_nonfinite === "stop") {
          throw new TrainingError(`non-finite loss (${loss}) at step ${this.step + 1}; stopped. The last good checkpoint is ${lastCkpt || "(none yet)"}`, "lower optimizer.lr, raise schedule.warmup, or set on_nonfinite: skip");
        } else {
          // The update is skipped; the step still counts, and logging, evaluation and checkpoints go on.
          this.skipped++;
          this.hooks.onLog?.(`step ${this.step + 1}: non-finite loss, update skipped (${this.skipped} so far)`);
        }
        this.step++;
        this.tokens += tokens_per_step;
        for (const [s, n] of Object.entries(bySource)) this.tokensBySource[s] = (this.tokensBySource[s] ?? 0) + n;
        this.tokensByStage[stage.name] = (this.tokensByStage[stage.name] ?? 0) + tokens_per_step;
        if (finite) {
          const closed = this.averager.observe(this.step, this.model.params.data);
          if (closed !== undefined && this.writer) this.saveSwaWindow(closed);
        }
        if (multi && checkEvery > 0 && this.step % checkEvery === 0) checkWeightsAgree(comm, this.model.params.data, this.step);
        const dt = (performance.now() - t0) / 1000;
        this.elapsed += dt;
        windowTokens += tokens_per_step;
        const stageEnd = this.step === stage.endStep;
        const tokPerS = windowTokens / ((performance.now() - windowStart) / 1000);
        this.hooks.onProgress?.({ step: this.step, steps: cfg.steps, stage: stage.name, loss, lr, tokensPerS: tokPerS, etaS: (cfg.steps - this.step) * (this.elapsed / Math.max(1, this.step - (this.resumedFrom ?? 0))) });
        // Give signal handlers a turn between steps (a step is one long synchronous stretch).
        if (signal && !multi) await new Promise<void>((r) => setImmediate(r));
        interrupted = (multi ? stopAgreed : signal?.aborted === true) && this.step < cfg.steps;
        if (this.writer && (this.step % cfg.log.every === 0 || stageEnd || this.step === cfg.steps || interrupted)) {
          logRecord({
            type: "train", step: this.step, tokens: this.tokens, stage: stage.name, lr, loss: finite ? loss : null, grad_norm: gradNorm,
            tokens_per_s: tokPerS, elapsed_s: this.elapsed, flops: this.tokens * flops.train,
            tokens_by_source: { ...this.tokensBySource }, tokens_by_stage: { ...this.tokensByStage }, epochs: this.source.epochs(),
            ...(this.skipped ? { skipped_steps: this.skipped } : {}),
            ...objMetrics,
            ...(multi ? { ranks: comm.size, allreduce_s: comm.stats.seconds, allreduce_wait_s: comm.stats.waitSeconds, allreduce_bytes: comm.stats.bytes, allreduce_calls: comm.stats.calls } : {}),
          });
          windowStart = performance.now();
          windowTokens = 0;
        }
        const evalNow = this.writer && !interrupted && ((cfg.eval.every > 0 && this.step % cfg.eval.every === 0) || stageEnd);
        if (evalNow) {
          const rec = this.evaluate(si);
          if (cfg.eval.tasks.length) rec.tasks = await this.evaluateTasks();
          if (this.hooks.onEvaluate) Object.assign(rec, await this.hooks.onEvaluate({ step: this.step, model: this.model }));
          if (Object.keys(rec).length) {
            logRecord({ type: "eval", step: this.step, tokens: this.tokens, stage: stage.name, ...rec });
            if (stageEnd && rec.val_loss) stageEval[stage.name] = rec.val_loss as Record<string, number>;
            if (rec.val_loss) this.hooks.onLog?.(`step ${this.step} [${stage.name}] val loss ${fmtLosses(rec.val_loss as Record<string, number>)}${rec.val_loss_swa_mean !== undefined ? `; SWA ${(rec.val_loss_swa_mean as number).toFixed(4)}` : ""}${rec.val_loss_ema_mean !== undefined ? `; EMA ${(rec.val_loss_ema_mean as number).toFixed(4)}` : ""}`);
          }
        }
        const ckNow = interrupted || (cfg.checkpoint.every > 0 && this.step % cfg.checkpoint.every === 0) || stageEnd || this.step === cfg.steps || (cfg.checkpoint.at_steps ?? []).includes(this.step);
        if (ckNow) lastCkpt = this.writer ? this.checkpoint() : this.run_.runDir.checkpointDir(this.step);
        if (interrupted) break;
      }
    } catch (err) {
      runLog?.fail(this.step, err);
      throw err;
    } finally {
      e.arena.dispose();
      this.metrics.close();
    }
    const ran = this.step - startStep;
    if (!interrupted && ran > 0 && this.skipped >= this.step) {
      runLog?.fail(this.step, "every step had a non-finite loss");
      throw new TrainingError(`every step of the run had a non-finite loss (${this.skipped} of ${this.step} updates skipped): the model was never updated. The checkpoint ${lastCkpt} holds the starting weights`, "lower optimizer.lr, check the data and the starting model, or use on_nonfinite: stop to see the first bad step");
    }
    if (!interrupted) runLog?.finish(this.step);
    return { runDir: this.runDir, steps: this.step, tokens: this.tokens, finalLoss, resumedFrom: this.resumedFrom, stageEval, lastCheckpoint: lastCkpt, skippedSteps: this.skipped, interrupted: interrupted || undefined };
  }

  private saveSwaWindow(step: number): void {
    const dir = this.run_.runDir.swaDir;
    fs.mkdirSync(dir, { recursive: true });
    const p = this.model.params;
    const tensors = p.specs.map((s, i) => ({ name: s.name, dtype: "F32" as const, shape: s.shape, data: p.view(this.averager.swaLast!, i) as Float32Array | Float64Array }));
    writeSafetensors(path.join(dir, `window-${step}.safetensors`), tensors, { window_end: String(step), window: String(this.cfg.averaging.swa_window), interval: String(this.cfg.averaging.swa_interval) });
  }

  dispose(): void {
    this.source.close();
    this.averager.dispose();
    this.opt.dispose();
    this.model.dispose();
  }
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function fmtLosses(l: Record<string, number>): string {
  return Object.entries(l).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ");
}
