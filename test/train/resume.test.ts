// Exact resume: a real `smol train` child process is SIGKILLed at an arbitrary moment and
// restarted; its metrics.jsonl losses must be bit-identical to an uninterrupted run. Also: a
// cooldown branch equals a single WSD run decaying from the same step, step for step.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { makeShardDir, writeRunConfig } from "./fixture.js";
import { runSmol, smolArgv } from "../helpers.js";
import { readMetrics } from "../../src/train/metrics.js";

const data = await makeShardDir();
const root = path.dirname(data);

const writeConfig = (name: string, extra: Record<string, unknown> = {}) => writeRunConfig(data, name, extra);

const losses = (dir: string) => readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => [r.step, r.loss]);

test("SIGKILLed run resumes bit-identically", async () => {
  const cfg = writeConfig("resume");
  const full = path.join(root, "full");
  const r = await runSmol(["train", cfg, "--run-dir", full]);
  assert.equal(r.code, 0, r.stderr);
  const want = losses(full);
  assert.equal(want.length, 20);

  const killed = path.join(root, "killed");
  for (const killAfterLines of [4, 11]) {
    const [cmd, ...pre] = smolArgv();
    const child = spawn(cmd, [...pre, "train", cfg, "--run-dir", killed], { stdio: "ignore" });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const f = path.join(killed, "metrics.jsonl");
        const n = fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").length - 1 : 0;
        if (n >= killAfterLines || child.exitCode !== null) {
          clearInterval(poll);
          child.kill("SIGKILL");
          resolve();
        }
      }, 5);
    });
    await new Promise((r2) => child.on("close", r2));
  }
  const again = await runSmol(["train", cfg, "--run-dir", killed]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr + again.stdout, /resuming from step \d+/);
  assert.deepEqual(losses(killed), want);
});

test("a cooldown branch equals a WSD run decaying from the branch step", async () => {
  // Parent: constant LR with a checkpoint at step 12; WSD reference: 12 + 5 steps, decay 5.
  const parentCfg = writeConfig("const", { schedule: { kind: "constant", warmup: 2 }, checkpoint: { every: 0, at_steps: [12], keep_last: 1 } });
  const parent = path.join(root, "const");
  assert.equal((await runSmol(["train", parentCfg, "--run-dir", parent])).code, 0);
  const branch = path.join(root, "branch");
  const b = await runSmol(["cooldown", "--from", parent, "--step", "12", "--steps", "5", "--shape", "1-sqrt", "--run-dir", branch]);
  assert.equal(b.code, 0, b.stderr);
  const wsdCfg = writeConfig("wsd", {
    data: { dir: data, stages: [{ tokens: 256 * 10, mixture: { prose: 0.7, math: 0.3 } }, { tokens: 256 * 7, mixture: { prose: 0.3, math: 0.7 } }] },
    schedule: { kind: "wsd", warmup: 2, decay_steps: 5, shape: "1-sqrt" },
  });
  const wsd = path.join(root, "wsd");
  assert.equal((await runSmol(["train", wsdCfg, "--run-dir", wsd])).code, 0);
  const ref = losses(wsd).filter(([s]) => (s as number) > 12);
  assert.equal(ref.length, 5);
  assert.deepEqual(losses(branch), ref);
  const lrs = readMetrics(path.join(branch, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => r.lr as number);
  assert.ok(lrs[lrs.length - 1] < lrs[0], "the branch's LR decays");
  const resolved = JSON.parse(fs.readFileSync(path.join(branch, "config.resolved.json"), "utf8"));
  assert.equal(resolved.config.parent.step, 12);
});
