// Raw-text data sources, streamed and never loaded whole: plain text (a document per file, per
// blank-line-separated block, or per separator), JSONL (.gz/.zst) and Parquet with a text field or a
// template, from paths, directories or globs. Line-level reading lives in jsonl.ts, Parquet in
// parquet.ts; tokenizing and sharding are left to tokenize.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError } from "../errors.js";
import {
  BadInput, BINARY_MSG, UTF8_MSG, fileChunks, lineBatches, lineProblem, makeExtractor, newReadStats, readJsonl, templateFields,
  type BadInputPolicy, type ReadStats, type SourceDocument,
} from "./jsonl.js";
import { readParquet } from "./parquet.js";

export { newReadStats, type BadInputPolicy, type ReadStats, type SourceDocument } from "./jsonl.js";

export type SourceFormat = "auto" | "text" | "jsonl" | "parquet";
/** Plain text: the whole file is one document, or blank lines separate documents, or a separator string does. */
export type TextSplit = "file" | "blank-lines" | { separator: string };

/** A named source of raw documents. */
export interface SourceSpec {
  name: string;
  /** Files, directories (every file below) or globs (`*`, `?`, `[ab]`, `{a,b}`, `**`). */
  paths: readonly string[];
  /** "auto" (default) picks by extension: .jsonl/.ndjson (+.gz/.zst) → jsonl, .parquet → parquet, else text. */
  format?: SourceFormat;
  /** Plain-text splitting (default "file"). */
  textSplit?: TextSplit;
  /** JSONL/Parquet field holding the text (default "text"). */
  field?: string;
  /** JSONL/Parquet template over several fields, e.g. "Question: {question}\nAnswer: {answer}" (overrides field). */
  template?: string;
  /** Bad records and unreadable files: "fail" (default) throws DataError naming file and line; "skip" counts them. */
  onBad?: BadInputPolicy;
}

/** Source names become folder names: letters, digits, "-", "_", "." (not leading). */
export function checkSourceName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new DataError(`bad source name "${name}"`, 'use letters, digits, "-", "_" and "." (e.g. web, code, math-v2)');
  }
}

/** The format a file is read as. */
export function formatOf(file: string, format: SourceFormat = "auto"): Exclude<SourceFormat, "auto"> {
  if (format !== "auto") return format;
  const base = file.toLowerCase().replace(/\.(gz|zst)$/, "");
  if (base.endsWith(".jsonl") || base.endsWith(".ndjson")) return "jsonl";
  if (base.endsWith(".parquet")) return "parquet";
  return "text";
}

// ---- globs ---------------------------------------------------------------------------------------

const GLOB_CHARS = /[*?[\]{}]/;

/** True when `s` contains glob syntax. */
export function isGlob(s: string): boolean {
  return GLOB_CHARS.test(s);
}

/** Compile one path segment (no "/") into an anchored RegExp. `*` and `?` never match a leading dot. */
export function segmentRegExp(seg: string): RegExp {
  let re = "";
  let depth = 0;
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = seg.indexOf("]", i + 2);
      if (end < 0) throw new DataError(`glob "${seg}": unclosed "["`);
      let body = seg.slice(i + 1, end);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (c === "{") {
      depth++;
      re += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      re += ")";
    } else if (c === "," && depth > 0) re += "|";
    else re += c.replace(/[.+^$()|\\}\]]/g, "\\$&");
  }
  if (depth !== 0) throw new DataError(`glob "${seg}": unclosed "{"`);
  return new RegExp(`^${seg.startsWith(".") ? "" : "(?!\\.)"}${re}$`);
}

const byName = (a: fs.Dirent, b: fs.Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function listDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).sort(byName);
  } catch {
    return [];
  }
}

function isDir(p: string, ent?: fs.Dirent): boolean {
  if (ent && !ent.isSymbolicLink()) return ent.isDirectory();
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function walkFiles(dir: string, out: string[]): void {
  for (const ent of listDir(dir)) {
    if (ent.name.startsWith(".")) continue;
    const p = path.join(dir, ent.name);
    if (isDir(p, ent)) walkFiles(p, out);
    else out.push(p);
  }
}

function matchSegments(dir: string, segs: string[], out: string[]): void {
  if (segs.length === 0) {
    if (!isDir(dir)) out.push(dir);
    return;
  }
  const [seg, ...rest] = segs;
  if (seg === "**") {
    matchSegments(dir, rest, out);
    for (const ent of listDir(dir)) {
      const p = path.join(dir, ent.name);
      if (!ent.name.startsWith(".") && isDir(p, ent)) matchSegments(p, segs, out);
    }
    return;
  }
  if (!isGlob(seg)) {
    const p = path.join(dir, seg);
    if (fs.existsSync(p)) matchSegments(p, rest, out);
    return;
  }
  const re = segmentRegExp(seg);
  for (const ent of listDir(dir)) {
    if (!re.test(ent.name)) continue;
    const p = path.join(dir, ent.name);
    if (rest.length > 0 ? isDir(p, ent) : !isDir(p, ent)) matchSegments(p, rest, out);
  }
}

/**
 * Expand paths and globs into absolute file paths: sorted within each pattern, de-duplicated, in
 * pattern order. A directory stands for every file below it (dot-files skipped). Throws DataError
 * when a path does not exist or a glob matches nothing.
 */
export function expandPaths(patterns: readonly string[], cwd: string = process.cwd()): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pattern of patterns) {
    const found: string[] = [];
    const abs = path.resolve(cwd, pattern);
    if (!isGlob(pattern)) {
      if (!fs.existsSync(abs)) throw new DataError(`no such file or directory: ${pattern}`, "check the path (relative paths start at the current directory)");
      if (isDir(abs)) walkFiles(abs, found);
      else found.push(abs);
    } else {
      const segs = abs.split(path.sep).filter((s) => s !== "");
      let i = 0;
      while (i < segs.length && !isGlob(segs[i])) i++;
      matchSegments(path.parse(abs).root + segs.slice(0, i).join(path.sep), segs.slice(i), found);
      found.sort();
    }
    if (found.length === 0) throw new DataError(`"${pattern}" matched no files`, "check the pattern, and quote it so the shell does not expand it");
    for (const f of found) {
      if (!seen.has(f)) {
        seen.add(f);
        out.push(f);
      }
    }
  }
  return out;
}

// ---- plain text ----------------------------------------------------------------------------------

async function* readText(file: string, split: TextSplit, bad: BadInput, stats: ReadStats): AsyncGenerator<SourceDocument[]> {
  const sep = typeof split === "object" ? split.separator : undefined;
  if (sep !== undefined && (sep === "" || sep.includes("\n"))) throw new DataError(`text separator must be a non-empty string without newlines, got ${JSON.stringify(sep)}`);
  let lines: string[] = [];
  let start = 1;
  let broken = false;
  let produced = false;
  let problem = false;
  const flush = (out: SourceDocument[], nextStart: number) => {
    const text = lines.join("\n").trim();
    if (!broken && text !== "") {
      out.push({ text, file, line: start });
      produced = true;
    }
    lines = [];
    broken = false;
    start = nextStart;
  };
  for await (const batch of lineBatches(fileChunks(file, stats))) {
    const docs: SourceDocument[] = [];
    for (const { bytes, no } of batch) {
      stats.textBytes += bytes.length + 1;
      const p = lineProblem(bytes);
      if (p === "binary") {
        bad.report(file, no, BINARY_MSG);
        return;
      }
      if (p === "utf8") {
        bad.report(file, no, UTF8_MSG + (split === "file" ? " (the file is dropped)" : " (its document is dropped)"));
        broken = problem = true;
        if (split === "file") return;
        lines.push("");
        continue;
      }
      const s = bytes.toString("utf8");
      if (split === "blank-lines") {
        if (s.trim() === "") {
          if (lines.length) flush(docs, no + 1);
          else start = no + 1;
        } else lines.push(s);
      } else if (sep !== undefined && s.includes(sep)) {
        const parts = s.split(sep);
        for (let i = 0; i < parts.length - 1; i++) {
          lines.push(parts[i]);
          flush(docs, no);
        }
        lines.push(parts[parts.length - 1]);
      } else lines.push(s);
    }
    if (docs.length) yield docs;
  }
  const last: SourceDocument[] = [];
  flush(last, 0);
  if (last.length) yield last;
  if (!produced && !problem) bad.report(file, undefined, "file is empty (no text)");
}

// ---- all sources ---------------------------------------------------------------------------------

/** The fields a spec reads from JSONL/Parquet records. */
export function specFields(spec: SourceSpec): string[] {
  return spec.template !== undefined ? [...new Set(templateFields(spec.template))] : [spec.field ?? "text"];
}

/**
 * Stream a source's documents in a fixed order (files as expandPaths returns them, records in file
 * order), in batches. `stats` is filled in as reading goes (for progress and the final report).
 */
export async function* readDocumentBatches(spec: SourceSpec, stats: ReadStats = newReadStats(), files?: readonly string[]): AsyncGenerator<SourceDocument[]> {
  const list = files ?? expandPaths(spec.paths);
  const bad = new BadInput(spec.onBad ?? "fail", stats);
  const extract = makeExtractor({ field: spec.field, template: spec.template });
  const columns = specFields(spec);
  for (const file of list) {
    stats.files++;
    const fmt = formatOf(file, spec.format);
    const gen =
      fmt === "jsonl" ? readJsonl(file, extract, bad, stats)
      : fmt === "parquet" ? readParquet(file, columns, extract, bad, stats)
      : readText(file, spec.textSplit ?? "file", bad, stats);
    for await (const docs of gen) {
      stats.docs += docs.length;
      yield docs;
    }
  }
}

/** Stream a source's documents one at a time (see readDocumentBatches). */
export async function* readDocuments(spec: SourceSpec, stats?: ReadStats): AsyncGenerator<SourceDocument> {
  for await (const batch of readDocumentBatches(spec, stats)) yield* batch;
}
