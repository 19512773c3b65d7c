// `smol sweep --executor slurm` on a real one-node Slurm cluster started by the test (munge,
// slurmctld, slurmd; see slurm-cluster.ts): the branch waits on its parent with afterok, the
// constant run killed with scancel mid-run is resubmitted and resumes from its checkpoint, the
// results equal the same sweep run locally (every train/eval number bit for bit, 1 thread each),
// `smol sweep status` reads squeue/sacct and `smol sweep cancel` stops what is queued; `smol ablate
// --executor slurm` runs its branches as batch jobs with the results of a local ablation.
// Skipped, with a line saying why, without root or the Slurm/munge packages.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { makeShardDir, tinyConfig } from "../train/fixture.js";
import { train } from "../../src/train/run.js";
import { runSmol, smolArgv } from "../helpers.js";
import { readMetrics } from "../../src/train/metrics.js";
import { slurmSkipReason, startSlurmCluster, type SlurmCluster } from "./slurm-cluster.js";
import { mpiAddonBuilt } from "../../src/backend/collective.js";

const skip = slurmSkipReason() ?? false;
if (skip) console.log(`# skip: Slurm executor tests: ${skip}`);

const SIZES = [{ name: "s16", d_model: 16, layers: 1, heads: 2, kv_heads: 1, ffn: 32 }];

describe("smol sweep --executor slurm", { skip }, () => {
  let cluster: SlurmCluster;
  let root = "";
  let file = "";
  before(async () => {
    const data = await makeShardDir();
    root = path.dirname(data);
    const tree = {
      name: "sl",
      base: {
        seed: 3, model: { max_seq: 64 }, threads: 1,
        data: { dir: data, stages: [{ tokens: 128, mixture: { prose: 0.5, math: 0.5 } }] },
        optimizer: { lr: 0.01 }, schedule: { warmup: 2 },
        batch: { seq_len: 32, micro_batch: 4, tokens_per_step: 128 },
        eval: { tokens: 256 }, checkpoint: { every: 10, keep_last: 2 }, log: { every: 1 },
      },
      sizes: SIZES,
      // constant run: 400 steps (branch at 320 of the 400-step budget, and at 80 of 100); two branches.
      budgets: { tokens: [12800, 51200] },
      slurm: { poll_s: 0.3, max_retries: 2 },
    };
    file = path.join(root, "sl.json");
    fs.writeFileSync(file, JSON.stringify(tree));
    cluster = await startSlurmCluster();
  });
  after(() => cluster?.stop());

  const env = () => ({ ...cluster.env, SMOL_THREADS: "1" });
  const slurmJobs = (out: string) => {
    const f = path.join(out, "slurm", "jobs.json");
    return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")).jobs as Array<{ id: string; slurm_ids: string[]; attempts: number; state: string }>) : [];
  };

  it("runs the sweep as Slurm jobs; a job killed with scancel is resubmitted and resumes; results equal a local run bit for bit", async () => {
    const out = path.join(root, "slurm-sweep");
    const [cmd, ...pre] = smolArgv();
    const child = spawn(cmd, [...pre, "sweep", file, "--out", out, "--executor", "slurm", "--cpus-per-task", "1"], { env: { ...process.env, ...env() }, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    const done = new Promise<number | null>((r) => child.on("close", (c) => r(c)));
    // Wait until the constant run is past its first checkpoints, then scancel its Slurm job.
    const constDir = path.join(out, "runs", "s16", "constant");
    const t0 = Date.now();
    const recs = () => readMetrics(path.join(constDir, "metrics.jsonl")).filter((r) => r.type === "train").length;
    while (!(fs.existsSync(path.join(constDir, "step-20")) && recs() >= 25)) {
      assert.ok(Date.now() - t0 < 120_000, `the constant run did not start: ${text}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const first = slurmJobs(out).find((j) => j.id === "s16/constant")!;
    const killedAt = recs();
    assert.ok(killedAt < 400, "still running when cancelled");
    const sc = spawnSync("scancel", [first.slurm_ids[0]], { env: { ...process.env, ...env() }, encoding: "utf8" });
    assert.equal(sc.status, 0, sc.stderr);
    // status while it runs: the jobs and their Slurm ids.
    const st = await runSmol(["sweep", "status", out], { env: env() });
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /s16\/constant\s+\d+/);
    assert.match(st.stdout, /s16\/cooldown-12800/);
    const code = await done;
    assert.equal(code, 0, text);
    assert.match(text, /submit s16\/cooldown-12800 \(Slurm job \d+\)/);
    assert.match(text, /resubmit s16\/constant \(Slurm job \d+\), attempt 2: Slurm job \d+ ended CANCELLED/);
    assert.match(text, /all 3 jobs finished/);
    const rec = slurmJobs(out).find((j) => j.id === "s16/constant")!;
    assert.equal(rec.attempts, 2);
    assert.equal(rec.slurm_ids.length, 2);
    const log = fs.readFileSync(path.join(out, "logs", "s16", "constant.log"), "utf8");
    assert.match(log, /resuming from step \d+/, "the resubmitted job resumed from its checkpoint");
    // The same sweep run locally, one job at a time with one thread: every number equal.
    const local = path.join(root, "local-sweep");
    const r = await runSmol(["sweep", file, "--out", local], { env: { SMOL_THREADS: "1" } });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const numbers = (dir: string) => readMetrics(path.join(dir, "metrics.jsonl")).map((m) => [m.type, m.step, m.loss, m.grad_norm, m.lr, JSON.stringify(m.val_loss), JSON.stringify(m.tokens_by_source)]);
    for (const run of ["constant", "cooldown-12800", "cooldown-51200"]) {
      assert.deepEqual(numbers(path.join(out, "runs", "s16", run)), numbers(path.join(local, "runs", "s16", run)), run);
    }
    const pts = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")).points;
    assert.deepEqual(pts(out), pts(local));
  });

  it("a watcher that dies leaves its jobs in Slurm; the same command adopts them instead of resubmitting", async () => {
    const out = path.join(root, "adopt-sweep");
    const [cmd, ...pre] = smolArgv();
    const child = spawn(cmd, [...pre, "sweep", file, "--out", out, "--executor", "slurm"], { env: { ...process.env, ...env() }, stdio: "ignore" });
    const gone = new Promise((r) => child.on("close", r));
    const t0 = Date.now();
    while (!(slurmJobs(out).length === 3 && fs.existsSync(path.join(out, "runs", "s16", "constant", "metrics.jsonl")))) {
      assert.ok(Date.now() - t0 < 60_000, "the sweep did not start");
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGKILL");
    await gone;
    const r = await runSmol(["sweep", file, "--out", out, "--executor", "slurm"], { env: env() });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /adopt +s16\/constant \(Slurm job \d+\): still queued or running/);
    assert.match(r.stdout, /all 3 jobs finished/);
    for (const j of slurmJobs(out)) assert.equal(j.slurm_ids.length, 1, `${j.id} was not resubmitted`);
  });

  it("smol sweep cancel stops the queued and running jobs", async () => {
    const out = path.join(root, "cancel-sweep");
    const [cmd, ...pre] = smolArgv();
    const child = spawn(cmd, [...pre, "sweep", file, "--out", out, "--executor", "slurm"], { env: { ...process.env, ...env() }, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    const done = new Promise<number | null>((r) => child.on("close", (c) => r(c)));
    const t0 = Date.now();
    while (slurmJobs(out).length < 3) {
      assert.ok(Date.now() - t0 < 60_000, text);
      await new Promise((r) => setTimeout(r, 20));
    }
    const c = await runSmol(["sweep", "cancel", out], { env: env() });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /cancelled \d Slurm job\(s\)/);
    const code = await done;
    assert.equal(code, 1, text);
    assert.match(text, /did not finish/);
    assert.doesNotMatch(text, /resubmit/);
    const q = spawnSync("squeue", ["-h", "-o", "%i"], { env: { ...process.env, ...env() }, encoding: "utf8" });
    assert.equal(q.stdout.trim(), "", "nothing left in the queue");
  });

  it("srun --mpi=pmix -n 2 smol train is data-parallel under Slurm and matches a single process", { skip: mpiAddonBuilt() ? false : "the MPI addon is not built" }, async () => {
    const cfg = path.join(root, "dp.json");
    fs.writeFileSync(cfg, JSON.stringify({
      name: "dp", seed: 5, model: { preset: "debug" }, threads: 1,
      data: { dir: path.join(root, "shards"), stages: [{ tokens: 256 * 12, mixture: { prose: 0.6, math: 0.4 } }] },
      optimizer: { lr: 0.01 }, schedule: { kind: "wsd", warmup: 2, decay_fraction: 0.25 },
      batch: { seq_len: 32, micro_batch: 2, tokens_per_step: 256 }, eval: { every: 0, tokens: 256 }, log: { every: 1 },
    }));
    const dp = path.join(root, "srun-dp");
    const r = spawnSync("srun", ["--mpi=pmix", "-n", "2", "--cpus-per-task=1", ...smolArgv(), "train", cfg, "--run-dir", dp], { env: { ...process.env, ...env() }, encoding: "utf8", timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout + r.stderr, /collective: MPI, 2 ranks/);
    const one = path.join(root, "srun-single");
    const s = await runSmol(["train", cfg, "--run-dir", one]);
    assert.equal(s.code, 0, s.stderr);
    const losses = (d: string) => readMetrics(path.join(d, "metrics.jsonl")).filter((m) => m.type === "train").map((m) => m.loss as number);
    const a = losses(one);
    const b = losses(dp);
    assert.equal(b.length, 12);
    b.forEach((x, i) => assert.ok(Math.abs(x - a[i]) <= 1e-5 * Math.abs(a[i]), `step ${i + 1}: ${x} vs ${a[i]}`));
  });

  it("smol ablate --executor slurm runs each branch as a Slurm job; results equal a local ablation bit for bit", async () => {
    const data = path.join(root, "shards");
    const parent = path.join(root, "ablate-parent");
    await train({ config: tinyConfig(data, { tokenizer: path.join(root, "tokenizer"), checkpoint: { every: 0, keep_last: 5, at_steps: [6] } }), runDir: parent });
    const spec = path.join(root, "abl.json");
    fs.writeFileSync(spec, JSON.stringify({
      kind: "anneal", from: parent, step: 6, decay: { tokens: 256 * 4, shape: "linear" }, share: 0.5,
      candidates: { "more-math": "math" }, eval: { tasks: ["arc_easy"], limit: 4 }, checkpoint_every: 2,
      slurm: { poll_s: 0.3, max_retries: 1 },
    }));
    const out = path.join(root, "slurm-ablate");
    const r = await runSmol(["ablate", spec, "--out", out, "--executor", "slurm", "--cpus-per-task", "1"], { env: env() });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /submitting 2 jobs to Slurm \(1 CPU\(s\) each\)/);
    assert.match(r.stderr, /submit +more-math \(Slurm job \d+\)/);
    assert.match(r.stdout, /all 2 branches finished/);
    assert.deepEqual(slurmJobs(out).map((j) => [j.id, j.state]), [["control", "done"], ["more-math", "done"]]);
    assert.match(fs.readFileSync(path.join(out, "logs", "more-math.log"), "utf8"), /slurm job \d+ on /, "the branch ran as a batch job");
    const st = await runSmol(["ablate", "status", out], { env: env() });
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /more-math\s+\d+\s+COMPLETED\s+1\s+done\s+10\/10/);
    // The same ablation run locally with one thread: every metric and every training number equal.
    const local = path.join(root, "local-ablate");
    const l = await runSmol(["ablate", spec, "--out", local], { env: { SMOL_THREADS: "1" } });
    assert.equal(l.code, 0, l.stderr + l.stdout);
    const metrics = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")).branches.map((b: { name: string; metrics: unknown; tokens_per_source: unknown }) => [b.name, b.metrics, b.tokens_per_source]);
    assert.deepEqual(metrics(out), metrics(local));
    const numbers = (dir: string) => readMetrics(path.join(dir, "metrics.jsonl")).map((m) => [m.type, m.step, m.loss, m.grad_norm, m.lr]);
    for (const b of ["control", "more-math"]) assert.deepEqual(numbers(path.join(out, "runs", b)), numbers(path.join(local, "runs", b)), b);
  });

  it("explains a missing Slurm and bad executor flags in one line", async () => {
    const r = await runSmol(["sweep", file, "--out", path.join(root, "x"), "--executor", "pbs"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--executor must be local or slurm, got "pbs"/);
    const p = await runSmol(["sweep", file, "--out", path.join(root, "x"), "--partition", "cpu"]);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /--partition is a Slurm setting/);
    const s = await runSmol(["sweep", "status", path.join(root, "nothing-here")]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /no Slurm jobs recorded here/);
  });
});
