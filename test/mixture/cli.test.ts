// `smol mixture suggest` and `smol mixture proxies` end to end: proxy runs on random mixtures of the
// tiny fixture through the ablation queue, then a suggestion from them (table, --json, --write of
// the next stage, which must be a valid config); a results.json with known synthetic curves whose
// optimum the CLI must print; and bad input as one line with a non-zero exit.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { makeShardDir } from "../train/fixture.js";
import { runSmol } from "../helpers.js";
import { readConfigFile, resolveTrainConfig } from "../../src/train/config.js";
import { randomMixtures } from "../../src/mixture/proxies.js";

const data = await makeShardDir();
const root = path.dirname(data);
const ENV = { SMOL_THREADS: "1" };

const BASE = {
  seed: 2, model: { preset: "debug" }, data: { dir: data, max_epochs: 50, stages: [{ name: "main", tokens: 256 * 4, mixture: { prose: 0.5, math: 0.5 } }] },
  optimizer: { lr: 0.01 }, schedule: { warmup: 1, decay_steps: 1 }, batch: { seq_len: 32, micro_batch: 4, tokens_per_step: 256 }, eval: { tokens: 256 },
};

describe("smol mixture", () => {
  it("random proxy mixtures are Dirichlet draws on the simplex, deterministic by seed", () => {
    const a = randomMixtures(["a", "b", "c"], 50, 7, 0.5);
    assert.deepEqual(a, randomMixtures(["a", "b", "c"], 50, 7, 0.5));
    for (const m of a) assert.ok(Math.abs(Object.values(m).reduce((x, y) => x + y, 0) - 1) < 1e-9);
    const meanA = a.reduce((s, m) => s + (m.a ?? 0), 0) / a.length;
    assert.ok(Math.abs(meanA - 1 / 3) < 0.1, `E[a] = 1/3 under a symmetric Dirichlet, got ${meanA}`);
  });

  it("proxies → suggest → the next stage of a config", async () => {
    const base = path.join(root, "proxy.yaml");
    fs.writeFileSync(base, YAML.stringify(BASE));
    const out = path.join(root, "proxies");
    const p = await runSmol(["mixture", "proxies", "--base", base, "--count", "4", "--seed", "1", "--out", out, "--jobs", "2"], { env: ENV });
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.match(p.stdout, /4 proxy runs on Dirichlet\(1\) mixtures of math, prose/);
    const json = path.join(root, "suggestion.json");
    const next = path.join(root, "next.yaml");
    const s = await runSmol(["mixture", "suggest", "--ablation", out, "--target", "loss:prose=0.5,math=0.5", "--tokens", "2048", "--model", "linear", "--config", base, "--write", next, "--stage-name", "refined", "--json", json]);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /held-out \(leave-one-out\) rank correlation: /);
    assert.match(s.stdout, /proposed\s+math \d\.\d{3}, prose \d\.\d{3}\s+\d/);
    const sug = JSON.parse(fs.readFileSync(json, "utf8"));
    assert.equal(sug.heldOut.length, 4);
    const cfg = resolveTrainConfig(readConfigFile(next));
    assert.equal(cfg.data.stages.length, 2);
    assert.equal(cfg.data.stages[1].name, "refined");
    assert.equal(cfg.data.stages[1].tokens, 2048);
    const w = cfg.data.stages[1].mixture;
    assert.ok(Math.abs((w.math ?? 0) - sug.proposed.mixture.math) < 1e-4);
  });

  it("prints the known optimum of synthetic curves and keeps the epoch cap", async () => {
    // Losses L_p = 2 + exp(−3 r_p), L_m = 1.5 + 2 exp(−2 r_m); target 0.5 L_p + 0.5 L_m.
    // KKT: 3 exp(−3 r_p) = 4 exp(−2 r_m), r_p + r_m = 1 → r_p = (2 + ln(3/4)) / 5.
    const dir = path.join(root, "synthetic");
    const branches = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95].map((rp, i) => ({
      name: `b${i}`, control: i === 0, status: "done", mixture: { prose: rp, math: 1 - rp }, run_dir: dir, tokens_per_source: {}, token_shares: {},
      metrics: { "val/prose/loss": { value: 2 + Math.exp(-3 * rp), higher_is_better: false }, "val/math/loss": { value: 1.5 + 2 * Math.exp(-2 * (1 - rp)), higher_is_better: false } },
    }));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify({ format: "smollab-ablation", version: 1, name: "syn", kind: "scratch", control: "b0", metric_keys: [], branches }));
    const json = path.join(root, "syn.json");
    const r = await runSmol(["mixture", "suggest", "--ablation", dir, "--data", data, "--target", "loss:prose=0.5,math=0.5", "--tokens", "1000", "--json", json]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const rp = (2 + Math.log(3 / 4)) / 5;
    const got = JSON.parse(fs.readFileSync(json, "utf8")).proposed.mixture;
    assert.ok(Math.abs(got.prose - rp) < 2e-3, `prose ${got.prose} vs ${rp}`);
    assert.match(r.stdout, /rank correlation: 1\.000/);
    // Cap math at 0.5 of the stage (optimum 0.66): math has M train tokens; 1 epoch of a stage of 2M.
    const sources = JSON.parse(fs.readFileSync(path.join(data, "index.json"), "utf8")).sources;
    const prose = sources.prose.train.tokens as number;
    const math = sources.math.train.tokens as number;
    const capped = await runSmol(["mixture", "suggest", "--ablation", dir, "--data", data, "--target", "loss:prose=0.5,math=0.5", "--tokens", String(math * 2), "--max-epochs", "1", "--json", json]);
    assert.equal(capped.code, 0, capped.stderr);
    const c = JSON.parse(fs.readFileSync(json, "utf8")).proposed.mixture;
    assert.ok(c.math <= 0.5 + 1e-9 && c.math > 0.5 - 1e-6, `math ${c.math} must sit at its cap 0.5`);
    const bad = await runSmol(["mixture", "suggest", "--ablation", dir, "--data", data, "--target", "loss:prose=1", "--tokens", String(prose * 100), "--max-epochs", "1"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no mixture of \d+ tokens keeps every source under 1 epochs/);
    const miss = await runSmol(["mixture", "suggest", "--ablation", dir, "--target", "x"]);
    assert.equal(miss.code, 2);
    assert.match(miss.stderr, /missing --tokens N/);
    const nosub = await runSmol(["mixture", "frobnicate"]);
    assert.equal(nosub.code, 2);
    assert.match(nosub.stderr, /unknown subcommand "frobnicate"/);
  });
});
