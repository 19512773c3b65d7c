// Raw sources → tokenized shards. Per source: a scan pass (hash every document: exact duplicates
// dropped, held-out split chosen by document hash), then an encode pass (in worker threads or inline)
// that packs documents, each followed by EOS, into shards of about `shardTokens` tokens. A manifest is
// rewritten atomically after every shard, so a rerun skips finished shards and writes the same bytes.
// Memory: one byte per document plus a 16-byte hash per unique document (the dedup set), and the
// shard being filled. The file format and reader are in shards.ts; the CLI is cli/commands/tokenize.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { DataError } from "../errors.js";
import { makeTempDirBeside, replaceDirAtomic, TMP_PREFIX, writeFileAtomic, writeJsonAtomic } from "../io/atomic.js";
import {
  MAX_SHARD_TOKENS, encodeShard, parseShardHeader, readIndex, shardFileBytes, splitTotals, tokenBytesFor,
  type IndexEntry, type ScanSummary, type ShardEntry, type ShardIndex, type SourceManifest, type SourceSettings, type Split, type SplitTotals, type TokenBytes,
} from "./shards.js";
import { checkSourceName, expandPaths, newReadStats, readDocumentBatches, type SourceSpec } from "./sources.js";
import type { Tokenizer } from "../tokenizer/types.js";
import type { EncodeJob, WorkerInit, WorkerReply } from "./tokenize-worker.js";

export const DEFAULTS = { shardTokens: 1 << 24, valFraction: 0.01, minValDocs: 4 } as const;
/** Text per encode job (bytes, approximately) and the most documents per job. */
const JOB_BYTES = 1 << 18;
const JOB_DOCS = 1024;

export interface TokenizeProgress {
  source: string;
  phase: "scan" | "encode";
  files: number;
  totalFiles: number;
  textBytes: number;
  /** Known in the encode phase (from the scan). */
  totalTextBytes: number | undefined;
  docs: number;
  tokens: number;
  elapsedS: number;
}

export interface TokenizeOptions {
  /** Output directory: one folder per source plus index.json. */
  out: string;
  sources: SourceSpec[];
  /** Used for vocabSize/eosId, and for encoding when no worker pool is configured. */
  tokenizer: Tokenizer;
  /** 32 hex chars naming the tokenizer (tokenizerFingerprint(dir) for a saved one). */
  fingerprint: string;
  /** Encode in `count` worker threads, each loading `(await import(module)).loadTokenizer(dir)`. */
  workers?: { module: string; dir: string; count: number };
  shardTokens?: number;
  /** Fraction of unique documents held out for validation (default 0.01; 0 = none). */
  valFraction?: number;
  /** At least this many validation documents, when a source has ten times as many (default 4). */
  minValDocs?: number;
  /** Start the named sources over instead of resuming. */
  force?: boolean;
  /** Text per encode job in bytes (default 256 KiB); output does not depend on it. */
  jobBytes?: number;
  onProgress?: (p: TokenizeProgress) => void;
}

export interface SourceResult {
  name: string;
  status: "written" | "resumed" | "up to date";
  files: number;
  rawDocs: number;
  duplicates: number;
  empty: number;
  skipped: number;
  problems: string[];
  textBytes: number;
  train: SplitTotals;
  val: SplitTotals;
  /** Tokens encoded in this run (less than train+val when resumed). */
  encodedTokens: number;
  seconds: number;
}

// ---- encoders ---------------------------------------------------------------------------------------

interface Encoded {
  ids: Uint32Array;
  lengths: Uint32Array;
}

interface Encoder {
  encode(texts: string[]): Promise<Encoded>;
  readonly parallel: number;
  close(): Promise<void>;
}

function inlineEncoder(tok: Tokenizer): Encoder {
  return {
    parallel: 1,
    async encode(texts) {
      const parts = texts.map((t) => tok.encode(t));
      const lengths = Uint32Array.from(parts, (p) => p.length);
      const ids = new Uint32Array(lengths.reduce((a, b) => a + b, 0));
      let o = 0;
      for (const p of parts) {
        ids.set(p, o);
        o += p.length;
      }
      return { ids, lengths };
    },
    async close() {},
  };
}

/** URL of tokenizer/tokenizer (its `loadTokenizer(dir)` is what workers call by default). */
export function defaultTokenizerModule(): string {
  const ext = path.extname(new URL(import.meta.url).pathname);
  return new URL(`../tokenizer/tokenizer${ext}`, import.meta.url).href;
}

/**
 * Start the worker module beside this one: tokenize-worker.js when compiled; under tsx (tests, dev)
 * the .ts file, loaded after registering tsx in the worker, since Node 20 workers do not inherit
 * `--import tsx`.
 */
function startWorker(workerData: WorkerInit): Worker {
  const ext = path.extname(new URL(import.meta.url).pathname);
  const url = new URL(`./tokenize-worker${ext}`, import.meta.url);
  if (ext !== ".ts") return new Worker(url, { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

async function workerPool(cfg: { module: string; dir: string; count: number }, tok: Tokenizer): Promise<Encoder> {
  const workers: Worker[] = [];
  const busy: number[] = [];
  const waiting = new Map<number, { resolve: (e: Encoded) => void; reject: (e: Error) => void; w: number }>();
  let nextId = 0;
  let failed: Error | undefined;
  const fail = (e: Error) => {
    failed ??= e;
    for (const [, p] of waiting) p.reject(failed);
    waiting.clear();
  };
  const ready = Array.from({ length: cfg.count }, (_, wi) => {
    const w = startWorker({ module: cfg.module, dir: cfg.dir });
    workers.push(w);
    busy.push(0);
    return new Promise<void>((resolve, reject) => {
      w.on("message", (m: WorkerReply) => {
        if (m.kind === "ready") {
          if (m.vocabSize !== tok.vocabSize || m.eosId !== tok.eosId) {
            reject(new DataError(`worker tokenizer from ${cfg.dir} differs from the main one (vocab ${m.vocabSize} vs ${tok.vocabSize})`));
          } else resolve();
        } else if (m.kind === "error") {
          const err = new DataError(m.id < 0 ? `tokenizer worker failed to start: ${m.message}` : `tokenizer failed: ${m.message}`);
          if (m.id < 0) reject(err);
          else {
            busy[wi]--;
            waiting.get(m.id)?.reject(err);
            waiting.delete(m.id);
          }
        } else {
          const p = waiting.get(m.id);
          waiting.delete(m.id);
          busy[wi]--;
          p?.resolve({ ids: m.ids, lengths: m.lengths });
        }
      });
      w.on("error", (e) => {
        reject(e);
        fail(new DataError(`tokenizer worker crashed: ${e.message}`));
      });
      w.on("exit", (code) => {
        if (code !== 0) fail(new DataError(`tokenizer worker exited with code ${code}`));
      });
    });
  });
  const close = async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  };
  try {
    await Promise.all(ready);
  } catch (e) {
    await close();
    throw e instanceof DataError ? e : new DataError(`tokenizer worker failed to start: ${(e as Error).message}`);
  }
  return {
    parallel: cfg.count,
    encode(texts) {
      if (failed) return Promise.reject(failed);
      let wi = 0;
      for (let i = 1; i < workers.length; i++) if (busy[i] < busy[wi]) wi = i;
      const id = nextId++;
      busy[wi]++;
      return new Promise<Encoded>((resolve, reject) => {
        waiting.set(id, { resolve, reject, w: wi });
        workers[wi].postMessage({ id, texts } satisfies EncodeJob);
      });
    },
    close,
  };
}

// ---- scan pass --------------------------------------------------------------------------------------

const DROP = 0;
const TRAIN = 1;
const VAL = 2;

/** Position in [0, 1) of a document hash (bytes 16..23 of its SHA-256): decides the held-out split. */
function hashPosition(d: Buffer): number {
  return (d.readUInt32BE(16) * 2 ** 21 + (d.readUInt32BE(20) >>> 11)) / 2 ** 53;
}

interface Scan {
  flags: Uint8Array;
  summary: ScanSummary;
}

async function scanSource(spec: SourceSpec, files: string[], o: ResolvedOptions, progress: (p: Omit<TokenizeProgress, "source" | "elapsedS">) => void): Promise<Scan & { problems: string[] }> {
  const stats = newReadStats();
  const seen = new Set<string>();
  let flags = new Uint8Array(1024);
  let n = 0;
  let unique = 0;
  let val = 0;
  // The k smallest hash positions seen (k = minValDocs), to top up a too-small val split.
  const smallest: Array<[number, number]> = [];
  for await (const batch of readDocumentBatches(spec, stats, files)) {
    for (const doc of batch) {
      if (n === flags.length) {
        const f = new Uint8Array(flags.length * 2);
        f.set(flags);
        flags = f;
      }
      const digest = createHash("sha256").update(doc.text).digest();
      const key = digest.toString("latin1", 0, 16);
      if (seen.has(key)) {
        flags[n++] = DROP;
        continue;
      }
      seen.add(key);
      unique++;
      const u = hashPosition(digest);
      if (u < o.valFraction) {
        flags[n] = VAL;
        val++;
      } else flags[n] = TRAIN;
      if (o.minValDocs > 0 && (smallest.length < o.minValDocs || u < smallest[smallest.length - 1][0])) {
        smallest.push([u, n]);
        smallest.sort((a, b) => a[0] - b[0]);
        if (smallest.length > o.minValDocs) smallest.pop();
      }
      n++;
    }
    progress({ phase: "scan", files: stats.files, totalFiles: files.length, textBytes: stats.textBytes, totalTextBytes: undefined, docs: n, tokens: 0 });
  }
  let threshold = o.valFraction;
  const kMin = o.valFraction > 0 ? Math.min(o.minValDocs, Math.floor(unique / 10)) : 0;
  if (val < kMin) {
    for (let i = 0; i < kMin; i++) {
      if (flags[smallest[i][1]] !== VAL) {
        flags[smallest[i][1]] = VAL;
        val++;
      }
    }
    threshold = nextUp(smallest[kMin - 1][0]);
  }
  return {
    flags: flags.subarray(0, n),
    problems: stats.problems,
    summary: {
      rawDocs: n,
      uniqueDocs: unique,
      duplicates: n - unique,
      empty: stats.empty,
      skipped: stats.skipped,
      valDocs: val,
      valThreshold: threshold,
      textBytes: stats.textBytes,
    },
  };
}

/** The smallest double above x >= 0 (turns an inclusive threshold into an exclusive one). */
function nextUp(x: number): number {
  const b = new Float64Array([x]);
  const u = new BigUint64Array(b.buffer);
  u[0] += 1n;
  return b[0];
}

// ---- shard building ------------------------------------------------------------------------------

class ShardBuilder {
  private tokens: Uint32Array;
  private n = 0;
  private offsets: number[] = [0];
  index: number;
  constructor(
    private readonly split: Split,
    private readonly ctx: { dir: string; shardTokens: number; tokenBytes: TokenBytes; fingerprint: string; vocabSize: number; eosId: number },
    firstIndex: number,
    private readonly onShard: (e: ShardEntry) => void,
  ) {
    this.index = firstIndex;
    this.tokens = new Uint32Array(Math.min(ctx.shardTokens, 1 << 16));
  }

  add(ids: Uint32Array, where: () => string): void {
    const len = ids.length + 1;
    if (this.n > 0 && this.n + len > this.ctx.shardTokens) this.flush();
    if (this.n + len > MAX_SHARD_TOKENS) throw new DataError(`${where()}: a document of ${len} tokens is larger than a shard can hold`);
    if (this.n + len > this.tokens.length) {
      const t = new Uint32Array(Math.max(this.n + len, this.tokens.length * 2));
      t.set(this.tokens.subarray(0, this.n));
      this.tokens = t;
    }
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] >= this.ctx.vocabSize) throw new DataError(`${where()}: tokenizer produced id ${ids[i]} outside its vocabulary of ${this.ctx.vocabSize}`);
    }
    this.tokens.set(ids, this.n);
    this.tokens[this.n + ids.length] = this.ctx.eosId;
    this.n += len;
    this.offsets.push(this.n);
  }

  flush(): void {
    if (this.offsets.length <= 1) return;
    const file = `${this.split}-${String(this.index).padStart(5, "0")}.bin`;
    const bytes = encodeShard(this.tokens.subarray(0, this.n), this.offsets, this.ctx.tokenBytes, this.ctx.fingerprint);
    writeFileAtomic(path.join(this.ctx.dir, file), bytes);
    this.onShard({ file, split: this.split, tokens: this.n, docs: this.offsets.length - 1 });
    this.index++;
    this.n = 0;
    this.offsets = [0];
  }
}

// ---- one source -------------------------------------------------------------------------------------

interface ResolvedOptions {
  shardTokens: number;
  valFraction: number;
  minValDocs: number;
}

function settingsOf(spec: SourceSpec, o: ResolvedOptions): SourceSettings {
  const ts = spec.textSplit ?? "file";
  return {
    paths: [...spec.paths],
    format: spec.format ?? "auto",
    textSplit: typeof ts === "string" ? ts : `separator:${ts.separator}`,
    ...(spec.template !== undefined ? { template: spec.template } : { field: spec.field ?? "text" }),
    onBad: spec.onBad ?? "fail",
    shardTokens: o.shardTokens,
    valFraction: o.valFraction,
    minValDocs: o.minValDocs,
  };
}

function differences(a: object, b: object, prefix = ""): string[] {
  const out: string[] = [];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    if (JSON.stringify(ra[k]) !== JSON.stringify(rb[k])) out.push(`${prefix}${k}: was ${JSON.stringify(ra[k])}, now ${JSON.stringify(rb[k])}`);
  }
  return out;
}

/** Keep, per split, the longest prefix of listed shards whose files exist and are intact. */
function intactShards(dir: string, m: SourceManifest): ShardEntry[] {
  const broken = new Set<Split>();
  const keep: ShardEntry[] = [];
  for (const e of m.shards) {
    if (broken.has(e.split)) continue;
    const file = path.join(dir, e.file);
    let ok = false;
    try {
      const size = fs.statSync(file).size;
      if (size === shardFileBytes({ tokenBytes: m.tokenBytes, numTokens: e.tokens, numDocs: e.docs })) {
        const fd = fs.openSync(file, "r");
        const head = Buffer.alloc(64);
        fs.readSync(fd, head, 0, 64, 0);
        fs.closeSync(fd);
        const h = parseShardHeader(head, file, size);
        ok = h.fingerprint === m.fingerprint && h.numTokens === e.tokens && h.numDocs === e.docs;
      }
    } catch {
      ok = false;
    }
    if (ok) keep.push(e);
    else broken.add(e.split);
  }
  return keep;
}

/**
 * Tokenize one source into OUT/NAME. With `force`, the new output is built in a temporary
 * directory beside OUT/NAME and swapped in only once complete, so the previous output survives
 * unreadable input or an interrupted run (and index.json keeps describing what is on disk).
 */
async function tokenizeSource(spec: SourceSpec, opts: TokenizeOptions, o: ResolvedOptions, encoder: () => Promise<Encoder>): Promise<SourceResult> {
  const target = path.join(opts.out, spec.name);
  if (!opts.force) return tokenizeInto(target, spec, opts, o, encoder);
  removeStaleForceDirs(opts.out, spec.name);
  let tmp: string | undefined;
  try {
    const r = await tokenizeInto(target, spec, opts, o, encoder, () => (tmp = makeTempDirBeside(target)));
    replaceDirAtomic(tmp!, target);
    tmp = undefined;
    return r;
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Temporary directories of this source left by a killed `--force` run (see makeTempDirBeside). */
function removeStaleForceDirs(out: string, name: string): void {
  const re = new RegExp(`^${TMP_PREFIX.replace(/[.]/g, "\\.")}${name.replace(/[.]/g, "\\.")}-[A-Za-z0-9]{6}$`);
  for (const ent of fs.existsSync(out) ? fs.readdirSync(out, { withFileTypes: true }) : []) {
    if (ent.isDirectory() && re.test(ent.name)) fs.rmSync(path.join(out, ent.name), { recursive: true, force: true });
  }
}

/**
 * The work of tokenizeSource. `target` is the source's final directory; with `fresh`, nothing is
 * resumed and the shards go to the directory `fresh()` creates once the input has been read.
 */
async function tokenizeInto(
  target: string, spec: SourceSpec, opts: TokenizeOptions, o: ResolvedOptions, encoder: () => Promise<Encoder>, fresh?: () => string,
): Promise<SourceResult> {
  const t0 = Date.now();
  let dir = target;
  const files = expandPaths(spec.paths);
  const inputs = files.map((f) => ({ path: f, bytes: fs.statSync(f).size }));
  const settings = settingsOf(spec, o);
  const tok = opts.tokenizer;
  if (tok.eosId === undefined) throw new DataError("the tokenizer has no EOS token, which separates documents in shards", 'use a tokenizer with an end-of-text special token (e.g. "<|endoftext|>")');
  if (!(Number.isInteger(tok.eosId) && tok.eosId >= 0 && tok.eosId < tok.vocabSize)) throw new DataError(`the tokenizer's EOS id ${tok.eosId} is outside the vocabulary of ${tok.vocabSize}`);
  const tokenBytes = tokenBytesFor(tok.vocabSize);
  const elapsed = () => (Date.now() - t0) / 1000;
  const report = (p: Omit<TokenizeProgress, "source" | "elapsedS">) => opts.onProgress?.({ ...p, source: spec.name, elapsedS: elapsed() });

  let prev: SourceManifest | undefined;
  if (!fresh && fs.existsSync(path.join(dir, "manifest.json"))) {
    try {
      prev = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as SourceManifest;
    } catch {
      prev = undefined; // unreadable: start over
    }
  }
  if (prev) {
    const diffs = [
      ...(prev.fingerprint !== opts.fingerprint ? [`tokenizer fingerprint: was ${prev.fingerprint}, now ${opts.fingerprint}`] : []),
      ...differences(prev.settings, settings, "settings."),
      ...(JSON.stringify(prev.inputs) !== JSON.stringify(inputs) ? ["input files or their sizes changed"] : []),
    ];
    if (diffs.length) {
      throw new DataError(
        `${dir} was tokenized differently, so it cannot be resumed:\n  - ${diffs.join("\n  - ")}`,
        "pass --force to redo this source, or write to another --out directory",
      );
    }
    if (prev.complete && intactShards(dir, prev).length === prev.shards.length) {
      return {
        name: spec.name, status: "up to date", files: files.length, rawDocs: prev.scan.rawDocs, duplicates: prev.scan.duplicates,
        empty: prev.scan.empty, skipped: prev.scan.skipped, problems: prev.problems, textBytes: prev.scan.textBytes,
        train: splitTotals(prev, "train"), val: splitTotals(prev, "val"), encodedTokens: 0, seconds: elapsed(),
      };
    }
  }

  // Read all the input before writing anything.
  const scan = await scanSource(spec, files, o, report);
  if (scan.summary.uniqueDocs === 0) throw new DataError(`source "${spec.name}" has no documents (${files.length} file(s) read)`, "check the paths and the --field/--template options");
  if (prev && JSON.stringify(prev.scan) !== JSON.stringify(scan.summary)) prev = undefined; // inputs changed in place: start over
  if (fresh) dir = fresh();
  else fs.mkdirSync(dir, { recursive: true });
  const manifestFile = path.join(dir, "manifest.json");

  const kept = prev ? intactShards(dir, prev) : [];
  const keptNames = new Set(kept.map((e) => e.file));
  for (const f of fs.readdirSync(dir)) {
    if (f.startsWith(TMP_PREFIX) || (f.endsWith(".bin") && !keptNames.has(f))) fs.rmSync(path.join(dir, f), { force: true });
  }
  const manifest: SourceManifest = {
    format: "smol-shards", version: 1, source: spec.name, fingerprint: opts.fingerprint, vocabSize: tok.vocabSize, eosId: tok.eosId,
    tokenBytes, settings, inputs, scan: scan.summary, shards: kept, complete: false, problems: scan.problems,
  };
  const saveManifest = () => writeJsonAtomic(manifestFile, manifest);
  saveManifest();

  const skip: Record<Split, number> = { train: 0, val: 0 };
  const count: Record<Split, number> = { train: 0, val: 0 };
  for (const e of kept) {
    skip[e.split] += e.docs;
    count[e.split]++;
  }
  const ctx = { dir, shardTokens: o.shardTokens, tokenBytes, fingerprint: opts.fingerprint, vocabSize: tok.vocabSize, eosId: tok.eosId };
  const onShard = (e: ShardEntry) => {
    manifest.shards.push(e);
    saveManifest();
  };
  const builders: Record<Split, ShardBuilder> = { train: new ShardBuilder("train", ctx, count.train, onShard), val: new ShardBuilder("val", ctx, count.val, onShard) };

  const enc = await encoder();
  const stats = newReadStats(); // problems were collected by the scan; this pass only counts progress
  let ordinal = 0;
  let tokens = 0;
  let docsEncoded = 0;
  type Job = { done: Promise<Encoded>; splits: Split[]; where: string[] };
  const inflight: Job[] = [];
  let texts: string[] = [];
  let splits: Split[] = [];
  let where: string[] = [];
  let bytes = 0;
  const submit = () => {
    if (!texts.length) return;
    const done = enc.encode(texts);
    done.catch(() => undefined); // awaited in order below
    inflight.push({ done, splits, where });
    texts = [];
    splits = [];
    where = [];
    bytes = 0;
  };
  const drainOne = async () => {
    const job = inflight.shift()!;
    const r = await job.done;
    let o2 = 0;
    for (let i = 0; i < r.lengths.length; i++) {
      builders[job.splits[i]].add(r.ids.subarray(o2, o2 + r.lengths[i]), () => job.where[i]);
      o2 += r.lengths[i];
    }
    tokens += r.ids.length + r.lengths.length;
    docsEncoded += r.lengths.length;
    report({ phase: "encode", files: stats.files, totalFiles: files.length, textBytes: stats.textBytes, totalTextBytes: scan.summary.textBytes, docs: docsEncoded, tokens });
  };
  try {
    for await (const batch of readDocumentBatches(spec, stats, files)) {
      for (const doc of batch) {
        const flag = scan.flags[ordinal++];
        if (flag === undefined) throw new DataError(`source "${spec.name}" changed while it was being tokenized`, "rerun once the input files stay put");
        if (flag === DROP) continue;
        const split: Split = flag === VAL ? "val" : "train";
        if (skip[split] > 0) {
          skip[split]--;
          continue;
        }
        texts.push(doc.text);
        splits.push(split);
        where.push(`${doc.file}:${doc.line}`);
        bytes += doc.text.length;
        if (bytes >= (opts.jobBytes ?? JOB_BYTES) || texts.length >= JOB_DOCS) submit();
      }
      while (inflight.length >= 2 * enc.parallel) await drainOne();
    }
    submit();
    while (inflight.length) await drainOne();
  } finally {
    await enc.close();
  }
  if (ordinal !== scan.summary.rawDocs) throw new DataError(`source "${spec.name}" changed while it was being tokenized`, "rerun once the input files stay put");
  builders.train.flush();
  builders.val.flush();
  manifest.complete = true;
  saveManifest();
  return {
    name: spec.name, status: prev ? "resumed" : "written", files: files.length, rawDocs: scan.summary.rawDocs, duplicates: scan.summary.duplicates,
    empty: scan.summary.empty, skipped: scan.summary.skipped, problems: scan.problems, textBytes: scan.summary.textBytes,
    train: splitTotals(manifest, "train"), val: splitTotals(manifest, "val"), encodedTokens: tokens, seconds: elapsed(),
  };
}

// ---- all sources ---------------------------------------------------------------------------------

function validate(opts: TokenizeOptions): ResolvedOptions {
  const o: ResolvedOptions = {
    shardTokens: opts.shardTokens ?? DEFAULTS.shardTokens,
    valFraction: opts.valFraction ?? DEFAULTS.valFraction,
    minValDocs: opts.minValDocs ?? DEFAULTS.minValDocs,
  };
  if (!Number.isInteger(o.shardTokens) || o.shardTokens < 16 || o.shardTokens > MAX_SHARD_TOKENS) throw new DataError(`shardTokens must be an integer in [16, 2^31], got ${o.shardTokens}`);
  if (!(o.valFraction >= 0 && o.valFraction < 1)) throw new DataError(`valFraction must be in [0, 1), got ${o.valFraction}`);
  if (!Number.isInteger(o.minValDocs) || o.minValDocs < 0) throw new DataError(`minValDocs must be an integer >= 0, got ${o.minValDocs}`);
  if (!/^[0-9a-f]{32}$/.test(opts.fingerprint)) throw new DataError(`tokenizer fingerprint must be 32 hex chars, got "${opts.fingerprint}"`);
  if (opts.sources.length === 0) throw new DataError("no sources to tokenize", "pass --source NAME=PATH_OR_GLOB (repeatable)");
  const names = new Set<string>();
  for (const s of opts.sources) {
    checkSourceName(s.name);
    if (names.has(s.name)) throw new DataError(`source "${s.name}" is given twice`, "give each --source a different name");
    names.add(s.name);
  }
  return o;
}

function updateIndex(opts: TokenizeOptions, r: SourceResult, tokenBytes: TokenBytes): void {
  const file = path.join(opts.out, "index.json");
  let idx: ShardIndex | undefined = fs.existsSync(file) ? readIndex(opts.out) : undefined;
  if (!idx || idx.fingerprint !== opts.fingerprint) {
    idx = { format: "smol-shards", version: 1, fingerprint: opts.fingerprint, vocabSize: opts.tokenizer.vocabSize, eosId: opts.tokenizer.eosId!, tokenBytes, sources: {} };
  }
  const entry: IndexEntry = { train: r.train, val: r.val, duplicates: r.duplicates, empty: r.empty, skipped: r.skipped, files: r.files, textBytes: r.textBytes };
  idx.sources[r.name] = entry;
  writeJsonAtomic(file, idx);
}

/** Tokenize every source into `opts.out` (resuming where a previous run stopped); returns per-source results. */
export async function tokenizeSources(opts: TokenizeOptions): Promise<SourceResult[]> {
  const o = validate(opts);
  const idxFile = path.join(opts.out, "index.json");
  if (fs.existsSync(idxFile)) {
    const idx = readIndex(opts.out);
    const others = Object.keys(idx.sources).filter((s) => !opts.sources.some((x) => x.name === s));
    if (idx.fingerprint !== opts.fingerprint && others.length) {
      throw new DataError(`${opts.out} holds sources (${others.join(", ")}) tokenized with another tokenizer`, "write to another --out directory");
    }
  }
  let pool: Encoder | undefined;
  const encoder = async (): Promise<Encoder> => {
    if (!opts.workers || opts.workers.count <= 0) return inlineEncoder(opts.tokenizer);
    pool ??= await workerPool(opts.workers, opts.tokenizer);
    return { ...pool, close: async () => {} };
  };
  const results: SourceResult[] = [];
  try {
    for (const spec of opts.sources) {
      const r = await tokenizeSource(spec, opts, o, encoder);
      updateIndex(opts, r, tokenBytesFor(opts.tokenizer.vocabSize));
      results.push(r);
    }
  } finally {
    await pool?.close();
  }
  return results;
}
