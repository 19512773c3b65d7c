// Line-oriented input for data sources: byte streams (plain, .gz through zlib, .zst through zstd.ts),
// splitting into lines without decoding whole files, UTF-8/NUL checks per line, and JSONL records
// turned into document text by a field or a template. The bad-input policy and the shared reader
// types live here too; choosing a reader per file and globbing are left to sources.ts.
import { createReadStream } from "node:fs";
import { isUtf8 } from "node:buffer";
import { createGunzip } from "node:zlib";
import { DataError } from "../errors.js";
import { zstdDecode } from "./zstd.js";

/** What to do with a record that cannot be read: "skip" counts and reports it, "fail" throws DataError. */
export type BadInputPolicy = "skip" | "fail";

/** One document of raw text and where it came from (1-based line, or parquet row + 1). */
export interface SourceDocument {
  text: string;
  file: string;
  line: number;
}

/** Counters a reader fills in while it streams; `problems` keeps the first few messages. */
export interface ReadStats {
  files: number;
  /** Bytes read from disk (compressed size for .gz/.zst). */
  fileBytes: number;
  /** Bytes of decoded text seen. */
  textBytes: number;
  docs: number;
  /** Documents that were empty or only whitespace (dropped silently, counted). */
  empty: number;
  /** Records or files dropped under the "skip" policy. */
  skipped: number;
  problems: string[];
}

export function newReadStats(): ReadStats {
  return { files: 0, fileBytes: 0, textBytes: 0, docs: 0, empty: 0, skipped: 0, problems: [] };
}

/** Applies the bad-input policy: throws under "fail", counts and keeps the message under "skip". */
export class BadInput {
  constructor(
    readonly policy: BadInputPolicy,
    private readonly stats: ReadStats,
    private readonly maxKept = 20,
  ) {}
  /** `line` is a 1-based line (or, with unit "row", a parquet row); undefined for a whole-file problem. */
  report(file: string, line: number | undefined, msg: string, hint?: string, unit: "line" | "row" = "line"): void {
    const where = line === undefined ? file : unit === "row" ? `${file} row ${line}` : `${file}:${line}`;
    if (this.policy === "fail") {
      throw new DataError(`${where}: ${msg}`, hint ?? `fix the input, or pass the "skip" bad-input policy (--on-bad skip) to drop such records`);
    }
    this.stats.skipped++;
    if (this.stats.problems.length < this.maxKept) this.stats.problems.push(`${where}: ${msg}`);
  }
}

/** Raw bytes of a file, decompressed by extension (.gz, .zst); counts disk bytes into `stats`. */
export async function* fileChunks(file: string, stats?: ReadStats): AsyncGenerator<Buffer> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const counted = (async function* () {
    for await (const c of raw as AsyncIterable<Buffer>) {
      if (stats) stats.fileBytes += c.length;
      yield c;
    }
  })();
  try {
    if (file.endsWith(".gz")) {
      const gunzip = createGunzip();
      raw.on("data", (c) => {
        if (stats) stats.fileBytes += c.length;
      });
      raw.on("error", (e) => gunzip.destroy(e));
      raw.pipe(gunzip);
      try {
        for await (const c of gunzip as AsyncIterable<Buffer>) yield c;
      } finally {
        gunzip.destroy();
      }
    } else if (file.endsWith(".zst")) {
      yield* zstdDecode(counted, file);
    } else {
      yield* counted;
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT" || err.code === "EACCES" || err.code === "EISDIR") throw new DataError(`cannot read ${file}: ${err.message}`);
    const kind = file.endsWith(".gz") ? "gzip" : file.endsWith(".zst") ? "zstd" : "file";
    throw new DataError(`${file}: not valid ${kind} data (${err.message})`, "check that the file is complete and its extension matches its compression", { cause: e });
  } finally {
    raw.destroy();
  }
}

/** One line of a file as bytes (without "\n" and a trailing "\r"), with its 1-based number. */
export interface ByteLine {
  bytes: Buffer;
  no: number;
}

/**
 * Split a byte stream into lines. Returns batches of lines (one batch per input chunk) so the
 * per-line cost stays a loop step, not an async hop. A line longer than a chunk is carried over.
 */
export async function* lineBatches(chunks: AsyncIterable<Buffer>): AsyncGenerator<ByteLine[]> {
  let carry: Buffer[] = [];
  let no = 0;
  const finish = (b: Buffer): Buffer => (b.length > 0 && b[b.length - 1] === 13 ? b.subarray(0, b.length - 1) : b);
  for await (const buf of chunks) {
    const batch: ByteLine[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      let line = buf.subarray(start, nl);
      if (carry.length) {
        carry.push(line);
        line = Buffer.concat(carry);
        carry = [];
      }
      batch.push({ bytes: finish(line), no: ++no });
      start = nl + 1;
    }
    if (start < buf.length) carry.push(buf.subarray(start));
    if (batch.length) yield batch;
  }
  if (carry.length) yield [{ bytes: finish(Buffer.concat(carry)), no: ++no }];
}

/** Why a line of bytes is not text, or undefined when it is fine. */
export function lineProblem(b: Buffer): "binary" | "utf8" | undefined {
  if (b.indexOf(0) >= 0) return "binary";
  if (!isUtf8(b)) return "utf8";
  return undefined;
}

export const BINARY_MSG = "binary data (NUL byte); this does not look like a text file";
export const UTF8_MSG = "invalid UTF-8";

/** Turns a parsed record into document text, or a reason it cannot. */
export type TextExtractor = (rec: Record<string, unknown>) => string | { error: string };

/**
 * A record's field as text. The text field itself must be a string (`{"text": 12345}` is a bad
 * record, not the document "12345"); inside a template, numbers and booleans are written out.
 */
function fieldText(rec: Record<string, unknown>, name: string, scalars: boolean): string | { error: string } {
  if (!(name in rec) || rec[name] === null || rec[name] === undefined) return { error: `missing field "${name}"` };
  const v = rec[name];
  if (typeof v === "string") return v;
  if (scalars && (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint")) return String(v);
  const got = Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `${typeof v} ${String(v).slice(0, 40)}`;
  return { error: `field "${name}" is not a string (got ${got})` };
}

/** Field names a template refers to ("{question}"; "{{" and "}}" are literal braces). */
export function templateFields(template: string): string[] {
  const names: string[] = [];
  template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, name: string | undefined) => {
    if (name !== undefined) names.push(name);
    return m;
  });
  return names;
}

/**
 * An extractor from either a field name (default "text") or a template such as
 * "Question: {question}\nAnswer: {answer}". Throws DataError for a template without fields.
 */
export function makeExtractor(opts: { field?: string; template?: string }): TextExtractor {
  if (opts.template !== undefined) {
    const tpl = opts.template;
    const names = templateFields(tpl);
    if (names.length === 0) throw new DataError(`template "${tpl}" names no field`, 'write fields in braces, e.g. "Question: {question}\\nAnswer: {answer}"');
    const bad = names.find((n) => n.trim() === "");
    if (bad !== undefined) throw new DataError(`template "${tpl}" has an empty "{}"`, 'write "{{" and "}}" for literal braces');
    return (rec) => {
      let err: string | undefined;
      const text = tpl.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, name: string | undefined) => {
        if (name === undefined) return m[0];
        const v = fieldText(rec, name, true);
        if (typeof v !== "string") {
          err ??= v.error;
          return "";
        }
        return v;
      });
      return err !== undefined ? { error: err } : text;
    };
  }
  const field = opts.field ?? "text";
  return (rec) => fieldText(rec, field, false);
}

/** Stream the documents of one JSONL file (one JSON object per line; blank lines are ignored). */
export async function* readJsonl(file: string, extract: TextExtractor, bad: BadInput, stats: ReadStats): AsyncGenerator<SourceDocument[]> {
  let any = false;
  for await (const batch of lineBatches(fileChunks(file, stats))) {
    const docs: SourceDocument[] = [];
    for (const { bytes, no } of batch) {
      stats.textBytes += bytes.length + 1;
      if (bytes.length > 0) any = true;
      const p = lineProblem(bytes);
      if (p === "binary") {
        bad.report(file, no, BINARY_MSG);
        return;
      }
      if (p === "utf8") {
        bad.report(file, no, UTF8_MSG);
        continue;
      }
      const s = bytes.toString("utf8");
      if (s.trim() === "") continue;
      let rec: unknown;
      try {
        rec = JSON.parse(s);
      } catch (e) {
        bad.report(file, no, `not valid JSON (${(e as Error).message})`);
        continue;
      }
      if (rec === null || typeof rec !== "object" || Array.isArray(rec)) {
        bad.report(file, no, "not a JSON object");
        continue;
      }
      const text = extract(rec as Record<string, unknown>);
      if (typeof text !== "string") {
        bad.report(file, no, text.error, "pick the field with --field NAME or combine fields with --template, or pass --on-bad skip");
        continue;
      }
      if (text.trim() === "") {
        stats.empty++;
        continue;
      }
      docs.push({ text, file, line: no });
    }
    if (docs.length) yield docs;
  }
  if (!any) bad.report(file, undefined, "file is empty");
}
