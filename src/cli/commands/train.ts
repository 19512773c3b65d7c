// `smol train`: run (or resume) a pretraining job described by one YAML/JSON config, with
// terminal progress and clean stops on Ctrl-C/SIGTERM. The work is train/run.ts's `train()`.
import * as path from "node:path";
import { UsageError } from "../../errors.js";
import { readConfigFile, resolveTrainConfig, trainConfigHelp, type TrainConfig } from "../../train/config.js";
import { train } from "../../train/run.js";
import type { TrainSummary } from "../../train/trainer.js";
import { cliBackend } from "../backend.js";
import { parseCommandArgs, type Command } from "../command.js";
import { Progress, duration, human } from "../output.js";

export const command: Command = {
  name: "train",
  summary: "pretrain a model from a config (multi-stage mixtures, WSD/cosine, resumable)",
  help: `Usage: smol train CONFIG.yaml [--run-dir DIR] [--set path.to.key=value …]

Checks everything first — every config problem listed by its dotted path, the shards, the mixture's
sources, the tokenizer against the shards, the model against the vocabulary and sequence length —
and writes nothing until all of it is good. Running it again on an existing run directory resumes
from its newest complete checkpoint (a damaged one falls back to the previous, with a warning); the
metrics continue exactly where they stopped. Only one process may train in a run directory.

Ctrl-C (or SIGTERM) finishes the current step, writes a checkpoint, prints how to resume and exits
with 130 (143); a second Ctrl-C stops at once (the newest checkpoint stays usable).

Options:
  --run-dir DIR          where the run lives (default runs/<name>)
  --set key=value        override a config key, e.g. --set optimizer.lr=0.002 (repeatable)

Run directory: config.resolved.json (config, run identity, model), metrics.jsonl (train and eval
records), step-<n>/ (HF model + optimizer + trainer state + manifest.json with SHA-256 of every
file), eval/step-<n>.json for benchmark tasks, swa/window-<n>.safetensors when SWA is on.

Config keys:
${trainConfigHelp().join("\n")}

Example:
  smol train examples/demo.yaml --set optimizer.lr=0.003`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs("train", argv, { "run-dir": { type: "string" }, set: { type: "string", multiple: true } }, true);
    if (positionals.length !== 1) throw new UsageError("train: give exactly one CONFIG file", "e.g. smol train examples/demo.yaml");
    const file = positionals[0];
    const cfg = resolveTrainConfig(readConfigFile(file), { sets: (values.set as string[] | undefined) ?? [], defaultName: path.basename(file).replace(/\.(ya?ml|json)$/, ""), file });
    const runDir = (values["run-dir"] as string | undefined) ?? path.join("runs", cfg.name);
    const r = await runTraining(cfg, runDir, undefined, `smol train ${process.argv.slice(3).join(" ")}`);
    printSummary(r.summary);
    return r.exitCode;
  },
};

/**
 * Run a job with terminal progress; shared by train, cooldown, sweep jobs and the demo. The first
 * SIGINT/SIGTERM stops after the current step with a checkpoint (exit code 130/143 returned); the
 * handlers are then removed, so a second signal ends the process at once.
 */
export async function runTraining(cfg: TrainConfig, runDir: string, from?: { checkpoint: string }, resumeCommand?: string): Promise<{ summary: TrainSummary; exitCode: number }> {
  const progress = new Progress();
  const ac = new AbortController();
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    caught = sig;
    ac.abort();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    progress.log(`${sig}: finishing the current step and writing a checkpoint (send it again to stop at once)`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const summary = await train({
      config: cfg, runDir, from, backend: cliBackend(), signal: ac.signal,
      hooks: {
        onProgress: (p) => progress.update(`step ${p.step}/${p.steps} [${p.stage}] loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${human(p.tokensPerS)} tok/s ETA ${duration(p.etaS)}`),
        onLog: (line) => progress.log(line),
      },
    });
    progress.done();
    if (summary.interrupted) {
      console.log(`stopped by ${caught} at step ${summary.steps}/${cfg.steps}; checkpoint ${summary.lastCheckpoint}`);
      console.log(`resume with: ${resumeCommand ?? "the same command"}${resumeCommand && !/--run-dir/.test(resumeCommand) ? ` --run-dir ${runDir}` : ""}`);
      return { summary, exitCode: caught === "SIGTERM" ? 143 : 130 };
    }
    return { summary, exitCode: 0 };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export function printSummary(s: TrainSummary): void {
  if (s.interrupted) return;
  console.log(`done: ${s.steps} steps, ${human(s.tokens)} tokens, final train loss ${s.finalLoss.toFixed(4)}${s.skippedSteps ? ` (${s.skippedSteps} steps skipped: non-finite loss)` : ""}`);
  console.log(`run directory: ${s.runDir}`);
  if (s.lastCheckpoint) console.log(`last checkpoint: ${s.lastCheckpoint}`);
}
