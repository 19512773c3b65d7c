// What `smol sft` and `smol dpo` share: config file + --set overrides, terminal progress, and
// clean stops on the first SIGINT/SIGTERM (a checkpoint, how to resume, exit 130/143).
import * as path from "node:path";
import { UsageError } from "../../errors.js";
import { parsePosttrainConfig, type DpoConfig, type SftConfig } from "../../posttrain/config.js";
import type { PosttrainJob } from "../../posttrain/sft.js";
import { readConfigFile } from "../../train/config.js";
import type { TrainSummary } from "../../train/trainer.js";
import { cliBackend } from "../backend.js";
import { parseCommandArgs } from "../command.js";
import { Progress, duration, human } from "../output.js";
import { withCleanStops } from "../signals.js";

export async function runPosttrainCommand(kind: "sft" | "dpo", argv: string[], run: (cfg: SftConfig & DpoConfig, job: PosttrainJob) => Promise<TrainSummary & { config: { steps: number } }>): Promise<number> {
  const { values, positionals } = parseCommandArgs(kind, argv, { "run-dir": { type: "string" }, set: { type: "string", multiple: true } }, true);
  if (positionals.length !== 1) throw new UsageError(`${kind}: give exactly one CONFIG file`, `e.g. smol ${kind} examples/post-training/${kind}.yaml --run-dir runs/${kind}`);
  const file = positionals[0];
  const cfg = parsePosttrainConfig(kind, readConfigFile(file), { sets: (values.set as string[] | undefined) ?? [], file, defaultName: path.basename(file).replace(/\.(ya?ml|json)$/, "") });
  const runDir = (values["run-dir"] as string | undefined) ?? path.join("runs", cfg.name!);
  const progress = new Progress();
  const { result: s, caught, exitCode } = await withCleanStops(progress, (signal) => run(cfg as SftConfig & DpoConfig, {
    runDir, backend: cliBackend(), signal,
    hooks: {
      onProgress: (p) => progress.update(`${kind} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${human(p.tokensPerS)} tok/s ETA ${duration(p.etaS)}`),
      onLog: (line) => progress.log(line),
    },
  }));
  progress.done();
  if (s.interrupted) {
    console.log(`stopped by ${caught} at step ${s.steps}/${s.config.steps}; checkpoint ${s.lastCheckpoint}`);
    console.log(`resume with: smol ${kind} ${file} --run-dir ${runDir}`);
    return exitCode;
  }
  console.log(`done: ${s.steps} steps, final loss ${s.finalLoss.toFixed(4)}${s.skippedSteps ? ` (${s.skippedSteps} steps skipped: non-finite loss)` : ""}`);
  console.log(`run directory: ${s.runDir}`);
  if (s.lastCheckpoint) console.log(`last checkpoint: ${s.lastCheckpoint} (a Hugging Face model directory with its chat template)`);
  return 0;
}
