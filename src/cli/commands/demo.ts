// `smol demo`: the README's main job. On a fresh clone it trains a BPE tokenizer on the bundled
// corpora, tokenizes them into shards, trains a small model in SmolLM2 style (three stages with
// shifting mixtures, WSD with a 1-sqrt cooldown in the last stage), then prints per-source
// validation loss after each stage, generated samples, and where the run and its plots are.
// Every step is resumable: running it again continues where it stopped.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { trainBpeFromFiles } from "../../tokenizer/bpe/train.js";
import { loadTokenizer, saveTrainedTokenizer } from "../../tokenizer/tokenizer.js";
import { tokenizeSources } from "../../data/tokenize.js";
import { tokenizerFingerprint } from "../../data/shards.js";
import { generate } from "../../models/generate.js";
import { loadModel } from "../../models/hf.js";
import { writeRunReport } from "../../report/run.js";
import { writeSamples, type Sample } from "../../report/samples.js";
import { readConfigFile, resolveTrainConfig } from "../../train/config.js";
import { readMetrics } from "../../train/metrics.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { packageRoot } from "../../util/paths.js";
import { METRICS_FILE } from "../../io/run-layout.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, type Command } from "../command.js";
import { Progress, duration, table } from "../output.js";
import { printSummary, runTraining } from "./train.js";

const SOURCES = ["web", "code", "math"] as const;
const EOT = "<|endoftext|>";

export const command: Command = {
  name: "demo",
  summary: "train a tokenizer and a small SmolLM2-style model on the bundled corpora (1–5 min)",
  help: `Usage: smol demo [--out DIR] [--vocab-size N] [--config FILE]

The main job of the quick start, on the corpora bundled in data/corpora (Brown-corpus prose,
TypeScript sources, GSM8K-train math):
  1. trains a byte-level BPE tokenizer (DIR/tokenizer)
  2. tokenizes the three sources into shards with held-out validation splits (DIR/shards)
  3. trains examples/demo.yaml: three stages whose mixtures move from web-heavy to more code and
     math, with a WSD schedule whose 1-sqrt cooldown is the last stage (DIR/run)
  4. prints validation loss per source after each stage, samples from the final model, and
     writes plots (DIR/run/report/index.html)
Running it again resumes (finished steps are skipped).

Options:
  --out DIR          where everything goes (default runs/demo)
  --vocab-size N     tokenizer vocabulary (default 4096)
  --config FILE      train with another config (default examples/demo.yaml)`,
  async run(argv) {
    const { values } = parseCommandArgs("demo", argv, { out: { type: "string" }, "vocab-size": { type: "string" }, config: { type: "string" } });
    const out = (values.out as string | undefined) ?? path.join("runs", "demo");
    const vocab = numberOpt("demo", "vocab-size", values["vocab-size"], { int: true, min: 300 }) ?? 4096;
    const root = packageRoot();
    const t0 = performance.now();
    fs.mkdirSync(out, { recursive: true });
    const progress = new Progress();

    // 1. Tokenizer, trained on plain-text extracts of the corpora.
    const tokDir = path.join(out, "tokenizer");
    if (!fs.existsSync(path.join(tokDir, "tokenizer.json"))) {
      const textDir = path.join(out, "text");
      fs.mkdirSync(textDir, { recursive: true });
      const files = SOURCES.map((s) => {
        const file = path.join(textDir, `${s}.txt`);
        if (!fs.existsSync(file)) {
          const lines = zlib.gunzipSync(fs.readFileSync(path.join(root, "data", "corpora", `${s}.jsonl.gz`))).toString("utf8").split("\n").filter(Boolean);
          writeFileAtomic(file, lines.map((l) => JSON.parse(l).text as string).join(EOT));
        }
        return file;
      });
      progress.log(`[1/4] training a ${vocab}-token BPE tokenizer on ${files.length} corpora`);
      const trained = await trainBpeFromFiles(files, {
        vocabSize: vocab, specials: [EOT],
        onProgress: (p) => progress.update(p.phase === "count" ? `  counting ${(p.bytesDone / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB` : `  merges ${p.done}/${p.total}`),
      });
      saveTrainedTokenizer(trained, tokDir, { modelMaxLength: 256 });
      progress.log(`      → ${tokDir} (${duration((performance.now() - t0) / 1000)})`);
    } else progress.log(`[1/4] tokenizer: ${tokDir} (exists)`);

    // 2. Shards per source with validation splits (resumable).
    const shardDir = path.join(out, "shards");
    const tok = await loadTokenizer(tokDir);
    progress.log(`[2/4] tokenizing ${SOURCES.join(", ")} → ${shardDir}`);
    const results = await tokenizeSources({
      out: shardDir, tokenizer: tok, fingerprint: tokenizerFingerprint(tokDir),
      sources: SOURCES.map((s) => ({ name: s, paths: [path.join(root, "data", "corpora", `${s}.jsonl.gz`)] })),
      valFraction: 0.02, workers: { module: new URL("../../tokenizer/tokenizer.js", import.meta.url).href, dir: path.resolve(tokDir), count: 2 },
      onProgress: (p) => progress.update(`  ${p.source}: ${p.phase} ${(p.textBytes / 1e6).toFixed(1)} MB, ${p.tokens.toLocaleString("en-US")} tokens`),
    });
    progress.log(table(["source", "docs", "train tokens", "val tokens", "duplicates"], results.map((r) => [r.name, r.rawDocs, r.train.tokens, r.val.tokens, r.duplicates])));

    // 3. Multi-stage training.
    const cfgFile = (values.config as string | undefined) ?? path.join(root, "examples", "demo.yaml");
    const cfg = resolveTrainConfig(readConfigFile(cfgFile), { file: cfgFile, sets: [`data.dir=${shardDir}`, `tokenizer=${tokDir}`] });
    const runDir = path.join(out, "run");
    progress.log(`[3/4] training (${cfg.data.stages.map((s) => s.name).join(" → ")}), ${cfg.steps} steps`);
    const { summary, exitCode } = await runTraining(cfg, runDir, undefined, "smol demo");
    if (exitCode !== 0) return exitCode;
    printSummary(summary);

    // 4. Summary: validation loss after each stage, samples, plots.
    const evals = readMetrics(path.join(runDir, METRICS_FILE)).filter((r) => r.type === "eval");
    const atStageEnd = cfg.data.stages.map((s) => ({ stage: s.name, rec: evals.find((r) => r.step === s.endStep) }));
    console.log("\n[4/4] validation loss (nats/token) after each stage:");
    console.log(table(["stage", "step", ...SOURCES, "mean"], atStageEnd.filter((x) => x.rec).map(({ stage, rec }) => {
      const v = rec!.val_loss as Record<string, number>;
      return [stage, rec!.step, ...SOURCES.map((s) => v[s] ?? NaN), rec!.val_loss_mean as number];
    })));
    const model = loadModel(summary.lastCheckpoint, cliBackend(), { withGrad: false });
    console.log("\nsamples from the final model (temperature 0.7, top-k 40):");
    const samples: Sample[] = [];
    for (const prompt of ["The old man", "function parse(", "Question: Tom has 3 apples"]) {
      const ids = tok.encode(prompt);
      const r = generate(model, ids, { maxNewTokens: 40, temperature: 0.7, topK: 40, topP: 1, seed: 1, stopIds: tok.eosId === undefined ? [] : [tok.eosId] });
      console.log(`  ${JSON.stringify(prompt + tok.decode(r.ids, true))}`);
      samples.push({ step: summary.steps, prompt, completion: tok.decode(r.ids, true), temperature: 0.7, top_k: 40, top_p: 1, seed: 1 });
    }
    writeSamples(runDir, samples); // shown by smol report and smol dashboard
    const files = writeRunReport(runDir);
    console.log(`\nrun directory: ${runDir}\nplots: ${files.join(", ")}\ntotal time ${duration((performance.now() - t0) / 1000)}`);
    console.log(`next: smol generate --model ${summary.lastCheckpoint} --prompt "Once upon a time"`);
    return 0;
  },
};
