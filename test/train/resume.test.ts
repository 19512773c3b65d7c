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
import { openSafetensors } from "../../src/io/safetensors.js";

const data = await makeShardDir();
const root = path.dirname(data);

const writeConfig = (name: string, extra: Record<string, unknown> = {}) => writeRunConfig(data, name, extra);

const losses = (dir: string) => readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => [r.step, r.loss]);

async function killAndResume(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const cfg = writeConfig(name, extra);
  const full = path.join(root, `${name}-full`);
  const r = await runSmol(["train", cfg, "--run-dir", full]);
  assert.equal(r.code, 0, r.stderr);
  const want = losses(full);
  assert.equal(want.length, 20);

  const killed = path.join(root, `${name}-killed`);
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
  return full;
}

test("SIGKILLed run resumes bit-identically", async () => {
  await killAndResume("resume");
});

// Reduced-precision AdamW moments are saved in their storage dtype (BF16 bit patterns; I8/U8 codes
// plus F32 block scales), so a resume restores the same bits; activation checkpointing changes
// memory only, so its losses equal the plain run's.
test("SIGKILLed runs with bf16 and int8 moments (int8 with activation checkpointing) resume bit-identically", async () => {
  const bf = await killAndResume("resume-bf16", { optimizer: { lr: 0.01, moments: "bf16" } });
  const i8 = await killAndResume("resume-int8", { optimizer: { lr: 0.01, moments: "int8" }, activation_checkpointing: true });
  const dtypes = (dir: string) => {
    const f = openSafetensors(path.join(dir, "step-20", "optimizer.safetensors"));
    try {
      return Object.fromEntries([...f.tensors.entries()].map(([k, t]) => [k, t.dtype]));
    } finally {
      f.close();
    }
  };
  assert.deepEqual(dtypes(bf), { "m.0": "BF16", "v.0": "BF16" });
  assert.deepEqual(dtypes(i8), { "m.0": "I8", "v.0": "U8", "m_scale.0": "F32", "v_scale.0": "F32" });
  // Without checkpointing the int8 run logs the very same losses.
  const cfg = writeConfig("int8-plain", { optimizer: { lr: 0.01, moments: "int8" } });
  const plain = path.join(root, "int8-plain");
  const r = await runSmol(["train", cfg, "--run-dir", plain]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(losses(plain), losses(i8));
  // The moment formats change the trajectory (they are not silently fp32).
  assert.notDeepEqual(losses(bf), losses(i8));
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
