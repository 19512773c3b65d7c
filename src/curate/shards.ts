// Output shards of a curation run: JSONL lines buffered and written as `part-00000.jsonl.zst`
// (zstd through @bokuweb/zstd-wasm), `.jsonl.gz` or plain `.jsonl`, each file written atomically
// once full (io/atomic.ts). Output bytes depend only on the lines, so a rerun is byte-identical.
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { compress, init } from "@bokuweb/zstd-wasm";
import { writeFileAtomic } from "../io/atomic.js";

export type ShardFormat = "jsonl.zst" | "jsonl.gz" | "jsonl";

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
