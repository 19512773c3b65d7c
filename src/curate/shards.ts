// Output shards of a curation run: JSONL lines buffered and written as `part-00000.jsonl.zst`
// (zstd through @bokuweb/zstd-wasm), `.jsonl.gz`, plain `.jsonl`, or `.parquet` (hyparquet-writer,
// snappy; one column per field, types inferred per shard), each file written atomically once full
// (io/atomic.ts). Output bytes depend only on the records, so a rerun is byte-identical.
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { compress, init } from "@bokuweb/zstd-wasm";
import { parquetWriteBuffer } from "hyparquet-writer";
import { writeFileAtomic } from "../io/atomic.js";

export type ShardFormat = "jsonl.zst" | "jsonl.gz" | "jsonl" | "parquet";

type ParquetType = "STRING" | "BOOLEAN" | "INT32" | "DOUBLE" | "JSON";

/** The Parquet type of a column's values: one scalar type for all non-null values, else JSON. */
function columnType(values: unknown[]): ParquetType {
  let t: ParquetType | undefined;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const vt: ParquetType =
      typeof v === "string" ? "STRING"
      : typeof v === "boolean" ? "BOOLEAN"
      : typeof v === "number" ? (Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? "INT32" : "DOUBLE")
      : "JSON";
    if (t === undefined) t = vt;
    else if (t !== vt) {
      if ((t === "INT32" && vt === "DOUBLE") || (t === "DOUBLE" && vt === "INT32")) t = "DOUBLE";
      else return "JSON";
    }
  }
  return t ?? "STRING";
}

/** JSONL lines (objects) as a Parquet file: columns in first-seen order, missing values null. */
export function linesToParquet(lines: string[]): Uint8Array {
  const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (!seen.has(k)) (seen.add(k), names.push(k));
  const columnData = names.map((name) => {
    const data = rows.map((r) => (r[name] === undefined ? null : r[name]));
    const type = columnType(data);
    return { name, data: type === "JSON" ? data.map((v) => (v === null ? null : v)) : data, type, nullable: true };
  });
  return new Uint8Array(parquetWriteBuffer({ columnData: columnData as never }));
}

let zstdReady: Promise<void> | undefined;

/** Load the zstd WebAssembly module once (before writing .zst shards). */
export function initZstd(): Promise<void> {
  zstdReady ??= init();
  return zstdReady;
}

/** Compress bytes for a shard format (zstd level 3, gzip level 6 without a timestamp). */
export function encodeShard(bytes: Buffer, format: ShardFormat): Uint8Array {
  if (format === "jsonl.zst") return compress(bytes, 3);
  if (format === "jsonl.gz") return gzipSync(bytes, { level: 6 });
  if (format === "parquet") return linesToParquet(bytes.toString("utf8").split("\n").filter((l) => l !== ""));
  return bytes;
}

/** Writes lines into numbered shards of at most `maxBytes` uncompressed bytes. */
export class ShardWriter {
  private parts: string[] = [];
  private size = 0;
  private shard = 0;
  lines = 0;
  constructor(readonly dir: string, readonly format: ShardFormat, readonly maxBytes = 64 << 20) {}
  write(line: string): void {
    this.parts.push(line, "\n");
    this.size += line.length + 1;
    this.lines++;
    if (this.size >= this.maxBytes) this.flush();
  }
  /** Files written so far. */
  files: string[] = [];
  private flush(): void {
    if (this.parts.length === 0) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, `part-${String(this.shard++).padStart(5, "0")}.${this.format}`);
    writeFileAtomic(file, encodeShard(Buffer.from(this.parts.join(""), "utf8"), this.format));
    this.files.push(file);
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
  }
}
