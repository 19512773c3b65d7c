// Sweep planning for reusable-run scaling studies (Hägele et al. §4–5, docs/references.md §7): a sweep
// file (base training config, model sizes, token budgets) becomes jobs — per size ONE constant-LR
// run with checkpoints at every budget's cooldown start, a cooldown branch per budget (and per extra
// shape), optional cosine baselines from scratch — with every budget checked against the batch size.
// Plain config trees in, resolved TrainConfigs out; running the jobs is queue.ts's (with cli/),
// reading their results and the FLOPs accounting results.ts's.
//
// Readouts: the trainer evaluates at stage ends, so the constant run is cut into stages (one mixture)
// that end at each branch point (and, with SWA, at each budget); cosine runs use the same cuts up to
// their budget, so a cosine run and the cooldown branch of the same budget see the same tokens.
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../errors.js";
import { readIndex } from "../data/shards.js";
import { parameterCount, type LlamaConfig } from "../models/config.js";
import { DECAY_SHAPES, type DecayShape } from "../optim/schedule.js";
import { z } from "zod";
import { MODEL_SHAPE, SHAPE_KEYS, readConfigFile, resolveTrainConfig, type TrainConfig } from "../train/config.js";
import { planBranch } from "../train/cooldown.js";
import { modelConfigFor } from "../train/preflight.js";
import { zodProblems } from "../util/schema.js";
import { SLURM_SCHEMA, type SlurmOptions } from "../jobs/slurm.js";

const lists = (doc: string) => z.array(z.number()).optional().describe(doc);
const BUDGETS = z.strictObject({
  tokens: lists("absolute training tokens per budget (each a multiple of step_multiple steps)"),
  tokens_per_param: lists("budgets as D/N ratios, rounded to the nearest reachable token count"),
  step_multiple: z.number().int().min(1).optional().describe("budgets are whole multiples of this many optimizer steps (default: the fewest steps whose cooldown start is a whole step, 5 for a 20% cooldown)"),
}).optional().describe("token budgets: give tokens or tokens_per_param");

/** The sweep file's schema (`base` is checked separately: a path or an inline mapping). */
export const SWEEP_SCHEMA = z.strictObject({
  name: z.string().optional().describe("sweep name (default: the file's name)"),
  data_dir: z.string().optional().describe("tokenized shards (overrides the base config's data.dir)"),
  tokenizer: z.string().optional().describe("tokenizer directory (overrides the base config's)"),
  seed: z.number().int().min(0).optional().describe("run seed of every run (default: the base config's)"),
  params: z.enum(["total", "non-embedding"]).default("total").describe("which parameter count N the points (and tokens_per_param) use"),
  sizes: z.array(z.strictObject({
    name: z.string().optional().describe("label and directory name (default: the preset, or d<d_model>-l<layers>)"),
    preset: z.string().optional().describe("a preset from `smol models`"),
    ...MODEL_SHAPE,
    lr: z.number().gt(0).optional().describe("constant LR of this size (default constant.lr)"),
    cosine_lr: z.number().gt(0).optional().describe("cosine peak LR of this size (default cosine.lr)"),
    budgets: BUDGETS,
  })).min(1),
  budgets: BUDGETS,
  constant: z.strictObject({
    lr: z.number().gt(0).optional().describe("the constant LR (default: the base config's optimizer.lr)"),
    warmup: z.number().int().min(0).optional().describe("warmup steps (default: the base config's schedule.warmup)"),
  }).prefault({}),
  cooldown: z.strictObject({
    fraction: z.number().gt(0).max(0.9).default(0.2).describe("cooldown share of each budget: branches start at (1 − fraction)·D"),
    shape: z.enum(DECAY_SHAPES as [string, ...string[]]).default("1-sqrt").describe("cooldown shape"),
    extra_shapes: z.array(z.string()).default([]).describe("more branches per budget with these shapes (e.g. [linear])"),
    final_lr: z.number().min(0).default(0).describe("LR at the end of each cooldown"),
  }).prefault({}),
  cosine: z.strictObject({
    enabled: z.boolean().default(true),
    lr: z.number().gt(0).optional().describe("cosine peak LR (default: 2 × the constant LR, the paper's ratio)"),
    final_fraction: z.number().min(0).max(1).default(0.1).describe("final LR / peak"),
    warmup: z.number().int().min(0).optional().describe("warmup steps (default: the constant run's)"),
  }).optional().describe("cosine baselines trained from scratch for every budget"),
  swa: z.strictObject({
    window: z.number().int().min(1).describe("SWA window in steps (readouts are cleanest when budgets are multiples of it)"),
    interval: z.number().int().min(1).default(5).describe("steps between SWA snapshots"),
  }).optional().describe("SWA readouts of the constant run at every budget (extends it to the largest budget)"),
  slurm: SLURM_SCHEMA.optional(),
});

export type SweepMethod = "cooldown" | "cosine" | "swa" | "constant" | `cooldown-${DecayShape}`;

export interface BudgetPlan {
  /** Training tokens D of this budget (a whole number of steps). */
  tokens: number;
  steps: number;
  /** Where the cooldown branch starts: (1 − fraction)·steps. */
  branchStep: number;
  cooldownSteps: number;
  /** What the sweep file asked for, when it was rounded (tokens_per_param budgets). */
  requested?: { tokens_per_param: number; tokens: number };
}

export interface SizePlan {
  name: string;
  model: LlamaConfig;
  /** Total parameters (tied embeddings once) and without the input embedding. */
  params: number;
  nonEmbeddingParams: number;
  /** The N that points.csv and tokens_per_param use (per the sweep's `params`). */
  n: number;
  lrConstant: number;
  lrCosine: number;
  budgets: BudgetPlan[];
  /** Steps of the constant run: the last branch point, or the last budget with SWA. */
  constantSteps: number;
}

export type SweepJob =
  | { id: string; kind: "constant" | "cosine"; size: string; runDir: string; steps: number; budget?: number; cfg: TrainConfig }
  | {
      id: string; kind: "cooldown"; size: string; runDir: string; steps: number; budget: number; shape: DecayShape; primary: boolean;
      /** Job id and run directory of the constant run, and the checkpoint step the branch starts from. */
      parent: string; parentDir: string; branchStep: number; cooldownSteps: number; finalLr: number;
    };

export interface SweepPlan {
  name: string;
  file: string;
  outDir: string;
  dataDir: string;
  tokensPerStep: number;
  seqLen: number;
  paramsKind: "total" | "non-embedding";
  cooldown: { fraction: number; shape: DecayShape; extraShapes: DecayShape[]; finalLr: number };
  cosine: { lr?: number; finalFraction: number; warmup: number } | null;
  swa: { window: number; interval: number } | null;
  warmup: number;
  stepMultiple: number;
  sizes: SizePlan[];
  /** In the order the queue should prefer: constant runs first (longest first), then the rest. */
  jobs: SweepJob[];
  /** Things worth saying before training (e.g. budgets rounded). */
  notes: string[];
  /** The sweep file's `slurm:` section (for --executor slurm). */
  slurm?: SlurmOptions;
}

/** Directory of a run inside the sweep: runs/<size>/<run>. */
export function runDirOf(outDir: string, size: string, run: string): string {
  return path.join(outDir, "runs", size, run);
}

const isWhole = (x: number) => Math.abs(x - Math.round(x)) < 1e-9 * Math.max(1, Math.abs(x));

/** The fewest steps q for which (1 − fraction)·q is a whole step (5 for 0.2); 0 if none up to 1000. */
export function minimalStepMultiple(fraction: number): number {
  for (let q = 1; q <= 1000; q++) if (isWhole((1 - fraction) * q)) return q;
  return 0;
}

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Read a sweep file and plan it; throws ConfigError listing every problem. */
export function planSweepFile(file: string, opts: { outDir?: string } = {}): SweepPlan {
  const tree = readConfigFile(file);
  const defaultName = path.basename(file).replace(/\.(ya?ml|json)$/, "");
  return planSweep(tree, { file, baseDir: path.dirname(file), defaultName, outDir: opts.outDir });
}

/** Plan a sweep from a parsed tree; `baseDir` resolves a `base:` path. */
export function planSweep(tree: Record<string, unknown>, opts: { file?: string; baseDir?: string; defaultName?: string; outDir?: string } = {}): SweepPlan {
  const file = opts.file ?? "sweep";
  const problems: string[] = [];
  const { base, ...rest } = tree;
  // 1. The base training config: a path (relative to the sweep file) or an inline mapping.
  let baseTree: Record<string, unknown> | undefined;
  let baseLabel = `${file} (base)`;
  if (base === undefined || base === null) {
    problems.push("base: required (a training config file, relative to the sweep file, or an inline mapping of its sections)");
  } else if (typeof base === "string") {
    const p = path.resolve(opts.baseDir ?? ".", base);
    baseLabel = p;
    if (!fs.existsSync(p)) problems.push(`base: the training config ${p} does not exist (paths are relative to the sweep file)`);
    else {
      try {
        baseTree = readConfigFile(p);
      } catch (e) {
        problems.push(`base: ${(e as Error).message}`);
      }
    }
  } else if (typeof base === "object" && !Array.isArray(base)) {
    baseTree = structuredClone(base as Record<string, unknown>);
  } else problems.push("base: expected a file path or a mapping of training-config sections");

  if (rest.cosine === null) rest.cosine = {}; // a bare `cosine:` in YAML turns the baselines on with defaults
  const parsed = SWEEP_SCHEMA.safeParse(rest, { reportInput: true });
  if (!parsed.success) problems.push(...zodProblems(parsed.error, SWEEP_SCHEMA));
  const v = (parsed.data ?? {}) as Raw;
  if (problems.length) throw new ConfigError(`${file}: invalid sweep`, problems, "fix the keys above; `smol sweep --help` lists every key");
  for (const [i, s] of (v.cooldown.extra_shapes as string[]).entries()) {
    if (!DECAY_SHAPES.includes(s as DecayShape)) problems.push(`cooldown.extra_shapes[${i}]: must be one of ${DECAY_SHAPES.join(", ")}, got "${s}"`);
    else if (s === v.cooldown.shape) problems.push(`cooldown.extra_shapes[${i}]: "${s}" is already the main shape`);
  }
  if (v.cooldown.shape === "power" || (v.cooldown.extra_shapes as string[]).includes("power")) problems.push("cooldown: shape power needs an exponent; sweeps support the other shapes");

  // 2. The base config, with the sweep's overrides, must resolve on its own.
  const b = baseTree!;
  if (v.data_dir !== undefined) b.data = { ...(b.data as Raw), dir: v.data_dir };
  if (v.tokenizer !== undefined) b.tokenizer = v.tokenizer;
  if (v.seed !== undefined) b.seed = v.seed;
  delete b.threads; // the sweep splits threads between its jobs (SMOL_THREADS)
  // The sweep replaces the schedule (keeping its warmup), the model (per size) and the stage's
  // tokens (per budget); everything else must resolve as it stands.
  const sched = (b.schedule ?? {}) as Raw;
  b.schedule = { kind: "constant", ...(sched.warmup !== undefined ? { warmup: sched.warmup } : {}), ...(sched.warmup_start_factor !== undefined ? { warmup_start_factor: sched.warmup_start_factor } : {}) };
  const probe: Raw = structuredClone(b);
  const tpsRaw = (probe.batch as Raw | undefined)?.tokens_per_step;
  const stagesRaw = (probe.data as Raw | undefined)?.stages;
  if (Array.isArray(stagesRaw) && typeof tpsRaw === "number") for (const st of stagesRaw) if (st && typeof st === "object") st.tokens = Math.max(1, tpsRaw) * Math.max(1, (sched.warmup as number) ?? 0, 1);
  const m0 = (probe.model ?? {}) as Raw;
  if (!m0.preset && !m0.from && SHAPE_KEYS.some((k) => m0[k] === undefined)) probe.model = { ...m0, preset: "debug", d_model: undefined, layers: undefined, heads: undefined, kv_heads: undefined, ffn: undefined };
  let baseCfg: TrainConfig;
  try {
    baseCfg = resolveTrainConfig(probe, { file: baseLabel, defaultName: "base" });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: the base training config is invalid: ${e.message}`, [], e.hint);
    throw e;
  }
  if (baseCfg.model.from) problems.push("base: model.from (continued pretraining) is not supported in sweeps; give a preset or a shape per size");
  if (baseCfg.data.stages.length !== 1) problems.push(`base: data.stages has ${baseCfg.data.stages.length} stages; a sweep trains every run on one mixture (give one stage; its tokens are replaced by the budgets)`);
  if (problems.length) throw new ConfigError(`${file}: invalid sweep`, problems);
  const mixture = baseCfg.data.stages[0].mixture;
  const tps = baseCfg.batch.tokens_per_step;
  const fraction: number = v.cooldown.fraction;
  const warmup: number = v.constant.warmup ?? baseCfg.schedule.warmup ?? 0;
  const lrDefault: number = v.constant.lr ?? baseCfg.optimizer.lr;
  const index = readIndex(baseCfg.data.dir);

  // 3. Step multiple: budgets are whole multiples of q steps so that (1 − f)·D is a whole step.
  const minQ = minimalStepMultiple(fraction);
  if (minQ === 0) throw new ConfigError(`${file}: cooldown.fraction ${fraction}: no step count up to 1000 puts the branch point (1 − ${fraction})·D on a whole step`, [], "use a fraction such as 0.1, 0.2 or 0.25");
  const sizes: SizePlan[] = [];
  const names = new Set<string>();
  const shapeKeys = SHAPE_KEYS;
  let stepMultiple = minQ;
  const notes: string[] = [];
  (v.sizes as Raw[]).forEach((s, i) => {
    const at = `sizes[${i}]`;
    const model: Raw = { ...(b.model as Raw) };
    const hasShape = shapeKeys.some((k) => s[k] !== undefined);
    if (s.preset !== undefined && hasShape) {
      problems.push(`${at}: give a preset or shape keys (${shapeKeys.join(", ")}), not both`);
      return;
    }
    if (s.preset !== undefined) {
      for (const k of shapeKeys) delete model[k];
      delete model.from;
      model.preset = s.preset;
    } else if (hasShape) {
      delete model.preset;
      delete model.from;
      for (const k of shapeKeys) if (s[k] !== undefined) model[k] = s[k];
      const missing = shapeKeys.filter((k) => model[k] === undefined);
      if (missing.length) {
        problems.push(`${at}: missing ${missing.join(", ")} (give all of ${shapeKeys.join(", ")}, or a preset)`);
        return;
      }
    } else if (!model.preset && shapeKeys.some((k) => model[k] === undefined)) {
      problems.push(`${at}: give a preset or the shape keys ${shapeKeys.join(", ")}`);
      return;
    }
    const name: string = s.name ?? (model.preset ? String(model.preset) : `d${model.d_model}-l${model.layers}`);
    if (!/^[A-Za-z0-9._-]+$/.test(name)) problems.push(`${at}.name: "${name}" must be letters, digits, '.', '_' or '-' (it names a directory)`);
    if (names.has(name)) problems.push(`${at}.name: "${name}" is used by another size (give each a distinct name)`);
    names.add(name);
    let mc: LlamaConfig;
    try {
      const sized = resolveTrainConfig({ ...probe, model }, { file: `${file} ${at}`, defaultName: name });
      const shapeProblems: string[] = [];
      mc = modelConfigFor(sized, index.vocabSize, index.eosId, shapeProblems);
      if (shapeProblems.length) throw new ConfigError("invalid model", shapeProblems);
    } catch (e) {
      problems.push(`${at}: ${(e as Error).message.replace(/\n\s*-\s*/g, "; ")}`);
      return;
    }
    const params = parameterCount(mc);
    const nonEmbeddingParams = params - mc.vocab * mc.d;
    const n = v.params === "non-embedding" ? nonEmbeddingParams : params;
    const bud: Raw | undefined = s.budgets ?? v.budgets;
    const bat = s.budgets ? `${at}.budgets` : "budgets";
    if (!bud || (bud.tokens === undefined) === (bud.tokens_per_param === undefined)) {
      problems.push(`${bud ? bat : at}: give exactly one of tokens or tokens_per_param${bud ? "" : " (here or in a top-level budgets section)"}`);
      return;
    }
    const q: number = bud.step_multiple ?? minQ;
    if (!isWhole((1 - fraction) * q)) {
      problems.push(`${bat}.step_multiple: (1 − ${fraction}) × ${q} = ${((1 - fraction) * q).toFixed(3)} is not a whole step; use a multiple of ${minQ}`);
      return;
    }
    stepMultiple = Math.max(stepMultiple, q);
    const unit = q * tps;
    const budgets: BudgetPlan[] = [];
    const list: number[] = bud.tokens ?? bud.tokens_per_param;
    if (list.length === 0) problems.push(`${bat}: needs at least one budget`);
    list.forEach((x, j) => {
      if (!(x > 0)) {
        problems.push(`${bat}.${bud.tokens ? "tokens" : "tokens_per_param"}[${j}]: must be > 0, got ${x}`);
        return;
      }
      let steps: number;
      let requested: BudgetPlan["requested"];
      if (bud.tokens) {
        const lo = Math.floor(x / unit) * unit;
        const fix = `use ${lo > 0 ? `${lo} or ` : ""}${lo + unit} (multiples of ${q} steps × ${tps} tokens_per_step)`;
        if (!Number.isInteger(x) || x % tps !== 0) {
          problems.push(`${bat}.tokens[${j}]: ${x} is not a multiple of batch.tokens_per_step ${tps}; ${fix}`);
          return;
        }
        if ((x / tps) % q !== 0) {
          const why = q === minQ
            ? `its cooldown start (1 − ${fraction}) × ${x / tps} steps = ${((1 - fraction) * x / tps).toFixed(2)} is not a whole step`
            : `it is not a multiple of step_multiple ${q} steps`;
          problems.push(`${bat}.tokens[${j}]: ${x} tokens (${x / tps} steps): ${why}; ${fix}`);
          return;
        }
        steps = x / tps;
      } else {
        const want = x * n;
        steps = Math.max(q, Math.round(want / unit) * q);
        requested = { tokens_per_param: x, tokens: Math.round(want) };
      }
      const branchStep = Math.round((1 - fraction) * steps);
      const cooldownSteps = steps - branchStep;
      if (branchStep < Math.max(1, warmup)) {
        problems.push(`${bat}[${j}]: budget ${steps * tps} tokens (${steps} steps) branches at step ${branchStep}, inside the ${warmup}-step warmup; use larger budgets or a shorter constant.warmup`);
        return;
      }
      if (budgets.some((o) => o.steps === steps)) {
        problems.push(`${bat}[${j}]: budget ${steps * tps} tokens (${steps} steps) appears twice${requested ? " after rounding" : ""} for size ${name}`);
        return;
      }
      budgets.push({ tokens: steps * tps, steps, branchStep, cooldownSteps, requested });
    });
    budgets.sort((a, c) => a.steps - c.steps);
    if (bud.tokens_per_param && budgets.some((x) => x.requested && x.requested.tokens !== x.tokens)) {
      notes.push(`${name}: tokens_per_param budgets rounded to multiples of ${q} steps (${unit} tokens): ${budgets.map((x) => `${x.requested!.tokens_per_param}·N = ${x.requested!.tokens} → ${x.tokens}`).join(", ")}`);
    }
    const lrConstant: number = s.lr ?? lrDefault;
    const lrCosine: number = s.cosine_lr ?? v.cosine?.lr ?? 2 * lrConstant;
    const constantSteps = budgets.length ? Math.max(...budgets.map((x) => (v.swa ? x.steps : x.branchStep))) : 0;
    sizes.push({ name, model: mc, params, nonEmbeddingParams, n, lrConstant, lrCosine, budgets, constantSteps });
  });
  const cosineOn = v.cosine !== undefined && v.cosine.enabled !== false;
  const cosWarm: number = v.cosine?.warmup ?? warmup;
  if (cosineOn) {
    for (const s of sizes) for (const x of s.budgets) if (x.steps <= cosWarm) problems.push(`cosine.warmup: ${cosWarm} steps do not fit the ${x.steps}-step budget of size ${s.name}`);
  }
  if (v.swa) {
    const off = sizes.flatMap((s) => s.budgets.filter((x) => x.steps % v.swa.window !== 0).map((x) => `${s.name} ${x.steps}`));
    if (off.length) notes.push(`SWA readouts at budgets that are not multiples of the ${v.swa.window}-step window average only the part of the window before them (${off.join(", ")} steps)`);
  }
  if (problems.length) throw new ConfigError(`${file}: invalid sweep`, problems, "fix the keys above; `smol sweep --help` lists every key");

  const name: string = v.name ?? opts.defaultName ?? "sweep";
  const outDir = opts.outDir ?? path.join("runs", name);
  const plan: SweepPlan = {
    name, file, outDir, dataDir: baseCfg.data.dir, tokensPerStep: tps, seqLen: baseCfg.batch.seq_len,
    paramsKind: v.params,
    cooldown: { fraction, shape: v.cooldown.shape, extraShapes: v.cooldown.extra_shapes, finalLr: v.cooldown.final_lr },
    cosine: cosineOn ? { lr: v.cosine.lr, finalFraction: v.cosine.final_fraction, warmup: cosWarm } : null,
    swa: v.swa ? { window: v.swa.window, interval: v.swa.interval } : null,
    warmup, stepMultiple, sizes, jobs: [], notes, ...(v.slurm ? { slurm: v.slurm } : {}),
  };
  plan.jobs = makeJobs(plan, b, mixture);
  return plan;
}

/** Stage boundaries (ascending steps) → single-mixture stages that end at each, up to `total`. */
export function readoutStages(boundaries: readonly number[], total: number, tps: number, mixture: Record<string, number>): Array<{ name: string; tokens: number; mixture: Record<string, number> }> {
  const ends = [...new Set([...boundaries.filter((s) => s > 0 && s < total), total])].sort((a, c) => a - c);
  let prev = 0;
  return ends.map((e) => {
    const st = { name: `to-${e}`, tokens: (e - prev) * tps, mixture };
    prev = e;
    return st;
  });
}

function makeJobs(plan: SweepPlan, base: Record<string, unknown>, mixture: Record<string, number>): SweepJob[] {
  const constant: SweepJob[] = [];
  const others: SweepJob[] = [];
  const baseSched = (base.schedule ?? {}) as Raw;
  const baseAvg = (base.averaging ?? {}) as Raw;
  const baseCk = (base.checkpoint ?? {}) as Raw;
  for (const s of plan.sizes) {
    const model = { ...(base.model as Raw) };
    for (const k of ["preset", "from", "d_model", "layers", "heads", "kv_heads", "ffn", "vocab"]) delete model[k];
    // Re-state the resolved shape explicitly, so every job of a size trains exactly this model.
    Object.assign(model, { d_model: s.model.d, layers: s.model.layers, heads: s.model.heads, kv_heads: s.model.kvHeads, ffn: s.model.ffn, vocab: s.model.vocab, tied: s.model.tied, rope_theta: s.model.ropeTheta, init_std: s.model.initStd, max_seq: s.model.maxSeq });
    const readouts = s.budgets.flatMap((x) => (plan.swa ? [x.branchStep, x.steps] : [x.branchStep]));
    const warm = baseSched.warmup_start_factor !== undefined ? { warmup_start_factor: baseSched.warmup_start_factor } : {};
    const cfgFor = (run: string, total: number, optimizerLr: number, schedule: Raw, extra: Raw): TrainConfig => resolveTrainConfig({
      ...base,
      name: `${plan.name}-${s.name}-${run}`,
      model,
      data: { ...(base.data as Raw), stages: readoutStages(readouts, total, plan.tokensPerStep, mixture) },
      optimizer: { ...(base.optimizer as Raw), lr: optimizerLr },
      schedule: { ...schedule, ...warm },
      ...extra,
    }, { file: `${plan.file} (${s.name}/${run})` });
    const constDir = runDirOf(plan.outDir, s.name, "constant");
    const constId = `${s.name}/constant`;
    const noAvg = { ...baseAvg, swa_window: 0, ema_decay: 0 };
    constant.push({
      id: constId, kind: "constant", size: s.name, runDir: constDir, steps: s.constantSteps,
      cfg: cfgFor("constant", s.constantSteps, s.lrConstant, { kind: "constant", warmup: plan.warmup }, {
        checkpoint: { ...baseCk, at_steps: [...new Set(readouts)].sort((a, c) => a - c) },
        averaging: plan.swa ? { ...baseAvg, swa_window: plan.swa.window, swa_interval: plan.swa.interval } : baseAvg,
      }),
    });
    for (const x of s.budgets) {
      for (const shape of [plan.cooldown.shape, ...plan.cooldown.extraShapes]) {
        const primary = shape === plan.cooldown.shape;
        const run = primary ? `cooldown-${x.tokens}` : `cooldown-${shape}-${x.tokens}`;
        others.push({
          id: `${s.name}/${run}`, kind: "cooldown", size: s.name, runDir: runDirOf(plan.outDir, s.name, run), steps: x.steps, budget: x.tokens,
          shape, primary, parent: constId, parentDir: constDir, branchStep: x.branchStep, cooldownSteps: x.cooldownSteps, finalLr: plan.cooldown.finalLr,
        });
      }
      if (plan.cosine) {
        const run = `cosine-${x.tokens}`;
        others.push({
          id: `${s.name}/${run}`, kind: "cosine", size: s.name, runDir: runDirOf(plan.outDir, s.name, run), steps: x.steps, budget: x.tokens,
          cfg: cfgFor(run, x.steps, s.lrCosine, { kind: "cosine", warmup: plan.cosine.warmup, final_fraction: plan.cosine.finalFraction }, { averaging: noAvg }),
        });
      }
    }
  }
  // Longest first: constant runs gate the branches; among the rest, big jobs first shortens the tail.
  const cost = (j: SweepJob) => j.steps * (plan.sizes.find((s) => s.name === j.size)?.params ?? 1) * (j.kind === "cooldown" ? j.cooldownSteps / j.steps : 1);
  constant.sort((a, c) => cost(c) - cost(a));
  others.sort((a, c) => cost(c) - cost(a));
  return [...constant, ...others];
}

/** Everything a child process needs to run one job: a resolved config, its run directory, a start. */
export interface JobSpec {
  format: "smollab-sweep-job";
  id: string;
  run_dir: string;
  config: TrainConfig;
  /** Cooldown branches start from the parent's checkpoint (unless the branch has its own). */
  from?: { checkpoint: string };
  /** The compute backend every job of the sweep must use (set by the runner), e.g. "native". */
  backend?: string;
}

/**
 * The training job behind a sweep job. Branches are planned with planBranch from the parent's
 * checkpoint (which must exist by now), with weight averaging off: SWA is read from the constant run.
 */
export function jobSpec(job: SweepJob): JobSpec {
  if (job.kind !== "cooldown") return { format: "smollab-sweep-job", id: job.id, run_dir: job.runDir, config: job.cfg };
  const b = planBranch({ parentDir: job.parentDir, step: job.branchStep, steps: job.cooldownSteps, shape: job.shape, finalLr: job.finalLr });
  const parentName = b.cfg.name.replace(/-cooldown-\d+\+\d+$/, "").replace(/-constant$/, "");
  const config: TrainConfig = {
    ...b.cfg,
    name: `${parentName}-cooldown-${job.shape}-${job.budget}`,
    averaging: { ...b.cfg.averaging, swa_window: 0, ema_decay: 0 },
  };
  return { format: "smollab-sweep-job", id: job.id, run_dir: job.runDir, config, from: { checkpoint: b.checkpoint } };
}
