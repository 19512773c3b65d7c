// The data-parallel rules of train/parallel.ts on their own: round-robin ownership of micro-batches,
// the per-step agreement (losses summed in global order; here through the real single-process
// collective), preflight problems for an uneven split, and that `parallel:` settings are not part of
// a run's identity (changing the bucket size or check interval resumes the same run).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SingleProcess } from "../../src/backend/collective.js";
import { agreeOnStep, ownsMicroBatch, parallelProblems, weightChecksum } from "../../src/train/parallel.js";
import { configHash } from "../../src/train/rundir.js";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { makeShardDir, tinyConfig } from "./fixture.js";
import { runSmol } from "../helpers.js";

test("micro-batch a belongs to rank a mod N: every micro-batch once, N ranks balanced", () => {
  for (const size of [1, 2, 4]) {
    const owners = Array.from({ length: 8 }, (_, a) => Array.from({ length: size }, (_, rank) => ownsMicroBatch(a, { rank, size })).indexOf(true));
    assert.deepEqual(owners, Array.from({ length: 8 }, (_, a) => a % size));
  }
});

test("one process agrees with itself: the loss sum is the sequential one, a stop request is kept", () => {
  const losses = [0.1, 0.2, 0.30000000000000004, Number.NaN];
  const r = agreeOnStep(new SingleProcess(), { losses, bySource: { a: 64 }, stop: true }, 4);
  let seq = 0;
  for (const l of losses) seq += l;
  assert.ok(Number.isNaN(r.lossSum) && Number.isNaN(seq), "a non-finite loss survives the exchange");
  const r2 = agreeOnStep(new SingleProcess(), { losses: losses.slice(0, 3), bySource: { a: 64, b: 32 }, stop: false }, 3);
  assert.equal(r2.lossSum, 0.1 + 0.2 + 0.30000000000000004);
  assert.deepEqual(r2.bySource, { a: 64, b: 32 });
  assert.equal(r2.stop, false);
});

test("an uneven split over the ranks is a preflight problem naming the fix", () => {
  assert.deepEqual(parallelProblems(4, 1), []);
  assert.deepEqual(parallelProblems(4, 2), []);
  assert.match(parallelProblems(4, 3)[0], /4 micro-batches per step cannot be split evenly over 3 ranks; make accumulation .* a multiple of 3/);
});

test("weight checksums see a one-ulp change; parallel settings do not change the run identity", () => {
  const a = new Float32Array([1, 2, 3]);
  const b = new Float32Array([1, 2, 3 + 2 ** -22]);
  assert.notEqual(weightChecksum([a]), weightChecksum([b]));
  assert.equal(weightChecksum([a]), weightChecksum([new Float32Array([1, 2, 3])]));
  const base = tinyConfig("/nonexistent");
  const withParallel = tinyConfig("/nonexistent", { parallel: { check_every: 7, bucket_mb: 2 } });
  assert.equal(withParallel.parallel?.check_every, 7);
  assert.equal(configHash(withParallel), configHash(base));
});

test("without an MPI compiler wrapper the MPI addon build is skipped with one line and success", () => {
  const script = new URL("../../../scripts/build-mpi.js", import.meta.url).pathname.replace("/dist/scripts/", "/scripts/");
  const r = spawnSync(process.execPath, [script], { env: { PATH: "/nonexistent" }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^smollab: no MPI compiler wrapper \(mpicxx\) found: the MPI data-parallel addon is not built; training runs single-process/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

test("smol train says which collective it uses; a bad SMOL_COLLECTIVE is one clear line", async () => {
  const data = await makeShardDir();
  const file = path.join(path.dirname(data), "one.json");
  fs.writeFileSync(file, JSON.stringify({
    name: "one", seed: 1, model: { preset: "debug" }, threads: 1,
    data: { dir: data, stages: [{ tokens: 256 * 2, mixture: { prose: 1 } }] }, optimizer: { lr: 0.01 }, schedule: { kind: "wsd", decay_steps: 1 },
    batch: { seq_len: 32, micro_batch: 4, tokens_per_step: 256 }, eval: { every: 0, tokens: 256 },
  }));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OMPI_|PMIX_|PMI_)/.test(k))) as Record<string, string>;
  const ok = await runSmol(["train", file, "--run-dir", path.join(path.dirname(data), "one")], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout + ok.stderr, /^collective: single process/m);
  const bad = await runSmol(["train", file, "--run-dir", path.join(path.dirname(data), "two")], { env: { ...env, SMOL_COLLECTIVE: "nccl" } });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^smol: error: SMOL_COLLECTIVE must be "single" or "mpi", got "nccl"/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
  assert.equal(fs.existsSync(path.join(path.dirname(data), "two")), false, "nothing written");
});
