// `smol curate annotate` and `smol curate train`: the LLM-judge annotation of a document sample
// and the training of a quality classifier on scored documents (curate/classify/). Options,
// progress and the printed metrics live here.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../errors.js";
import { newReadStats, expandPaths } from "../../data/sources.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { annotate } from "../../curate/classify/annotate.js";
import { PROMPTS } from "../../curate/classify/prompts.js";
import { trainClassifier, type Scored } from "../../curate/classify/train.js";
import { readCurateBatches } from "../../curate/records.js";
import { numberOpt, parseCommandArgs, requireOpt } from "../command.js";
import { Progress, table } from "../output.js";

export const ANNOTATE_HELP = `smol curate annotate — score documents 0–5 with an LLM judge (FineWeb-Edu style)

Usage: smol curate annotate --input PATH_OR_GLOB --endpoint URL --model NAME --out FILE.jsonl [options]

Sends each sampled document in the judge prompt to an OpenAI-compatible chat-completions endpoint
(smol serve, vLLM, llama.cpp's server, TGI) and writes FILE.jsonl with {"id", "text", "score"} for
every answer that ends with a score (unparseable answers are counted, not written). Answers are
cached in FILE.jsonl.cache as they arrive: rerunning resumes without asking again.

Options:
  --input PATH        JSONL(.gz/.zst) or Parquet files, folders or globs (repeatable)
  --field F           text field (default text);  --id-field F  id field (default id)
  --sample N          documents to annotate: the N with the smallest hash of their text (default: all)
  --endpoint URL      base URL ending in /v1, e.g. http://127.0.0.1:8000/v1 (required)
  --model NAME        model name sent to the endpoint (required)
  --prompt P          fineweb-edu (default) | finemath   (docs/curate.md states both and their sources)
  --prompt-file F     a prompt of your own with {text} where the document goes
  --concurrency N     requests in flight (default 4)
  --retries N         retries per request on errors, 429 and 5xx, with exponential backoff (default 4)
  --backoff-ms N      first backoff (default 500, doubling)
  --max-tokens N      answer length (default 256);  --temperature T (default 0)
  --max-chars N       characters of each document put in the prompt (default 6000)
  --out FILE          annotations JSONL (required)
Environment: OPENAI_API_KEY is sent as a bearer token when set.

Example:
  smol curate annotate --input raw/*.jsonl.gz --sample 2000 --endpoint http://127.0.0.1:8000/v1 \\
    --model SmolLM2-1.7B-Instruct --out edu-annotations.jsonl`;

export const TRAIN_HELP = `smol curate train — train a quality classifier on scored documents

Usage: smol curate train --data FILE.jsonl [--data …] --out DIR [--kind hashed-ngram|embedding-head] [options]

Reads {"text", "score"} records (from \`smol curate annotate\`, or existing annotations such as
FineWeb-Edu's), holds out a fixed fraction by text hash, trains, and reports held-out MSE and
precision/recall/F1 at the threshold (FineWeb-Edu's classifier: F1 ≈ 0.82 at 3) with the confusion
matrix. DIR is a classifier folder for the pipeline step \`- classifier: { model: DIR, threshold: 3 }\`.

Options:
  --kind K          hashed-ngram (default: hashed word 1..n-grams, linear regression, fast) |
                    embedding-head (ridge regression on mean-pooled hidden states of --encoder)
  --encoder DIR     a local Llama model folder, e.g. a SmolLM2 checkpoint (embedding-head)
  --max-tokens N    tokens per document for the encoder (default 512)
  --text-field F    (default text);  --score-field F (default score)
  --heldout F       held-out fraction (default 0.1);  --threshold T (default 3)
  --bits N          hashed-ngram: 2^N features (default 18);  --ngrams N (default 2)
  --epochs N        hashed-ngram: passes (default 8);  --lr X (default 0.3);  --l2 X (default 1e-6)
  --lambda X        embedding-head: ridge penalty (default 1e-3)
  --json            print the metrics as JSON

Example:
  smol curate train --data edu-annotations.jsonl --out edu-classifier`;

const ANNOTATE_OPTIONS = {
  input: { type: "string", multiple: true }, field: { type: "string" }, "id-field": { type: "string" }, sample: { type: "string" },
  endpoint: { type: "string" }, model: { type: "string" }, prompt: { type: "string" }, "prompt-file": { type: "string" },
  concurrency: { type: "string" }, retries: { type: "string" }, "backoff-ms": { type: "string" }, "max-tokens": { type: "string" },
  temperature: { type: "string" }, "max-chars": { type: "string" }, out: { type: "string" },
} as const;

export async function runAnnotate(argv: string[]): Promise<number> {
  const C = "curate annotate";
  const { values } = parseCommandArgs(C, argv, ANNOTATE_OPTIONS);
  const inputs = (values.input as string[] | undefined) ?? [];
  if (inputs.length === 0) throw new UsageError(`${C}: missing --input`, "run `smol curate annotate --help`");
  const endpoint = requireOpt(C, "endpoint", values.endpoint);
  const model = requireOpt(C, "model", values.model);
  const out = requireOpt(C, "out", values.out);
  let prompt: string;
  if (typeof values["prompt-file"] === "string") {
    prompt = fs.readFileSync(values["prompt-file"], "utf8");
    if (!prompt.includes("{text}")) throw new UsageError(`${C}: ${values["prompt-file"]} has no {text} where the document goes`);
  } else {
    const name = (values.prompt as string | undefined) ?? "fineweb-edu";
    if (!(name in PROMPTS)) throw new UsageError(`${C}: --prompt must be one of ${Object.keys(PROMPTS).join(", ")}, got "${name}"`);
    prompt = PROMPTS[name];
  }
  const sample = numberOpt(C, "sample", values.sample, { int: true, min: 1 });
  const files = expandPaths(inputs);
  // The sample: the documents with the smallest text hashes (bottom-k, memory 2k documents).
  let pool: Array<{ h: string; id: string; text: string }> = [];
  const trim = () => {
    pool.sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    if (sample !== undefined) pool = pool.slice(0, sample);
  };
  const spec = { files, baseDir: process.cwd(), textField: (values.field as string) ?? "text", idField: (values["id-field"] as string) ?? "id", onBad: "fail" as const };
  for await (const batch of readCurateBatches(spec, newReadStats())) {
    for (const d of batch) pool.push({ h: createHash("sha1").update(d.text).digest("hex"), id: d.id, text: d.text });
    if (sample !== undefined && pool.length > 2 * sample) trim();
  }
  trim();
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const progress = new Progress();
  const res = await annotate(pool, {
    endpoint, model, prompt,
    cacheFile: `${out}.cache`,
    concurrency: numberOpt(C, "concurrency", values.concurrency, { int: true, min: 1, max: 256 }) ?? 4,
    retries: numberOpt(C, "retries", values.retries, { int: true, min: 0, max: 20 }) ?? 4,
    backoffMs: numberOpt(C, "backoff-ms", values["backoff-ms"], { min: 0 }) ?? 500,
    maxTokens: numberOpt(C, "max-tokens", values["max-tokens"], { int: true, min: 1 }) ?? 256,
    temperature: numberOpt(C, "temperature", values.temperature, { min: 0 }) ?? 0,
    maxChars: numberOpt(C, "max-chars", values["max-chars"], { int: true, min: 1 }) ?? 6000,
    apiKey: process.env.OPENAI_API_KEY,
    onProgress: (p) => progress.update(`annotated ${p.done}/${p.total} (${p.cached} from the cache, ${p.unparseable} unparseable)`),
  });
  progress.done();
  const lines = res.annotations.filter((a) => a.score !== null).map((a) => JSON.stringify({ id: a.id, text: a.text, score: a.score }) + "\n");
  writeFileAtomic(out, lines.join(""));
  console.log(`${res.annotations.length} documents: ${res.requested} asked, ${res.cached} from the cache, ${res.unparseable} unparseable answers, ${res.retries} retries → ${out}`);
  return 0;
}

const TRAIN_OPTIONS = {
  data: { type: "string", multiple: true }, out: { type: "string" }, kind: { type: "string" }, encoder: { type: "string" },
  "max-tokens": { type: "string" }, "text-field": { type: "string" }, "score-field": { type: "string" }, heldout: { type: "string" },
  threshold: { type: "string" }, bits: { type: "string" }, ngrams: { type: "string" }, epochs: { type: "string" }, lr: { type: "string" },
  l2: { type: "string" }, lambda: { type: "string" }, json: { type: "boolean" },
} as const;

export async function runTrain(argv: string[]): Promise<number> {
  const C = "curate train";
  const { values } = parseCommandArgs(C, argv, TRAIN_OPTIONS);
  const data = (values.data as string[] | undefined) ?? [];
  if (data.length === 0) throw new UsageError(`${C}: missing --data`, "run `smol curate train --help`");
  const out = requireOpt(C, "out", values.out);
  const kind = (values.kind as string | undefined) ?? "hashed-ngram";
  if (kind !== "hashed-ngram" && kind !== "embedding-head") throw new UsageError(`${C}: --kind must be hashed-ngram or embedding-head, got "${kind}"`);
  const scoreField = (values["score-field"] as string) ?? "score";
  const docs: Scored[] = [];
  const spec = { files: expandPaths(data), baseDir: process.cwd(), textField: (values["text-field"] as string) ?? "text", idField: "id", onBad: "fail" as const };
  for await (const batch of readCurateBatches(spec, newReadStats())) {
    for (const d of batch) {
      const s = Number(d.record[scoreField]);
      if (!Number.isFinite(s)) throw new UsageError(`${C}: document ${d.id} has no numeric "${scoreField}"`, "pick the field with --score-field");
      docs.push({ text: d.text, score: s });
    }
  }
  const progress = new Progress();
  const res = await trainClassifier(docs, {
    kind, out,
    heldout: numberOpt(C, "heldout", values.heldout, { min: 0.01, max: 0.9 }) ?? 0.1,
    threshold: numberOpt(C, "threshold", values.threshold, { min: 0, max: 5 }) ?? 3,
    bits: numberOpt(C, "bits", values.bits, { int: true, min: 8, max: 26 }) ?? 18,
    ngrams: numberOpt(C, "ngrams", values.ngrams, { int: true, min: 1, max: 5 }) ?? 2,
    epochs: numberOpt(C, "epochs", values.epochs, { int: true, min: 1 }) ?? 8,
    lr: numberOpt(C, "lr", values.lr, { min: 0 }) ?? 0.3,
    l2: numberOpt(C, "l2", values.l2, { min: 0 }) ?? 1e-6,
    seed: 1,
    encoder: values.encoder as string | undefined,
    maxTokens: numberOpt(C, "max-tokens", values["max-tokens"], { int: true, min: 1 }) ?? 512,
    lambda: numberOpt(C, "lambda", values.lambda, { min: 0 }) ?? 1e-3,
    source: data.join(","),
    onProgress: (what, d, t) => progress.update(`${what} ${d}/${t}`),
  });
  progress.done();
  const m = res.metrics;
  if (values.json) {
    console.log(JSON.stringify({ ...res, out }, null, 2));
    return 0;
  }
  console.log(`trained on ${res.train} documents, evaluated on ${res.heldout} held out → ${out}`);
  console.log(`held-out MSE ${m.mse.toFixed(4)}; at threshold ${m.threshold}: precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)}, F1 ${m.f1.toFixed(3)}`);
  console.log("confusion (rows: annotated int score, columns: predicted):");
  console.log(table(["", "0", "1", "2", "3", "4", "5"], m.confusion.map((r, i) => [String(i), ...r])));
  return 0;
}
