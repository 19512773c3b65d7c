// `smol swa`: form a longer SWA average from a run's saved window means.
import { UsageError } from "../../errors.js";
import { saveModel } from "../../models/hf.js";
import { averageWindows, listSwaWindows } from "../../train/swa.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";

export const command: Command = {
  name: "swa",
  summary: "average a run's saved SWA windows into a model (longer horizons after the fact)",
  help: `Usage: smol swa --run RUN_DIR --out DIR [--last K | --from STEP --to STEP] [--tokenizer DIR]

A run with averaging.swa_window set saves the mean of each window as swa/window-<end>.safetensors.
This averages the chosen windows (equal lengths, so the mean of means is the mean over the whole
horizon) and writes a Hugging Face model directory you can score, evaluate or generate from.

Options:
  --run RUN_DIR     the run directory (required)
  --out DIR         output model directory (required)
  --last K          the last K windows (default: all)
  --from/--to STEP  windows ending after --from and at or before --to
  --tokenizer DIR   copy a tokenizer into the output

Example:
  smol swa --run runs/const --last 4 --out models/const-swa`,
  async run(argv) {
    const { values } = parseCommandArgs("swa", argv, { run: { type: "string" }, out: { type: "string" }, last: { type: "string" }, from: { type: "string" }, to: { type: "string" }, tokenizer: { type: "string" } });
    const run = requireOpt("swa", "run", values.run);
    const out = requireOpt("swa", "out", values.out);
    const all = listSwaWindows(run);
    const last = numberOpt("swa", "last", values.last, { int: true, min: 1 });
    if (last !== undefined && (values.from !== undefined || values.to !== undefined)) throw new UsageError("swa: give --last or --from/--to, not both");
    const from = last !== undefined ? (all[all.length - last - 1] ?? -1) : (numberOpt("swa", "from", values.from, { int: true, min: -1 }) ?? -1);
    const to = numberOpt("swa", "to", values.to, { int: true, min: 0 }) ?? Infinity;
    const { model, windows } = averageWindows(cliBackend(), run, from, to);
    saveModel(model, out, { tokenizerDir: values.tokenizer as string | undefined });
    console.log(`wrote ${out}: mean of ${windows.length} SWA window(s) ending at steps ${windows.join(", ")}`);
    return 0;
  },
};
