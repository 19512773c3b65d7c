// `smol train`: run (or resume) a pretraining job described by one YAML/JSON config.
import * as path from "node:path";
import { UsageError } from "../../errors.js";
import { readIndex } from "../../data/shards.js";
import { readConfigFile, resolveTrainConfig, schemaHelp, type TrainConfig } from "../../train/config.js";
import { Trainer, modelConfigFor, type TrainSummary } from "../../train/trainer.js";
import { cliBackend } from "../backend.js";
import { parseCommandArgs, type Command } from "../command.js";
import { Progress, duration, human } from "../output.js";

export const command: Command = {
  name: "train",
  summary: "pretrain a model from a config (multi-stage mixtures, WSD/cosine, resumable)",
  help: `Usage: smol train CONFIG.yaml [--run-dir DIR] [--set path.to.key=value …]

Validates the whole config first (every problem listed by its dotted path), writes the resolved
config into the run directory, then trains. Running it again on an existing run directory
resumes from its latest complete checkpoint; the metrics continue exactly where they stopped.

Options:
  --run-dir DIR          where the run lives (default runs/<name>)
  --set key=value        override a config key, e.g. --set optimizer.lr=0.002 (repeatable)

Run directory: config.resolved.json, metrics.jsonl (train and eval records), step-<n>/
(HF model + optimizer + trainer state), swa/window-<n>.safetensors when SWA is on.

Config keys:
${schemaHelp().join("\n")}

Example:
  smol train examples/demo.yaml --set optimizer.lr=0.003`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs("train", argv, { "run-dir": { type: "string" }, set: { type: "string", multiple: true } }, true);
    if (positionals.length !== 1) throw new UsageError("train: give exactly one CONFIG file", "e.g. smol train examples/demo.yaml");
    const file = positionals[0];
    const cfg = resolveTrainConfig(readConfigFile(file), { sets: (values.set as string[] | undefined) ?? [], defaultName: path.basename(file).replace(/\.(ya?ml|json)$/, ""), file });
    const runDir = (values["run-dir"] as string | undefined) ?? path.join("runs", cfg.name);
    const summary = await runTraining(cfg, runDir);
    printSummary(summary);
    return 0;
  },
};

/** Build and run a Trainer with terminal progress; shared by train and cooldown. */
export async function runTraining(cfg: TrainConfig, runDir: string, from?: { checkpoint: string }): Promise<TrainSummary> {
  const index = readIndex(cfg.data.dir);
  const be = cliBackend();
  if (cfg.threads) be.setThreads(cfg.threads);
  const mc = modelConfigFor(cfg, index.vocabSize, index.eosId);
  const progress = new Progress();
  const trainer = new Trainer(be, cfg, runDir, mc, {
    onProgress: (p) => progress.update(`step ${p.step}/${p.steps} [${p.stage}] loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${human(p.tokensPerS)} tok/s ETA ${duration(p.etaS)}`),
    onLog: (line) => progress.log(line),
  }, { tokenizerDir: cfg.tokenizer });
  try {
    trainer.open(from);
    const s = await trainer.run();
    progress.done();
    return s;
  } finally {
    trainer.dispose();
  }
}

export function printSummary(s: TrainSummary): void {
  console.log(`done: ${s.steps} steps, ${human(s.tokens)} tokens, final train loss ${s.finalLoss.toFixed(4)}`);
  console.log(`run directory: ${s.runDir}`);
  if (s.lastCheckpoint) console.log(`last checkpoint: ${s.lastCheckpoint}`);
}
