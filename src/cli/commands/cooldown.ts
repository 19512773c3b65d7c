// `smol cooldown`: branch a cooldown run from a checkpoint of a constant-LR run.
import * as path from "node:path";
import { UsageError } from "../../errors.js";
import type { DecayShape } from "../../optim/schedule.js";
import { planBranch } from "../../train/cooldown.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";
import { printSummary, runTraining } from "./train.js";

export const command: Command = {
  name: "cooldown",
  summary: "branch a learning-rate cooldown from a checkpoint of a constant-LR run",
  help: `Usage: smol cooldown --from RUN_DIR [--step N] (--steps K | --fraction F) [--shape S] [--final-lr X] [--run-dir NEW]

Starts a child run from the parent's checkpoint at step N (default: its latest), continuing the
same data stream, with the LR decaying from the parent's constant value to --final-lr over the
cooldown. The result equals a single WSD run whose decay starts at N. Many branches can come
from one parent; each records its parent and branch step in config.resolved.json.

Options:
  --from RUN_DIR    the parent run directory (required)
  --step N          branch point: a checkpoint step of the parent (default: latest)
  --steps K         cooldown length in steps
  --fraction F      cooldown as a fraction of the branch's total length: K = round(N·F/(1−F));
                    0.2 gives the paper's 20% cooldown
  --shape S         linear | 1-sqrt | cosine | mirror-cosine | square | power (default 1-sqrt)
  --final-lr X      LR at the end of the cooldown (default 0)
  --run-dir NEW     where the child lives (default: RUN_DIR-cooldown-<N>+<K>)

Example:
  smol cooldown --from runs/const --step 400 --fraction 0.2`,
  async run(argv) {
    const { values } = parseCommandArgs("cooldown", argv, {
      from: { type: "string" }, step: { type: "string" }, steps: { type: "string" }, fraction: { type: "string" },
      shape: { type: "string" }, "final-lr": { type: "string" }, "run-dir": { type: "string" },
    });
    const parentDir = requireOpt("cooldown", "from", values.from);
    if ((values.steps === undefined) === (values.fraction === undefined)) throw new UsageError("cooldown: give exactly one of --steps K or --fraction F");
    const plan = planBranch({
      parentDir,
      step: numberOpt("cooldown", "step", values.step, { int: true, min: 0 }),
      steps: numberOpt("cooldown", "steps", values.steps, { int: true, min: 1 }),
      fraction: numberOpt("cooldown", "fraction", values.fraction, { min: 0, max: 1 }),
      shape: values.shape as DecayShape | undefined,
      finalLr: numberOpt("cooldown", "final-lr", values["final-lr"], { min: 0 }),
    });
    const runDir = (values["run-dir"] as string | undefined) ?? `${path.resolve(parentDir)}-cooldown-${plan.step}+${plan.decaySteps}`;
    console.log(`branching from ${plan.checkpoint}: ${plan.decaySteps} cooldown steps (${plan.cfg.schedule.shape}) → ${runDir}`);
    const r = await runTraining(plan.cfg, runDir, { checkpoint: plan.checkpoint }, `smol cooldown ${argv.join(" ")}`);
    printSummary(r.summary);
    return r.exitCode;
  },
};
