// `smol train`: run (or resume) a pretraining job described by one YAML/JSON config, with
// terminal progress and clean stops on Ctrl-C/SIGTERM. The work is train/run.ts's `train()`.
import * as path from "node:path";
import { defaultCollective, mpiAddonBuilt, type Collective } from "../../backend/collective.js";
import { UsageError } from "../../errors.js";
import { readConfigFile, resolveTrainConfig, trainConfigHelp, type TrainConfig } from "../../train/config.js";
import { train } from "../../train/run.js";
import type { TrainSummary } from "../../train/trainer.js";
import { cliBackend } from "../backend.js";
import { parseCommandArgs, type Command } from "../command.js";
import { Progress, duration, human } from "../output.js";
import { withCleanStops } from "../signals.js";

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

Data parallelism: started by mpirun (or srun) — e.g. \`mpirun -np 2 smol train CONFIG\` — every
rank computes its share of each step's micro-batches (batch accumulation must be a multiple of the
rank count), gradients are summed with MPI_Allreduce in buckets (parallel.bucket_mb), the weights
are compared across ranks by checksum every parallel.check_every steps, and rank 0 alone writes
the run directory. A run resumes only with the rank count that wrote its checkpoints. The first
line says which is used: "MPI, N ranks (…)" or "single process". Needs the MPI addon, built by
npm install when mpicxx is present (Debian: openmpi-bin libopenmpi-dev).

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
  const comm: Collective = defaultCollective({ bucketMB: cfg.parallel?.bucket_mb });
  const lead = comm.rank === 0;
  const progress = new Progress();
  if (lead) progress.log(`collective: ${comm.description}${comm.kind === "single" ? (mpiAddonBuilt() ? " (MPI addon built: start with mpirun -np N for data parallelism)" : " (MPI addon not built)") : `; ${cfg.batch.accumulation / comm.size} of ${cfg.batch.accumulation} micro-batches per rank per step`}`);
  const { result: summary, caught, exitCode } = await withCleanStops(progress, (signal) => train({
    config: cfg, runDir, from, backend: cliBackend(), signal, collective: comm,
    hooks: !lead ? {} : {
      onProgress: (p) => progress.update(`step ${p.step}/${p.steps} [${p.stage}] loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${human(p.tokensPerS)} tok/s ETA ${duration(p.etaS)}`),
      onLog: (line) => progress.log(line),
    },
  }), { quiet: !lead });
  progress.done();
  if (!summary.interrupted) return { summary, exitCode: 0 };
  if (lead) {
    console.log(`stopped by ${caught ?? "a signal to another rank"} at step ${summary.steps}/${cfg.steps}; checkpoint ${summary.lastCheckpoint}`);
    console.log(`resume with: ${resumeCommand ?? "the same command"}${resumeCommand && !/--run-dir/.test(resumeCommand) ? ` --run-dir ${runDir}` : ""}`);
  }
  return { summary, exitCode: exitCode || 130 }; // interrupted by another rank's signal: as if by SIGINT
}

export function printSummary(s: TrainSummary): void {
  if (s.interrupted || defaultCollective().rank !== 0) return; // rank 0 speaks for a data-parallel job
  console.log(`done: ${s.steps} steps, ${human(s.tokens)} tokens, final train loss ${s.finalLoss.toFixed(4)}${s.skippedSteps ? ` (${s.skippedSteps} steps skipped: non-finite loss)` : ""}`);
  console.log(`run directory: ${s.runDir}`);
  if (s.lastCheckpoint) console.log(`last checkpoint: ${s.lastCheckpoint}`);
}
