// `smol sft` and `smol dpo` end to end as processes: the DPO contract (config keys, TRL metric
// names, step 1's record = its pairs' statistics before the update, file order with shuffle:
// false), the reference cache, SIGKILL-resume bit-identical to an uninterrupted run for both,
// clear config errors, and (when Python transformers is installed) checkpoints that transformers
// loads with their chat template.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import YAML from "yaml";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { defaultBackend } from "../../src/backend/index.js";
import { loadModel } from "../../src/models/hf.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { completionLogps } from "../../src/posttrain/dpo.js";
import { dpoLoss } from "../../src/posttrain/losses.js";
import { encodePair } from "../../src/posttrain/encode.js";
import { readMetrics } from "../../src/train/metrics.js";
import { runSmol, smolArgv } from "../helpers.js";
import { baseModel, pairRows, sftRows, tmpRoot, writeJsonl } from "./fixture.js";

const root = tmpRoot();
const base = baseModel(new ReferenceBackend());
const sftData = writeJsonl(path.join(root, "sft.jsonl"), sftRows(48));
const pairsData = writeJsonl(path.join(root, "pairs.jsonl"), pairRows(24));

function writeYaml(name: string, cfg: object): string {
  const f = path.join(root, name);
  fs.writeFileSync(f, YAML.stringify(cfg));
  return f;
}
const sftCfg = writeYaml("sft.yaml", {
  model: { from: base, add_chat_tokens: true }, data: { train: sftData, eval: sftData }, max_length: 48, packing: true, epochs: 2, threads: 1,
  batch: { sequences_per_step: 4, micro_batch: 2 }, optimizer: { lr: 3e-3 }, schedule: { kind: "cosine", warmup_ratio: 0.1 }, checkpoint: { every: 2, keep_last: 2 },
});

const trainRecs = (dir: string) => readMetrics(path.join(dir, "metrics.jsonl")).filter((r) => r.type === "train");
const weights = (ck: string) => fs.readFileSync(path.join(ck, "model.safetensors"));

/** Start a run, SIGKILL it once a checkpoint at or after `killAfter` exists, then resume it to the end. */
async function killAndResume(args: string[], runDir: string, killAfter: number): Promise<void> {
  const [cmd, ...pre] = smolArgv();
  const child = spawn(cmd, [...pre, ...args, "--run-dir", runDir], { stdio: "ignore" });
  const exited = new Promise<void>((r) => child.on("close", () => r()));
  const t0 = Date.now();
  for (;;) {
    const steps = fs.existsSync(runDir) ? fs.readdirSync(runDir).filter((d) => /^step-\d+$/.test(d)).map((d) => +d.slice(5)) : [];
    if (steps.some((s) => s >= killAfter)) break;
    if (child.exitCode !== null) break;
    if (Date.now() - t0 > 120000) throw new Error("timed out waiting for a checkpoint");
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill("SIGKILL");
  await exited;
  const r = await runSmol([...args, "--run-dir", runDir]);
  assert.equal(r.code, 0, r.stderr);
}

let sftFinal = "";
test("smol sft: a run, and a SIGKILLed run resumed, end bit-identical", async () => {
  const full = path.join(root, "sft-full");
  const r = await runSmol(["sft", sftCfg, "--run-dir", full]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /added 2 chat token/);
  const recs = trainRecs(full);
  assert.equal(recs.length, recs[recs.length - 1].step);
  assert.ok((recs[recs.length - 1].loss as number) < (recs[0].loss as number), "the loss goes down");
  const evals = readMetrics(path.join(full, "metrics.jsonl")).filter((r) => r.type === "eval");
  assert.equal(typeof evals[evals.length - 1].eval_loss, "number", "held-out loss on assistant tokens at the end");
  const last = fs.readdirSync(full).filter((d) => d.startsWith("step-")).sort((a, b) => +b.slice(5) - +a.slice(5))[0];
  sftFinal = path.join(full, last);
  const tc = JSON.parse(fs.readFileSync(path.join(sftFinal, "tokenizer_config.json"), "utf8"));
  assert.match(tc.chat_template, /im_start/, "the checkpoint carries its chat template");
  assert.equal(JSON.parse(fs.readFileSync(path.join(sftFinal, "config.json"), "utf8")).vocab_size, 259);
  const killed = path.join(root, "sft-killed");
  await killAndResume(["sft", sftCfg], killed, 2);
  assert.ok(weights(path.join(killed, last)).equals(weights(sftFinal)), "final weights differ after SIGKILL + resume");
  assert.deepEqual(trainRecs(killed).map((x) => x.loss), recs.map((x) => x.loss));
});

test("smol dpo: the contract config, TRL metric names, step 1 = its pairs before the update, reference cache, SIGKILL-resume", async () => {
  assert.ok(sftFinal, "needs the SFT test's checkpoint");
  const cfg = writeYaml("dpo.yaml", {
    model: { from: sftFinal }, reference: sftFinal, data: { train: pairsData, eval: pairsData, shuffle: false }, epochs: 1,
    dpo: { beta: 0.5, loss: "sigmoid" }, batch: { pairs_per_step: 8, micro_batch: 2 }, optimizer: { lr: 1.0e-3 },
    schedule: { kind: "cosine", warmup_ratio: 0.1 }, threads: 1, checkpoint: { every: 1 },
  });
  const full = path.join(root, "dpo-full");
  const r = await runSmol(["dpo", cfg, "--run-dir", full]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(full, "reference_logps.json")));
  const recs = trainRecs(full);
  assert.equal(recs.length, 3);
  const first = recs[0];
  for (const k of ["loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"]) assert.equal(typeof first[k], "number", k);
  // Independent recomputation of step 1: the first 8 pairs in file order, policy = reference = the SFT model.
  const be = defaultBackend().backend;
  const tok = await loadTokenizer(sftFinal);
  const rows = fs.readFileSync(pairsData, "utf8").trim().split("\n").slice(0, 8).map((l) => JSON.parse(l));
  const pairs = rows.map((x) => encodePair(tok, undefined, x.prompt, x.chosen, x.rejected));
  const m = loadModel(sftFinal, be, { withGrad: false });
  const lp = completionLogps(m, pairs, 8, tok.eosId!);
  m.dispose();
  const res = dpoLoss({
    policyChosen: Float64Array.from(lp.chosen), policyRejected: Float64Array.from(lp.rejected), refChosen: Float64Array.from(lp.chosen), refRejected: Float64Array.from(lp.rejected),
    lenChosen: Int32Array.from(pairs, (p) => p.chosen.length), lenRejected: Int32Array.from(pairs, (p) => p.rejected.length),
  }, 0.5, "sigmoid");
  assert.ok(Math.abs((first.loss as number) - Math.log(2)) < 1e-6, `step 1 loss with policy = reference is log 2, got ${first.loss}`);
  assert.ok(Math.abs((first["logps/chosen"] as number) - res.metrics["logps/chosen"]) < 1e-3);
  assert.ok(Math.abs((first["logps/rejected"] as number) - res.metrics["logps/rejected"]) < 1e-3);
  assert.ok(Math.abs(first["rewards/margins"] as number) < 1e-6);
  assert.notEqual(recs[2]["rewards/margins"], 0, "the policy moves away from the reference");
  const ev = readMetrics(path.join(full, "metrics.jsonl")).filter((r) => r.type === "eval").pop()!;
  for (const k of ["eval_loss", "eval_rewards/accuracies", "eval_rewards/margins"]) assert.equal(typeof ev[k], "number", k);
  const cache = JSON.parse(fs.readFileSync(path.join(full, "reference_logps.json"), "utf8"));
  assert.equal(cache.train.chosen.length, 24);
  assert.equal(cache.eval.chosen.length, 24);
  const killed = path.join(root, "dpo-killed");
  await killAndResume(["dpo", cfg], killed, 1);
  assert.ok(weights(path.join(killed, "step-3")).equals(weights(path.join(full, "step-3"))), "final weights differ after SIGKILL + resume");
  assert.deepEqual(trainRecs(killed).map((x) => [x.loss, x["rewards/accuracies"]]), recs.map((x) => [x.loss, x["rewards/accuracies"]]));
});

test("post-training configs: every problem named by its key, sequences longer than the context refused; nothing written", async () => {
  const bad = writeYaml("bad.yaml", { model: { from: base }, data: { train: pairsData }, dpo: { beta: -1, loss: "hinge" }, batch: { pairs_per_step: 7, micro_batch: 2 }, optimizer: {} });
  const r = await runSmol(["dpo", bad, "--run-dir", path.join(root, "never")]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /dpo\.beta/);
  assert.match(r.stderr, /dpo\.loss/);
  assert.match(r.stderr, /optimizer\.lr/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace");
  const noTpl = writeYaml("notpl.yaml", { model: { from: base }, data: { train: sftData }, batch: { sequences_per_step: 4, micro_batch: 2 }, optimizer: { lr: 1e-3 } });
  const t = await runSmol(["sft", noTpl, "--run-dir", path.join(root, "never")]);
  assert.notEqual(t.code, 0);
  assert.match(t.stderr, /has no chat template/);
  const long = writeYaml("long.yaml", { model: { from: base }, reference: base, data: { train: pairsData }, dpo: { max_length: 4096, max_prompt_length: 64 }, batch: { pairs_per_step: 4, micro_batch: 2 }, optimizer: { lr: 1e-3 } });
  const l = await runSmol(["dpo", long, "--run-dir", path.join(root, "never")]);
  assert.notEqual(l.code, 0);
  assert.match(l.stderr, /dpo\.max_length: 4096 tokens exceed the context/);
  assert.ok(!fs.existsSync(path.join(root, "never")));
  const h = await runSmol(["sft", "--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /batch\.sequences_per_step/);
});

const py = spawnSync("python3", ["-c", "import transformers, torch"], { encoding: "utf8" });
test("SFT/DPO checkpoints load in transformers with their chat template", { skip: py.status !== 0 ? "skipped: Python with transformers and torch is not installed (pip install transformers torch)" : undefined }, () => {
  assert.ok(sftFinal);
  const script = `
import sys, json, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
d = sys.argv[1]
tok = AutoTokenizer.from_pretrained(d)
m = AutoModelForCausalLM.from_pretrained(d)
ids = tok.apply_chat_template([{"role": "user", "content": "1+2?"}], add_generation_prompt=True, tokenize=True)
ids = ids["input_ids"] if hasattr(ids, "keys") else ids
print(json.dumps({"text": tok.apply_chat_template([{"role": "user", "content": "1+2?"}], add_generation_prompt=True, tokenize=False), "ids": list(ids), "eos": tok.eos_token, "vocab": m.config.vocab_size}))`;
  const r = spawnSync("python3", ["-c", script, sftFinal], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(out.text, "<|im_start|>user\n1+2?<|im_end|>\n<|im_start|>assistant\n");
  assert.equal(out.eos, "<|im_end|>");
  assert.equal(out.vocab, 259);
  assert.equal(out.ids[0], 257);
});
