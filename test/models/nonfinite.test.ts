// Non-finite weights and outputs are refused by `smol score`, `smol eval` and `smol generate`
// with one clear error line and a non-zero exit (never `null`, accuracies or "" with exit 0).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openSafetensors, writeSafetensors, type TensorToWrite } from "../../src/io/safetensors.js";
import { defaultBackend } from "../../src/backend/index.js";
import { packageRoot } from "../../src/util/paths.js";
import { runSmol } from "../helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smol-nonfinite-"));
const good = path.join(tmp, "good");

/** A copy of `good` whose weights are rewritten by `edit` (name, values) → values. */
function variant(name: string, edit: (tensor: string, x: Float32Array) => void): string {
  const dir = path.join(tmp, name);
  fs.cpSync(good, dir, { recursive: true });
  const file = path.join(dir, "model.safetensors");
  const st = openSafetensors(file);
  const tensors: TensorToWrite[] = [...st.tensors].map(([n, info]) => {
    const x = st.read(n);
    edit(n, x);
    return { name: n, dtype: "F32", shape: info.shape, data: x };
  });
  st.close();
  writeSafetensors(file, tensors, { format: "pt" });
  return dir;
}

const commands = (dir: string): Array<[string, string[]]> => [
  ["score", ["score", "--model", dir, "--text", "The cat sat on the mat.", "--json"]],
  ["generate", ["generate", "--model", dir, "--prompt", "Hello", "--max-new-tokens", "3", "--temperature", "0"]],
  ["eval", ["eval", "--model", dir, "--tasks", "arc_easy", "--limit", "2"]],
];

test("setup: a small model with the GPT-2 tokenizer scores, generates and evaluates", async () => {
  const tok = path.join(packageRoot(), "data", "tokenizer", "gpt2");
  const r = await runSmol(["init", "--preset", "debug", "--tokenizer", tok, "--out", good, "--seed", "5"]);
  assert.equal(r.code, 0, r.stderr);
  for (const [cmd, args] of commands(good)) {
    const g = await runSmol(args);
    assert.equal(g.code, 0, `${cmd}: ${g.stderr}`);
  }
});

test("NaN weights: score, generate and eval exit 1 naming the tensor, printing no results", async () => {
  const dir = variant("nan", (n, x) => {
    if (n === "model.layers.1.mlp.up_proj.weight") x[7] = NaN;
  });
  for (const [cmd, args] of commands(dir)) {
    const r = await runSmol(args);
    assert.equal(r.code, 1, `${cmd} must fail: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, /^smol: error: .*the model weights are not finite: model\.layers\.1\.mlp\.up_proj\.weight holds 1 non-finite value\(s\) \(first NaN at index 7\)/m, cmd);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${cmd}: no stack trace`);
    assert.equal(r.stdout.trim(), "", `${cmd}: nothing on stdout`);
  }
});

test("Inf weights are refused too", async () => {
  const dir = variant("inf", (n, x) => {
    if (n === "model.norm.weight") x[0] = -Infinity;
  });
  const r = await runSmol(commands(dir)[0][1]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /model\.norm\.weight holds 1 non-finite value\(s\) \(first -Infinity at index 0\)/);
});

test("finite weights that overflow in the forward pass: non-finite outputs are refused", async (t) => {
  if (defaultBackend().backend.name !== "native") {
    t.skip("the CLI runs on the float64 reference backend here (no native addon), where float32-range weights do not overflow");
    return;
  }
  // Every weight finite, but the final norm scales hidden states to ~1e38, so the logits overflow.
  const dir = variant("overflow", (n, x) => {
    if (n === "model.norm.weight") x.fill(3e38);
  });
  for (const [cmd, args] of commands(dir)) {
    const r = await runSmol(args);
    assert.equal(r.code, 1, `${cmd} must fail: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, /^smol: error: the model produced non-finite (log-probabilities|logits)/m, cmd);
    assert.equal(r.stdout.trim(), "", `${cmd}: nothing on stdout`);
  }
});
