// `smol bench train` memory options through the real entry point: --moments and
// --activation-checkpointing reach the run and appear in its --json record; they are refused, with
// exit code 2 and one line, for modes without an optimizer step, and unknown formats are named.
// (A contract test: it checks what runs, never how fast.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { smolSync } from "../helpers.js";

test("smol bench train --moments int8 --activation-checkpointing runs and reports both", () => {
  const r = smolSync(["bench", "train", "--model", "debug", "--seq", "8", "--batch", "1", "--steps", "1", "--warmup", "0", "--threads", "1", "--moments", "int8", "--activation-checkpointing", "--json"]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out.trim().split("\n").pop()!);
  assert.equal(j.mode, "train");
  assert.equal(j.moments, "int8");
  assert.equal(j.activationCheckpointing, true);
  assert.ok(j.tokensPerS > 0 && j.peakRssMiB > 0);
});

test("smol bench: --moments is refused outside train, and an unknown format is named", () => {
  const e = smolSync(["bench", "eval", "--model", "debug", "--seq", "8", "--batch", "1", "--moments", "bf16"]);
  assert.equal(e.code, 2);
  assert.match(e.err, /apply to bench train only/);
  assert.doesNotMatch(e.err, /\n\s+at /, "no stack trace");
  const u = smolSync(["bench", "train", "--model", "debug", "--moments", "fp8"]);
  assert.equal(u.code, 2);
  assert.match(u.err, /--moments must be one of fp32, bf16, int8, got "fp8"/);
});
