// Native memory stays flat over 1,000 forward/backward/AdamW steps: after the first step the
// activation arena holds one chunk of its high-water size and nothing else is allocated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PRESETS } from "../../src/models/presets.js";
import { LlamaModel } from "../../src/models/llama.js";
import { ADAMW_DEFAULTS, AdamW } from "../../src/optim/adamw.js";
import { Engine } from "../../src/tensor/engine.js";
import { Rng } from "../../src/util/rng.js";

let native: import("../../src/backend/native.js").NativeBackend | undefined;
let why = "";
try {
  native = (await import("../../src/backend/native.js")).loadNative();
} catch (e) {
  why = `native addon unavailable: ${(e as Error).message}`;
}

test("native memory is flat over 1,000 training steps", { skip: native ? false : why }, () => {
  const be = native!;
  const c = { ...PRESETS.find((p) => p.name === "debug")!.config, maxSeq: 16 };
  const model = new LlamaModel(be, c);
  model.initialize(0);
  const opt = new AdamW(be, model.params, ADAMW_DEFAULTS);
  const e = new Engine(be, 1 << 12); // a small first chunk, so the arena must grow and consolidate
  const rng = new Rng(0);
  const B = 2, T = 16;
  const ids = new Int32Array(B * T + 1);
  let afterWarmup = 0;
  for (let step = 0; step < 1000; step++) {
    for (let i = 0; i < ids.length; i++) ids[i] = rng.int(c.vocab);
    model.params.zeroGrad();
    const { loss } = model.loss(e, ids.subarray(0, B * T), ids.subarray(1), B, T);
    e.backward(loss);
    e.reset();
    opt.clip();
    opt.update(1e-3);
    if (step === 2) afterWarmup = be.nativeBytes();
    if (step > 2) assert.equal(be.nativeBytes(), afterWarmup, `native bytes changed at step ${step}`);
  }
  assert.ok(afterWarmup > 0);
  e.arena.dispose();
  opt.dispose();
  model.dispose();
});
