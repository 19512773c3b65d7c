// `smol tokenize`: raw text sources (text, JSONL(.gz/.zst), Parquet; paths or globs) → tokenized,
// deduplicated, train/val-split shards with a manifest per source and an index.json; resumable.
// The work is data/tokenize.ts; this file parses options and renders progress and the summary.
import { availableParallelism } from "node:os";
import { UsageError } from "../../errors.js";
import { tokenizerFingerprint } from "../../data/shards.js";
import type { SourceFormat, SourceSpec, TextSplit } from "../../data/sources.js";
import { DEFAULTS, defaultTokenizerModule, tokenizeSources, type TokenizeProgress } from "../../data/tokenize.js";
import { loadTokenizer } from "../../tokenizer/tokenizer.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";
import { duration, human, Progress, table } from "../output.js";

const NAME = "tokenize";
// Encoding dominates and the main thread mostly waits on workers, so one worker per core.
const DEFAULT_WORKERS = Math.max(1, Math.min(8, availableParallelism()));

const help = `smol tokenize — turn raw text into tokenized, deduplicated shards for training

Usage: smol tokenize --tokenizer DIR --source NAME=PATH_OR_GLOB [--source …] --out DIR [options]

Each source becomes DIR/NAME/ with train-NNNNN.bin and val-NNNNN.bin shards and a manifest.json;
DIR/index.json lists sources, token and document counts, duplicates and the tokenizer fingerprint.
Documents are separated by the tokenizer's EOS token. Rerunning the same command resumes: finished
shards are kept, and the result is byte-identical to an uninterrupted run.

Options:
  --tokenizer DIR        tokenizer directory with tokenizer.json (required)
  --source NAME=PATH     a source: file, directory or quoted glob (*, ?, [ab], {a,b}, **); repeat
                         for more sources, or repeat a NAME to give it more paths (required)
  --out DIR              output directory (required)
  --field F              JSONL/Parquet field holding the text (default "text")
  --template T           JSONL/Parquet template over fields, e.g. "Question: {question}\\nAnswer: {answer}"
                         (\\n and \\t are read as newline and tab; {{ and }} are literal braces)
  --format F             auto | text | jsonl | parquet (default auto: by extension; .gz/.zst JSONL ok)
  --text-split S         plain text: file (one document per file) | blank-lines (default file)
  --separator STR        plain text: documents are separated by STR (e.g. "<|endoftext|>")
  --on-bad P             fail | skip: bad records (not JSON, field missing, invalid UTF-8) and empty
                         or binary files stop with file:line, or are skipped and counted (default fail)
  --val-fraction F       held-out fraction of unique documents, chosen by document hash (default ${DEFAULTS.valFraction}; 0 = none)
  --min-val-docs N       at least N val documents when a source has 10·N (default ${DEFAULTS.minValDocs})
  --shard-tokens N       tokens per shard, about (default ${DEFAULTS.shardTokens})
  --workers N            encoding threads; 0 encodes in the main thread (default ${DEFAULT_WORKERS} here)
  --force                start the named sources over instead of resuming: the new shards are
                         built beside the old ones and replace them only when complete
  --json                 print the per-source results as JSON

Example:
  smol tokenize --tokenizer runs/tok16k --out runs/shards \\
    --source web=data/corpora/web.jsonl.gz --source code=data/corpora/code.jsonl.gz \\
    --source math=data/corpora/math.jsonl.gz --val-fraction 0.01`;

const OPTIONS = {
  tokenizer: { type: "string" },
  source: { type: "string", multiple: true },
  out: { type: "string" },
  field: { type: "string" },
  template: { type: "string" },
  format: { type: "string" },
  "text-split": { type: "string" },
  separator: { type: "string" },
  "on-bad": { type: "string" },
  "val-fraction": { type: "string" },
  "min-val-docs": { type: "string" },
  "shard-tokens": { type: "string" },
  workers: { type: "string" },
  force: { type: "boolean" },
  json: { type: "boolean" },
} as const;

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T)) throw new UsageError(`${NAME}: --${name} must be one of ${allowed.join(", ")}, got "${String(v)}"`);
  return v as T;
}

/** Parse the repeated --source NAME=PATH options into per-name path lists, in first-seen order. */
export function parseSources(raw: readonly string[]): Array<{ name: string; paths: string[] }> {
  const out: Array<{ name: string; paths: string[] }> = [];
  for (const s of raw) {
    const eq = s.indexOf("=");
    if (eq <= 0 || eq === s.length - 1) throw new UsageError(`${NAME}: --source must be NAME=PATH_OR_GLOB, got "${s}"`, "e.g. --source web=data/web/*.jsonl.gz");
    const name = s.slice(0, eq);
    const p = s.slice(eq + 1);
    const have = out.find((x) => x.name === name);
    if (have) have.paths.push(p);
    else out.push({ name, paths: [p] });
  }
  return out;
}

function progressLine(p: TokenizeProgress): string {
  const mb = p.textBytes / 1e6;
  const rate = p.elapsedS > 0 ? `${(mb / p.elapsedS).toFixed(1)} MB/s` : "";
  const of = p.totalTextBytes ? `/${(p.totalTextBytes / 1e6).toFixed(1)}` : "";
  const tok = p.phase === "encode" ? `  ${human(p.tokens)} tokens  ${human(p.tokens / Math.max(p.elapsedS, 1e-9))} tok/s` : "";
  return `${p.source}: ${p.phase} ${mb.toFixed(1)}${of} MB  ${rate}  ${human(p.docs)} docs${tok}  file ${p.files}/${p.totalFiles}  ${duration(p.elapsedS)}`;
}

export const command: Command = {
  name: NAME,
  summary: "tokenize text/JSONL/Parquet sources into deduplicated, resumable train/val shards",
  help,
  async run(argv) {
    const { values: v } = parseCommandArgs(NAME, argv, OPTIONS);
    const tokDir = requireOpt(NAME, "tokenizer", v.tokenizer);
    const out = requireOpt(NAME, "out", v.out);
    const rawSources = (v.source as string[] | undefined) ?? [];
    if (rawSources.length === 0) throw new UsageError(`${NAME}: missing --source NAME=PATH_OR_GLOB`, `run \`smol ${NAME} --help\` for usage`);
    if (v.field !== undefined && v.template !== undefined) throw new UsageError(`${NAME}: give --field or --template, not both`);
    if (v["text-split"] !== undefined && v.separator !== undefined) throw new UsageError(`${NAME}: give --text-split or --separator, not both`);
    const format = oneOf<SourceFormat>("format", v.format, ["auto", "text", "jsonl", "parquet"], "auto");
    const onBad = oneOf("on-bad", v["on-bad"], ["fail", "skip"] as const, "fail");
    let textSplit: TextSplit = oneOf("text-split", v["text-split"], ["file", "blank-lines"] as const, "file");
    if (v.separator !== undefined) {
      const sep = String(v.separator).replace(/\\n/g, "\n").replace(/\\t/g, "\t");
      if (sep === "" || sep.includes("\n")) throw new UsageError(`${NAME}: --separator must be non-empty and on one line`);
      textSplit = { separator: sep };
    }
    const template = v.template === undefined ? undefined : String(v.template).replace(/\\n/g, "\n").replace(/\\t/g, "\t");
    const valFraction = numberOpt(NAME, "val-fraction", v["val-fraction"], { min: 0, max: 0.5 });
    const minValDocs = numberOpt(NAME, "min-val-docs", v["min-val-docs"], { int: true, min: 0 });
    const shardTokens = numberOpt(NAME, "shard-tokens", v["shard-tokens"], { int: true, min: 16, max: 2 ** 31 });
    const workers = numberOpt(NAME, "workers", v.workers, { int: true, min: 0, max: 256 }) ?? DEFAULT_WORKERS;

    const specs: SourceSpec[] = parseSources(rawSources).map(({ name, paths }) => ({
      name, paths, format, textSplit, onBad, template, field: v.field as string | undefined,
    }));
    const tokenizer = await loadTokenizer(tokDir);
    const fingerprint = tokenizerFingerprint(tokDir);
    const progress = new Progress();
    let results;
    try {
      results = await tokenizeSources({
        out, sources: specs, tokenizer, fingerprint, valFraction, minValDocs, shardTokens, force: Boolean(v.force),
        workers: workers > 0 ? { module: defaultTokenizerModule(), dir: tokDir, count: workers } : undefined,
        onProgress: (p) => progress.update(progressLine(p)),
      });
    } finally {
      progress.done(); // ends the progress line, so an error message starts on its own line
    }
    if (v.json) {
      console.log(JSON.stringify(results, null, 2));
      return 0;
    }
    console.log(
      table(
        ["source", "status", "files", "docs", "dups", "skipped", "train tokens", "val tokens", "val docs", "shards", "MB", "time", "tok/s"],
        results.map((r) => [
          r.name, r.status, r.files, r.rawDocs, r.duplicates, r.skipped, r.train.tokens, r.val.tokens, r.val.docs, r.train.shards + r.val.shards,
          (r.textBytes / 1e6).toFixed(1), duration(r.seconds), r.encodedTokens ? human(r.encodedTokens / r.seconds) : "-",
        ]),
      ),
    );
    for (const r of results) {
      if (r.problems.length) {
        console.log(`${r.name}: ${r.skipped} record(s) skipped, e.g.`);
        for (const p of r.problems.slice(0, 5)) console.log(`  ${p}`);
      }
    }
    console.log(`wrote ${out}/index.json (tokenizer fingerprint ${fingerprint})`);
    return 0;
  },
};
