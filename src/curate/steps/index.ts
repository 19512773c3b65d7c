// The step registry: every step type's config schema (with its defaults, which docs/curate.md
// states with their sources) and how to build it. config.ts validates against these fields;
// pipeline.ts builds the steps.
import * as path from "node:path";
import { z } from "zod";
import { DEFAULT_DECONTAM_TASKS } from "../benchmarks.js";
import { classifierStep } from "./classifier.js";
import { decontaminateStep } from "./decontaminate.js";
import { exactDedupStep } from "./exact.js";
import {
  C4_DEFAULTS, c4Step, FINEWEB_DEFAULTS, fineWebStep, GOPHER_QUALITY_DEFAULTS, GOPHER_REPETITION_DEFAULTS, gopherQualityStep, gopherRepetitionStep,
  type C4Config, type FineWebConfig, type GopherQualityConfig, type GopherRepetitionConfig,
} from "./heuristics.js";
import { minhashStep } from "./minhash.js";
import type { Step } from "./step.js";

export interface BuildContext {
  /** Folder relative paths in the pipeline are resolved against. */
  baseDir: string;
  workers: number;
}

export interface StepType {
  summary: string;
  /** The step's keys (zod schemas with their defaults). */
  fields: z.ZodRawShape;
  /** Cross-field checks, appending problems. */
  check?(cfg: Record<string, unknown>, at: string, problems: string[]): void;
  build(name: string, cfg: Record<string, unknown>, ctx: BuildContext): Promise<Step> | Step;
}

const num = (def: number) => z.number().min(0).default(def);
const int = (def: number, min: number, max?: number) => (max === undefined ? z.number().int().min(min) : z.number().int().min(min).max(max)).default(def);
const bool = (def: boolean) => z.boolean().default(def);
/** A rule set's keys from its defaults object: numbers ≥ 0, booleans, lists of number pairs. */
function fieldsOf(defaults: object): z.ZodRawShape {
  const out: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(defaults)) {
    out[k] = typeof v === "boolean" ? bool(v) : Array.isArray(v) ? z.array(z.array(z.number())).default(v as number[][]) : num(v as number);
  }
  return out;
}
const withDefaults = <T extends object>(defaults: T, cfg: Record<string, unknown>): T => ({ ...defaults, ...cfg }) as T;
const resolve = (ctx: BuildContext, p: string) => path.resolve(ctx.baseDir, p);

export const STEP_TYPES: Record<string, StepType> = {
  exact_dedup: {
    summary: "remove documents whose normalised text repeats an earlier one",
    fields: { normalize: bool(true) },
    build: (name, cfg) => exactDedupStep(name, { normalize: cfg.normalize as boolean }),
  },
  minhash: {
    summary: "MinHash-LSH near-dedup over word n-grams; one document kept per cluster",
    fields: { ngram: int(5, 1), bands: int(14, 1, 64), rows: int(8, 1, 64), seed: int(1, 0) },
    build: (name, cfg, ctx) => minhashStep(name, { ngram: cfg.ngram as number, bands: cfg.bands as number, rows: cfg.rows as number, seed: cfg.seed as number, workers: ctx.workers }),
  },
  decontaminate: {
    summary: "remove documents sharing a word n-gram with an evaluation item",
    fields: {
      ngram: int(13, 1),
      min_words: int(8, 1),
      tasks: z.array(z.string()).default(DEFAULT_DECONTAM_TASKS).describe("evaluation tasks (and mmlu:DIR)"),
      data_dir: z.string().optional().describe("folder of the evaluation JSONL files (default: the bundled ones)"),
    },
    build: (name, cfg, ctx) =>
      decontaminateStep(name, {
        ngram: cfg.ngram as number,
        minWords: cfg.min_words as number,
        tasks: (cfg.tasks as string[]).map((t) => (t.startsWith("mmlu:") ? `mmlu:${resolve(ctx, t.slice(5))}` : t)),
        dataDir: typeof cfg.data_dir === "string" ? resolve(ctx, cfg.data_dir) : undefined,
      }),
  },
  gopher_quality: {
    summary: "Gopher quality rules (word counts, word length, symbols, bullets, ellipses, letters, stop words)",
    fields: fieldsOf(GOPHER_QUALITY_DEFAULTS),
    build: (name, cfg) => gopherQualityStep(name, withDefaults<GopherQualityConfig>(GOPHER_QUALITY_DEFAULTS, cfg)),
  },
  gopher_repetition: {
    summary: "Gopher repetition rules (duplicate lines/paragraphs, top and repeated n-grams)",
    fields: fieldsOf(GOPHER_REPETITION_DEFAULTS),
    build: (name, cfg) => gopherRepetitionStep(name, withDefaults<GopherRepetitionConfig>(GOPHER_REPETITION_DEFAULTS, cfg)),
  },
  c4: {
    summary: "C4 line rules (drops lines; removes documents left with too few sentences)",
    fields: fieldsOf(C4_DEFAULTS),
    build: (name, cfg) => c4Step(name, withDefaults<C4Config>(C4_DEFAULTS, cfg)),
  },
  fineweb_quality: {
    summary: "FineWeb's extra rules (line punctuation, short lines, duplicated lines, list-like text)",
    fields: fieldsOf(FINEWEB_DEFAULTS),
    build: (name, cfg) => fineWebStep(name, withDefaults<FineWebConfig>(FINEWEB_DEFAULTS, cfg)),
  },
  classifier: {
    summary: "score every document with a trained quality classifier (score, int_score); keep at or above a threshold",
    fields: { model: z.string().describe("a classifier folder from `smol curate train`"), threshold: num(3), keep_scores: bool(true) },
    build: (name, cfg, ctx) => classifierStep(name, { model: resolve(ctx, cfg.model as string), threshold: cfg.threshold as number, keepScores: cfg.keep_scores as boolean }),
  },
};
