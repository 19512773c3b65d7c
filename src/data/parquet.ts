// Parquet input for data sources, through hyparquet (+ hyparquet-compressors for zstd/gzip/brotli/
// lz4 pages): reads only the columns a field or template needs, one row group at a time, and turns
// each row into document text. Row numbers in messages are 1-based like lines.
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { DataError } from "../errors.js";
import { type BadInput, type ReadStats, type SourceDocument, type TextExtractor } from "./jsonl.js";

/** Rows decoded per read; a row group larger than this is read in slices. */
const ROWS_PER_READ = 4096;

/** Stream the documents of one Parquet file; `columns` are the fields the extractor reads. */
export async function* readParquet(
  file: string,
  columns: readonly string[],
  extract: TextExtractor,
  bad: BadInput,
  stats: ReadStats,
): AsyncGenerator<SourceDocument[]> {
  let buf;
  let meta;
  try {
    buf = await asyncBufferFromFile(file);
    if (buf.byteLength === 0) {
      bad.report(file, undefined, "file is empty");
      return;
    }
    meta = await parquetMetadataAsync(buf);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${file}: not a readable Parquet file (${(e as Error).message})`, "check that the file is complete", { cause: e });
  }
  stats.fileBytes += buf.byteLength;
  const have = new Set(meta.schema.slice(1).map((s) => s.name));
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length) {
    throw new DataError(
      `${file}: no column ${missing.map((m) => `"${m}"`).join(", ")} (columns: ${[...have].join(", ")})`,
      "pick a column with --field NAME, or combine columns with --template",
    );
  }
  const total = Number(meta.num_rows);
  if (total === 0) bad.report(file, undefined, "file is empty (no rows)");
  for (let start = 0; start < total; start += ROWS_PER_READ) {
    const end = Math.min(total, start + ROWS_PER_READ);
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await parquetReadObjects({ file: buf, metadata: meta, columns: [...columns], rowStart: start, rowEnd: end, compressors });
    } catch (e) {
      throw new DataError(`${file}: cannot decode rows ${start + 1}–${end} (${(e as Error).message})`, undefined, { cause: e });
    }
    const docs: SourceDocument[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = start + i + 1;
      const text = extract(rows[i]);
      if (typeof text !== "string") {
        bad.report(file, row, text.error, "pick the column with --field NAME or combine columns with --template, or pass --on-bad skip", "row");
        continue;
      }
      stats.textBytes += Buffer.byteLength(text);
      if (text.trim() === "") {
        stats.empty++;
        continue;
      }
      docs.push({ text, file, line: row });
    }
    if (docs.length) yield docs;
  }
}
