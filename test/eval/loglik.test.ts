// Shared-context log-likelihood scoring (prefill once into the KV cache, then every continuation
// from the cache, several items per batch) against its oracle twin: one plain forward of
// context+continuation per choice with the log-softmax in float64 — on each available backend —
// and against scoreSequences, the project's existing scorer.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend, FloatBuf } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { scoreLoglik, scoreLoglikNaive, type LoglikRequest } from "../../src/eval/loglik.js";
import { scoreSequences } from "../../src/eval/score.js";
import { ShapeError } from "../../src/errors.js";
import { Engine } from "../../src/tensor/engine.js";
import { assertClose, rng } from "../helpers.js";
import { tinyModel } from "./fixture.js";

async function backends(): Promise<Array<{ name: string; be?: Backend<FloatBuf>; tol: number; skip?: string }>> {
  // float64 reference: both paths agree to rounding; native float32: within 1e-4 per summed continuation.
  const list: Array<{ name: string; be?: Backend<FloatBuf>; tol: number; skip?: string }> = [{ name: "reference", be: new ReferenceBackend(), tol: 1e-9 }];
  try {
    const { loadNative } = await import("../../src/backend/native.js");
    list.push({ name: "native", be: loadNative(), tol: 1e-4 });
  } catch (e) {
    list.push({ name: "native", tol: 0, skip: `native addon unavailable: ${(e as Error).message}` });
  }
  return list;
}

/** Random requests: some share context lengths (so items batch together), 1–5 choices of 1–7 tokens. */
function randomRequests(n: number, seed: number, V: number): LoglikRequest[] {
  const r = rng(seed);
  const int = (k: number) => Math.floor(r() * k);
  const reqs: LoglikRequest[] = [];
  for (let i = 0; i < n; i++) {
    const L = 1 + int(4) * 3;
    const context = Array.from({ length: L }, () => int(V));
    const continuations = Array.from({ length: 1 + int(5) }, () => Array.from({ length: 1 + int(7) }, () => int(V)));
    reqs.push({ context, continuations });
  }
  return reqs;
}

for (const b of await backends()) {
  test(`shared-context scoring equals separate scoring of context+continuation (${b.name})`, { skip: b.skip }, () => {
    const model = tinyModel(b.be!, 3);
    const reqs = randomRequests(24, 11, model.config.vocab);
    const naive = scoreLoglikNaive(model, reqs);
    for (const batchSize of [1, 4, 64]) {
      const fast = scoreLoglik(model, reqs, { batchSize, greedy: true });
      reqs.forEach((req, i) =>
        req.continuations.forEach((c, j) => {
          const d = Math.abs(fast[i][j].logprob - naive[i][j].logprob);
          assert.ok(d <= b.tol, `batch ${batchSize}, request ${i} choice ${j}: shared ${fast[i][j].logprob} vs separate ${naive[i][j].logprob} (|diff| ${d.toExponential(2)} > ${b.tol})`);
          assert.equal(fast[i][j].tokens, c.length);
          assert.equal(fast[i][j].greedy, naive[i][j].greedy, `request ${i} choice ${j}: greedy flag`);
        }),
      );
    }
    model.dispose();
  });
}

test("scoreLoglik agrees with scoreSequences on the continuation positions", () => {
  const model = tinyModel(new ReferenceBackend(), 5);
  const reqs = randomRequests(6, 2, model.config.vocab);
  const fast = scoreLoglik(model, reqs);
  reqs.forEach((req, i) =>
    req.continuations.forEach((c, j) => {
      const seq = [...req.context, ...c];
      const lp = scoreSequences(model, [seq]).logprobs[0];
      const want = lp.slice(req.context.length - 1).reduce((a, x) => a + x, 0);
      assert.ok(Math.abs(fast[i][j].logprob - want) < 1e-9, `request ${i} choice ${j}: ${fast[i][j].logprob} vs ${want}`);
    }),
  );
  model.dispose();
});

test("greedy flag: a continuation built from the model's own argmax tokens is greedy", () => {
  const model = tinyModel(new ReferenceBackend(), 9);
  const context = [10, 20, 30];
  // Build the greedy continuation token by token with the oracle.
  const greedyCont: number[] = [];
  for (let t = 0; t < 4; t++) {
    let best = -1;
    let bestLp = -Infinity;
    for (let v = 0; v < model.config.vocab; v++) {
      const s = scoreLoglikNaive(model, [{ context: [...context, ...greedyCont], continuations: [[v]] }])[0][0].logprob;
      if (s > bestLp) {
        bestLp = s;
        best = v;
      }
    }
    greedyCont.push(best);
  }
  const other = [...greedyCont.slice(0, 3), (greedyCont[3] + 1) % model.config.vocab];
  const [s] = scoreLoglik(model, [{ context, continuations: [greedyCont, other] }], { greedy: true });
  assert.equal(s[0].greedy, true);
  assert.equal(s[1].greedy, false);
  model.dispose();
});

test("a context longer than the model's window is cut from the left, as lighteval does", () => {
  const model = tinyModel(new ReferenceBackend(), 4, { maxSeq: 16 });
  const context = Array.from({ length: 30 }, (_, i) => (i * 7) % 256);
  const cont = [1, 2, 3];
  const [[s]] = scoreLoglik(model, [{ context, continuations: [cont] }]);
  // The kept context is the last 16 - (3 - 1) = 14 tokens.
  const [[t]] = scoreLoglikNaive(model, [{ context: context.slice(16), continuations: [cont] }]);
  assert.ok(Math.abs(s.logprob - t.logprob) < 1e-9, `${s.logprob} vs ${t.logprob}`);
  assert.throws(() => scoreLoglik(model, [{ context: [1], continuations: [Array.from({ length: 17 }, () => 1)] }]), ShapeError);
  assert.throws(() => scoreLoglik(model, [{ context: [], continuations: [[1]] }]), /context is empty/);
  assert.throws(() => scoreLoglik(model, [{ context: [1], continuations: [[999]] }]), /outside the model's vocabulary/);
  model.dispose();
});

test("model.logits: the head applied to selected hidden rows equals those rows of forward's logits", () => {
  const be = new ReferenceBackend();
  const model = tinyModel(be, 8);
  const ids = Int32Array.from([5, 9, 200, 31, 7, 7, 64, 1]);
  const e = new Engine(be);
  e.noGrad(() => {
    const full = model.forward(e, ids, 2, 4);
    const V = model.config.vocab;
    const want = Array.from(full.data.subarray(0, 8 * V));
    const h = model.hidden(e, ids, 2, 4);
    const rows = Int32Array.from([7, 0, 3]);
    const got = model.logits(e, h, rows);
    rows.forEach((r, i) => assertClose(got.data.subarray(i * V, (i + 1) * V), want.slice(r * V, (r + 1) * V), { atol: 1e-12 }, `row ${r}`));
  });
  e.arena.dispose();
  model.dispose();
});
