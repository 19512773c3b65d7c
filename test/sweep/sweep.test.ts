// `smol sweep` end to end on two tiny shapes × two budgets (constant runs, 1-sqrt and linear
// branches, cosine baselines, SWA readouts): results.json / points.csv shapes, the FLOPs split
// checked by hand, a second invocation that trains nothing, resuming a removed run, and bad sweep
// files (unreachable budgets, unknown keys, missing base config). Also the job queue on its own.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeShardDir } from "../train/fixture.js";
import { runSmol } from "../helpers.js";
import { ConfigError } from "../../src/errors.js";
import { planSweep } from "../../src/sweep/sweep.js";
import { flopsAccount, type SweepResults } from "../../src/sweep/results.js";
import { runQueue } from "../../src/sweep/queue.js";

const data = await makeShardDir();
const root = path.dirname(data);

const BASE = {
  seed: 1,
  model: { max_seq: 64 },
  data: { dir: data, stages: [{ tokens: 128, mixture: { prose: 0.5, math: 0.5 } }] },
  optimizer: { lr: 0.01 },
  schedule: { warmup: 2 },
  batch: { seq_len: 32, micro_batch: 4, tokens_per_step: 128 },
  eval: { tokens: 256 },
  checkpoint: { keep_last: 1 },
  log: { every: 1 },
};
const SIZES = [
  { name: "s16", d_model: 16, layers: 1, heads: 2, kv_heads: 1, ffn: 32 },
  { name: "s32", d_model: 32, layers: 1, heads: 2, kv_heads: 1, ffn: 64 },
];

function sweepTree(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: "t", base: BASE, sizes: SIZES, budgets: { tokens: [1280, 2560] }, ...extra };
}

function writeSweep(name: string, tree: Record<string, unknown>): string {
  const file = path.join(root, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(tree));
  return file;
}

/** The problems of a plan that must fail, as one string. */
function planError(tree: Record<string, unknown>): string {
  try {
    planSweep(tree, { file: "s.yaml", baseDir: root });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail("the plan should have been rejected");
}

/** Forward FLOPs per token of a Llama layer stack by docs/references.md §7, written out by hand (GQA projections). */
function handFlopsPerToken(V: number, d: number, L: number, h: number, kv: number, ffn: number, s: number): number {
  const hd = d / h;
  const attn = 2 * d * h * hd + 2 * 2 * d * kv * hd + 2 * h * hd * d + 2 * s * h * hd + 3 * h * s + 2 * s * h * hd;
  return 3 * (2 * V * d + L * (attn + 2 * 3 * d * ffn) + 2 * d * V);
}

describe("sweep plan", () => {
  it("makes one constant run per size, a branch per budget and shape, cosine per budget", () => {
    const plan = planSweep(sweepTree({ cosine: {}, cooldown: { extra_shapes: ["linear"] } }), { file: "s.yaml", baseDir: root, outDir: path.join(root, "p") });
    assert.equal(plan.jobs.filter((j) => j.kind === "constant").length, 2);
    assert.equal(plan.jobs.filter((j) => j.kind === "cooldown").length, 8);
    assert.equal(plan.jobs.filter((j) => j.kind === "cosine").length, 4);
    const s16 = plan.sizes.find((s) => s.name === "s16")!;
    assert.deepEqual(s16.budgets.map((b) => [b.steps, b.branchStep, b.cooldownSteps]), [[10, 8, 2], [20, 16, 4]]);
    assert.equal(s16.constantSteps, 16, "without SWA the constant run stops at the last branch point");
    const c = plan.jobs.find((j) => j.id === "s16/constant")!;
    assert.ok(c.kind === "constant");
    assert.deepEqual(c.cfg.checkpoint.at_steps, [8, 16]);
    assert.deepEqual(c.cfg.data.stages.map((s) => s.endStep), [8, 16], "stages end at the readouts");
    assert.equal(c.cfg.schedule.kind, "constant");
    const cos = plan.jobs.find((j) => j.id === "s16/cosine-2560")!;
    assert.ok(cos.kind === "cosine");
    assert.equal(cos.cfg.schedule.kind, "cosine");
    assert.equal(cos.cfg.optimizer.lr, 0.02, "cosine peak defaults to 2 × the constant LR");
    assert.deepEqual(cos.cfg.data.stages.map((s) => s.endStep), [8, 16, 20], "same data cuts as the constant run");
    const withSwa = planSweep(sweepTree({ swa: { window: 5 } }), { file: "s.yaml", baseDir: root });
    assert.equal(withSwa.sizes[0].constantSteps, 20, "SWA readouts extend the constant run to the last budget");
  });

  it("splits the FLOPs by method as docs/references.md §7 counts them", () => {
    const plan = planSweep(sweepTree({ cosine: {}, swa: { window: 5 } }), { file: "s.yaml", baseDir: root });
    const f = flopsAccount(plan);
    const tps = 128;
    const per16 = handFlopsPerToken(257, 16, 1, 2, 1, 32, 32);
    const per32 = handFlopsPerToken(257, 32, 1, 2, 1, 64, 32);
    const rel = (a: number, b: number) => Math.abs(a - b) / b;
    assert.ok(rel(f.sizes[0].per_token, per16) < 1e-12, `${f.sizes[0].per_token} vs ${per16}`);
    assert.ok(rel(f.sizes[1].per_token, per32) < 1e-12);
    // Constant run to step 16 + cooldowns of 2 and 4 steps, against cosine runs of 10 and 20 steps.
    const F = (per: number, steps: number) => per * steps * tps;
    const cooldown = F(per16, 16 + 2 + 4) + F(per32, 16 + 2 + 4);
    const cosine = F(per16, 10 + 20) + F(per32, 10 + 20);
    assert.ok(rel(f.methods.cooldown, cooldown) < 1e-12, `${f.methods.cooldown} vs ${cooldown}`);
    assert.ok(rel(f.methods.cosine, cosine) < 1e-12);
    assert.ok(rel(f.methods.swa, F(per16, 20) + F(per32, 20)) < 1e-12, "SWA: one constant run to the last budget");
    // F(D2) + 0.2·F(D1) is the same count when budgets are exact.
    assert.ok(rel(f.reference.cooldown, F(per16, 20) + 0.2 * F(per16, 10) + F(per32, 20) + 0.2 * F(per32, 10)) < 1e-12);
    assert.ok(Math.abs(f.ratio - 22 / 30) < 1e-12, `ratio ${f.ratio}`);
    assert.ok(Math.abs(f.reference.ratio - f.ratio) < 1e-12);
    assert.ok(rel(f.spent.total, cooldown + cosine + F(per16, 4) + F(per32, 4)) < 1e-12, "everything trained, the SWA extension included");
  });

  it("rounds tokens_per_param budgets to reachable counts and says so", () => {
    const plan = planSweep(sweepTree({ budgets: { tokens_per_param: [0.2, 0.45] } }), { file: "s.yaml", baseDir: root });
    for (const s of plan.sizes) {
      for (const b of s.budgets) {
        assert.equal(b.steps % 5, 0, "a multiple of 5 steps, so that 0.8·D is a whole step");
        assert.equal(b.branchStep, 0.8 * b.steps);
        assert.ok(b.requested && Math.abs(b.tokens - b.requested.tokens) <= 2.5 * 128, `${b.tokens} vs ${b.requested?.tokens}`);
      }
    }
    assert.ok(plan.notes.some((n) => /rounded to multiples of 5 steps/.test(n)), plan.notes.join("\n"));
  });

  it("rejects budgets the batch size cannot reach, naming the key and the fix", () => {
    const notMultiple = planError(sweepTree({ budgets: { tokens: [1000, 2560] } }));
    assert.match(notMultiple, /budgets\.tokens\[0\]: 1000 is not a multiple of batch\.tokens_per_step 128; use 640 or 1280/);
    const noBranch = planError(sweepTree({ budgets: { tokens: [128 * 7, 2560] } }));
    assert.match(noBranch, /budgets\.tokens\[0\]: 896 tokens \(7 steps\): its cooldown start .* is not a whole step; use 640 or 1280/);
    const step = planError(sweepTree({ budgets: { tokens: [1280], step_multiple: 3 } }));
    assert.match(step, /step_multiple: .* not a whole step; use a multiple of 5/);
    const warm = planError(sweepTree({ budgets: { tokens: [640] }, constant: { warmup: 5 } }));
    assert.match(warm, /inside the 5-step warmup/);
  });

  it("rejects unknown keys, a missing base config and bad sizes, listing every problem", () => {
    const unknown = planError(sweepTree({ cooldwn: { fraction: 0.2 }, sizes: [{ ...SIZES[0], layerz: 2 }] }));
    assert.match(unknown, /cooldwn: unknown key \(did you mean cooldown\?\)/);
    assert.match(unknown, /sizes\[0\]\.layerz: unknown key/);
    const { base: _b, ...noBase } = sweepTree();
    assert.match(planError(noBase), /base: required/);
    assert.match(planError(sweepTree({ base: "nope.yaml" })), /base: the training config .*nope\.yaml does not exist/);
    const shape = planError(sweepTree({ sizes: [{ name: "x", d_model: 16, layers: 1 }] }));
    assert.match(shape, /sizes\[0\]: missing heads, kv_heads, ffn/);
    assert.match(planError(sweepTree({ budgets: undefined })), /give exactly one of tokens or tokens_per_param/);
    assert.match(planError(sweepTree({ cooldown: { extra_shapes: ["wobbly"] } })), /extra_shapes\[0\]: must be one of/);
  });
});

describe("smol sweep", () => {
  const out = path.join(root, "sweep");
  const file = writeSweep("sweep", sweepTree({ cosine: {}, cooldown: { extra_shapes: ["linear"] }, swa: { window: 5, interval: 1 } }));
  const mtimes = () => {
    const m: Record<string, number> = {};
    for (const size of ["s16", "s32"]) {
      for (const run of fs.readdirSync(path.join(out, "runs", size))) m[`${size}/${run}`] = fs.statSync(path.join(out, "runs", size, run, "metrics.jsonl")).mtimeMs;
    }
    return m;
  };

  it("runs every job and records points and FLOPs", async () => {
    const r = await runSmol(["sweep", file, "--out", out, "--jobs", "2"]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /all 14 jobs finished/);
    const res = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8")) as SweepResults;
    assert.equal(res.format, "smollab-sweep-results");
    assert.equal(res.complete, true);
    assert.equal(res.jobs.length, 14);
    assert.ok(res.jobs.every((j) => j.status === "done" && j.step === j.steps));
    const count = (m: string) => res.points.filter((p) => p.method === m).length;
    for (const m of ["cooldown", "cooldown-linear", "cosine", "swa", "constant"]) assert.equal(count(m), 4, `${m} points`);
    for (const p of res.points) {
      assert.ok(Number.isFinite(p.loss) && p.loss > 0 && p.loss < 10, `${p.method} ${p.loss}`);
      assert.equal(p.flops, 6 * p.params * p.tokens);
    }
    const csv = fs.readFileSync(path.join(out, "points.csv"), "utf8").trim().split("\n");
    assert.equal(csv[0], "params,tokens,loss,flops,flops_detailed,size,method");
    assert.equal(csv.length, 5);
    assert.ok(csv.slice(1).every((l) => l.endsWith(",cooldown")));
    for (const m of ["cosine", "swa", "constant", "cooldown-linear"]) assert.ok(fs.existsSync(path.join(out, `points-${m}.csv`)), m);
    // Each branch ends where its budget says and starts from the constant run's checkpoint.
    const branch = JSON.parse(fs.readFileSync(path.join(out, "runs", "s32", "cooldown-2560", "config.resolved.json"), "utf8")).config;
    assert.equal(branch.parent.step, 16);
    assert.equal(branch.steps, 20);
    assert.equal(branch.schedule.shape, "1-sqrt");
    // The cooldown and cosine runs of a budget read the same tokens (same stage cuts and seed).
    const bySource = (run: string) => {
      const recs = fs.readFileSync(path.join(out, "runs", "s16", run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      return recs.filter((x) => x.type === "train").at(-1).tokens_by_source;
    };
    assert.deepEqual(bySource("cooldown-1280"), bySource("cosine-1280"));
    // FLOPs split adds up.
    const f = res.flops;
    const sum = f.sizes.reduce((a, s) => a + s.constant + s.cooldowns["1-sqrt"], 0);
    assert.ok(Math.abs(f.methods.cooldown - sum) <= 1e-9 * sum);
    assert.ok(Math.abs(f.ratio - 22 / 30) < 1e-12);
  });

  it("a second invocation trains nothing", async () => {
    const before = mtimes();
    const r = await runSmol(["sweep", file, "--out", out, "--jobs", "2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stderr.match(/ skip /g) ?? []).length, 14, r.stderr);
    assert.doesNotMatch(r.stderr, / start /);
    assert.deepEqual(mtimes(), before);
  });

  it("retrains only what is missing", async () => {
    fs.rmSync(path.join(out, "runs", "s16", "cooldown-2560"), { recursive: true });
    const before = mtimes();
    const r = await runSmol(["sweep", file, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...r.stderr.matchAll(/ start +(\S+)/g)].map((m) => m[1]), ["s16/cooldown-2560"]);
    const after = mtimes();
    for (const k of Object.keys(before)) if (k !== "s16/cooldown-2560") assert.equal(after[k], before[k], k);
  });

  it("refuses a directory whose runs came from another sweep", async () => {
    const other = writeSweep("other", sweepTree({ cosine: {}, optimizer: undefined, constant: { lr: 0.005 } }));
    const r = await runSmol(["sweep", other, "--out", out, "--dry-run"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /holds runs that do not match this sweep/);
    assert.match(r.stderr, /runs\/s16\/constant: it was trained with a different configuration/);
  });

  it("reports bad sweep files in one line, without a stack trace", async () => {
    const bad = writeSweep("bad", sweepTree({ budgets: { tokens: [1000] } }));
    const r = await runSmol(["sweep", bad, "--out", path.join(root, "never")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^smol: error: .*bad\.json: invalid sweep\n {2}- budgets\.tokens\[0\]: 1000 is not a multiple/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    assert.ok(!fs.existsSync(path.join(root, "never")));
    const missing = await runSmol(["sweep", path.join(root, "nope.yaml")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.yaml: cannot read/);
  });

  it("smol report writes a page with every figure and says why no law is fitted", async () => {
    const r = await runSmol(["report", out, "--grid", "coarse"]);
    assert.equal(r.code, 0, r.stderr);
    const html = fs.readFileSync(path.join(out, "report", "index.html"), "utf8");
    assert.ok((html.match(/<svg /g) ?? []).length >= 9, "figures are inlined");
    assert.match(html, /the 5-parameter law needs at least 6/);
    for (const f of ["cooldown-vs-cosine", "swa", "loss-vs-flops", "compute", "curves-s16", "lr-s32"]) assert.ok(fs.existsSync(path.join(out, "report", `${f}.svg`)), f);
  });
});

describe("sweep queue", () => {
  it("respects concurrency, waits for readiness and blocks dependents of a failure", async () => {
    const ready = new Set<string>(["a", "b", "c"]);
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    const jobs = [
      { id: "a", deps: [] }, { id: "b", deps: [] }, { id: "c", deps: [] },
      { id: "a1", deps: ["a"] }, { id: "b1", deps: ["b"] }, { id: "done", deps: [] },
    ];
    const res = await runQueue(jobs, 2, {
      isDone: (j) => j.id === "done",
      isReady: (j) => ready.has(j.id),
      start: async (j) => {
        running++;
        peak = Math.max(peak, running);
        order.push(j.id);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        if (j.id === "b") throw new Error("boom");
        if (j.id === "a") ready.add("a1");
      },
    }, 5);
    assert.equal(peak, 2);
    assert.deepEqual(res.outcomes, { done: "skipped", a: "done", b: "failed", c: "done", a1: "done", b1: "blocked" });
    assert.ok(order.indexOf("a1") > order.indexOf("a"));
  });
});
