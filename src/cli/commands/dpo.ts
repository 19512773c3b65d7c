// `smol dpo`: direct preference optimisation (posttrain/dpo.ts) as a resumable run directory.
import { dpoConfigHelp } from "../../posttrain/config.js";
import { runDpo } from "../../posttrain/dpo.js";
import type { Command } from "../command.js";
import { runPosttrainCommand } from "./posttrain-run.js";

export const command: Command = {
  name: "dpo",
  summary: "preference optimisation (DPO sigmoid or IPO) against a frozen reference model",
  help: `Usage: smol dpo CONFIG.yaml [--run-dir DIR] [--set path.to.key=value …]

Aligns a model on preference pairs ({"prompt", "chosen", "rejected"} rows, each a string or a list of
messages, as UltraFeedback binarized). String rows are tokens(prompt) + tokens(completion) + [eos];
message rows use the chat template (the prompt with the generation prompt, the completion the rest
of the conversation). The frozen reference model (reference:, default model.from) scores every pair
once; its log-probs are cached in RUN/${"reference_logps.json"}. Metrics use TRL's names: loss,
rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen, logps/rejected
(each train record: the step's pairs before its update), and eval_* on data.eval.

The run directory is a training run (checkpoints, metrics.jsonl, exact resume, Ctrl-C → checkpoint).

Options:
  --run-dir DIR          where the run lives (default runs/<name>)
  --set key=value        override a config key, e.g. --set dpo.beta=0.1 (repeatable)

Config keys:
${dpoConfigHelp().join("\n")}

Example:
  smol dpo examples/post-training/dpo.yaml --run-dir runs/dpo`,
  run: (argv) => runPosttrainCommand("dpo", argv, runDpo),
};
