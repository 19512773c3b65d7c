// `smol sft`: supervised fine-tuning on chat data (posttrain/sft.ts) as a resumable run directory.
import { sftConfigHelp } from "../../posttrain/config.js";
import { runSft } from "../../posttrain/sft.js";
import type { Command } from "../command.js";
import { runPosttrainCommand } from "./posttrain-run.js";

export const command: Command = {
  name: "sft",
  summary: "supervised fine-tuning on chat conversations (loss on assistant tokens; resumable)",
  help: `Usage: smol sft CONFIG.yaml [--run-dir DIR] [--set path.to.key=value …]

Fine-tunes a model on conversations ({"messages": [{"role", "content"}, …]} rows in JSONL(.gz/.zst)
or Parquet files, as SmolTalk) rendered with the model's chat template; the loss covers assistant
tokens only, located from the rendered template. A base model without chat tokens can gain
<|im_start|>/<|im_end|> and the ChatML template (model.add_chat_tokens: true). With packing, several
conversations share a sequence and attention crosses their boundaries (as TRL's packing).

Everything is checked before anything is written. The run directory is a training run: the same
checkpoints (HF model directories with the tokenizer and chat template), metrics.jsonl and exact
resume as \`smol train\`; run the same command again to resume. Ctrl-C stops after the current step
with a checkpoint (exit 130).

Options:
  --run-dir DIR          where the run lives (default runs/<name>)
  --set key=value        override a config key, e.g. --set optimizer.lr=1e-4 (repeatable)

Config keys:
${sftConfigHelp().join("\n")}

Example:
  smol sft examples/post-training/sft.yaml --run-dir runs/sft`,
  run: (argv) => runPosttrainCommand("sft", argv, runSft),
};
