// Training behaviour on a tiny model: loss falls, metrics records carry the documented fields,
// SWA/EMA are evaluated without disturbing training, a non-finite loss stops with the last good
// checkpoint intact, and a run directory refuses a different config or a corrupt checkpoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultBackend } from "../../src/backend/index.js";
import { ConfigError, CheckpointError } from "../../src/errors.js";
import { TrainingError } from "../../src/train/trainer.js";
import { train as runJob } from "../../src/train/run.js";
import type { TrainConfig } from "../../src/train/config.js";
import { readMetrics } from "../../src/train/metrics.js";
import { listCheckpoints } from "../../src/io/run-layout.js";
import { averageWindows } from "../../src/train/swa.js";
import { openSafetensors } from "../../src/io/safetensors.js";
import { makeShardDir, tinyConfig } from "./fixture.js";
import { byteTokenizerDir } from "../eval/fixture.js";

const data = await makeShardDir();
const root = path.dirname(data);
const be = defaultBackend().backend;

const train = (cfg: TrainConfig, dir: string) => runJob({ config: cfg, runDir: dir, backend: be });

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

test("a run directory refuses another config; a damaged newest checkpoint falls back to the previous, with a warning", async () => {
  const dir = path.join(root, "guard");
  await train(tinyConfig(data), dir);
  await assert.rejects(() => train(tinyConfig(data, {}, ["optimizer.lr=0.02"]), dir), ConfigError);
  const steps = listCheckpoints(dir);
  const last = steps[steps.length - 1];
  const want = readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => r.loss);
  fs.writeFileSync(path.join(dir, `step-${last}`, "trainer_state.json"), "{ torn");
  const logs: string[] = [];
  const s = await runJob({ config: tinyConfig(data), runDir: dir, backend: be, hooks: { onLog: (l) => logs.push(l) } });
  assert.match(logs.join("\n"), new RegExp(`checkpoint step-${last} is damaged .*falling back to step-${steps[steps.length - 2]}`));
  assert.equal(s.resumedFrom, steps[steps.length - 2]);
  assert.deepEqual(readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => r.loss), want, "the redone steps equal the first run's");
  // every checkpoint damaged: a clear error, nothing started over silently
  for (const st of listCheckpoints(dir)) fs.writeFileSync(path.join(dir, `step-${st}`, "model.safetensors"), "garbage");
  await assert.rejects(() => train(tinyConfig(data), dir), (e: unknown) => e instanceof CheckpointError && /every checkpoint is damaged/.test((e as Error).message));
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
