// Anneal and scratch ablations on the tiny two-source fixture: a candidate at share 0 trains the
// control's exact bytes; the realised token shares of every branch match its configured mixture
// (within one sequence per source, the sampler's guarantee); results.json's contract; and the CLI
// killed with SIGKILL mid-branch resumes to the same results as an uninterrupted ablation.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeShardDir, tinyConfig } from "../train/fixture.js";
import { runSmol, smolArgv } from "../helpers.js";
import { train } from "../../src/train/run.js";
import { ConfigError } from "../../src/errors.js";
import { annealMixture, planAblation } from "../../src/ablate/plan.js";
import { parseAblation } from "../../src/ablate/spec.js";
import { evaluateBranch } from "../../src/ablate/evaluate.js";
import { diffTo, type AblationResults } from "../../src/ablate/results.js";
import { defaultBackend } from "../../src/backend/index.js";

const data = await makeShardDir();
const root = path.dirname(data);
const tokenizer = path.join(root, "tokenizer");
const parentDir = path.join(root, "parent");
// Parent: 20 steps in two stages (prose-heavy, then math-heavy), a checkpoint at step 6.
await train({ config: tinyConfig(data, { tokenizer, checkpoint: { every: 0, keep_last: 5, at_steps: [6] } }), runDir: parentDir });
const be = defaultBackend().backend;

function anneal(over: Record<string, unknown> = {}) {
  return parseAblation({ kind: "anneal", from: parentDir, step: 6, decay: { tokens: 256 * 6, shape: "linear" }, share: 0.6, candidates: { "more-math": "math" }, ...over });
}

const fileBytes = (f: string) => fs.readFileSync(f);

describe("anneal plan", () => {
  it("mixes the candidate in at the share and scales the previous mixture to the rest", () => {
    assert.deepEqual(annealMixture({ prose: 0.8, math: 0.2 }, "math", 0.6), { prose: 0.8 * 0.4, math: 0.2 * 0.4 + 0.6 });
    assert.deepEqual(annealMixture({ prose: 0.8, math: 0.2 }, "math", 0), { prose: 0.8, math: 0.2 });
    assert.deepEqual(annealMixture({ prose: 1 }, "math", 0), { prose: 1 }, "a new source at share 0 is dropped");
    const plan = planAblation(anneal(), { outDir: path.join(root, "plan") });
    assert.deepEqual(plan.jobs.map((j) => j.id), ["control", "more-math"]);
    const [ctl, mm] = plan.jobs;
    assert.deepEqual(ctl.mixture, { prose: 0.8, math: 0.2 }, "the previous mixture is the parent's stage at step 6");
    assert.equal(ctl.cfg.steps, 12);
    assert.deepEqual(mm.cfg.data.stages.map((s) => [s.name, s.startStep, s.endStep]), [["one", 0, 6], ["anneal", 6, 12]]);
    assert.equal(mm.cfg.schedule.kind, "wsd");
    assert.equal(mm.cfg.schedule.decaySteps, 6);
    assert.equal(mm.from?.checkpoint, path.join(parentDir, "step-6"));
  });

  it("names every bad key before training", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.message;
      }
      assert.fail("expected a ConfigError");
    };
    const m = err(() => planAblation(anneal({ step: 7, decay: { tokens: 1000 }, candidates: { x: "nope" } }), { outDir: path.join(root, "bad") }));
    assert.match(m, /step: .* no checkpoint at step 7 \(available: 6, /);
    assert.match(m, /decay\.tokens: 1000 is not a multiple of the run's batch\.tokens_per_step 256 \(use 768 or 1024\)/);
    assert.match(m, /candidates\.x: no source "nope"/);
    assert.match(err(() => parseAblation({ kind: "anneal", from: "x", step: 1, share: 2, candidates: {} })), /decay: required[\s\S]*share: must be <= 1, got 2[\s\S]*candidates: needs at least 1 candidate/);
    assert.match(err(() => parseAblation({ kind: "cooldown" })), /kind: must be anneal or scratch, got "cooldown"/);
  });
});

describe("anneal branches", () => {
  it("a candidate at share 0 equals the control bit for bit; a share of 0.6 does not", async () => {
    const out = path.join(root, "zero");
    const plan = planAblation(anneal({ share: 0, candidates: { "zero-math": "math" } }), { outDir: out });
    for (const j of plan.jobs) await train({ config: j.cfg, runDir: j.runDir, from: j.from });
    const [ctl, zero] = plan.jobs;
    const w = (j: typeof ctl) => fileBytes(path.join(j.runDir, "step-12", "model.safetensors"));
    assert.ok(w(ctl).equals(w(zero)), "final weights differ");
    const losses = (j: typeof ctl) => fs.readFileSync(path.join(j.runDir, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === "train").map((r) => r.loss);
    assert.deepEqual(losses(zero), losses(ctl));
    assert.equal(losses(ctl).length, 6);
    const p6 = planAblation(anneal(), { outDir: out });
    await train({ config: p6.jobs[1].cfg, runDir: p6.jobs[1].runDir, from: p6.jobs[1].from });
    assert.ok(!w(p6.jobs[1]).equals(w(ctl)), "the 0.6 branch must train on other data");
  });

  it("every branch trains on its configured token shares (within one sequence per source)", async () => {
    const out = path.join(root, "shares");
    const plan = planAblation(anneal({ share: 0.6, candidates: { "more-math": "math", "more-prose": "prose" } }), { outDir: out });
    for (const j of plan.jobs) {
      await train({ config: j.cfg, runDir: j.runDir, from: j.from });
      const ev = await evaluateBranch(j, be, { tasks: [], limit: 1 }, path.join(out, "evals", `${j.id}.json`));
      const total = Object.values(ev.tokens_per_source).reduce((a, b) => a + b, 0);
      assert.equal(total, 6 * 256, `${j.id}: trained tokens`);
      for (const [s, wt] of Object.entries(j.mixture)) {
        assert.ok(Math.abs(ev.tokens_per_source[s] - wt * total) < 32, `${j.id}: ${s} got ${ev.tokens_per_source[s]} tokens, configured ${wt * total}`);
      }
      assert.deepEqual(Object.keys(ev.tokens_per_source).sort(), Object.keys(j.mixture).sort());
      for (const s of ["math", "prose"]) {
        const v = ev.metrics[`val/${s}/loss`];
        assert.ok(v.value > 0 && v.stderr! > 0, `${j.id}: val/${s}/loss ${JSON.stringify(v)}`);
      }
    }
    assert.deepEqual(plan.jobs[1].mixture, { prose: 0.8 * 0.4, math: 0.2 * 0.4 + 0.6 });
  });

  it("differences to the control carry the combined standard error and the 2-SE mark", () => {
    const d = diffTo({ value: 0.5, stderr: 0.03 }, { value: 0.4, stderr: 0.04 }, true);
    assert.ok(Math.abs(d.stderr - 0.05) < 1e-12);
    assert.equal(d.significant, false, "0.1 is exactly 2 SE: not beyond");
    assert.equal(diffTo({ value: 0.52, stderr: 0.03 }, { value: 0.4, stderr: 0.04 }, true).significant, true);
    assert.equal(diffTo({ value: 2.0, stderr: 0.01 }, { value: 2.1, stderr: 0.01 }, false).better, true, "a lower loss is better");
  });
});

function writeSpec(name: string, tree: Record<string, unknown>): string {
  const f = path.join(root, `${name}.json`);
  fs.writeFileSync(f, JSON.stringify(tree));
  return f;
}

const CLI_SPEC = {
  kind: "anneal", from: parentDir, step: 6, decay: { tokens: 256 * 6, shape: "linear" }, share: 0.6,
  candidates: { "more-math": "math", "more-prose": "prose" }, eval: { tasks: ["arc_easy"], limit: 8 }, checkpoint_every: 2,
};
const ENV = { SMOL_THREADS: "1" };

function results(out: string): AblationResults {
  return JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"));
}

describe("smol ablate (CLI)", () => {
  it("writes results.json, the table and the report; resumes exactly after SIGKILL", async () => {
    const file = writeSpec("cli", CLI_SPEC);
    const clean = path.join(root, "cli-clean");
    const r = await runSmol(["ablate", file, "--out", clean, "--jobs", "2"], { env: ENV });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /metric\s+control \(control\)\s+more-math\s+more-prose/);
    assert.match(r.stdout, /val\/math\/loss\s+\d\.\d{4} ± \d\.\d{4}/);
    const res = results(clean);
    assert.equal(res.format, "smollab-ablation");
    assert.deepEqual(res.branches.map((b) => b.name), ["control", "more-math", "more-prose"]);
    for (const b of res.branches) {
      assert.equal(b.status, "done");
      for (const k of ["arc_easy/acc", "arc_easy/acc_norm", "val/math/loss", "val/prose/loss"]) {
        assert.equal(typeof b.metrics[k].value, "number", `${b.name} ${k}`);
        assert.equal(typeof b.metrics[k].stderr, "number", `${b.name} ${k} stderr`);
      }
      assert.equal(Object.values(b.tokens_per_source).reduce((a, x) => a + x, 0), 6 * 256);
      if (!b.control) assert.ok(b.diff && typeof b.diff["val/math/loss"].significant === "boolean");
    }
    // more-math trains on far more math: its math loss must drop below the control's by > 2 SE.
    const mm = res.branches[1];
    assert.ok(mm.diff!["val/math/loss"].diff < 0, JSON.stringify(mm.diff!["val/math/loss"]));
    assert.ok(fs.readFileSync(path.join(clean, "report.html"), "utf8").includes("<table>"));
    // A second invocation trains nothing.
    const again = await runSmol(["ablate", file, "--out", clean], { env: ENV });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((again.stderr.match(/skip /g) ?? []).length, 3, again.stderr);

    // Kill the whole ablation (parent and branch processes) once a branch has a mid-branch checkpoint.
    const killed = path.join(root, "cli-killed");
    const [cmd, ...pre] = smolArgv();
    const child = spawn(cmd, [...pre, "ablate", file, "--out", killed], { env: { ...process.env, ...ENV }, stdio: "ignore", detached: true });
    const exited = new Promise((res) => child.on("exit", res));
    const ckpt = path.join(killed, "runs", "more-math", "step-10", "trainer_state.json");
    for (let i = 0; i < 4800 && !fs.existsSync(ckpt); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(fs.existsSync(ckpt), "the branch never reached its step-10 checkpoint");
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    // The branch process dies with the group; wait until the kernel has reaped it (its lock is then stale).
    const lock = path.join(killed, "runs", "more-math", "train.lock");
    const pid = fs.existsSync(lock) ? (JSON.parse(fs.readFileSync(lock, "utf8")) as { pid: number }).pid : 0;
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 200 && pid && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    // Killed mid-branch (no final checkpoint yet), the branch leaves its lock behind for the resume to
    // take over; on a fast machine the branch may already have finished and released it.
    if (!fs.existsSync(path.join(killed, "runs", "more-math", "step-12", "trainer_state.json"))) assert.ok(fs.existsSync(lock), "a SIGKILLed branch leaves its lock behind");
    assert.ok(!fs.existsSync(path.join(killed, "evals", "more-prose.json")), "killed too late to test a resume");
    const resumed = await runSmol(["ablate", file, "--out", killed], { env: ENV });
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    const a = results(clean);
    const b = results(killed);
    for (let i = 0; i < a.branches.length; i++) {
      assert.deepEqual(b.branches[i].metrics, a.branches[i].metrics, a.branches[i].name);
      assert.deepEqual(b.branches[i].tokens_per_source, a.branches[i].tokens_per_source);
      const w = (o: string) => fileBytes(path.join(o, "runs", a.branches[i].name, "step-12", "model.safetensors"));
      assert.ok(w(killed).equals(w(clean)), `${a.branches[i].name}: weights differ after the resume`);
    }
  });

  it("scratch: one run per candidate mixture with the same budget and seed", async () => {
    const base = tinyConfig(data); // validated once here; the ablation gets the raw tree
    assert.equal(base.steps, 20);
    const file = writeSpec("scratch", {
      kind: "scratch",
      base: {
        seed: 3, tokenizer, model: { preset: "debug" }, data: { dir: data, stages: [{ tokens: 256 * 6, mixture: { prose: 1 } }] },
        optimizer: { lr: 0.01 }, schedule: { warmup: 1, decay_steps: 2 }, batch: { seq_len: 32, micro_batch: 4, tokens_per_step: 256 }, eval: { tokens: 256 },
      },
      candidates: { web: { prose: 1 }, mixed: { prose: 0.5, math: 0.5 } },
    });
    const out = path.join(root, "scratch-out");
    const r = await runSmol(["ablate", file, "--out", out], { env: ENV });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const res = results(out);
    assert.equal(res.kind, "scratch");
    assert.equal(res.control, "web");
    assert.deepEqual(res.branches.map((b) => b.tokens_per_source), [{ prose: 1536 }, { prose: 768, math: 768 }]);
    const cfgs = res.branches.map((b) => JSON.parse(fs.readFileSync(path.join(b.run_dir, "config.resolved.json"), "utf8")).config);
    assert.deepEqual(cfgs.map((c) => [c.seed, c.steps]), [[3, 6], [3, 6]]);
  });

  it("bad input: one line and a non-zero exit", async () => {
    const r = await runSmol(["ablate", writeSpec("bad", { ...CLI_SPEC, step: 5 })]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no checkpoint at step 5/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    const h = await runSmol(["ablate", "--help"]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /kind: anneal/);
  });
});
