// Post-training configs (`smol sft`, `smol dpo`): their own zod schemas (type, defaults,
// validation by dotted path, --help key list), and the bridge to the shared loop: a resolved
// post-training config becomes a TrainConfig with one stage, the step count known from the data,
// warmup from warmup_ratio, and the whole post-training section inside the config hash.
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { DECAY_SHAPES, SCHEDULE_KINDS, validateSchedule, type ScheduleConfig } from "../optim/schedule.js";
import { MOMENT_DTYPES } from "../optim/adamw.js";
import { PRECISIONS } from "../tensor/engine.js";
import type { TrainConfig } from "../train/config.js";
import { applyOverrides, parseConfig, schemaHelp } from "../util/schema.js";

const posInt = (doc: string) => z.number().int().min(1).describe(doc);
const paths = (doc: string) => z.union([z.string(), z.array(z.string()).min(1)]).describe(doc);

const OPTIMIZER = z.strictObject({
  lr: z.number().gt(0).describe("peak learning rate"),
  beta1: z.number().min(0).max(1).default(0.9).describe("AdamW β1"),
  beta2: z.number().min(0).max(1).default(0.999).describe("AdamW β2 (transformers' default)"),
  eps: z.number().gt(0).default(1e-8).describe("AdamW epsilon"),
  weight_decay: z.number().min(0).default(0).describe("decoupled weight decay"),
  grad_clip: z.number().min(0).default(1.0).describe("global gradient-norm clip (0 = off)"),
  moments: z.enum(MOMENT_DTYPES).default("fp32").describe("AdamW moment storage: fp32, bf16 or int8 (as the training config's optimizer.moments; docs/training.md)"),
});

const SCHEDULE = z.strictObject({
  kind: z.enum(SCHEDULE_KINDS as [string, ...string[]]).default("cosine").describe("the LR schedule"),
  warmup_ratio: z.number().min(0).max(1).default(0).describe("warmup as a fraction of all steps (ceil, as transformers)"),
  final_fraction: z.number().min(0).max(1).default(0).describe("cosine: final LR / peak (transformers' cosine: 0)"),
  decay_fraction: z.number().gt(0).max(1).optional().describe("wsd: cooldown as a fraction of all steps"),
  shape: z.enum(DECAY_SHAPES as [string, ...string[]]).optional().describe("wsd: cooldown shape"),
}).prefault({});

const COMMON = {
  name: z.string().optional().describe("run name (default: the config file's name)"),
  seed: z.number().int().min(0).default(0).describe("data order seed"),
  tokenizer: z.string().optional().describe("tokenizer directory (default: model.from)"),
  chat_template: z.string().optional().describe("a .jinja file to use instead of the model's chat template"),
  epochs: z.number().gt(0).default(1).describe("passes over the training data (fractions allowed)"),
  optimizer: OPTIMIZER,
  schedule: SCHEDULE,
  eval: z.strictObject({ every: z.number().int().min(0).default(0).describe("evaluate on data.eval every N steps (0 = at the end)") }).prefault({}),
  checkpoint: z.strictObject({
    every: z.number().int().min(0).default(0).describe("save every N steps (0 = only at the end)"),
    keep_last: posInt("keep the newest K checkpoints").default(3),
  }).prefault({}),
  log: z.strictObject({ every: posInt("write metrics every N steps").default(1) }).prefault({}),
  on_nonfinite: z.enum(["stop", "skip"]).default("stop").describe("NaN/Inf loss: stop, or skip the update"),
  threads: posInt("kernel threads (default: all cores)").optional(),
  precision: z.enum(PRECISIONS).default("fp32").describe("linear-layer matmuls and attention products: fp32 or bf16"),
  activation_checkpointing: z.boolean().default(false).describe("recompute each decoder layer's activations in backward (less memory, bit-identical gradients)"),
};

const DATA = {
  train: paths("training files (JSONL(.gz/.zst) or Parquet; paths, directories or globs)"),
  eval: paths("held-out files, evaluated at eval points").optional(),
  shuffle: z.boolean().default(true).describe("shuffle each epoch (false: rows in file order)"),
  on_bad: z.enum(["fail", "skip"]).default("fail").describe("a bad row: fail naming file and line, or count and skip it"),
};

export const SFT_SCHEMA = z.strictObject({
  ...COMMON,
  model: z.strictObject({
    from: z.string().describe("the starting Hugging Face model directory"),
    add_chat_tokens: z.boolean().default(false).describe("give a base tokenizer <|im_start|>/<|im_end|> and the ChatML template (embeddings resized, new rows = mean embedding)"),
    max_seq: posInt("context length (default: the model's)").optional(),
  }),
  data: z.strictObject({ ...DATA, field: z.string().default("messages").describe("the field holding [{role, content}, …]") }),
  max_length: posInt("tokens per training sequence; longer conversations are truncated").default(2048),
  packing: z.boolean().default(false).describe("pack several conversations per sequence (attention crosses their boundaries, as TRL's default packing)"),
  batch: z.strictObject({
    sequences_per_step: posInt("sequences per optimizer step (global batch; a multiple of micro_batch)"),
    micro_batch: posInt("sequences per forward/backward"),
  }),
});

export const DPO_SCHEMA = z.strictObject({
  ...COMMON,
  model: z.strictObject({
    from: z.string().describe("the starting Hugging Face model directory (an SFT checkpoint)"),
    max_seq: posInt("context length (default: the model's)").optional(),
  }),
  reference: z.string().optional().describe("the frozen reference model directory (default: model.from)"),
  data: z.strictObject(DATA),
  dpo: z.strictObject({
    beta: z.number().gt(0).default(0.1).describe("β: strength of the KL regularisation"),
    loss: z.enum(["sigmoid", "ipo"]).default("sigmoid").describe("sigmoid (DPO) or ipo"),
    max_length: posInt("prompt + completion tokens (SmolLM2: 1024)").default(1024),
    max_prompt_length: posInt("prompt tokens; longer prompts keep their end (SmolLM2: 512)").default(512),
  }).prefault({}),
  batch: z.strictObject({
    pairs_per_step: posInt("preference pairs per optimizer step (a multiple of micro_batch)"),
    micro_batch: posInt("pairs per forward/backward"),
  }),
});

export type SftConfig = z.output<typeof SFT_SCHEMA>;
export type DpoConfig = z.output<typeof DPO_SCHEMA>;

/** Parse a raw config tree (with --set overrides); throws ConfigError listing every problem. */
export function parsePosttrainConfig<K extends "sft" | "dpo">(kind: K, tree: Record<string, unknown>, opts: { sets?: string[]; file?: string; defaultName?: string } = {}): K extends "sft" ? SftConfig : DpoConfig {
  const copy = structuredClone(tree);
  const what = `${opts.file ? `${opts.file}: ` : ""}invalid ${kind.toUpperCase()} config`;
  const hint = `fix the keys above; \`smol ${kind} --help\` lists every key`;
  const schema = kind === "sft" ? SFT_SCHEMA : DPO_SCHEMA;
  const v = parseConfig(schema, copy, what, hint, applyOverrides(copy, opts.sets ?? [])) as SftConfig | DpoConfig;
  const b = v.batch as { micro_batch: number; sequences_per_step?: number; pairs_per_step?: number };
  const perStep = b.sequences_per_step ?? b.pairs_per_step!;
  const key = kind === "sft" ? "sequences_per_step" : "pairs_per_step";
  const problems: string[] = [];
  if (perStep % b.micro_batch !== 0) problems.push(`batch.${key}: ${perStep} is not a multiple of batch.micro_batch ${b.micro_batch}`);
  if (kind === "dpo") {
    const d = (v as DpoConfig).dpo;
    if (d.max_prompt_length >= d.max_length) problems.push(`dpo.max_prompt_length: ${d.max_prompt_length} must be below dpo.max_length ${d.max_length} (room for the completion)`);
  }
  if (problems.length) throw new ConfigError(what, problems, hint);
  return { ...v, name: v.name ?? opts.defaultName ?? kind } as K extends "sft" ? SftConfig : DpoConfig;
}

/**
 * The shared loop's config for a post-training run of `steps` optimizer steps over sequences of at
 * most `seqLen` tokens, `perStep` examples per step in micro-batches of `micro`.
 */
export function toTrainConfig(kind: "sft" | "dpo", c: SftConfig | DpoConfig, steps: number, seqLen: number, perStep: number, micro: number, dataEpochs: number): TrainConfig {
  const warmup = Math.ceil(c.schedule.warmup_ratio * steps);
  const schedule: ScheduleConfig = {
    kind: c.schedule.kind as ScheduleConfig["kind"], lr: c.optimizer.lr, steps, warmup, finalFraction: c.schedule.final_fraction,
    decayFraction: c.schedule.decay_fraction, shape: c.schedule.shape as ScheduleConfig["shape"],
    // transformers' warmup starts at 0 and reaches the peak at step W.
    ...(warmup > 0 ? { warmupStartFactor: 0 } : {}),
  };
  const problems = validateSchedule(schedule, "schedule");
  if (problems.length) throw new ConfigError(`invalid ${kind.toUpperCase()} config`, problems);
  const tokensPerStep = perStep * seqLen;
  const { optimizer: o } = c;
  const cfg = {
    name: c.name!, seed: c.seed, tokenizer: undefined,
    model: { from: c.model.from, max_seq: c.model.max_seq },
    data: { dir: "", max_epochs: Math.max(1, Math.ceil(dataEpochs)), stages: [{ name: kind, tokens: steps * tokensPerStep, mixture: { [kind]: 1 }, startStep: 0, endStep: steps }] },
    optimizer: { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weight_decay: o.weight_decay, decay_norms: false, decay_embeddings: true, grad_clip: o.grad_clip, moments: o.moments },
    schedule,
    batch: { seq_len: seqLen, micro_batch: micro, tokens_per_step: tokensPerStep, accumulation: perStep / micro },
    eval: { every: c.eval.every, tokens: 1, tasks: [], task_limit: 1 },
    checkpoint: { every: c.checkpoint.every, keep_last: c.checkpoint.keep_last, keep_every: 0 },
    averaging: { swa_window: 0, swa_interval: 5, ema_decay: 0, ema_interval: 10 },
    log: { every: c.log.every },
    on_nonfinite: c.on_nonfinite,
    threads: c.threads,
    precision: c.precision,
    activation_checkpointing: c.activation_checkpointing,
    steps,
    // Everything numbers-relevant of the post-training config is part of the run's config hash;
    // activation checkpointing is not (bit-identical gradients), and fp32 moments (the default)
    // leave the hash as it was before the key existed.
    posttrain: {
      kind, ...structuredClone(c), name: undefined, eval: undefined, checkpoint: undefined, log: undefined, threads: undefined, precision: undefined,
      activation_checkpointing: undefined, optimizer: o.moments === "fp32" ? { ...o, moments: undefined } : o,
    },
  };
  return cfg as unknown as TrainConfig;
}

export const sftConfigHelp = (): string[] => schemaHelp(SFT_SCHEMA);
export const dpoConfigHelp = (): string[] => schemaHelp(DPO_SCHEMA);

/** Training sequences must fit the model's context: `key` (max_length or dpo.max_length) ≤ maxSeq, checked before any work. */
export function checkFitsContext(key: string, maxLength: number, maxSeq: number, from: string): void {
  if (maxLength > maxSeq)
    throw new ConfigError(`${key}: ${maxLength} tokens exceed the context of ${from} (max_position_embeddings ${maxSeq})`, [], `set ${key} ≤ ${maxSeq}, or extend the context first (model.max_seq with a rope that supports it)`);
}
