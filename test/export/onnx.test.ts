// ONNX export checked in its runtimes: onnxruntime-node's logits equal SmolLab's within 1e-4
// (fp32) for a whole sequence and token by token through the KV cache (past_key_values →
// present), int8 weight-only stays close; transformers.js (`pipeline('text-generation')` from
// local disk, no network) produces the same greedy text as `smol generate`.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultBackend } from "../../src/backend/index.js";
import { loadTokenizer } from "../../src/tokenizer/tokenizer.js";
import { loadModel } from "../../src/models/hf.js";
import { Engine } from "../../src/tensor/engine.js";
import { smolSync } from "../helpers.js";
import { smallModel, TEMPLATE, TEXT, tmpRoot } from "./fixture.js";

const be = defaultBackend().backend;
const root = tmpRoot("onnx");
const small = await smallModel(root);
const out = path.join(root, "small-onnx");
after(() => fs.rmSync(root, { recursive: true, force: true }));

type Ort = typeof import("onnxruntime-node");
let ort: Ort | undefined;
let ortSkip: string | undefined;
try {
  ort = await import("onnxruntime-node");
} catch (e) {
  ortSkip = `onnxruntime-node is not usable here: ${(e as Error).message.split("\n")[0]}`;
  console.log(`# skip: ${ortSkip} (see README "Checking exports in their runtimes")`);
}

function smolLogits(ids: number[]): Float32Array {
  const m = loadModel(small, be, { withGrad: false });
  const e = new Engine(be);
  try {
    return Float32Array.from(e.noGrad(() => m.forward(e, Int32Array.from(ids), 1, ids.length).data));
  } finally {
    e.arena.dispose();
    m.dispose();
  }
}

test("smol export --format onnx writes the transformers.js folder layout", () => {
  const r = smolSync(["export", "--model", small, "--format", "onnx", "--dtype", "all", "--out", out]);
  assert.equal(r.code, 0, r.err);
  for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "onnx/model.onnx", "onnx/model_int8.onnx"]) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "tokenizer_config.json"), "utf8")).chat_template, TEMPLATE);
  assert.ok(fs.statSync(path.join(out, "onnx/model_int8.onnx")).size < 0.45 * fs.statSync(path.join(out, "onnx/model.onnx")).size, "int8 weights are a quarter of fp32's");
});

test("onnxruntime-node: logits equal SmolLab's within 1e-4, with and without the KV cache", { skip: ortSkip }, async () => {
  const O = ort as Ort;
  const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
  const ids = (await loadTokenizer(small)).encode(TEXT).slice(0, 40);
  const ref = smolLogits(ids);
  const V = cfg.vocab_size;
  const L = cfg.num_hidden_layers;
  const i64 = (xs: number[], dims: number[]) => new O.Tensor("int64", BigInt64Array.from(xs.map(BigInt)), dims);
  const emptyPast = () => {
    const p: Record<string, import("onnxruntime-node").Tensor> = {};
    for (let l = 0; l < L; l++) for (const kv of ["key", "value"]) p[`past_key_values.${l}.${kv}`] = new O.Tensor("float32", new Float32Array(0), [1, cfg.num_key_value_heads, 0, cfg.head_dim]);
    return p;
  };
  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>, off = 0) => {
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[off + i]));
    return m;
  };
  for (const [file, tol] of [["model.onnx", 1e-4], ["model_int8.onnx", Infinity]] as const) {
    const s = await O.InferenceSession.create(path.join(out, "onnx", file));
    assert.deepEqual(s.inputNames.slice(0, 5), ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.0.value"]);
    assert.deepEqual(s.outputNames.slice(0, 3), ["logits", "present.0.key", "present.0.value"]);
    const T = ids.length;
    const full = await s.run({ input_ids: i64(ids, [1, T]), attention_mask: i64(ids.map(() => 1), [1, T]), position_ids: i64(ids.map((_, i) => i), [1, T]), ...emptyPast() });
    const dFull = maxDiff(full.logits.data as Float32Array, ref);
    // With the cache: a 10-token prefix, then one token at a time feeding present → past.
    let past = emptyPast();
    let dCache = 0;
    let argmaxAgree = 0;
    for (let t0 = 0; t0 < T; ) {
      const n = t0 === 0 ? 10 : 1;
      const chunk = ids.slice(t0, t0 + n);
      const r = await s.run({ input_ids: i64(chunk, [1, n]), attention_mask: i64(Array(t0 + n).fill(1), [1, t0 + n]), position_ids: i64(chunk.map((_, i) => t0 + i), [1, n]), ...past });
      const lg = r.logits.data as Float32Array;
      dCache = Math.max(dCache, maxDiff(lg, ref, t0 * V));
      for (let i = 0; i < n; i++) {
        const row = lg.subarray(i * V, (i + 1) * V);
        const refRow = ref.subarray((t0 + i) * V, (t0 + i + 1) * V);
        if (row.indexOf(Math.max(...row)) === refRow.indexOf(Math.max(...refRow))) argmaxAgree++;
      }
      past = {};
      for (let l = 0; l < L; l++) for (const kv of ["key", "value"]) past[`past_key_values.${l}.${kv}`] = r[`present.${l}.${kv}`];
      t0 += n;
    }
    console.log(`# ${file}: max |logit diff| vs SmolLab ${dFull.toExponential(2)} (whole sequence), ${dCache.toExponential(2)} (KV cache); top-1 equal ${argmaxAgree}/${T}`);
    if (tol !== Infinity) {
      assert.ok(dFull <= tol, `${file}: logits differ by ${dFull}`);
      assert.ok(dCache <= tol, `${file} with KV cache: logits differ by ${dCache}`);
    } else assert.ok(argmaxAgree >= 0.85 * T, `int8: top-1 agreement ${argmaxAgree}/${T}`);
    await s.release();
  }
});

test("transformers.js pipeline('text-generation') on the exported folder gives smol generate's greedy text", { skip: ortSkip }, async () => {
  let tjs: typeof import("@huggingface/transformers");
  try {
    tjs = await import("@huggingface/transformers");
  } catch (e) {
    console.log(`# skip: @huggingface/transformers is not usable here: ${(e as Error).message.split("\n")[0]}`);
    return;
  }
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = root + path.sep;
  const gen = await tjs.pipeline("text-generation", path.basename(out), { dtype: "fp32" });
  for (const prompt of ["The quick brown fox", "In 1969, the"]) {
    const res = (await gen(prompt, { max_new_tokens: 24, do_sample: false })) as Array<{ generated_text: string }>;
    const r = smolSync(["generate", "--model", small, "--prompt", prompt, "--max-new-tokens", "24", "--temperature", "0", "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(res[0].generated_text, prompt + JSON.parse(r.out).text);
  }
  await gen.dispose();
});
