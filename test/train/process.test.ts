// `smol train` as a process (issue 13's defects 4 and 9, and kills during checkpoint writes): one
// process per run directory (a live holder is named, a dead one's lock taken over), Ctrl-C and
// SIGTERM stop after the step with a checkpoint and exit 130/143 and the run resumes
// bit-identically, and a SIGKILL inside a checkpoint write leaves no temp directory after resume.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { makeShardDir, writeRunConfig } from "./fixture.js";
import { runSmol, smolArgv } from "../helpers.js";
import { readMetrics } from "../../src/train/metrics.js";

const data = await makeShardDir();
const root = path.dirname(data);

const writeConfig = (name: string, extra: Record<string, unknown> = {}) =>
  writeRunConfig(data, name, { seed: 5, threads: 1, checkpoint: { every: 10, keep_last: 2 }, ...extra }, [30, 30]);

const losses = (dir: string) => readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => [r.step, r.loss]);
const metricLines = (dir: string) => {
  const f = path.join(dir, "metrics.jsonl");
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").length - 1 : 0;
};

function start(args: string[]): { child: ChildProcess; out: () => string; done: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const [cmd, ...pre] = smolArgv();
  const child = spawn(cmd, [...pre, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("close", (code, signal) => r({ code, signal })));
  return { child, out: () => out, done };
}

async function until(cond: () => boolean, ms = 60000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 2));
  }
}

const cfgFile = writeConfig("proc");
const full = path.join(root, "full");
const reference = (async () => {
  const r = await runSmol(["train", cfgFile, "--run-dir", full]);
  assert.equal(r.code, 0, r.stderr);
  return losses(full);
})();

test("a second process on the same run directory is refused, naming the holder; a dead holder's lock is taken over", async () => {
  const dir = path.join(root, "locked");
  const first = start(["train", cfgFile, "--run-dir", dir]);
  await until(() => metricLines(dir) >= 2);
  // Freeze the holder so that it is alive (and holds the lock) however fast the machine is.
  first.child.kill("SIGSTOP");
  const second = await runSmol(["train", cfgFile, "--run-dir", dir]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`is in use by process ${first.child.pid}`));
  assert.doesNotMatch(second.stderr, /\n\s+at /, "no stack trace");
  first.child.kill("SIGKILL");
  await first.done;
  assert.ok(fs.existsSync(path.join(dir, "train.lock")), "a SIGKILL leaves the lock behind");
  const third = await runSmol(["train", cfgFile, "--run-dir", dir]);
  assert.equal(third.code, 0, third.stderr);
  assert.equal(fs.existsSync(path.join(dir, "train.lock")), false, "released at the end");
  const recs = readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train");
  assert.equal(new Set(recs.map((r) => r.step)).size, recs.length, "no record written twice");
  assert.deepEqual(losses(dir), await reference);
});

for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  test(`${sig} finishes the step, writes a checkpoint, says how to resume and exits ${code}; the resumed run is bit-identical`, async () => {
    const dir = path.join(root, `sig-${sig}`);
    const p = start(["train", cfgFile, "--run-dir", dir]);
    await until(() => metricLines(dir) >= 13);
    p.child.kill(sig);
    const r = await p.done;
    assert.equal(r.code, code, p.out());
    const last = readMetrics(path.join(dir, "metrics.jsonl")).filter((x) => x.type === "train").pop()!.step;
    assert.ok(last < 60, "stopped early");
    assert.ok(fs.existsSync(path.join(dir, `step-${last}`, "trainer_state.json")), `checkpoint at the stop step ${last}`);
    assert.match(p.out(), new RegExp(`stopped by ${sig} at step ${last}/60`));
    assert.match(p.out(), /resume with: smol train .*--run-dir/);
    const again = await runSmol(["train", cfgFile, "--run-dir", dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout + again.stderr, new RegExp(`resuming from step ${last}`));
    assert.deepEqual(losses(dir), await reference);
  });
}

test("a second SIGINT stops at once; the run still resumes exactly", async () => {
  const dir = path.join(root, "sig-twice");
  const p = start(["train", cfgFile, "--run-dir", dir]);
  await until(() => metricLines(dir) >= 5);
  p.child.kill("SIGINT");
  p.child.kill("SIGINT");
  const r = await p.done;
  assert.ok(r.code === 130 || r.signal === "SIGINT", `exit ${r.code} ${r.signal}`);
  const again = await runSmol(["train", cfgFile, "--run-dir", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(losses(dir), await reference);
});

test("SIGKILL inside a checkpoint write: no temp directory survives the resumed run, losses bit-identical", async () => {
  const cfg = writeConfig("ckkill", { checkpoint: { every: 1, keep_last: 2 } });
  const ref = path.join(root, "ckkill-ref");
  assert.equal((await runSmol(["train", cfg, "--run-dir", ref])).code, 0);
  const dir = path.join(root, "ckkill");
  let caught = 0;
  for (let attempt = 0; attempt < 20 && caught < 2; attempt++) {
    const p = start(["train", cfg, "--run-dir", dir]);
    // Kill the moment a temporary checkpoint directory appears.
    await until(() => p.child.exitCode !== null || (fs.existsSync(dir) && fs.readdirSync(dir).some((n) => n.startsWith(".smol-tmp-step-") && !n.endsWith("-old"))), 120000).catch(() => {});
    const sawTemp = fs.existsSync(dir) && fs.readdirSync(dir).some((n) => n.startsWith(".smol-tmp-"));
    p.child.kill("SIGKILL");
    await p.done;
    if (sawTemp && fs.readdirSync(dir).some((n) => n.startsWith(".smol-tmp-"))) caught++;
    if (p.child.exitCode === 0) break;
  }
  assert.ok(caught >= 1, "killed at least once with a temp checkpoint directory on disk");
  const again = await runSmol(["train", cfg, "--run-dir", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith(".smol-tmp")), [], "no temp directory survives");
  assert.deepEqual(losses(dir), losses(ref));
});

test("a long-context extension run (a stage raising seq_len and RoPE θ) SIGKILLed inside the long stage resumes bit-identically", async () => {
  const stages = [
    { name: "short", tokens: 256 * 8, mixture: { prose: 0.7, math: 0.3 } },
    { name: "long", tokens: 256 * 12, mixture: { prose: 0.7, math: 0.3 }, seq_len: 64, micro_batch: 2, rope_theta: 100000 },
  ];
  const cfg = writeConfig("extend", { model: { preset: "debug", max_seq: 32 }, data: { dir: data, stages }, checkpoint: { every: 2, keep_last: 3 } });
  const ref = path.join(root, "extend-ref");
  assert.equal((await runSmol(["train", cfg, "--run-dir", ref])).code, 0);
  const dir = path.join(root, "extend-killed");
  const p = start(["train", cfg, "--run-dir", dir]);
  // Kill once the run is inside the long stage (past step 8), between checkpoints if it can.
  await until(() => p.child.exitCode !== null || readMetrics(path.join(dir, "metrics.jsonl")).some((r) => r.type === "train" && (r.step as number) >= 11));
  p.child.kill("SIGKILL");
  await p.done;
  const at = readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train").pop()!.step as number;
  assert.ok(at > 8 && at < 20, `killed inside the long stage (last logged step ${at})`);
  const again = await runSmol(["train", cfg, "--run-dir", dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout + again.stderr, /resuming from step (8|10|12|14|16|18)/);
  assert.deepEqual(losses(dir), losses(ref));
  assert.ok(fs.readFileSync(path.join(dir, "step-20", "model.safetensors")).equals(fs.readFileSync(path.join(ref, "step-20", "model.safetensors"))), "final weights identical");
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "step-20", "config.json"), "utf8")).rope_theta, 100000);
});
