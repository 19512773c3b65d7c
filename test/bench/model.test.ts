// src/bench/model.ts: the step clock is injectable (the CLI's --cpu-time passes process CPU time),
// and the reported step time is the median of the measured steps on that clock. No timing here:
// a fake clock that advances by a fixed amount per reading.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultBackend } from "../../src/backend/index.js";
import { benchEval, benchTrain } from "../../src/bench/model.js";
import { findPreset } from "../../src/models/presets.js";

test("benchTrain and benchEval time steps with the clock they are given", () => {
  const be = defaultBackend().backend;
  const config = findPreset("debug").config;
  for (const run of [benchTrain, benchEval]) {
    let t = 0;
    const now = () => (t += 250); // a measured step reads it twice (250 ms apart), a warm-up step once
    const r = run(be, config, { seq: 8, batch: 2, steps: 3, warmup: 1, peakFlops: 1e9, now });
    assert.equal(t, 250 * (2 * 3 + 1));
    assert.equal(r.stepSeconds, 0.25);
    assert.equal(r.tokensPerS, 16 / 0.25);
  }
});
