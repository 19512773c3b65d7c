// What a curation step is. A local step decides about one document at a time (filters,
// decontamination, classifier scores; exact dedup keeps a set of hashes seen earlier in the same
// pass). A global step needs every document first (MinHash near-dedup): it collects in one pass,
// resolves on disk between passes, and decides in the next. Steps are built from config (config.ts).
import type { CurateDoc } from "../records.js";

/** Why a document was removed; `details` are written beside `id` and `reason`. */
export interface Removal {
  reason: string;
  details?: Record<string, unknown>;
}

/** A named distribution a step records for the report (e.g. classifier scores). */
export interface Histogram {
  label: string;
  /** Bin edges (length bins + 1). */
  edges: number[];
  counts: number[];
}

export function newHistogram(label: string, lo: number, hi: number, bins: number): Histogram {
  return { label, edges: Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins), counts: new Array(bins).fill(0) };
}

export function addToHistogram(h: Histogram, v: number): void {
  const n = h.counts.length;
  const lo = h.edges[0];
  const hi = h.edges[n];
  let b = Math.floor(((v - lo) / (hi - lo)) * n);
  if (!(b >= 0)) b = 0;
  if (b >= n) b = n - 1;
  h.counts[b]++;
}

interface StepBase {
  /** Folder name under removed/ (the step type, made unique). */
  name: string;
  /** The step type as written in the pipeline (exact_dedup, minhash, …). */
  type: string;
  /** Start of a pass over the input: forget per-pass state. */
  reset(): void;
  /** Decide about one document that every earlier step kept. */
  apply(doc: CurateDoc): Removal | undefined;
  /** Step-specific results for stats.json (after the final pass). */
  summary?(): Record<string, unknown>;
  /** Distributions for the report (after the final pass). */
  histograms?(): Histogram[];
}

export interface LocalStep extends StepBase {
  kind: "local";
}

export interface GlobalStep extends StepBase {
  kind: "global";
  /** Load a resolved state saved by an earlier run in `dir`; false when there is none. */
  load(dir: string): boolean;
  /** Start collecting into `dir`. */
  begin(dir: string): void;
  /** Collect a batch of documents that every earlier step kept. */
  collect(docs: CurateDoc[]): Promise<void>;
  /** After the pass: resolve what to remove (every document index < nDocs) and save it in `dir`. */
  resolve(dir: string, nDocs: number): Promise<void>;
  /** Free workers and files. */
  close?(): Promise<void>;
}

export type Step = LocalStep | GlobalStep;
