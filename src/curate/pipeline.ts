// Runs a curation pipeline: builds the steps, streams the input once per global step (MinHash)
// plus a final pass, and writes DIR/kept/, DIR/removed/<step>/, DIR/stats.json and DIR/report.html.
// Resumable: DIR/.curate/ holds the pipeline hash and each resolved global step; a killed run
// redoes only the unfinished pass, and the final outputs are built in a temporary folder and moved
// into place, so the result is byte-identical to an uninterrupted run.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../errors.js";
import { expandPaths, newReadStats } from "../data/sources.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import type { Pipeline } from "./config.js";
import { keptLine, readCurateBatches, type CurateDoc, type InputSpec } from "./records.js";
import { renderReport } from "./report.js";
import { initZstd, ShardWriter } from "./shards.js";
import { STEP_TYPES } from "./steps/index.js";
import type { Histogram, Step } from "./steps/step.js";

export interface CurateOptions {
  out: string;
  workers?: number;
  /** Called about once per input batch. */
  onProgress?: (p: CurateProgress) => void;
}

export interface CurateProgress {
  pass: number;
  passes: number;
  what: string;
  docs: number;
  bytes: number;
}

export interface StepStats {
  name: string;
  type: string;
  documents_in: number;
  documents_out: number;
  removed: number;
  characters_in: number;
  characters_out: number;
  tokens_in: number | null;
  tokens_out: number | null;
  [k: string]: unknown;
}

export interface CurateStats {
  input: { files: number; documents: number; bytes_read: number; characters: number; tokens: number | null; skipped: number; problems: string[] };
  steps: StepStats[];
  output: { documents: number; characters: number; tokens: number | null; format: string; files: string[] };
  /** What token counts mean (null when no tokenizer is configured). */
  tokenizer: string | null;
}

export interface RemovedExample {
  id: string;
  reason: string;
  text: string;
}

export interface CurateResult {
  stats: CurateStats;
  /** False when DIR already held the finished output of this pipeline. */
  ran: boolean;
  passes: number;
}

const STATE = ".curate";

function pipelineHash(p: Pipeline, files: string[]): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ input: p.input, steps: p.steps, output: p.output, stats: p.stats, v: 1 }));
  for (const f of files) {
    const st = fs.statSync(f);
    h.update(`\n${f}\t${st.size}\t${st.mtimeMs}`);
  }
  return h.digest("hex").slice(0, 16);
}

/** Run (or resume) a pipeline into `opts.out`. */
export async function runCurate(p: Pipeline, opts: CurateOptions): Promise<CurateResult> {
  const out = path.resolve(opts.out);
  const files = expandPaths(p.input.paths, p.baseDir);
  const hash = pipelineHash(p, files);
  const stateDir = path.join(out, STATE);
  const manifest = path.join(stateDir, "manifest.json");
  if (fs.existsSync(manifest)) {
    const m = JSON.parse(fs.readFileSync(manifest, "utf8")) as { hash: string };
    if (m.hash !== hash) throw new ConfigError(`${out} holds the output of a different pipeline (or its input files changed)`, [], "pass another --out, or delete that folder to start over");
    if (fs.existsSync(path.join(stateDir, "final.done"))) {
      return { stats: JSON.parse(fs.readFileSync(path.join(out, "stats.json"), "utf8")) as CurateStats, ran: false, passes: 0 };
    }
  } else if (fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    throw new ConfigError(`${out} exists and is not a curation output folder`, [], "pass an empty or new folder with --out");
  }
  fs.mkdirSync(stateDir, { recursive: true });
  if (!fs.existsSync(manifest)) writeJsonAtomic(manifest, { hash, created_by: "smol curate" });

  const ctx = { baseDir: p.baseDir, workers: Math.max(1, opts.workers ?? 1) };
  const steps: Step[] = [];
  for (const s of p.steps) steps.push(await STEP_TYPES[s.type].build(s.name, s.config, ctx));
  const tokenizer = p.stats.tokenizer ? await loadTokenizer(path.resolve(p.baseDir, p.stats.tokenizer)) : undefined;
  if (p.output.format === "jsonl.zst") await initZstd();

  const input: InputSpec = { files, baseDir: p.baseDir, textField: p.input.text_field, idField: p.input.id_field, onBad: p.input.on_bad };
  const globals = steps.map((s, i) => (s.kind === "global" ? i : -1)).filter((i) => i >= 0);
  const passes = globals.length + 1;
  let passNo = 0;
  let nDocs = 0;

  const runPass = async (what: string, visit: (doc: CurateDoc) => Promise<void> | void, after?: () => Promise<void>) => {
    passNo++;
    for (const s of steps) s.reset();
    const rs = newReadStats();
    for await (const batch of readCurateBatches(input, rs)) {
      for (const doc of batch) await visit(doc);
      if (after) await after();
      opts.onProgress?.({ pass: passNo, passes, what, docs: rs.docs, bytes: rs.fileBytes });
    }
    nDocs = rs.docs;
    return rs;
  };

  try {
    // Passes that collect for global steps (skipped when an earlier run resolved them).
    for (const g of globals) {
      const gs = steps[g];
      if (gs.kind !== "global") continue;
      const dir = path.join(stateDir, `step-${g}-${gs.name}`);
      if (gs.load(dir)) {
        passNo++;
        continue;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      gs.begin(dir);
      let pending: CurateDoc[] = [];
      await runPass(`hashing for ${gs.name}`, (doc) => {
        for (let i = 0; i < g; i++) if (steps[i].apply(doc)) return;
        pending.push(doc);
      }, async () => {
        if (pending.length) await gs.collect(pending);
        pending = [];
      });
      await gs.resolve(dir, nDocs);
    }

    // The final pass: every decision, outputs into a temporary folder.
    const tmp = path.join(stateDir, "final");
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const maxBytes = Math.round(p.output.shard_mb * (1 << 20));
    const kept = new ShardWriter(path.join(tmp, "kept"), p.output.format, maxBytes);
    for (const s of steps) fs.mkdirSync(path.join(tmp, "removed", s.name), { recursive: true });
    const removed = steps.map((s) => new ShardWriter(path.join(tmp, "removed", s.name), p.output.format, maxBytes));
    const stepStats: StepStats[] = steps.map((s) => ({
      name: s.name, type: s.type, documents_in: 0, documents_out: 0, removed: 0, characters_in: 0, characters_out: 0,
      tokens_in: tokenizer ? 0 : null, tokens_out: tokenizer ? 0 : null,
    }));
    const examples: RemovedExample[][] = steps.map(() => []);
    let inChars = 0;
    let inTokens = 0;
    let outDocs = 0;
    let outChars = 0;
    let outTokens = 0;
    const countTokens = (text: string) => (tokenizer ? tokenizer.encode(text).length : 0);
    const rs = await runPass("writing", (doc) => {
      let chars = doc.text.length;
      let tokens = countTokens(doc.text);
      inChars += chars;
      inTokens += tokens;
      for (let i = 0; i < steps.length; i++) {
        const st = stepStats[i];
        st.documents_in++;
        st.characters_in += chars;
        if (tokenizer) st.tokens_in = (st.tokens_in as number) + tokens;
        const r = steps[i].apply(doc);
        if (r) {
          st.removed++;
          removed[i].write(JSON.stringify({ id: doc.id, reason: r.reason, ...r.details }));
          if (examples[i].length < p.stats.examples) examples[i].push({ id: doc.id, reason: r.reason, text: doc.text.slice(0, 600) });
          return;
        }
        if (doc.rewritten && doc.text.length !== chars) {
          chars = doc.text.length;
          tokens = countTokens(doc.text);
        }
        st.documents_out++;
        st.characters_out += chars;
        if (tokenizer) st.tokens_out = (st.tokens_out as number) + tokens;
      }
      kept.write(keptLine(doc, p.input.text_field));
      outDocs++;
      outChars += chars;
      outTokens += tokens;
    });
    kept.close();
    removed.forEach((w) => w.close());
    steps.forEach((s, i) => Object.assign(stepStats[i], s.summary?.() ?? {}));
    const histograms: Array<{ step: string; h: Histogram }> = [];
    steps.forEach((s) => s.histograms?.().forEach((h) => histograms.push({ step: s.name, h })));
    const rel = (f: string) => path.relative(tmp, f).split(path.sep).join("/");
    const stats: CurateStats = {
      input: { files: rs.files, documents: rs.docs, bytes_read: rs.fileBytes, characters: inChars, tokens: tokenizer ? inTokens : null, skipped: rs.skipped, problems: rs.problems },
      steps: stepStats,
      output: { documents: outDocs, characters: outChars, tokens: tokenizer ? outTokens : null, format: p.output.format, files: kept.files.map(rel) },
      tokenizer: p.stats.tokenizer ?? null,
    };
    writeJsonAtomic(path.join(tmp, "stats.json"), stats);
    writeFileAtomic(path.join(tmp, "report.html"), renderReport(stats, examples, histograms));
    // Move into place: kept/ and removed/ replace any partial copies; stats.json last.
    for (const d of ["kept", "removed"]) {
      fs.rmSync(path.join(out, d), { recursive: true, force: true });
      if (fs.existsSync(path.join(tmp, d))) fs.renameSync(path.join(tmp, d), path.join(out, d));
      else fs.mkdirSync(path.join(out, d));
    }
    fs.renameSync(path.join(tmp, "report.html"), path.join(out, "report.html"));
    fs.renameSync(path.join(tmp, "stats.json"), path.join(out, "stats.json"));
    writeFileAtomic(path.join(stateDir, "final.done"), "");
    fs.rmSync(tmp, { recursive: true, force: true });
    return { stats, ran: true, passes };
  } finally {
    for (const s of steps) if (s.kind === "global") await s.close?.();
  }
}

