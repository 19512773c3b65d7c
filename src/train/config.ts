// The training config: one YAML/JSON file, validated as a whole before any work starts (every
// problem listed by dotted path), then resolved into step counts. The resolved config is what
// a run directory stores, so a resumed run can check it was started with the same one.
import * as fs from "node:fs";
import YAML from "yaml";
import { ConfigError } from "../errors.js";
import { DECAY_SHAPES, SCHEDULE_KINDS, validateSchedule, type ScheduleConfig } from "../optim/schedule.js";
import { PRESETS } from "../models/presets.js";
import { PRECISIONS, type Precision } from "../tensor/engine.js";
import { applyOverrides, validate, type Field } from "../util/schema.js";

const num = (doc: string, extra: Partial<Extract<Field, { kind: "number" }>> = {}): Field => ({ kind: "number", doc, ...extra });

export const TRAIN_SCHEMA: Field = {
  kind: "object",
  fields: {
    name: { kind: "string", optional: true, doc: "run name (default: the config file's name)" },
    tokenizer: { kind: "string", optional: true, doc: "tokenizer directory copied into every checkpoint" },
    seed: num("run seed: model init, data order and sampling derive from it", { int: true, min: 0, default: 0 }),
    model: {
      kind: "object",
      fields: {
        preset: { kind: "string", optional: true, enum: PRESETS.map((p) => p.name), doc: "a preset from `smol models`" },
        from: { kind: "string", optional: true, doc: "continue from a Hugging Face model directory" },
        vocab: num("vocabulary size (default: the tokenizer's)", { int: true, min: 1, optional: true }),
        d_model: num("width", { int: true, min: 1, optional: true }),
        layers: num("decoder layers", { int: true, min: 1, optional: true }),
        heads: num("query heads", { int: true, min: 1, optional: true }),
        kv_heads: num("key/value heads", { int: true, min: 1, optional: true }),
        ffn: num("SwiGLU width", { int: true, min: 1, optional: true }),
        rope_theta: num("RoPE base", { gt: 0, optional: true }),
        init_std: num("init std", { gt: 0, optional: true }),
        tied: { kind: "bool", optional: true },
        max_seq: num("context length", { int: true, min: 1, optional: true }),
      },
    },
    data: {
      kind: "object",
      fields: {
        dir: { kind: "string", doc: "tokenized shards from `smol tokenize`" },
        max_epochs: num("stop with an error when a source would be repeated more often", { gt: 0, default: 100 }),
        stages: {
          kind: "array",
          minItems: 1,
          item: {
            kind: "object",
            fields: {
              name: { kind: "string", optional: true },
              tokens: num("training tokens of this stage", { int: true, min: 1 }),
              mixture: { kind: "map", minKeys: 1, value: num("weight: share of the stage's tokens", { gt: 0 }) },
            },
          },
        },
      },
    },
    optimizer: {
      kind: "object",
      fields: {
        lr: num("peak learning rate", { gt: 0 }),
        beta1: num("AdamW β1", { min: 0, max: 1, default: 0.9 }),
        beta2: num("AdamW β2", { min: 0, max: 1, default: 0.95 }),
        eps: num("AdamW epsilon", { gt: 0, default: 1e-8 }),
        weight_decay: num("decoupled weight decay", { min: 0, default: 0.01 }),
        decay_norms: { kind: "bool", default: false, doc: "apply weight decay to norm weights" },
        decay_embeddings: { kind: "bool", default: true, doc: "apply weight decay to the embedding/head" },
        grad_clip: num("global gradient-norm clip (0 = off)", { min: 0, default: 1.0 }),
      },
    },
    schedule: {
      kind: "object",
      fields: {
        kind: { kind: "string", enum: SCHEDULE_KINDS, default: "wsd" },
        warmup: num("warmup steps", { int: true, min: 0, default: 0 }),
        warmup_start_factor: num("first warmup LR as a fraction of the peak", { min: 0, max: 1, optional: true }),
        decay_fraction: num("WSD cooldown as a fraction of all steps", { gt: 0, max: 1, optional: true }),
        decay_steps: num("WSD cooldown length in steps", { int: true, min: 1, optional: true }),
        shape: { kind: "string", enum: DECAY_SHAPES, optional: true },
        power: num("exponent for shape power", { gt: 0, optional: true }),
        final_lr: num("LR at the end of the cooldown", { min: 0, optional: true }),
        final_fraction: num("cosine: final LR / peak", { min: 0, max: 1, optional: true }),
      },
    },
    batch: {
      kind: "object",
      fields: {
        seq_len: num("tokens per sequence", { int: true, min: 2 }),
        micro_batch: num("sequences per forward/backward", { int: true, min: 1 }),
        tokens_per_step: num("tokens per optimizer step (= micro_batch × accumulation × seq_len)", { int: true, min: 1 }),
      },
    },
    eval: {
      kind: "object",
      fields: {
        every: num("evaluate every N steps (0 = only at stage ends)", { int: true, min: 0, default: 0 }),
        tokens: num("validation tokens per source", { int: true, min: 1, default: 16384 }),
        tasks: { kind: "stringList", default: [], doc: "benchmark tasks to run at each evaluation" },
        task_limit: num("items per task", { int: true, min: 1, default: 200 }),
      },
    },
    checkpoint: {
      kind: "object",
      fields: {
        every: num("save every N steps (0 = only at stage ends and the end)", { int: true, min: 0, default: 0 }),
        keep_last: num("keep the newest K checkpoints", { int: true, min: 1, default: 3 }),
        keep_every: num("also keep every checkpoint whose step is a multiple of M (0 = none)", { int: true, min: 0, default: 0 }),
        at_steps: { kind: "numberList", optional: true, doc: "extra steps to save at (e.g. cooldown branch points)" },
      },
    },
    averaging: {
      kind: "object",
      fields: {
        swa_window: num("SWA window in steps (0 = off)", { int: true, min: 0, default: 0 }),
        swa_interval: num("steps between SWA snapshots", { int: true, min: 1, default: 5 }),
        ema_decay: num("EMA decay (0 = off)", { min: 0, max: 1, default: 0 }),
        ema_interval: num("steps between EMA updates", { int: true, min: 1, default: 10 }),
      },
    },
    log: {
      kind: "object",
      fields: { every: num("write metrics every N steps", { int: true, min: 1, default: 10 }) },
    },
    on_nonfinite: { kind: "string", enum: ["stop", "skip"], default: "stop", doc: "what to do with a NaN/Inf loss" },
    threads: num("kernel threads (default: all cores)", { int: true, min: 1, optional: true }),
    precision: { kind: "string", enum: PRECISIONS, default: "fp32", doc: "linear-layer matmuls: fp32, or bf16 inputs with fp32 accumulation (weights, grads, optimizer stay fp32)" },
  },
};

export interface StageConfig {
  name: string;
  tokens: number;
  mixture: Record<string, number>;
  /** First and one-past-last optimizer step of the stage. */
  startStep: number;
  endStep: number;
}

export interface TrainConfig {
  name: string;
  tokenizer?: string;
  seed: number;
  model: { preset?: string; from?: string; vocab?: number; d_model?: number; layers?: number; heads?: number; kv_heads?: number; ffn?: number; rope_theta?: number; init_std?: number; tied?: boolean; max_seq?: number };
  data: { dir: string; max_epochs: number; stages: StageConfig[] };
  optimizer: { lr: number; beta1: number; beta2: number; eps: number; weight_decay: number; decay_norms: boolean; decay_embeddings: boolean; grad_clip: number };
  schedule: ScheduleConfig;
  batch: { seq_len: number; micro_batch: number; tokens_per_step: number; accumulation: number };
  eval: { every: number; tokens: number; tasks: string[]; task_limit: number };
  checkpoint: { every: number; keep_last: number; keep_every: number; at_steps?: number[] };
  averaging: { swa_window: number; swa_interval: number; ema_decay: number; ema_interval: number };
  log: { every: number };
  on_nonfinite: "stop" | "skip";
  threads?: number;
  /** Matmul precision of linear layers; absent (configs resolved before the key existed) = fp32. */
  precision?: Precision;
  /** Total optimizer steps of the run. */
  steps: number;
  /** Set on cooldown branches: where the run came from. */
  parent?: { run_dir: string; step: number };
}

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

/** Validate and resolve a config tree; throws ConfigError listing every problem. */
export function resolveTrainConfig(tree: Record<string, unknown>, opts: { sets?: string[]; defaultName?: string; file?: string } = {}): TrainConfig {
  const copy = structuredClone(tree);
  const problems = applyOverrides(copy, opts.sets ?? []);
  const v = validate(copy, TRAIN_SCHEMA, "", problems) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const where = opts.file ? `${opts.file}: ` : "";
  if (problems.length) throw new ConfigError(`${where}invalid training config`, problems, "fix the keys above; `smol train --help` lists every section");
  const m = v.model;
  const shapeKeys = ["d_model", "layers", "heads", "kv_heads", "ffn"];
  if (!m.preset && !m.from && shapeKeys.some((k) => m[k] === undefined)) {
    problems.push(`model: give a preset, a from: directory, or all of ${shapeKeys.join(", ")}`);
  }
  if (m.preset && m.from) problems.push("model: give either preset or from, not both");
  const b = v.batch;
  const perMicro = b.micro_batch * b.seq_len;
  if (b.tokens_per_step % perMicro !== 0) {
    problems.push(`batch.tokens_per_step: ${b.tokens_per_step} is not a multiple of micro_batch × seq_len = ${perMicro} (try ${Math.max(1, Math.round(b.tokens_per_step / perMicro)) * perMicro})`);
  }
  const stages: StageConfig[] = [];
  let step = 0;
  (v.data.stages as Array<{ name?: string; tokens: number; mixture: Record<string, number> }>).forEach((s, i) => {
    if (s.tokens % b.tokens_per_step !== 0) {
      const lo = Math.floor(s.tokens / b.tokens_per_step) * b.tokens_per_step;
      problems.push(`data.stages[${i}].tokens: ${s.tokens} is not a multiple of batch.tokens_per_step ${b.tokens_per_step} (use ${lo || b.tokens_per_step} or ${lo + b.tokens_per_step})`);
    }
    const n = Math.max(1, Math.round(s.tokens / b.tokens_per_step));
    stages.push({ name: s.name ?? `stage${i + 1}`, tokens: s.tokens, mixture: s.mixture, startStep: step, endStep: step + n });
    step += n;
  });
  const sc = v.schedule;
  const schedule: ScheduleConfig = {
    kind: sc.kind, lr: v.optimizer.lr, steps: step, warmup: sc.warmup, warmupStartFactor: sc.warmup_start_factor,
    decayFraction: sc.decay_fraction, decaySteps: sc.decay_steps, shape: sc.shape, power: sc.power,
    finalLr: sc.final_lr, finalFraction: sc.final_fraction,
  };
  problems.push(...validateSchedule(schedule, "schedule").filter((p) => !p.startsWith("schedule.steps")));
  if (problems.length) throw new ConfigError(`${where}invalid training config`, problems);
  return {
    ...v,
    name: v.name ?? opts.defaultName ?? "run",
    data: { ...v.data, stages },
    schedule,
    batch: { ...b, accumulation: b.tokens_per_step / perMicro },
    steps: step,
  } as TrainConfig;
}

/** Help text for every key of the schema, generated from its docs. */
export function schemaHelp(field: Field = TRAIN_SCHEMA, prefix = ""): string[] {
  if (field.kind !== "object") return [];
  const lines: string[] = [];
  for (const [k, f] of Object.entries(field.fields)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (f.kind === "object") {
      lines.push(...schemaHelp(f, key));
      continue;
    }
    if (f.kind === "array" && f.item.kind === "object") {
      lines.push(`  ${key}: list of stages, each:`);
      lines.push(...schemaHelp(f.item, `${key}[]`));
      continue;
    }
    const def = "default" in f && f.default !== undefined ? ` (default ${JSON.stringify(f.default)})` : f.optional ? " (optional)" : " (required)";
    const en = f.kind === "string" && f.enum ? ` one of: ${f.enum.join(", ")}` : "";
    lines.push(`  ${key}${def}${f.doc ? ` — ${f.doc}` : ""}${en}`.replace(/^(.{0,140}).*$/, "$1"));
  }
  return lines;
}
