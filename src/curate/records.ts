// Curation input: documents read from JSONL (.gz/.zst) and Parquet files with every field kept, so
// kept documents can be written back intact. Each document gets a global index (its position in
// the input order), an id (the id field, else `file:line` with the file relative to the pipeline's
// base directory) and its text. Bad records follow the policy of data/jsonl.ts (error or skip).
import * as path from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { DataError } from "../errors.js";
import { BadInput, BINARY_MSG, fileChunks, lineBatches, lineProblem, UTF8_MSG, type BadInputPolicy, type ReadStats } from "../data/jsonl.js";
import { formatOf } from "../data/sources.js";

export interface CurateDoc {
  /** Position in the whole input (0-based), stable across runs. */
  idx: number;
  id: string;
  text: string;
  /** Every field of the input record. */
  record: Record<string, unknown>;
  /** The record's JSONL line as read (undefined for Parquet). */
  raw?: string;
  /** Fields added by steps (e.g. score, int_score); written into kept records. */
  added?: Record<string, unknown>;
  /** True when a step rewrote `text` (e.g. C4 line removal). */
  rewritten?: boolean;
}

export interface InputSpec {
  files: string[];
  baseDir: string;
  textField: string;
  idField: string;
  onBad: BadInputPolicy;
}

const ROWS_PER_READ = 2048;

/** Parquet values into JSON-safe ones (BigInt → number when exact, else string; Dates → ISO). */
function jsonSafe(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = jsonSafe(x);
    return o;
  }
  return v;
}

/**
 * Stream every document of the input in a fixed order, in batches. `stats` counts files, bytes and
 * skipped records.
 */
export async function* readCurateBatches(spec: InputSpec, stats: ReadStats): AsyncGenerator<CurateDoc[]> {
  const bad = new BadInput(spec.onBad, stats);
  let idx = 0;
  for (const file of spec.files) {
    stats.files++;
    const rel = path.relative(spec.baseDir, file).split(path.sep).join("/");
    const make = (rec: Record<string, unknown>, where: number, unit: "line" | "row", raw?: string): CurateDoc | undefined => {
      const t = rec[spec.textField];
      if (typeof t !== "string") {
        bad.report(file, where, t === undefined || t === null ? `missing field "${spec.textField}"` : `field "${spec.textField}" is not text`, `set input.text_field to the field holding the text, or input.on_bad: skip`, unit);
        return undefined;
      }
      const idv = rec[spec.idField];
      const id = typeof idv === "string" || typeof idv === "number" ? String(idv) : typeof idv === "bigint" ? idv.toString() : `${rel}:${where}`;
      return { idx: idx++, id, text: t, record: rec, raw };
    };
    if (formatOf(file) === "parquet") {
      let buf;
      let meta;
      try {
        buf = await asyncBufferFromFile(file);
        meta = await parquetMetadataAsync(buf);
      } catch (e) {
        throw new DataError(`${file}: not a readable Parquet file (${(e as Error).message})`, "check that the file is complete", { cause: e });
      }
      stats.fileBytes += buf.byteLength;
      const total = Number(meta.num_rows);
      for (let start = 0; start < total; start += ROWS_PER_READ) {
        const end = Math.min(total, start + ROWS_PER_READ);
        let rows: Array<Record<string, unknown>>;
        try {
          rows = await parquetReadObjects({ file: buf, metadata: meta, rowStart: start, rowEnd: end, compressors });
        } catch (e) {
          throw new DataError(`${file}: cannot decode rows ${start + 1}–${end} (${(e as Error).message})`, "check that the file is complete", { cause: e });
        }
        const docs: CurateDoc[] = [];
        for (let i = 0; i < rows.length; i++) {
          const d = make(jsonSafe(rows[i]) as Record<string, unknown>, start + i + 1, "row");
          if (d) docs.push(d);
        }
        stats.docs += docs.length;
        if (docs.length) yield docs;
      }
      continue;
    }
    if (formatOf(file) !== "jsonl") throw new DataError(`${file}: not JSONL or Parquet`, "curation reads .jsonl/.ndjson (optionally .gz/.zst) and .parquet files");
    let binary = false;
    for await (const batch of lineBatches(fileChunks(file, stats))) {
      const docs: CurateDoc[] = [];
      for (const { bytes, no } of batch) {
        stats.textBytes += bytes.length + 1;
        const p = lineProblem(bytes);
        if (p !== undefined) {
          // A binary file is dropped from its first NUL byte on (under on_bad: skip).
          bad.report(file, no, p === "binary" ? BINARY_MSG : UTF8_MSG);
          if (p === "binary") {
            binary = true;
            break;
          }
          continue;
        }
        const s = bytes.toString("utf8");
        if (s.trim() === "") continue;
        let rec: unknown;
        try {
          rec = JSON.parse(s);
        } catch (e) {
          bad.report(file, no, `not valid JSON (${(e as Error).message})`, "fix the line, or set input.on_bad: skip to count and skip such records");
          continue;
        }
        if (rec === null || typeof rec !== "object" || Array.isArray(rec)) {
          bad.report(file, no, "not a JSON object", "fix the line, or set input.on_bad: skip to count and skip such records");
          continue;
        }
        const d = make(rec as Record<string, unknown>, no, "line", s);
        if (d) docs.push(d);
      }
      stats.docs += docs.length;
      if (docs.length) yield docs;
      if (binary) break;
    }
  }
}

/** The JSONL line of a kept document: the input line when nothing changed, else the record re-serialised. */
export function keptLine(doc: CurateDoc, textField: string): string {
  if (doc.raw !== undefined && !doc.rewritten && doc.added === undefined) return doc.raw;
  const rec = doc.rewritten ? { ...doc.record, [textField]: doc.text } : { ...doc.record };
  if (doc.added) Object.assign(rec, doc.added);
  return JSON.stringify(rec);
}
