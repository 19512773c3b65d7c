// The training loop of `smol train` and `smol cooldown`: gradient accumulation, clipping, AdamW
// at the scheduled LR, metrics, validation per source, weight averaging and checkpoints, with
// exact resume from the latest complete checkpoint. Library code: it reports through hooks and
// never touches the terminal.
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { CheckpointError, ConfigError, SmolError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { readHfConfig } from "../io/hf-config.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { runEvalTasks } from "../eval/run.js";
import { parseTaskList } from "../eval/tasks.js";
import { writeSafetensors } from "../io/safetensors.js";
import { parameterCount, type LlamaConfig } from "../models/config.js";
import { loadModel } from "../models/hf.js";
import { LlamaModel } from "../models/llama.js";
import { findPreset } from "../models/presets.js";
import { AdamW } from "../optim/adamw.js";
import { makeSchedule } from "../optim/schedule.js";
import { flopsPerToken } from "../scaling/flops.js";
import { Engine } from "../tensor/engine.js";
import { Rng } from "../util/rng.js";
import { WeightAverager } from "./averaging.js";
import {
  applyRetention, checkpointDir, listCheckpoints, loadBuffers, readTrainerState, saveCheckpoint,
  AVERAGES_FILE, OPTIMIZER_FILE, type TrainerState,
} from "./checkpoint.js";
import type { TrainConfig } from "./config.js";
import { MetricsLog } from "./metrics.js";
import { openTrainingStream, type TrainingStream } from "./stream.js";
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
}

export interface TrainSummary {
  runDir: string;
  steps: number;
  tokens: number;
  finalLoss: number;
  resumedFrom?: number;
  /** Validation loss per source after each stage, by stage name. */
  stageEval: Record<string, Record<string, number>>;
  lastCheckpoint: string;
}

export const RESOLVED_CONFIG = "config.resolved.json";

/** The numbers-relevant part of a config, hashed to detect a run directory from another config. */
export function configHash(cfg: TrainConfig): string {
  const { name: _n, eval: _e, checkpoint: _c, log: _l, threads: _t, precision, ...rest } = cfg;
  // fp32 (the default) leaves the hash as it was before the precision key existed.
  if (precision && precision !== "fp32") (rest as Record<string, unknown>).precision = precision;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 16);
}

/** The model architecture a config asks for (tokenizer vocab from the data index when unset). */
export function modelConfigFor(cfg: TrainConfig, dataVocab: number, dataEos: number): LlamaConfig {
  const m = cfg.model;
  let c: LlamaConfig;
  if (m.from) {
    return readHfConfig(m.from);
  } else if (m.preset) {
    c = findPreset(m.preset).config;
  } else {
    const d = m.d_model!, heads = m.heads!;
    c = { vocab: dataVocab, d, layers: m.layers!, heads, kvHeads: m.kv_heads!, headDim: d / heads, ffn: m.ffn!, ropeTheta: 10000, normEps: 1e-5, tied: true, maxSeq: 2048, initStd: 0.02 };
  }
  c.vocab = m.vocab ?? dataVocab;
  c.bosTokenId = dataEos;
  c.eosTokenId = dataEos;
  if (m.rope_theta !== undefined) c.ropeTheta = m.rope_theta;
  if (m.init_std !== undefined) c.initStd = m.init_std;
  if (m.tied !== undefined) c.tied = m.tied;
  if (m.max_seq !== undefined) c.maxSeq = m.max_seq;
  const problems: string[] = [];
  if (c.d % c.heads !== 0) problems.push(`model.heads: ${c.heads} does not divide d_model ${c.d}`);
  if (c.heads % c.kvHeads !== 0) problems.push(`model.kv_heads: ${c.kvHeads} does not divide heads ${c.heads}`);
  if ((c.d / c.heads) % 2 !== 0) problems.push(`model.heads: head size ${c.d / c.heads} must be even for RoPE`);
  if (cfg.batch.seq_len > c.maxSeq) problems.push(`batch.seq_len: ${cfg.batch.seq_len} exceeds the model's context ${c.maxSeq} (set model.max_seq)`);
  if (c.vocab < dataVocab) problems.push(`model.vocab: ${c.vocab} is smaller than the tokenizer's vocabulary ${dataVocab}`);
  if (problems.length) throw new ConfigError("invalid model for this run", problems);
  return c;
}


export class Trainer<F extends FloatBuf = FloatBuf> {
  readonly model: LlamaModel<F>;
  readonly opt: AdamW<F>;
  readonly averager: WeightAverager<F>;
  private readonly schedule: (step: number) => number;
  private stream!: TrainingStream;
  private valSets: ValSet[] = [];
  private metrics!: MetricsLog;
  private step = 0;
  private tokens = 0;
  private elapsed = 0;
  private rng: Rng;
  private tokensBySource: Record<string, number> = {};
  private tokensByStage: Record<string, number> = {};
  private resumedFrom: number | undefined;
  private readonly tokenizerDir: string | undefined;
  private tokenizer: Tokenizer | undefined;

  constructor(
    readonly be: Backend<F>,
    readonly cfg: TrainConfig,
    readonly runDir: string,
    readonly modelConfig: LlamaConfig,
    private readonly hooks: TrainHooks = {},
    opts: { tokenizerDir?: string; schedule?: (step: number) => number } = {},
  ) {
    this.model = new LlamaModel(be, modelConfig);
    this.opt = new AdamW(be, this.model.params, {
      beta1: cfg.optimizer.beta1, beta2: cfg.optimizer.beta2, eps: cfg.optimizer.eps, weightDecay: cfg.optimizer.weight_decay,
      decayNorms: cfg.optimizer.decay_norms, decayEmbeddings: cfg.optimizer.decay_embeddings, gradClip: cfg.optimizer.grad_clip,
    });
    this.averager = new WeightAverager(this.model.params, cfg.averaging);
    this.schedule = opts.schedule ?? makeSchedule(cfg.schedule);
    this.rng = new Rng(cfg.seed);
    this.tokenizerDir = opts.tokenizerDir ?? cfg.tokenizer;
  }

  /** Prepare a fresh run, or resume from the latest checkpoint of runDir (or of `from`). */
  open(from?: { checkpoint: string }): void {
    fs.mkdirSync(this.runDir, { recursive: true });
    const resolvedFile = path.join(this.runDir, RESOLVED_CONFIG);
    const hash = configHash(this.cfg);
    if (fs.existsSync(resolvedFile)) {
      let prev: { config_hash?: string };
      try {
        prev = JSON.parse(fs.readFileSync(resolvedFile, "utf8"));
      } catch {
        throw new CheckpointError(`${resolvedFile}: unreadable`, "the run directory is damaged; use a new --run-dir");
      }
      if (prev.config_hash !== hash) {
        throw new ConfigError(`${this.runDir} holds a run with a different configuration`, [], "use a new --run-dir, or the same config (and --set values) as that run to resume it");
      }
    } else {
      writeJsonAtomic(resolvedFile, { config_hash: hash, config: this.cfg, model: this.modelConfig });
    }
    if (this.cfg.eval.tasks.length) {
      parseTaskList(this.cfg.eval.tasks);
      if (!this.tokenizerDir) throw new ConfigError("eval.tasks needs the run's tokenizer", ["tokenizer: set it to the tokenizer directory the shards were made with"]);
    }
    this.metrics = new MetricsLog(path.join(this.runDir, "metrics.jsonl"));
    this.stream = openTrainingStream(this.cfg);
    this.valSets = loadValSets(this.cfg.data.dir, this.cfg.batch.seq_len, this.cfg.eval.tokens);
    const steps = listCheckpoints(this.runDir);
    if (steps.length) this.restore(checkpointDir(this.runDir, steps[steps.length - 1]), true);
    else if (from) this.restore(from.checkpoint, false);
    else {
      if (this.cfg.model.from) {
        const src = loadModel(this.cfg.model.from, this.be, { withGrad: false, config: this.modelConfig });
        this.model.params.copyFrom(src.params);
        src.dispose();
      } else this.model.initialize(this.cfg.seed);
      this.metrics.truncateAfter(0);
    }
  }

  private restore(dir: string, sameRun: boolean): void {
    const st: TrainerState = readTrainerState(dir);
    if (sameRun && st.config_hash !== configHash(this.cfg)) throw new CheckpointError(`${dir}: written by a different configuration`);
    const src = loadModel(dir, this.be, { withGrad: false, config: this.modelConfig });
    this.model.params.copyFrom(src.params);
    src.dispose();
    loadBuffers(path.join(dir, OPTIMIZER_FILE), this.opt.buffers());
    this.opt.step = st.optimizer_step;
    const avg = this.averager.buffers();
    if (Object.keys(avg).length) {
      const file = path.join(dir, AVERAGES_FILE);
      if (fs.existsSync(file)) {
        loadBuffers(file, avg);
        this.averager.state = st.averaging as WeightAverager<F>["state"];
      }
    }
    this.step = st.step;
    this.tokens = st.tokens;
    this.elapsed = sameRun ? st.elapsed_s : 0;
    this.tokensBySource = { ...st.tokens_by_source };
    this.tokensByStage = { ...(st.tokens_by_stage ?? {}) };
    this.rng = Rng.fromState(st.rng as Parameters<typeof Rng.fromState>[0]);
    this.stream.restore(st.data_cursor);
    this.resumedFrom = st.step;
    this.metrics.truncateAfter(st.step);
  }

  private stageIndex(step: number): number {
    const s = this.cfg.data.stages.findIndex((x) => step >= x.startStep && step < x.endStep);
    return s < 0 ? this.cfg.data.stages.length - 1 : s;
  }

  private checkpoint(): string {
    const st: TrainerState = {
      format: "smollab-trainer-state", version: 1, step: this.step, tokens: this.tokens, config_hash: configHash(this.cfg),
      optimizer_step: this.opt.step, data_cursor: this.stream.cursor(), rng: this.rng.getState(), averaging: this.averager.state,
      stage: this.stageIndex(Math.max(0, this.step - 1)), elapsed_s: this.elapsed, tokens_by_source: this.tokensBySource,
      tokens_by_stage: this.tokensByStage,
    };
    const dir = saveCheckpoint(this.runDir, this.model, st, this.opt.buffers(), this.averager.buffers(), { tokenizerDir: this.tokenizerDir });
    const protect = [...(this.cfg.checkpoint.at_steps ?? []), ...this.cfg.data.stages.map((s) => s.endStep)];
    applyRetention(this.runDir, this.cfg.checkpoint.keep_last, this.cfg.checkpoint.keep_every, protect);
    return dir;
  }

  /** Benchmark tasks (eval.tasks) on the current weights; results also go to RUN/eval/step-<n>.json. */
  private async evaluateTasks(): Promise<Record<string, number>> {
    if (!this.tokenizer) {
      if (!this.tokenizerDir) throw new ConfigError("eval.tasks needs the run's tokenizer", ["tokenizer: set it to the tokenizer directory the shards were made with"]);
      this.tokenizer = await loadTokenizer(this.tokenizerDir);
    }
    const res = await runEvalTasks(this.model, this.tokenizer, this.cfg.eval.tasks, { limit: this.cfg.eval.task_limit, seed: this.cfg.seed });
    const dir = path.join(this.runDir, "eval");
    fs.mkdirSync(dir, { recursive: true });
    writeJsonAtomic(path.join(dir, `step-${this.step}.json`), { step: this.step, tokens: this.tokens, results: res.results });
    this.hooks.onLog?.(`step ${this.step} tasks: ${Object.entries(res.flat).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}`);
    return res.flat;
  }

  private evaluate(): Record<string, unknown> {
    const rec: Record<string, unknown> = {};
    if (!this.valSets.length) return rec;
    const { seq_len, micro_batch } = this.cfg.batch;
    const raw = validationLoss(this.model, this.valSets, seq_len, micro_batch);
    rec.val_loss = raw;
    rec.val_loss_mean = mean(Object.values(raw));
    if (this.averager.enabled) {
      const tmp = new LlamaModel(this.be, this.modelConfig, { withGrad: false });
      try {
        if (this.averager.swaWeights(tmp.params.data)) {
          const swa = validationLoss(tmp, this.valSets, seq_len, micro_batch);
          rec.val_loss_swa = swa;
          rec.val_loss_swa_mean = mean(Object.values(swa));
        }
        if (this.averager.ema && this.averager.state.ema_initialized) {
          tmp.params.copyFrom(this.averager.ema);
          const ema = validationLoss(tmp, this.valSets, seq_len, micro_batch);
          rec.val_loss_ema = ema;
          rec.val_loss_ema_mean = mean(Object.values(ema));
        }
      } finally {
        tmp.dispose();
      }
    }
    return rec;
  }

  /** Train to the end of the schedule. */
  async run(): Promise<TrainSummary> {
    const cfg = this.cfg;
    const { micro_batch: B, seq_len: T, accumulation, tokens_per_step } = cfg.batch;
    const e = new Engine(this.be, undefined, { precision: cfg.precision ?? "fp32" });
    const flops = flopsPerToken(this.modelConfig, T);
    const stageEval: TrainSummary["stageEval"] = {};
    let lastCkpt = listCheckpoints(this.runDir).length ? checkpointDir(this.runDir, this.step) : "";
    let windowStart = performance.now();
    let windowTokens = 0;
    let finalLoss = NaN;
    let skipped = 0;
    if (this.resumedFrom !== undefined) this.hooks.onLog?.(`resuming from step ${this.resumedFrom} (${this.runDir})`);
    else this.hooks.onLog?.(`training ${parameterCount(this.modelConfig).toLocaleString("en-US")} parameters for ${cfg.steps} steps (${(cfg.steps * tokens_per_step).toLocaleString("en-US")} tokens) → ${this.runDir}`);
    try {
      while (this.step < cfg.steps) {
        const t0 = performance.now();
        const si = this.stageIndex(this.step);
        const stage = cfg.data.stages[si];
        const lr = this.schedule(this.step);
        this.model.params.zeroGrad();
        let lossSum = 0;
        const bySource: Record<string, number> = {};
        for (let a = 0; a < accumulation; a++) {
          const batch = this.stream.next(B, T, si);
          for (const s of batch.sources) bySource[s] = (bySource[s] ?? 0) + T;
          const { loss } = this.model.loss(e, batch.inputs, batch.targets, B, T);
          lossSum += loss.data[0];
          e.backward(loss, 1 / accumulation);
          e.reset();
        }
        const loss = lossSum / accumulation;
        if (!Number.isFinite(loss)) {
          if (cfg.on_nonfinite === "stop") {
            throw new TrainingError(`non-finite loss (${loss}) at step ${this.step + 1}; stopped. The last good checkpoint is ${lastCkpt || "(none yet)"}`, "lower optimizer.lr, raise schedule.warmup, or set on_nonfinite: skip");
          }
          skipped++;
          this.hooks.onLog?.(`step ${this.step + 1}: non-finite loss, batch skipped (${skipped} so far)`);
          this.step++;
          this.tokens += tokens_per_step;
          continue;
        }
        const gradNorm = this.opt.clip();
        this.opt.update(lr);
        this.step++;
        this.tokens += tokens_per_step;
        for (const [s, n] of Object.entries(bySource)) this.tokensBySource[s] = (this.tokensBySource[s] ?? 0) + n;
        this.tokensByStage[stage.name] = (this.tokensByStage[stage.name] ?? 0) + tokens_per_step;
        finalLoss = loss;
        const closed = this.averager.observe(this.step, this.model.params.data);
        if (closed !== undefined) this.saveSwaWindow(closed);
        const dt = (performance.now() - t0) / 1000;
        this.elapsed += dt;
        windowTokens += tokens_per_step;
        const stageEnd = this.step === stage.endStep;
        const tokPerS = windowTokens / ((performance.now() - windowStart) / 1000);
        this.hooks.onProgress?.({ step: this.step, steps: cfg.steps, stage: stage.name, loss, lr, tokensPerS: tokPerS, etaS: (cfg.steps - this.step) * (this.elapsed / Math.max(1, this.step - (this.resumedFrom ?? 0))) });
        if (this.step % cfg.log.every === 0 || stageEnd || this.step === cfg.steps) {
          this.metrics.append({
            type: "train", step: this.step, tokens: this.tokens, stage: stage.name, lr, loss, grad_norm: gradNorm,
            tokens_per_s: tokPerS, elapsed_s: this.elapsed, flops: this.tokens * flops.train,
            tokens_by_source: { ...this.tokensBySource }, tokens_by_stage: { ...this.tokensByStage }, epochs: this.stream.epochs(),
          });
          windowStart = performance.now();
          windowTokens = 0;
        }
        const evalNow = (cfg.eval.every > 0 && this.step % cfg.eval.every === 0) || stageEnd;
        if (evalNow) {
          const rec = this.evaluate();
          if (cfg.eval.tasks.length) rec.tasks = await this.evaluateTasks();
          if (Object.keys(rec).length) {
            this.metrics.append({ type: "eval", step: this.step, tokens: this.tokens, stage: stage.name, ...rec });
            if (stageEnd) stageEval[stage.name] = rec.val_loss as Record<string, number>;
            this.hooks.onLog?.(`step ${this.step} [${stage.name}] val loss ${fmtLosses(rec.val_loss as Record<string, number>)}${rec.val_loss_swa_mean !== undefined ? `; SWA ${(rec.val_loss_swa_mean as number).toFixed(4)}` : ""}${rec.val_loss_ema_mean !== undefined ? `; EMA ${(rec.val_loss_ema_mean as number).toFixed(4)}` : ""}`);
          }
        }
        const ckNow = (cfg.checkpoint.every > 0 && this.step % cfg.checkpoint.every === 0) || stageEnd || this.step === cfg.steps || (cfg.checkpoint.at_steps ?? []).includes(this.step);
        if (ckNow) lastCkpt = this.checkpoint();
      }
    } finally {
      e.arena.dispose();
      this.metrics.close();
    }
    return { runDir: this.runDir, steps: this.step, tokens: this.tokens, finalLoss, resumedFrom: this.resumedFrom, stageEval, lastCheckpoint: lastCkpt };
  }

  private saveSwaWindow(step: number): void {
    const dir = path.join(this.runDir, "swa");
    fs.mkdirSync(dir, { recursive: true });
    const p = this.model.params;
    const tensors = p.specs.map((s, i) => ({ name: s.name, dtype: "F32" as const, shape: s.shape, data: p.view(this.averager.swaLast!, i) as Float32Array | Float64Array }));
    writeSafetensors(path.join(dir, `window-${step}.safetensors`), tensors, { window_end: String(step), window: String(this.cfg.averaging.swa_window), interval: String(this.cfg.averaging.swa_interval) });
  }

  dispose(): void {
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
