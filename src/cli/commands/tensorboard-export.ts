// `smol tensorboard-export RUN`: write a run's metrics.jsonl as a TensorBoard event file.
import * as fs from "node:fs";
import * as path from "node:path";
import { DataError, UsageError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { eventFileBytes, eventFileName } from "../../io/tensorboard.js";
import { readMetrics } from "../../train/metrics.js";
import { parseCommandArgs, type Command } from "../command.js";

export const command: Command = {
  name: "tensorboard-export",
  summary: "write a run's metrics.jsonl as TensorBoard event files (scalars)",
  help: `Usage: smol tensorboard-export RUN [--out DIR] [--force]

Converts RUN/metrics.jsonl into one TensorBoard event file (events.out.tfevents.*) holding every
logged number as a scalar: train/loss, train/lr, train/grad_norm, train/tokens_per_s, train/tokens,
train/flops, train/tokens_by_source/<source>, eval/val_loss/<source>, eval/val_loss_mean, eval/tasks/…
Values are stored as float32 (TensorBoard's simple_value). Wall times are the run's start plus its
recorded training seconds.

Runs trained with \`log.tensorboard: true\` already have event files; this is for older runs.

Options:
  --out DIR    where the event file goes (default RUN, so \`tensorboard --logdir runs/\` shows it
               under the run's name)
  --force      replace event files already in the target directory

Examples:
  smol tensorboard-export runs/demo/run
  tensorboard --logdir runs/demo        # then open http://localhost:6006`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs("tensorboard-export", argv, { out: { type: "string" }, force: { type: "boolean" } }, true);
    if (positionals.length !== 1) throw new UsageError("tensorboard-export: give exactly one run directory", "e.g. smol tensorboard-export runs/demo/run");
    const run = positionals[0];
    const metrics = path.join(run, "metrics.jsonl");
    if (!fs.existsSync(metrics)) throw new DataError(`tensorboard-export: ${metrics} does not exist`, "pass a run directory written by `smol train` or `smol cooldown`");
    const recs = readMetrics(metrics);
    if (!recs.length) throw new DataError(`tensorboard-export: ${metrics} holds no records yet`);
    const out = (values.out as string | undefined) ?? run;
    fs.mkdirSync(out, { recursive: true });
    const old = fs.readdirSync(out).filter((n) => n.includes("tfevents"));
    if (old.length && !values.force) {
      throw new DataError(`tensorboard-export: ${out} already holds event files (${old.join(", ")})`, "add --force to replace them, or choose another --out");
    }
    // Wall time: when the run started (its resolved config was written) plus its training seconds.
    const cfgFile = path.join(run, "config.resolved.json");
    const start = (fs.existsSync(cfgFile) ? fs.statSync(cfgFile) : fs.statSync(metrics)).mtimeMs / 1000;
    let elapsed = 0;
    const wall = (r: Record<string, unknown>) => {
      if (typeof r.elapsed_s === "number") elapsed = r.elapsed_s;
      return start + elapsed;
    };
    const bytes = eventFileBytes(recs, wall);
    const file = path.join(out, eventFileName(start, ".smollab-export"));
    writeFileAtomic(file, bytes);
    for (const n of old) if (path.join(out, n) !== file) fs.rmSync(path.join(out, n));
    const train = recs.filter((r) => r.type === "train").length;
    console.log(`wrote ${file} (${train} train and ${recs.length - train} eval records, ${(bytes.length / 1024).toFixed(1)} KiB)`);
    console.log(`view it: tensorboard --logdir ${path.dirname(path.resolve(out))}`);
    return 0;
  },
};
