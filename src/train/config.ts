// The training config: one zod schema is the source of the config's TypeScript type, its
// defaults, its validation (every problem listed by dotted path) and `smol train --help`'s key
// list. resolveTrainConfig() checks a raw YAML/JSON tree against it plus the cross-field rules that
// need no files (batch arithmetic, stage lengths, schedule, checkpoint steps, model keys), and
// resolves step counts. Checks that need the data or a model directory live in train/preflight.ts.
import * as fs from "node:fs";
import YAML from "yaml";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { DECAY_SHAPES, SCHEDULE_KINDS, validateSchedule, type ScheduleConfig } from "../optim/schedule.js";
import { PRESETS } from "../models/presets.js";
import { MOMENT_DTYPES } from "../optim/adamw.js";
import { PRECISIONS } from "../tensor/engine.js";
import { applyOverrides, parseConfig, schemaHelp } from "../util/schema.js";

const int = (doc: string) => z.number().int().describe(doc);
const posInt = (doc: string) => int(doc).min(1);
const positive = (doc: string) => z.number().gt(0).describe(doc);

/** The shape of a Llama model: written once, used by training configs and sweep sizes. */
export const MODEL_SHAPE = {
  d_model: posInt("width").optional(),
  layers: posInt("decoder layers").optional(),
  heads: posInt("query heads").optional(),
  kv_heads: posInt("key/value heads").optional(),
  ffn: posInt("SwiGLU width").optional(),
};
export const SHAPE_KEYS = Object.keys(MODEL_SHAPE) as (keyof typeof MODEL_SHAPE)[];

const ModelSection = z.strictObject({
  preset: z.enum(PRESETS.map((p) => p.name) as [string, ...string[]]).optional().describe("a preset from `smol models` (shape keys given beside it override the preset's)"),
  from: z.string().optional().describe("continue from a Hugging Face model directory (its shape is fixed; max_seq and rope_theta may be changed)"),
  vocab: posInt("vocabulary size (default: the tokenizer's)").optional(),
  ...MODEL_SHAPE,
  rope_theta: positive("RoPE base").optional(),
  init_std: positive("init std").optional(),
  tied: z.boolean().optional().describe("tie the LM head to the embedding"),
  max_seq: posInt("context length").optional(),
});

const StageSection = z.strictObject({
  name: z.string().optional(),
  tokens: posInt("training tokens of this stage"),
  mixture: z.record(z.string(), positive("weight: share of the stage's tokens")).refine((m) => Object.keys(m).length > 0, "needs at least 1 source").describe("source → share of the stage's tokens (shares sum to 1), e.g. {web: 0.7, code: 0.3}"),
  // Long-context stages (SmolLM2: 2k → 8k tokens with RoPE θ 130k): from this stage on.
  seq_len: int("this stage's sequence length (default batch.seq_len); the model's context grows to it").min(2).optional(),
  micro_batch: posInt("this stage's sequences per forward/backward (default batch.micro_batch)").optional(),
  rope_theta: positive("RoPE base from this stage on (default: unchanged)").optional(),
  min_doc_tokens: z.record(z.string(), posInt("tokens")).optional().describe("upweight long documents: per source, sample only its documents of at least this many tokens"),
});

export const TRAIN_SCHEMA = z.strictObject({
  name: z.string().optional().describe("run name (default: the config file's name)"),
  tokenizer: z.string().optional().describe("tokenizer directory; must be the one the shards were made with (checked)"),
  seed: int("run seed: model init, data order and sampling derive from it").min(0).default(0),
  model: ModelSection,
  data: z.strictObject({
    dir: z.string().describe("tokenized shards from `smol tokenize`"),
    max_epochs: positive("stop with an error when a source would be repeated more often").default(100),
    stages: z.array(StageSection).min(1),
  }),
  optimizer: z.strictObject({
    lr: positive("peak learning rate"),
    beta1: z.number().min(0).max(1).default(0.9).describe("AdamW β1"),
    beta2: z.number().min(0).max(1).default(0.95).describe("AdamW β2"),
    eps: positive("AdamW epsilon").default(1e-8),
    weight_decay: z.number().min(0).default(0.01).describe("decoupled weight decay"),
    decay_norms: z.boolean().default(false).describe("apply weight decay to norm weights"),
    decay_embeddings: z.boolean().default(true).describe("apply weight decay to the embedding/head"),
    grad_clip: z.number().min(0).default(1.0).describe("global gradient-norm clip (0 = off)"),
    moments: z.enum(MOMENT_DTYPES).default("fp32").describe("AdamW moment storage: fp32 (8 bytes/param), bf16 (4: rounded to nearest even) or int8 (≈2.03: blocks of 256, companded codes with one fp32 scale per block; docs/training.md)"),
  }),
  schedule: z.strictObject({
    kind: z.enum(SCHEDULE_KINDS as [string, ...string[]]).default("wsd"),
    warmup: int("warmup steps").min(0).default(0),
    warmup_start_factor: z.number().min(0).max(1).optional().describe("first warmup LR as a fraction of the peak"),
    decay_fraction: z.number().gt(0).max(1).optional().describe("WSD cooldown as a fraction of all steps"),
    decay_steps: posInt("WSD cooldown length in steps").optional(),
    shape: z.enum(DECAY_SHAPES as [string, ...string[]]).optional(),
    power: positive("exponent for shape power").optional(),
    final_lr: z.number().min(0).optional().describe("LR at the end of the cooldown"),
    final_fraction: z.number().min(0).max(1).optional().describe("cosine: final LR / peak"),
  }).prefault({}),
  batch: z.strictObject({
    seq_len: int("tokens per sequence").min(2),
    micro_batch: posInt("sequences per forward/backward"),
    tokens_per_step: posInt("tokens per optimizer step (= micro_batch × accumulation × seq_len)"),
  }),
  eval: z.strictObject({
    every: int("evaluate every N steps (0 = only at stage ends)").min(0).default(0),
    tokens: posInt("validation tokens per source").default(16384),
    tasks: z.array(z.string()).default([]).describe("benchmark tasks to run at each evaluation"),
    task_limit: posInt("items per task").default(200),
  }).prefault({}),
  checkpoint: z.strictObject({
    every: int("save every N steps (0 = only at stage ends and the end)").min(0).default(0),
    keep_last: posInt("keep the newest K checkpoints").default(3),
    keep_every: int("also keep every checkpoint whose step is a multiple of M (0 = none)").min(0).default(0),
    at_steps: z.array(posInt("step")).optional().describe("extra steps to save at (e.g. cooldown branch points)"),
  }).prefault({}),
  averaging: z.strictObject({
    swa_window: int("SWA window in steps (0 = off)").min(0).default(0),
    swa_interval: posInt("steps between SWA snapshots").default(5),
    ema_decay: z.number().min(0).max(1).default(0).describe("EMA decay (0 = off)"),
    ema_interval: posInt("steps between EMA updates").default(10),
  }).prefault({}),
  log: z.strictObject({
    every: posInt("write metrics every N steps").default(10),
    tensorboard: z.boolean().default(false).describe("also write TensorBoard event files (RUN/events.out.tfevents.*) for `tensorboard --logdir`"),
  }).prefault({}),
  on_nonfinite: z.enum(["stop", "skip"]).default("stop").describe("what to do with a NaN/Inf loss: stop, or skip the update (the run still ends with its checkpoint)"),
  threads: posInt("kernel threads (default: all cores)").optional(),
  activation_checkpointing: z.boolean().default(false).describe("recompute each decoder layer's activations in backward instead of keeping them (less memory, ~1/3 more compute; gradients are bit-identical)"),
  precision: z.enum(PRECISIONS).default("fp32").describe("linear-layer matmuls and attention products: fp32, or bf16 inputs with fp32 accumulation (softmax statistics, weights, grads, optimizer stay fp32)"),
  // Data parallelism under mpirun/srun (train/parallel.ts); not part of the run's identity.
  parallel: z.strictObject({
    check_every: int("compare a checksum of the weights across ranks every N steps (0 = only at the start)").min(0).default(50),
    bucket_mb: positive("gradient all-reduce bucket size in MiB").default(16),
  }).optional().describe("data-parallel settings (used under mpirun/srun)"),
});

/** A config as written in a file (defaults optional). */
export type TrainConfigInput = z.input<typeof TRAIN_SCHEMA>;
type Parsed = z.output<typeof TRAIN_SCHEMA>;

export interface StageConfig {
  name: string;
  tokens: number;
  mixture: Record<string, number>;
  /** First and one-past-last optimizer step of the stage. */
  startStep: number;
  endStep: number;
  /** Long-context stages: sequence length, micro-batch and RoPE base (absent: the run's). */
  seq_len?: number;
  micro_batch?: number;
  rope_theta?: number;
  /** Per source: sample only documents of at least this many tokens. */
  min_doc_tokens?: Record<string, number>;
}

/** Sequence length, micro-batch and accumulation of a stage. */
export function stageBatch(cfg: Pick<TrainConfig, "batch">, s: Pick<StageConfig, "seq_len" | "micro_batch">): { seqLen: number; microBatch: number; accumulation: number } {
  const seqLen = s.seq_len ?? cfg.batch.seq_len;
  const microBatch = s.micro_batch ?? cfg.batch.micro_batch;
  return { seqLen, microBatch, accumulation: Math.max(1, Math.round(cfg.batch.tokens_per_step / (seqLen * microBatch))) };
}

/** The model's context in stage `si`: the last RoPE base set up to it, the longest sequence so far. */
export function stageContext(cfg: Pick<TrainConfig, "data" | "batch">, si: number, base: { ropeTheta: number; maxSeq: number }): { ropeTheta: number; maxSeq: number } {
  let { ropeTheta, maxSeq } = base;
  for (const s of cfg.data.stages.slice(0, si + 1)) {
    if (s.rope_theta !== undefined) ropeTheta = s.rope_theta;
    maxSeq = Math.max(maxSeq, s.seq_len ?? cfg.batch.seq_len);
  }
  return { ropeTheta, maxSeq };
}

/** A resolved config: the parsed file plus what follows from it (stages as steps, schedule, accumulation). */
export type TrainConfig = Omit<Parsed, "name" | "data" | "schedule" | "batch"> & {
  name: string;
  data: Omit<Parsed["data"], "stages"> & { stages: StageConfig[] };
  schedule: ScheduleConfig;
  batch: Parsed["batch"] & { accumulation: number };
  /** Total optimizer steps of the run. */
  steps: number;
  /** Set on branches (cooldowns, ablations): where the run came from. */
  parent?: { run_dir: string; step: number };
};

/** Read a YAML or JSON file into a plain tree. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let tree: unknown;
  try {
    tree = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof tree !== "object" || tree === null || Array.isArray(tree)) throw new ConfigError(`${file}: the top level must be a mapping of sections (model, data, optimizer, …)`);
  return tree as Record<string, unknown>;
}

/** The schedule section in the library's ScheduleConfig form (the one snake→camel mapping). */
function scheduleOf(sc: Parsed["schedule"], lr: number, steps: number): ScheduleConfig {
  return {
    kind: sc.kind as ScheduleConfig["kind"], lr, steps, warmup: sc.warmup, warmupStartFactor: sc.warmup_start_factor,
    decayFraction: sc.decay_fraction, decaySteps: sc.decay_steps, shape: sc.shape as ScheduleConfig["shape"], power: sc.power,
    finalLr: sc.final_lr, finalFraction: sc.final_fraction,
  };
}

/** Validate and resolve a config tree; throws ConfigError listing every problem. */
export function resolveTrainConfig(tree: Record<string, unknown>, opts: { sets?: string[]; defaultName?: string; file?: string } = {}): TrainConfig {
  const copy = structuredClone(tree);
  const where = opts.file ? `${opts.file}: ` : "";
  const what = `${where}invalid training config`;
  const hint = "fix the keys above; `smol train --help` lists every key";
  const v = parseConfig(TRAIN_SCHEMA, copy, what, hint, applyOverrides(copy, opts.sets ?? []));
  const problems: string[] = [];
  const m = v.model;
  if (m.preset && m.from) problems.push("model: give either preset or from, not both");
  if (!m.preset && !m.from) for (const k of SHAPE_KEYS) if (m[k] === undefined) problems.push(`model.${k}: required without a preset or from: directory`);
  if (m.from) {
    for (const k of [...SHAPE_KEYS, "vocab", "tied", "init_std"] as const) {
      if (m[k] !== undefined) problems.push(`model.${k}: cannot change a pretrained model's ${k} (model.from); remove the key, or start from a preset`);
    }
  }
  const b = v.batch;
  const perMicro = b.micro_batch * b.seq_len;
  if (b.tokens_per_step % perMicro !== 0) {
    problems.push(`batch.tokens_per_step: ${b.tokens_per_step} is not a multiple of micro_batch × seq_len = ${perMicro} (try ${Math.max(1, Math.round(b.tokens_per_step / perMicro)) * perMicro})`);
  }
  const stages: StageConfig[] = [];
  let step = 0;
  v.data.stages.forEach((s, i) => {
    if (s.tokens % b.tokens_per_step !== 0) {
      const lo = Math.floor(s.tokens / b.tokens_per_step) * b.tokens_per_step;
      problems.push(`data.stages[${i}].tokens: ${s.tokens} is not a multiple of batch.tokens_per_step ${b.tokens_per_step} (use ${lo || b.tokens_per_step} or ${lo + b.tokens_per_step})`);
    }
    const sum = Object.values(s.mixture).reduce((a, x) => a + x, 0);
    if (Math.abs(sum - 1) > 1e-6) problems.push(`data.stages[${i}].mixture: the weights sum to ${+sum.toFixed(6)}; they are shares of the stage's tokens and must sum to 1`);
    const sT = s.seq_len ?? b.seq_len;
    const sB = s.micro_batch ?? b.micro_batch;
    if ((s.seq_len !== undefined || s.micro_batch !== undefined) && b.tokens_per_step % (sT * sB) !== 0) {
      problems.push(`data.stages[${i}]: batch.tokens_per_step ${b.tokens_per_step} is not a multiple of micro_batch × seq_len = ${sB} × ${sT} for this stage (set the stage's micro_batch to a divisor of ${Math.max(1, Math.floor(b.tokens_per_step / sT))})`);
    }
    const n = Math.max(1, Math.round(s.tokens / b.tokens_per_step));
    stages.push({
      name: s.name ?? `stage${i + 1}`, tokens: s.tokens, mixture: s.mixture, startStep: step, endStep: step + n,
      ...(s.seq_len !== undefined ? { seq_len: s.seq_len } : {}), ...(s.micro_batch !== undefined ? { micro_batch: s.micro_batch } : {}), ...(s.rope_theta !== undefined ? { rope_theta: s.rope_theta } : {}),
      ...(s.min_doc_tokens !== undefined ? { min_doc_tokens: s.min_doc_tokens } : {}),
    });
    for (const k of Object.keys(s.min_doc_tokens ?? {})) if (!(k in s.mixture)) problems.push(`data.stages[${i}].min_doc_tokens.${k}: "${k}" is not in this stage's mixture`);
    step += n;
  });
  // Stages that share a sequence length share one sampler, hence one document filter.
  const filters = new Map<number, { i: number; key: string }>();
  stages.forEach((s, i) => {
    const T = s.seq_len ?? b.seq_len;
    const key = JSON.stringify(Object.entries(s.min_doc_tokens ?? {}).sort());
    const prev = filters.get(T);
    if (!prev) filters.set(T, { i, key });
    else if (prev.key !== key) problems.push(`data.stages[${i}].min_doc_tokens: stages with the same seq_len (${T}) must use the same min_doc_tokens (stage ${prev.i} differs); give this stage its own seq_len or the same filter`);
  });
  const names = stages.map((s) => s.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) problems.push(`data.stages[${i}].name: "${n}" is used by an earlier stage; stage names must differ`);
  });
  for (const [i, s] of (v.checkpoint.at_steps ?? []).entries()) {
    if (s > step) problems.push(`checkpoint.at_steps[${i}]: step ${s} is past the end of the run (${step} steps)`);
  }
  const schedule = scheduleOf(v.schedule, v.optimizer.lr, step);
  problems.push(...validateSchedule(schedule, "schedule").filter((p) => !p.startsWith("schedule.steps")));
  if (problems.length) throw new ConfigError(what, problems, hint);
  return {
    ...v,
    name: v.name ?? opts.defaultName ?? "run",
    data: { ...v.data, stages },
    schedule,
    batch: { ...b, accumulation: b.tokens_per_step / perMicro },
    steps: step,
  };
}

/** Help text for every key of the training config. */
export function trainConfigHelp(): string[] {
  return schemaHelp(TRAIN_SCHEMA);
}
