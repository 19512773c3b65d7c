// `smol export --format hf` on a real run checkpoint: a clean directory (no optimizer/trainer
// state), bf16 weights equal bit for bit to the checkpoint's rounded fp32 weights and loading back
// in SmolLab, fp32 on request exactly, a truthful generation_config.json, the chat template (given
// as chat_template.jinja on input, carried through training) in both tokenizer files, and a model
// card whose front matter has the Hub keys and whose body renders the run's numbers.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { defaultBackend } from "../../src/backend/index.js";
import { f32ToBf16Bits } from "../../src/io/dtypes.js";
import { openCheckpoint } from "../../src/io/safetensors.js";
import { loadModel } from "../../src/models/hf.js";
import { listCheckpoints } from "../../src/io/run-layout.js";
import { readMetrics } from "../../src/train/metrics.js";
import { train } from "../../src/train/run.js";
import { smolSync } from "../helpers.js";
import { byteTokenizerDir } from "../eval/fixture.js";
import { makeShardDir, tinyConfig } from "../train/fixture.js";
import { TEMPLATE } from "./fixture.js";

const be = defaultBackend().backend;
const data = await makeShardDir();
const root = path.dirname(data);
after(() => fs.rmSync(root, { recursive: true, force: true }));

// A real two-stage run whose tokenizer directory holds a chat_template.jinja.
const tokDir = byteTokenizerDir(path.join(root, "tok"));
fs.writeFileSync(path.join(tokDir, "chat_template.jinja"), TEMPLATE);
const runDir = path.join(root, "run");
{
  await train({ config: tinyConfig(data, { tokenizer: tokDir }), runDir, backend: be });
}
const last = listCheckpoints(runDir).at(-1) as number;
const ckpt = path.join(runDir, `step-${last}`);

test("checkpoints keep chat_template.jinja from the tokenizer directory", () => {
  assert.equal(fs.readFileSync(path.join(ckpt, "chat_template.jinja"), "utf8"), TEMPLATE);
});

test("hf export: clean bf16 directory, bit-exact weights, truthful generation config, chat template twice", () => {
  const out = path.join(root, "ship");
  const r = smolSync(["export", "--model", ckpt, "--format", "hf", "--out", out, "--dataset", "HuggingFaceTB/smollm-corpus", "--tag", "tiny"]);
  assert.equal(r.code, 0, r.err);
  const files = fs.readdirSync(out).sort();
  assert.deepEqual(files, ["README.md", "chat_template.jinja", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
  // Weights: BF16 on disk, each the round-to-nearest-even of the checkpoint's fp32 value.
  const src = openCheckpoint(ckpt);
  const dst = openCheckpoint(out);
  for (const name of src.names()) {
    assert.equal(dst.dtype(name), "BF16", name);
    const a = src.read(name);
    const raw = dst.readRaw(name);
    const bits = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
    for (let i = 0; i < a.length; i++) if (bits[i] !== f32ToBf16Bits(a[i])) assert.fail(`${name}[${i}]: bf16 bits ${bits[i]} != ${f32ToBf16Bits(a[i])}`);
  }
  src.close();
  dst.close();
  // It loads back in SmolLab with exactly those weights.
  const back = loadModel(out, be, { withGrad: false });
  const dst2 = openCheckpoint(out);
  for (const s of back.params.specs) assert.deepEqual(Float32Array.from(back.params.get(s.name).data), dst2.read(s.name), s.name);
  dst2.close();
  back.dispose();
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8")).torch_dtype, "bfloat16");
  const gen = JSON.parse(fs.readFileSync(path.join(out, "generation_config.json"), "utf8"));
  assert.equal(gen.transformers_version, undefined, "no transformers version claimed");
  assert.equal(gen.eos_token_id, 256);
  assert.equal(fs.readFileSync(path.join(out, "chat_template.jinja"), "utf8"), TEMPLATE);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "tokenizer_config.json"), "utf8")).chat_template, TEMPLATE);
  // `smol generate --chat` on the export uses that template.
  const g = smolSync(["generate", "--model", out, "--prompt", "hi", "--chat", "--max-new-tokens", "1", "--temperature", "0", "--json"]);
  assert.equal(g.code, 0, g.err);
  assert.equal(JSON.parse(g.out).prompt_tokens, Buffer.byteLength("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"));
});

test("hf export: the model card has Hub metadata and renders the run's numbers", () => {
  const out = path.join(root, "ship-card");
  const r = smolSync(["export", "--model", ckpt, "--format", "hf", "--out", out, "--license", "mit", "--base-model", "HuggingFaceTB/SmolLM2-135M", "--dataset", "a/b", "--dataset", "c/d", "--tag", "tiny"]);
  assert.equal(r.code, 0, r.err);
  const card = fs.readFileSync(path.join(out, "README.md"), "utf8");
  const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
  assert.ok(m, "YAML front matter");
  const front = parseYaml(m[1]);
  assert.equal(front.license, "mit");
  assert.equal(front.base_model, "HuggingFaceTB/SmolLM2-135M");
  assert.deepEqual(front.datasets, ["a/b", "c/d"]);
  assert.equal(front.library_name, "transformers");
  assert.ok(front.tags.includes("smollab") && front.tags.includes("tiny"));
  const state = JSON.parse(fs.readFileSync(path.join(ckpt, "trainer_state.json"), "utf8"));
  assert.ok(card.includes(`step ${state.step}`), "the checkpoint's step");
  assert.ok(card.includes(state.tokens.toLocaleString("en-US")), "tokens trained");
  assert.match(card, /\| one \| 3\.1K \| 80% \| 20% \|/, "stage one and its mixture");
  assert.match(card, /\| two \| 2\.0K \| 40% \| 60% \|/, "stage two and its mixture");
  assert.match(card, /shape = 1-sqrt/, "the schedule");
  const evals = readMetrics(path.join(runDir, "metrics.jsonl")).filter((x) => x.type === "eval" && x.step <= state.step);
  const lastEval = evals.at(-1) as unknown as { val_loss: Record<string, number> };
  for (const [src, v] of Object.entries(lastEval.val_loss)) assert.ok(card.includes(`| validation loss: ${src} | ${v.toFixed(4)} |`), `final val loss of ${src}`);
});

test("hf export: fp32 on request is exact; bad input gives one line and writes nothing", () => {
  const out = path.join(root, "ship32");
  assert.equal(smolSync(["export", "--model", ckpt, "--format", "hf", "--dtype", "fp32", "--out", out]).code, 0);
  const a = openCheckpoint(ckpt);
  const b = openCheckpoint(out);
  for (const n of a.names()) assert.deepEqual(b.read(n), a.read(n), n);
  a.close();
  b.close();
  const noTok = path.join(root, "notok");
  fs.mkdirSync(noTok);
  for (const f of ["config.json", "model.safetensors"]) fs.copyFileSync(path.join(ckpt, f), path.join(noTok, f));
  const bad: Array<[string[], RegExp]> = [
    [["export", "--model", noTok, "--format", "hf", "--out", path.join(root, "x1")], /tokenizer\.json: no such file/],
    [["export", "--model", ckpt, "--format", "hf", "--dtype", "q8_0", "--out", path.join(root, "x2")], /--dtype for --format hf must be one of bf16, fp16, fp32/],
    [["export", "--model", ckpt, "--format", "gguf", "--license", "mit", "--out", path.join(root, "x3.gguf")], /--license applies to --format hf only/],
    [["export", "--model", ckpt, "--format", "hf"], /missing --out/],
  ];
  for (const [args, re] of bad) {
    const r = smolSync(args);
    assert.notEqual(r.code, 0);
    assert.match(r.err, re);
    assert.ok(!/\n\s+at /.test(r.err), r.err);
  }
  for (const x of ["x1", "x2", "x3.gguf"]) assert.ok(!fs.existsSync(path.join(root, x)), x);
  assert.ok(!fs.readdirSync(root).some((f) => f.startsWith(".smol-tmp-")), "no temp directories left behind");
});
