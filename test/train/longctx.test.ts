// Long-context stage transitions: a stage that raises seq_len (with its own micro-batch) and RoPE θ
// trains on windows of the new length, evaluates on validation windows of that length, and its
// checkpoints record the new context in config.json (a model loaded from them reproduces the
// trainer's validation loss; the same weights with the old θ do not). A run stopped inside the long
// stage resumes bit-identically. Config errors name the stage and the fix.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeShardDir, tinyConfig } from "./fixture.js";
import { train } from "../../src/train/run.js";
import { ConfigError } from "../../src/errors.js";
import { defaultBackend } from "../../src/backend/index.js";
import { loadModel } from "../../src/models/hf.js";
import { readHfConfig } from "../../src/io/hf-config.js";
import { loadValSets, validationLoss } from "../../src/train/validation.js";
import { lossByPosition, passkeyPrompt } from "../../src/eval/longctx.js";
import { openShards } from "../../src/data/shards.js";
import { ByteTokenizer } from "./fixture.js";

const data = await makeShardDir();
const root = path.dirname(data);
const be = defaultBackend().backend;

const STAGES = [
  { name: "short", tokens: 256 * 6, mixture: { prose: 0.8, math: 0.2 } },
  { name: "long", tokens: 256 * 6, mixture: { prose: 0.8, math: 0.2 }, seq_len: 64, micro_batch: 2, rope_theta: 100000 },
];
const cfgOf = () => tinyConfig(data, { model: { preset: "debug", max_seq: 32 }, data: { dir: data, stages: STAGES }, eval: { every: 0, tokens: 512 }, checkpoint: { every: 2, keep_last: 20 } });

const metrics = (dir: string) => fs.readFileSync(path.join(dir, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe("long-context stages", () => {
  it("switch seq_len and θ at the boundary, record them in config.json, and resume exactly", async () => {
    const cfg = cfgOf();
    assert.deepEqual(cfg.data.stages.map((s) => [s.seq_len, s.micro_batch, s.rope_theta]), [[undefined, undefined, undefined], [64, 2, 100000]]);
    const full = path.join(root, "lc-full");
    await train({ config: cfg, runDir: full });
    const c6 = readHfConfig(path.join(full, "step-6"));
    assert.deepEqual([c6.ropeTheta, c6.maxSeq], [10000, 32], "the short stage keeps the old context");
    const c12 = readHfConfig(path.join(full, "step-12"));
    assert.deepEqual([c12.ropeTheta, c12.maxSeq], [100000, 64]);
    // The trainer's last evaluation was on 64-token windows with θ = 100k: a model loaded from the
    // checkpoint reproduces it, and the same weights with the old θ give another loss.
    const last = metrics(full).filter((r) => r.type === "eval").pop();
    assert.equal(last.step, 12);
    const sets = loadValSets(data, 64, 512);
    const m = loadModel(path.join(full, "step-12"), be, { withGrad: false });
    const again = validationLoss(m, sets, 64, 2);
    for (const s of Object.keys(again)) assert.ok(Math.abs(again[s] - last.val_loss[s]) < 1e-6, `${s}: ${again[s]} vs ${last.val_loss[s]}`);
    m.setContext(10000, 64);
    const oldTheta = validationLoss(m, sets, 64, 2);
    assert.ok(Math.abs(oldTheta.prose - again.prose) > 1e-4, "θ must matter");
    // Loss by position over the new context: finite everywhere.
    const val = openShards(data, "prose", "val");
    const stream = new Int32Array(val.numTokens);
    val.read(0, val.numTokens, stream);
    val.close();
    const byPos = lossByPosition(m, stream, 64, 4);
    assert.equal(byPos.loss.length, 64);
    assert.ok([...byPos.loss].every((x) => Number.isFinite(x) && x > 0));
    m.dispose();
    // The long stage trains on the configured mixture too (per-source tokens of the whole run).
    const tr = metrics(full).filter((r) => r.type === "train").pop();
    assert.equal(tr.tokens_by_source.prose + tr.tokens_by_source.math, 12 * 256);

    // Stop inside the long stage (step 9), resume: identical weights and losses.
    const cut = path.join(root, "lc-cut");
    const ac = new AbortController();
    const s1 = await train({ config: cfgOf(), runDir: cut, signal: ac.signal, hooks: { onProgress: (p) => p.step === 9 && ac.abort() } });
    assert.equal(s1.interrupted, true);
    assert.equal(s1.steps, 9);
    await train({ config: cfgOf(), runDir: cut });
    const bytes = (d: string) => fs.readFileSync(path.join(d, "step-12", "model.safetensors"));
    assert.ok(bytes(cut).equals(bytes(full)), "resumed weights differ");
    assert.deepEqual(metrics(cut).filter((r) => r.type === "train").map((r) => r.loss), metrics(full).filter((r) => r.type === "train").map((r) => r.loss));
  });

  it("a stage whose length does not divide tokens_per_step is refused with the fix", () => {
    assert.throws(
      () => tinyConfig(data, { data: { dir: data, stages: [STAGES[0], { ...STAGES[1], micro_batch: 3 }] } }),
      (e: unknown) => e instanceof ConfigError && /data\.stages\[1\]: batch\.tokens_per_step 256 is not a multiple of micro_batch × seq_len = 3 × 64 for this stage \(set the stage's micro_batch to a divisor of 4\)/.test(e.message),
    );
  });

  it("passkey prompts fit the requested length and hold the key at the requested depth", () => {
    const tok = new ByteTokenizer();
    for (const [len, depth] of [[2000, 0], [2000, 0.5], [4000, 1]] as const) {
      const ids = passkeyPrompt(tok, "12345", len, depth);
      assert.ok(ids.length <= len && ids.length > len - 100, `${ids.length} tokens for ${len}`);
      const text = tok.decode(ids);
      const at = text.indexOf("The pass key is 12345") / text.length;
      assert.ok(Math.abs(at - depth) < 0.15, `key at ${at.toFixed(2)} for depth ${depth}`);
      assert.ok(text.endsWith("What is the pass key? The pass key is"));
    }
  });
});

describe("smol longctx (CLI)", () => {
  it("passkey by length and depth and loss by position for models side by side", async () => {
    const { runSmol } = await import("../helpers.js");
    const run = path.join(root, "lc-full");
    if (!fs.existsSync(path.join(run, "step-12"))) await train({ config: cfgOf(), runDir: run });
    const out = path.join(root, "lc-eval");
    const r = await runSmol(["longctx", "--model", `short=${run}/step-6`, "--model", `long=${run}/step-12`, "--lengths", "256,512", "--depths", "0,1", "--trials", "2", "--data", data, "--windows", "2", "--old-context", "32", "--tokenizer", path.join(root, "tokenizer"), "--out", out]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /model\s+θ\s+context\s+256 tok\s+512 tok/);
    assert.match(r.stdout, /long\s+100,000\s+64\s+\d\.\d\d ± \d\.\d\d/);
    const j = JSON.parse(fs.readFileSync(path.join(out, "longctx.json"), "utf8"));
    assert.deepEqual(j.models.map((m: { name: string; rope_theta: number; context: number }) => [m.name, m.rope_theta, m.context]), [["short", 10000, 32], ["long", 100000, 64]]);
    assert.equal(j.models[0].passkey.length, 4);
    assert.equal(j.models[1].loss_by_position.length, 512);
    assert.ok(fs.readFileSync(path.join(out, "loss-by-position.svg"), "utf8").includes("old context"));
    const bad = await runSmol(["longctx", "--model", root, "--lengths", "256"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /is not a model directory/);
  });
});

describe("upweighting long documents (min_doc_tokens)", () => {
  it("the long-document view is the concatenation of exactly the long documents", async () => {
    const { LongDocView } = await import("../../src/data/longdocs.js");
    const set = openShards(data, "prose", "train");
    try {
      const view = new LongDocView(set, 90);
      const want: number[] = [];
      for (let i = 0; i < set.numDocs; i++) if (set.doc(i).length >= 90) want.push(...set.doc(i));
      assert.ok(view.numDocs > 0 && view.numDocs < set.numDocs, `${view.numDocs} of ${set.numDocs} documents kept`);
      assert.equal(view.numTokens, want.length);
      assert.deepEqual([...view.read(0, view.numTokens)], want);
      const mid = Math.floor(want.length / 3);
      assert.deepEqual([...view.read(mid, 200)], want.slice(mid, mid + 200), "reads across document boundaries");
      assert.throws(() => new LongDocView(set, 1e9), /has no document of 1000000000 tokens or more/);
    } finally {
      set.close();
    }
  });

  it("a long stage with min_doc_tokens trains on long documents only, and resumes", async () => {
    const stages = [STAGES[0], { ...STAGES[1], min_doc_tokens: { prose: 90 } }];
    const mk = () => tinyConfig(data, { model: { preset: "debug", max_seq: 32 }, data: { dir: data, stages }, eval: { every: 0, tokens: 512 }, checkpoint: { every: 3, keep_last: 20 } });
    const a = path.join(root, "lc-filter");
    await train({ config: mk(), runDir: a });
    const plain = fs.readFileSync(path.join(root, "lc-full", "step-12", "model.safetensors"));
    assert.ok(!fs.readFileSync(path.join(a, "step-12", "model.safetensors")).equals(plain), "the filter changes the data");
    // As if killed after step 11: the newest checkpoint is step 9, inside the filtered long stage.
    fs.rmSync(path.join(a, "step-12"), { recursive: true });
    const b = path.join(root, "lc-filter-b");
    fs.cpSync(a, b, { recursive: true });
    await train({ config: mk(), runDir: b });
    await train({ config: mk(), runDir: path.join(root, "lc-filter-c") });
    assert.ok(fs.readFileSync(path.join(b, "step-12", "model.safetensors")).equals(fs.readFileSync(path.join(root, "lc-filter-c", "step-12", "model.safetensors"))), "a run resumed from step 9 equals one that never stopped");
    assert.throws(() => tinyConfig(data, { data: { dir: data, stages: [STAGES[0], { ...STAGES[1], min_doc_tokens: { code: 5 } }] } }), /min_doc_tokens\.code: "code" is not in this stage's mixture/);
    assert.throws(() => tinyConfig(data, { data: { dir: data, stages: [{ ...STAGES[0], min_doc_tokens: { prose: 50 } }, { ...STAGES[1], seq_len: 32, micro_batch: 4 }] } }), /stages with the same seq_len \(32\) must use the same min_doc_tokens/);
  });
});
