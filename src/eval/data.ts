// Evaluation data files: locating them (NAME.jsonl or NAME.jsonl.gz in the data directory; the
// bundled copies live in <package>/data/eval) and reading JSONL records strictly, so that a
// missing file says where it was expected and in what format, and a bad line names file and line.
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { DataError } from "../errors.js";
import { deriveSeed, Rng } from "../util/rng.js";
import { packageRoot } from "../util/paths.js";

/** The bundled evaluation data directory. */
export function bundledEvalDir(): string {
  return path.join(packageRoot(), "data", "eval");
}

/** One JSON object of a JSONL file, with where it came from (for messages). */
export interface JsonRecord {
  file: string;
  line: number;
  value: Record<string, unknown>;
}

/**
 * Find `<dir>/<base>.jsonl` or `<dir>/<base>.jsonl.gz`, then the bundled copy (so a --data-dir
 * holding only your own files still finds the bundled ones); a missing file is a DataError naming
 * the expected path, the format (`format`) and where the bundled copies live.
 */
export function findEvalFile(dir: string, base: string, task: string, format: string): string {
  for (const d of [dir, bundledEvalDir()]) {
    for (const f of [`${base}.jsonl`, `${base}.jsonl.gz`]) {
      const p = path.join(d, f);
      if (fs.existsSync(p)) return p;
    }
  }
  throw new DataError(
    `${task}: data file not found: expected ${path.join(dir, base + ".jsonl")} (or .jsonl.gz), JSONL with one item per line: ${format}`,
    `pass --data-dir DIR holding it (the bundled copies are in ${bundledEvalDir()}; docs/eval.md says where to get the others)`,
  );
}

/** Read a text file, gunzipping *.gz. */
export function readTextFile(file: string): string {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (file.endsWith(".gz")) {
    try {
      raw = gunzipSync(raw);
    } catch (e) {
      throw new DataError(`${file}: not a valid gzip file (${(e as Error).message})`, "re-copy the file");
    }
  }
  return raw.toString("utf8");
}

/** Parse the first `limit` records (all when undefined) of a JSONL file; blank lines are skipped. */
export function readJsonlRecords(file: string, limit?: number): JsonRecord[] {
  const text = readTextFile(file);
  const out: JsonRecord[] = [];
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length && (limit === undefined || out.length < limit)) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end).trim();
    pos = end + 1;
    lineNo++;
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new DataError(`${file}:${lineNo}: not valid JSON (${(e as Error).message})`, "each line must be one JSON object");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new DataError(`${file}:${lineNo}: expected a JSON object, got ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`);
    out.push({ file, line: lineNo, value: value as Record<string, unknown> });
  }
  if (out.length === 0) throw new DataError(`${file}: no records (the file is empty)`);
  return out;
}

/** Field accessors that throw DataError naming the file, line and field. */
export function str(r: JsonRecord, key: string): string {
  const v = r.value[key];
  if (typeof v !== "string") throw bad(r, key, "a string", v);
  return v;
}

export function strList(r: JsonRecord, key: string, minLen = 1): string[] {
  const v = r.value[key];
  if (!Array.isArray(v) || v.length < minLen || v.some((x) => typeof x !== "string")) throw bad(r, key, `a list of at least ${minLen} strings`, v);
  return v as string[];
}

export function index(r: JsonRecord, key: string, n: number): number {
  let v = r.value[key];
  if (typeof v === "string" && /^\d+$/.test(v)) v = Number(v);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= n) throw bad(r, key, `an integer in [0, ${n})`, v);
  return v;
}

function bad(r: JsonRecord, key: string, what: string, v: unknown): DataError {
  const got = v === undefined ? "it is missing" : `got ${JSON.stringify(v)?.slice(0, 60)}`;
  return new DataError(`${r.file}:${r.line}: field "${key}" must be ${what}; ${got}`);
}

/**
 * The items `--limit` keeps: every index when `limit` is undefined or at least n; otherwise `limit`
 * distinct indices drawn uniformly with a generator seeded by (seed, task), returned in file
 * order — a sample across the whole set (all MMLU subjects, say), not its first rows.
 */
export function sampleItems(n: number, limit: number | undefined, seed: number, task: string): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (limit === undefined || limit >= n) return all;
  const rng = new Rng(deriveSeed(seed, `limit/${task}`));
  // Partial Fisher-Yates: the first `limit` slots become a uniform sample without replacement.
  for (let i = 0; i < limit; i++) {
    const j = i + rng.int(n - i);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, limit).sort((a, b) => a - b);
}
