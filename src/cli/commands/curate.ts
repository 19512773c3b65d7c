// `smol curate`: run a data-curation pipeline (filters, exact and MinHash dedup, decontamination,
// classifier scores) from a YAML file into kept/removed shards, stats.json and report.html; and
// the classifier's own steps, `smol curate annotate` and `smol curate train`. The work is in
// curate/; this file parses options and prints progress and the funnel.
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { UsageError } from "../../errors.js";
import { loadPipeline } from "../../curate/config.js";
import { runCurate } from "../../curate/pipeline.js";
import { STEP_TYPES } from "../../curate/steps/index.js";
import { numberOpt, parseCommandArgs, type Command } from "../command.js";
import { ANNOTATE_HELP, runAnnotate, runTrain, TRAIN_HELP } from "./curate-classify.js";
import { human, Progress, table } from "../output.js";

const NAME = "curate";
// Hashing dominates the MinHash pass and the main thread mostly parses, so one thread per core.
const DEFAULT_WORKERS = Math.max(1, Math.min(8, availableParallelism()));
const mb = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);

const stepList = Object.entries(STEP_TYPES)
  .map(([k, t]) => `  ${k.padEnd(18)} ${t.summary}`)
  .join("\n");

const help = `smol curate — turn raw documents into a curated source, every removal explained

Usage: smol curate PIPELINE.yaml [--out DIR] [--workers N]
       smol curate annotate …             score a sample with an LLM judge (FineWeb-Edu / FineMath prompts)
       smol curate train …                train a quality classifier on scored documents
       (both are described after the pipeline's options below)

The pipeline file (paths in it are relative to its folder):

  input:  { paths: ["raw/*.jsonl.gz"], text_field: text, id_field: id, on_bad: fail }
  steps:
    - gopher_quality: {}
    - exact_dedup: {}
    - minhash: { ngram: 5, bands: 14, rows: 8 }
    - decontaminate: { ngram: 13 }        # every evaluation set SmolLab ships (+ mmlu:DIR)
    - classifier: { model: edu-classifier, threshold: 3 }
  output: { format: jsonl.zst, shard_mb: 64 }   # or jsonl.gz, jsonl, parquet
  stats:  { tokenizer: runs/tok16k }      # optional: token counts in stats.json

Input: JSONL (.gz/.zst) or Parquet files, folders or globs; every field of a record is kept.
Output in DIR: kept/part-NNNNN.jsonl.zst (the kept records, all fields intact; classifier steps add
score and int_score), removed/<step>/part-NNNNN.jsonl.zst ({"id", "reason", …} per removed
document; id is the id field, else file:line), stats.json (documents, characters and tokens in and
out of every step, benchmark items hit, …) and report.html (funnel, score histograms, removed
examples). DIR/kept is a source for \`smol tokenize --source NAME=DIR/kept\`.

Rerunning the same command resumes a killed run (finished passes are kept) and gives
byte-identical output; a finished DIR is left as it is.

Steps (each threshold is configurable; defaults are the published ones, see docs/curate.md):
${stepList}

Options:
  --out DIR       output folder (default: curated/<pipeline name>)
  --workers N     threads computing MinHash signatures (default ${DEFAULT_WORKERS} here: one per core, at most 8;
                  1 hashes in the main thread); the output does not depend on it
  --json          print stats.json instead of the funnel table

Example:
  smol curate examples/curate/pipeline.yaml --out runs/curated

────────────────────────────────────────────────────────────────────────────────────────────────
${ANNOTATE_HELP}

────────────────────────────────────────────────────────────────────────────────────────────────
${TRAIN_HELP}`;

const OPTIONS = { out: { type: "string" }, workers: { type: "string" }, json: { type: "boolean" } } as const;

async function runPipeline(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(NAME, argv, OPTIONS, true);
  if (positionals.length !== 1) throw new UsageError(`${NAME}: expected one pipeline file, got ${positionals.length}`, "usage: smol curate PIPELINE.yaml [--out DIR]");
  const file = positionals[0];
  const pipeline = loadPipeline(file);
  const out = typeof values.out === "string" ? values.out : path.join("curated", path.basename(file).replace(/\.(ya?ml|json)$/, ""));
  const workers = numberOpt(NAME, "workers", values.workers, { int: true, min: 1, max: 256 }) ?? DEFAULT_WORKERS;
  const progress = new Progress();
  const t0 = Date.now();
  const res = await runCurate(pipeline, {
    out,
    workers,
    onProgress: (p) => progress.update(`pass ${p.pass}/${p.passes} (${p.what}): ${human(p.docs)} documents, ${mb(p.bytes)} read, ${((Date.now() - t0) / 1000).toFixed(0)}s`),
  });
  progress.done();
  if (values.json) {
    console.log(JSON.stringify(res.stats, null, 2));
    return 0;
  }
  if (!res.ran) console.log(`${out} already holds the finished output of this pipeline (delete it to run again)`);
  const s = res.stats;
  const rows: Array<Array<string | number>> = [["input", "", s.input.documents, s.input.characters, s.input.tokens ?? "—"]];
  for (const st of s.steps) rows.push([st.name, st.removed, st.documents_out, st.characters_out, st.tokens_out ?? "—"]);
  console.log(table(["after step", "removed", "documents", "characters", "tokens"], rows));
  if (s.input.skipped) console.log(`${s.input.skipped} bad records skipped (first: ${s.input.problems[0]})`);
  console.log(`kept ${s.output.documents} of ${s.input.documents} documents → ${path.join(out, "kept")}; report: ${path.join(out, "report.html")}`);
  return 0;
}

export const command: Command = {
  name: NAME,
  summary: "curate raw documents: filters, exact/MinHash dedup, decontamination, quality classifiers",
  help,
  async run(argv) {
    const sub = argv[0];
    if (sub === "annotate" || sub === "train") {
      if (argv.includes("--help") || argv.includes("-h")) {
        console.log(sub === "annotate" ? ANNOTATE_HELP : TRAIN_HELP);
        return 0;
      }
      return sub === "annotate" ? runAnnotate(argv.slice(1)) : runTrain(argv.slice(1));
    }
    return runPipeline(argv);
  },
};
