// Parameter layout: tensors packed into aligned chunks no larger than the cap (a 1.7B model
// needs several, since one V8 buffer cannot exceed 4 GiB), each tensor whole in one chunk.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_CHUNK, planLayout } from "../../src/nn/params.js";
import { parameterShapes } from "../../src/models/config.js";
import { findPreset } from "../../src/models/presets.js";

test("planLayout packs aligned tensors into capped chunks", () => {
  const l = planLayout([10, 20, 30, 5], 48);
  assert.deepEqual(l.chunk, [0, 0, 1, 1]);
  assert.deepEqual(l.offset, [0, 16, 0, 32]);
  assert.deepEqual(l.chunkSizes, [48, 48]);
});

test("SmolLM2-1.7B's parameters fit in chunks under the 4 GiB buffer limit", () => {
  const sizes = parameterShapes(findPreset("smollm2-1.7b").config).map((p) => p.shape.reduce((a, b) => a * b, 1));
  const l = planLayout(sizes);
  assert.ok(l.chunkSizes.length >= 7);
  assert.ok(l.chunkSizes.every((n) => n <= MAX_CHUNK));
  assert.equal(l.chunkSizes.reduce((a, b) => a + b, 0) >= sizes.reduce((a, b) => a + b, 0), true);
});
