// Training behaviour on a tiny model: loss falls, metrics records carry the documented fields,
// SWA/EMA are evaluated without disturbing training, a non-finite loss stops with the last good
// checkpoint intact, and a run directory refuses a different config or a corrupt checkpoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultBackend } from "../../src/backend/index.js";
import { readIndex } from "../../src/data/shards.js";
import { ConfigError, CheckpointError } from "../../src/errors.js";
import { Trainer, TrainingError, modelConfigFor } from "../../src/train/trainer.js";
import type { TrainConfig } from "../../src/train/config.js";
import { readMetrics } from "../../src/train/metrics.js";
import { listCheckpoints } from "../../src/train/checkpoint.js";
import { averageWindows } from "../../src/train/swa.js";
import { openSafetensors } from "../../src/io/safetensors.js";
import { makeShardDir, tinyConfig } from "./fixture.js";
import { byteTokenizerDir } from "../eval/fixture.js";

const data = await makeShardDir();
const root = path.dirname(data);
const be = defaultBackend().backend;
const index = readIndex(data);

async function train(cfg: TrainConfig, dir: string) {
  const t = new Trainer(be, cfg, dir, modelConfigFor(cfg, index.vocabSize, index.eosId));
  try {
    t.open();
    return await t.run();
  } finally {
    t.dispose();
  }
}

test("loss falls, metrics have the documented fields, SWA and EMA are evaluated", async () => {
  const cfg = tinyConfig(data, { averaging: { swa_window: 10, swa_interval: 2, ema_decay: 0.9, ema_interval: 1 } });
  const dir = path.join(root, "basic");
  const s = await train(cfg, dir);
  assert.equal(s.steps, 20);
  const recs = readMetrics(path.join(dir, "metrics.jsonl"));
  const tr = recs.filter((r) => r.type === "train");
  assert.equal(tr.length, 20);
  for (const k of ["step", "tokens", "lr", "loss", "grad_norm", "tokens_per_s", "elapsed_s", "tokens_by_source", "stage"]) assert.ok(k in tr[0], k);
  const first = tr.slice(0, 3).reduce((a, r) => a + (r.loss as number), 0) / 3;
  const last = tr.slice(-3).reduce((a, r) => a + (r.loss as number), 0) / 3;
  assert.ok(last < first - 0.5, `loss fell from ${first} to ${last}`);
  const ev = recs.filter((r) => r.type === "eval");
  assert.ok(ev.length >= 2);
  const lastEval = ev[ev.length - 1] as Record<string, unknown>;
  assert.deepEqual(Object.keys(lastEval.val_loss as object).sort(), ["math", "prose"]);
  assert.ok(typeof lastEval.val_loss_swa_mean === "number" && typeof lastEval.val_loss_ema_mean === "number");
  assert.ok(fs.existsSync(path.join(dir, "swa", "window-10.safetensors")));
  // a longer horizon after the fact: the mean of the two window means
  const { model, windows } = averageWindows(be, dir, 0, 20);
  assert.deepEqual(windows, [10, 20]);
  const w10 = openSafetensors(path.join(dir, "swa", "window-10.safetensors")).read("model.norm.weight");
  const w20 = openSafetensors(path.join(dir, "swa", "window-20.safetensors")).read("model.norm.weight");
  const got = model.params.get("model.norm.weight").data;
  w10.forEach((v, i) => assert.ok(Math.abs(got[i] - (v + w20[i]) / 2) < 1e-6));
  model.dispose();
  // averaging must not disturb training: same losses as a run without it
  const plain = path.join(root, "plain");
  await train(tinyConfig(data), plain);
  const a = readMetrics(path.join(plain, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => r.loss);
  assert.deepEqual(tr.map((r) => r.loss), a);
});

test("a non-finite loss stops the run and keeps the last good checkpoint", async () => {
  const cfg = tinyConfig(data, { optimizer: { lr: 1e6, grad_clip: 0 }, checkpoint: { every: 1, keep_last: 2 } });
  const dir = path.join(root, "nan");
  await assert.rejects(() => train(cfg, dir), (e: unknown) => e instanceof TrainingError && /non-finite loss/.test((e as Error).message));
  const steps = listCheckpoints(dir);
  assert.ok(steps.length >= 1);
  const skip = tinyConfig(data, { optimizer: { lr: 1e6, grad_clip: 0 }, on_nonfinite: "skip" });
  const s = await train(skip, path.join(root, "nan-skip"));
  assert.equal(s.steps, 20);
});

test("a run directory refuses another config and reports a corrupt checkpoint", async () => {
  const dir = path.join(root, "guard");
  await train(tinyConfig(data), dir);
  await assert.rejects(() => train(tinyConfig(data, {}, ["optimizer.lr=0.02"]), dir), ConfigError);
  const last = listCheckpoints(dir).pop()!;
  fs.writeFileSync(path.join(dir, `step-${last}`, "trainer_state.json"), "{ torn");
  // a torn state file means the checkpoint is not complete: resume falls back is not silent
  await assert.rejects(() => train(tinyConfig(data), dir), CheckpointError);
});

test("benchmark tasks run at evaluation points and land in metrics and RUN/eval/", async () => {
  const tok = byteTokenizerDir();
  const cfg = tinyConfig(data, { tokenizer: tok, eval: { every: 10, tokens: 256, tasks: ["hellaswag", "arc_easy"], task_limit: 3 } });
  const dir = path.join(root, "tasks");
  await train(cfg, dir);
  const ev = readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "eval");
  const tasks = ev[ev.length - 1].tasks as Record<string, number>;
  assert.ok(typeof tasks["hellaswag/acc"] === "number" && typeof tasks["arc_easy/acc_norm"] === "number", JSON.stringify(tasks));
  assert.ok(fs.existsSync(path.join(dir, "eval", "step-20.json")));
  await assert.rejects(() => train(tinyConfig(data, { eval: { tasks: ["nope"] } }), path.join(root, "bad-task")), /nope/);
});
