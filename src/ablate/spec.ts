// The ablation file (`smol ablate ABLATION.yaml`): one zod schema per kind. `anneal` branches
// cooldowns from a checkpoint of a run with a candidate source mixed in at a share (SmolLM2's
// annealing ablations, REFERENCE.md §2); `scratch` trains one small run per candidate mixture from
// scratch with the same budget and seed (SmolLM2's web ablations). Both evaluate each branch on a
// task suite and on per-source validation loss.
import * as path from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import { SLURM_SCHEMA } from "../jobs/slurm.js";
import { DECAY_SHAPES } from "../optim/schedule.js";
import { readConfigFile } from "../train/config.js";
import { parseConfig, schemaHelp } from "../util/schema.js";

const posInt = (doc: string) => z.number().int().min(1).describe(doc);

const EvalSection = z.strictObject({
  tasks: z.array(z.string()).default([]).describe("benchmark tasks evaluated on each branch's final weights (`smol eval --help` lists them)"),
  limit: posInt("items per task").default(200),
  val_tokens: posInt("validation tokens per source for the per-source loss (default: the run's eval.tokens)").optional(),
  max_new_tokens: posInt("gsm8k generation budget (default min(256, context/2); prompts are cut from the left)").optional(),
}).prefault({});

const Common = {
  name: z.string().optional().describe("ablation name (default: the file's name)"),
  eval: EvalSection,
  checkpoint_every: z.number().int().min(0).default(0).describe("save every N steps inside a branch (0 = only at its end); a killed ablation resumes from these"),
  max_epochs: z.number().gt(0).optional().describe("override the run's data.max_epochs for the branches"),
  slurm: SLURM_SCHEMA.optional().describe("sbatch settings for --executor slurm: partition, account, time, cpus_per_task, mem, extra (list of sbatch flags), max_retries (default 3), poll_s (default 10)"),
};

export const ANNEAL_SCHEMA = z.strictObject({
  kind: z.literal("anneal"),
  from: z.string().describe("the run directory to branch from (a `smol train` run)"),
  step: posInt("the checkpoint step of that run the branches start from"),
  decay: z.strictObject({
    tokens: posInt("tokens per branch; the LR decays to final_lr over them (a multiple of tokens_per_step)"),
    shape: z.enum(DECAY_SHAPES as unknown as [string, ...string[]]).default("linear").describe("decay shape"),
    final_lr: z.number().min(0).default(0).describe("LR at the end of the decay"),
  }),
  share: z.number().min(0).max(1).describe("the candidate's share of a branch's tokens; the previous mixture is scaled to the rest"),
  candidates: z.record(z.string(), z.string()).refine((m) => Object.keys(m).length > 0, "needs at least 1 candidate").describe("branch name: source in the run's data dir"),
  base_mixture: z.record(z.string(), z.number().gt(0)).optional().describe("the previous mixture (default: the mixture of the run's stage at `step`)"),
  control: z.boolean().default(true).describe("also run the control branch on the previous mixture alone"),
  ...Common,
});

export const SCRATCH_SCHEMA = z.strictObject({
  kind: z.literal("scratch"),
  base: z.union([z.string(), z.record(z.string(), z.unknown())]).describe("training config (a path relative to this file, or a mapping); each stage's mixture is replaced"),
  candidates: z.record(z.string(), z.record(z.string(), z.number().min(0))).refine((m) => Object.keys(m).length > 0, "needs at least 1 candidate").describe("branch name: mixture (source: weight, summing to 1)"),
  control: z.string().optional().describe("the candidate the others are compared with (default: the first)"),
  data_dir: z.string().optional().describe("override the base config's data.dir"),
  tokenizer: z.string().optional().describe("override the base config's tokenizer"),
  ...Common,
});

export type AnnealSpec = z.output<typeof ANNEAL_SCHEMA>;
export type ScratchSpec = z.output<typeof SCRATCH_SCHEMA>;
export type AblationSpec = AnnealSpec | ScratchSpec;

const HINT = "fix the keys above; `smol ablate --help` lists every key";

/** Validate an ablation tree (kind decides the schema). */
export function parseAblation(tree: unknown, file = "ablation"): AblationSpec {
  const kind = (tree as { kind?: unknown } | null)?.kind;
  if (kind === "anneal") return parseConfig(ANNEAL_SCHEMA, tree, `${file}: invalid anneal ablation`, HINT);
  if (kind === "scratch") return parseConfig(SCRATCH_SCHEMA, tree, `${file}: invalid scratch ablation`, HINT);
  throw new ConfigError(`${file}: invalid ablation`, [`kind: must be anneal or scratch, got ${kind === undefined ? "nothing" : JSON.stringify(kind)}`], HINT);
}

/** Read and validate an ablation file (YAML or JSON). */
export function readAblationFile(file: string): AblationSpec {
  const tree = readConfigFile(file);
  const spec = parseAblation(tree, file);
  return { ...spec, name: spec.name ?? path.basename(file).replace(/\.(ya?ml|json)$/, "") };
}

/** Help lines for both kinds' keys. */
export function ablationHelp(): string[] {
  return ["kind: anneal", ...schemaHelp(ANNEAL_SCHEMA).filter((l) => !/^\s*kind\b/.test(l)), "", "kind: scratch", ...schemaHelp(SCRATCH_SCHEMA).filter((l) => !/^\s*kind\b/.test(l))];
}
