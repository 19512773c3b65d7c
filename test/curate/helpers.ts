// Shared helpers for curation tests: temporary folders, writing JSONL inputs, reading zstd/gzip
// JSONL shards back, and random word documents with a fixed seed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { decompress } from "fzstd";
import { rng } from "../helpers.js";

export const tmpDir = (tag = "curate") => fs.mkdtempSync(path.join(os.tmpdir(), `smol-${tag}-`));

export function writeJsonl(file: string, records: object[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, records.map((r) => JSON.stringify(r) + "\n").join(""));
}

/** Every line of every shard in `dir` (sorted by name), decompressed by extension. */
export function readShards(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    let b: Uint8Array = fs.readFileSync(path.join(dir, f));
    if (f.endsWith(".zst")) b = decompress(b);
    else if (f.endsWith(".gz")) b = gunzipSync(b);
    out.push(...Buffer.from(b).toString("utf8").split("\n").filter((l) => l !== ""));
  }
  return out;
}

export const readRecords = (dir: string) => readShards(dir).map((l) => JSON.parse(l) as Record<string, unknown>);

/** A vocabulary of random lower-case words (no word repeats across the list). */
export function vocabulary(n: number, seed: number): string[] {
  const r = rng(seed);
  const set = new Set<string>();
  while (set.size < n) {
    let w = "";
    const len = 4 + Math.floor(r() * 5);
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(r() * 26));
    set.add(w);
  }
  return [...set];
}

export function randomWords(vocab: string[], n: number, r: () => number): string[] {
  return Array.from({ length: n }, () => vocab[Math.floor(r() * vocab.length)]);
}
