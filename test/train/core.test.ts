// The training core as a library (issue 13's defects 1–3, 5–7): a run always ends with its final
// checkpoint or an error, the tokenizer is checked against the shards, a failed start writes
// nothing, shape keys and model.from overrides are applied or rejected, re-tokenized shards and
// leftover temp directories are noticed on resume.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { defaultBackend } from "../../src/backend/index.js";
import { ConfigError } from "../../src/errors.js";
import { listCheckpoints } from "../../src/io/run-layout.js";
import { saveModel } from "../../src/models/hf.js";
import { LlamaModel } from "../../src/models/llama.js";
import { TrainingError } from "../../src/train/trainer.js";
import { train } from "../../src/train/run.js";
import { readMetrics } from "../../src/train/metrics.js";
import { tokenizeSources } from "../../src/data/tokenize.js";
import { tokenizerFingerprint } from "../../src/data/shards.js";
import { ByteTokenizer, makeShardDir, tinyConfig } from "./fixture.js";
import { tinyConfig as tinyModelConfig } from "../eval/fixture.js";

const data = await makeShardDir();
const root = path.dirname(data);
const tokDir = path.join(root, "tokenizer");
const be = defaultBackend().backend;
const job = (config: ReturnType<typeof tinyConfig>, runDir: string) => train({ config, runDir, backend: be });

/** Every file under a directory with its SHA-256: equal snapshots mean nothing was written. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash("sha256").update(fs.readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

test("on_nonfinite: skip with every step non-finite ends with its final checkpoint and an error", async () => {
  // A starting model whose weights are NaN: every loss is NaN.
  const from = path.join(root, "nan-model");
  const m = new LlamaModel(be, tinyModelConfig({ d: 32, heads: 4, kvHeads: 2, headDim: 8 }), { withGrad: false });
  m.params.data.forEach((d) => d.fill(NaN));
  saveModel(m, from, { tokenizerDir: tokDir });
  m.dispose();
  const dir = path.join(root, "all-nan");
  const cfg = tinyConfig(data, { model: { from }, on_nonfinite: "skip" });
  await assert.rejects(() => job(cfg, dir), (e: unknown) => e instanceof TrainingError && /every step of the run had a non-finite loss \(20 of 20/.test((e as Error).message));
  assert.ok(listCheckpoints(dir).includes(20), "the final checkpoint is written");
  const tr = readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train");
  assert.equal(tr.length, 20, "skipped steps are still logged");
  assert.equal(tr[19].loss, null);
  assert.equal(tr[19].skipped_steps, 20);
  // a few skipped steps among good ones: the run finishes normally
  const some = await job(tinyConfig(data, { optimizer: { lr: 1e6, grad_clip: 0 }, on_nonfinite: "skip" }), path.join(root, "some-nan"));
  assert.equal(some.steps, 20);
  assert.ok(listCheckpoints(path.join(root, "some-nan")).includes(20));
});

test("the tokenizer is checked against the shards' fingerprint before anything is written", async () => {
  // A 300-token tokenizer (a different file) and a truncated one.
  const other = path.join(root, "tok300");
  fs.mkdirSync(other, { recursive: true });
  const j = JSON.parse(fs.readFileSync(path.join(tokDir, "tokenizer.json"), "utf8"));
  for (let i = 257; i < 300; i++) j.model.vocab[`tok${i}`] = i;
  fs.writeFileSync(path.join(other, "tokenizer.json"), JSON.stringify(j));
  const truncated = path.join(root, "tok-trunc");
  fs.mkdirSync(truncated, { recursive: true });
  fs.writeFileSync(path.join(truncated, "tokenizer.json"), fs.readFileSync(path.join(tokDir, "tokenizer.json")).subarray(0, 500));
  for (const t of [other, truncated]) {
    const dir = path.join(root, `tokcheck-${path.basename(t)}`);
    await assert.rejects(() => job(tinyConfig(data, { tokenizer: t }), dir), (e: unknown) => e instanceof ConfigError && /tokenizer: .* is not the tokenizer the shards .* were made with/.test((e as Error).message));
    assert.equal(fs.existsSync(dir), false, "no run directory is created");
  }
  const missing = path.join(root, "tokcheck-missing");
  await assert.rejects(() => job(tinyConfig(data, { tokenizer: path.join(root, "no-such-tok") }), missing), /tokenizer: no tokenizer\.json in/);
  assert.equal(fs.existsSync(missing), false);
  // the right one trains and lands in the checkpoints
  const ok = path.join(root, "tokcheck-ok");
  await job(tinyConfig(data, { tokenizer: tokDir, checkpoint: { every: 0 } }), ok);
  assert.equal(tokenizerFingerprint(path.join(ok, "step-20")), tokenizerFingerprint(tokDir));
});

test("a failed start leaves the run directory exactly as it was, and the corrected config then runs", async () => {
  const fresh = path.join(root, "failed-start");
  await assert.rejects(() => job(tinyConfig(data, {}, ["data.stages.0.mixture={\"prose\":0.8,\"maths\":0.2}"]), fresh), /mixture\.maths: no source "maths"/);
  assert.equal(fs.existsSync(fresh), false, "nothing written for a fresh run");
  await job(tinyConfig(data), fresh); // the corrected config is not refused
  const before = snapshot(fresh);
  await assert.rejects(() => job(tinyConfig(data, { tokenizer: path.join(root, "tok300") }), fresh), ConfigError);
  await assert.rejects(() => job(tinyConfig(data, {}, ["optimizer.lr=0.5"]), fresh), /different configuration/);
  assert.deepEqual(snapshot(fresh), before, "an existing run is unchanged");
});

test("shape keys beside a preset are applied and checked; model.from accepts max_seq/rope_theta and refuses shape keys", async () => {
  await assert.rejects(() => job(tinyConfig(data, { model: { preset: "debug", heads: 5 } }), path.join(root, "heads5")), /model\.heads: 5 does not divide d_model/);
  const dir = path.join(root, "preset-layers");
  await job(tinyConfig(data, { model: { preset: "debug", layers: 1 } }), dir);
  const resolved = JSON.parse(fs.readFileSync(path.join(dir, "config.resolved.json"), "utf8"));
  assert.equal(resolved.model.layers, 1);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "step-20", "config.json"), "utf8")).num_hidden_layers, 1);
  // continue from that model with a longer context and another RoPE base
  const from = path.join(dir, "step-20");
  const cont = path.join(root, "continued");
  await job(tinyConfig(data, { model: { from, max_seq: 4096, rope_theta: 50000 } }), cont);
  const cj = JSON.parse(fs.readFileSync(path.join(cont, "step-20", "config.json"), "utf8"));
  assert.equal(cj.max_position_embeddings, 4096);
  assert.equal(cj.rope_theta, 50000);
  assert.throws(() => tinyConfig(data, { model: { from, d_model: 64 } }), /model\.d_model: cannot change a pretrained model's d_model/);
  // a vocabulary too small for the shards is refused for model.from too
  const small = path.join(root, "small-vocab");
  const m = new LlamaModel(be, tinyModelConfig({ vocab: 100 }), { withGrad: false });
  m.initialize(1);
  saveModel(m, small);
  m.dispose();
  await assert.rejects(() => job(tinyConfig(data, { model: { from: small } }), path.join(root, "small-run")), /model\.from: .* has a vocabulary of 100, smaller than the shards' tokenizer \(257\)/);
  assert.throws(() => tinyConfig(data, { checkpoint: { at_steps: [25] } }), /checkpoint\.at_steps\[0\]: step 25 is past the end of the run \(20 steps\)/);
  assert.throws(() => tinyConfig(data, {}, ["data.stages.0.mixture={\"prose\":0.8,\"math\":0.8}"]), /mixture: the weights sum to 1\.6/);
});

test("resume refuses re-tokenized shards and removes temp directories of killed writes", async () => {
  const shards = await makeShardDir();
  const dir = path.join(path.dirname(shards), "run");
  const cfg = tinyConfig(shards, { checkpoint: { every: 5, keep_last: 3 } }, ["data.stages.1.tokens=256"]);
  await job(cfg, dir);
  // leftovers of a write killed mid-way
  const leftover = path.join(dir, ".smol-tmp-step-25-abc123");
  fs.mkdirSync(leftover);
  fs.writeFileSync(path.join(leftover, "model.safetensors"), "partial");
  fs.writeFileSync(path.join(dir, ".smol-tmp-metrics.jsonl-1-ff"), "x");
  const longer = tinyConfig(shards, { checkpoint: { every: 5, keep_last: 3 } });
  await assert.rejects(() => job(longer, dir), /different configuration/); // a longer run is another config
  // same config, data re-tokenized with other content: refused
  await job(cfg, dir); // finished run: resumes to the end, cleaning temps
  assert.equal(fs.readdirSync(dir).filter((n) => n.startsWith(".smol-tmp")).length, 0, "temp leftovers removed");
  const src = path.join(path.dirname(shards), "prose.jsonl");
  fs.appendFileSync(src, JSON.stringify({ text: "one more document about a red ball." }) + "\n");
  await tokenizeSources({
    out: shards, force: true,
    sources: [{ name: "prose", paths: [src] }, { name: "math", paths: [path.join(path.dirname(shards), "math.jsonl")] }],
    tokenizer: new ByteTokenizer(), fingerprint: tokenizerFingerprint(path.join(path.dirname(shards), "tokenizer")), valFraction: 0.1,
  });
  await assert.rejects(() => job(cfg, dir), /the shards under data\.dir changed since this run started/);
});
