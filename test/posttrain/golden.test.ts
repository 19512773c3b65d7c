// Post-training losses against PyTorch goldens (test/fixtures/posttrain, made with transformers'
// LlamaForCausalLM by make_goldens.py): the masked SFT loss and every gradient, the reference
// model's completion log-probs, and DPO sigmoid and IPO losses, rewards and gradients with a
// reference model that differs from the policy — on each available backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import type { Backend, FloatBuf } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { openSafetensors } from "../../src/io/safetensors.js";
import { loadModel } from "../../src/models/hf.js";
import { Engine } from "../../src/tensor/engine.js";
import { padRows } from "../../src/posttrain/batches.js";
import { completionLogps, dpoObjective, pairRows } from "../../src/posttrain/dpo.js";
import { maskedObjective } from "../../src/posttrain/sft.js";
import { packageRoot } from "../../src/util/paths.js";
import { assertClose } from "../helpers.js";

const DIR = join(packageRoot(), "test/fixtures/posttrain");
const TINY = join(packageRoot(), "test/fixtures/tiny-llama");
const inputs = JSON.parse(fs.readFileSync(join(DIR, "inputs.json"), "utf8")) as {
  pad: number; beta: number; sft: Array<{ ids: number[]; mask: number[] }>; pairs: Array<{ prompt: number[]; chosen: number[]; rejected: number[] }>;
};
const golden = openSafetensors(join(DIR, "golden.safetensors"));

async function backends(): Promise<Array<{ name: string; be?: Backend<FloatBuf>; skip?: string }>> {
  const list: Array<{ name: string; be?: Backend<FloatBuf>; skip?: string }> = [{ name: "reference", be: new ReferenceBackend() }];
  try {
    const { loadNative } = await import("../../src/backend/native.js");
    list.push({ name: "native", be: loadNative() });
  } catch (e) {
    list.push({ name: "native", skip: `native addon unavailable: ${(e as Error).message}` });
  }
  return list;
}

function checkGrads(model: ReturnType<typeof loadModel>, prefix: string, label: string): void {
  for (const s of model.params.specs) {
    const want = golden.read(`${prefix}.grad.${s.name}`);
    const got = model.params.get(s.name).grad!;
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    assertClose(got, want, { atol: 2e-5 * Math.max(1, scale), rtol: 1e-3 }, `${label} grad ${s.name}`);
  }
}

for (const { name, be, skip } of await backends()) {
  test(`masked SFT loss and gradients match PyTorch (${name})`, { skip }, () => {
    const model = loadModel(TINY, be!);
    const e = new Engine(be!);
    const b = { ...padRows(inputs.sft.map((s) => ({ ids: Int32Array.from(s.ids), mask: Uint8Array.from(s.mask) })), inputs.pad), source: "sft" };
    model.params.zeroGrad();
    const out = maskedObjective.loss(model, e, b);
    assertClose([out.loss.data[0]], golden.read("sft.loss"), { atol: 1e-5, rtol: 1e-5 }, "sft loss");
    e.backward(out.loss);
    checkGrads(model, "sft", "sft");
    const n = inputs.sft.reduce((a, s) => a + s.mask.slice(1).filter(Boolean).length, 0);
    assert.equal(b.targets.filter((t) => t >= 0).length, n, "only assistant targets are scored");
    e.arena.dispose();
    model.dispose();
  });

  for (const kind of ["sigmoid", "ipo"] as const) {
    test(`DPO ${kind} loss, rewards and gradients match PyTorch with a different reference model (${name})`, { skip }, () => {
      const model = loadModel(TINY, be!);
      const ref = loadModel(join(DIR, "reference"), be!, { withGrad: false });
      const pairs = inputs.pairs;
      const P = pairs.length;
      const refLp = completionLogps(ref, pairs, 2, inputs.pad);
      assertClose([...refLp.chosen, ...refLp.rejected], golden.read("dpo.ref_logps"), { atol: 2e-4, rtol: 1e-5 }, "reference log-probs");
      const e = new Engine(be!);
      const want = golden.read("dpo.ref_logps");
      const batch = { ...pairRows(pairs, inputs.pad), refChosen: Float64Array.from(want.subarray(0, P)), refRejected: Float64Array.from(want.subarray(P)) };
      model.params.zeroGrad();
      const out = dpoObjective(inputs.beta, kind).loss(model, e, batch);
      assertClose([out.loss.data[0]], golden.read(`dpo_${kind}.loss`), { atol: 2e-5, rtol: 1e-4 }, `${kind} loss`);
      const m = out.metrics!;
      const lp = golden.read(`dpo_${kind}.policy_logps`);
      let lc = 0, lr = 0;
      for (let i = 0; i < P; i++) (lc += lp[i] / P), (lr += lp[P + i] / P);
      assertClose([m["logps/chosen"], m["logps/rejected"]], [lc, lr], { atol: 2e-4, rtol: 1e-5 }, "logps");
      const r = golden.read(`dpo_${kind}.rewards`);
      assertClose([m["rewards/chosen"], m["rewards/rejected"], m["rewards/accuracies"], m["rewards/margins"]], r, { atol: 2e-4, rtol: 1e-4 }, "rewards");
      e.backward(out.loss);
      checkGrads(model, `dpo_${kind}`, kind);
      e.arena.dispose();
      ref.dispose();
      model.dispose();
    });
  }
}
