// Smoke tests of the native addon itself: it loads and names its instruction set, native memory
// is tracked and freed (freed arrays are detached), threads can be set, shapes are checked, and
// a few kernels match hand-computed values. Full numerics are in conformance.test.ts.
// Skipped, with the reason, when the addon is not built (unless SMOL_REQUIRE_NATIVE=1).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { packageRoot } from "../../src/util/paths.js";
import { fileURLToPath } from "node:url";
import { BackendError, ShapeError } from "../../src/errors.js";
import { loadNative, type NativeBackend } from "../../src/backend/native.js";
import { assertClose, runSmol } from "../helpers.js";

let be: NativeBackend | undefined;
let skip: string | false = false;
try {
  be = loadNative();
} catch (e) {
  if (!(e instanceof BackendError) || process.env.SMOL_REQUIRE_NATIVE === "1") throw e;
  skip = `native addon unavailable: ${e.message}`;
}
const nb = (): NativeBackend => be as NativeBackend;

/** A native buffer holding xs. */
function buf(xs: ArrayLike<number>): Float32Array {
  const b = nb().alloc(xs.length);
  b.set(Array.from(xs));
  return b;
}

describe("native addon", { skip }, () => {
  it("loads and reports an instruction set", () => {
    assert.ok(["avx512", "avx2", "generic"].includes(nb().isa), nb().isa);
    if (process.env.SMOL_ISA) assert.equal(nb().isa, process.env.SMOL_ISA);
    assert.ok(nb().availableIsas().includes(nb().isa));
    assert.equal(nb().name, "native");
    assert.equal(nb().bytesPerElement, 4);
  });

  it("the bf16 GEMM and attention are a capability of their own: AVX512-BF16 where present, else emulated", () => {
    const isa = nb().isa;
    assert.ok(["avx512bf16", "emulated"].includes(nb().bf16), nb().bf16);
    if (nb().bf16 === "avx512bf16") assert.equal(isa, "avx512");
    try {
      // The avx512 table never needs AVX512-BF16: with the emulated GEMM it still runs matmulBf16.
      if (nb().availableIsas().includes("avx512")) {
        nb().useIsa("avx512", "emulated");
        assert.equal(nb().isa, "avx512");
        assert.equal(nb().bf16, "emulated");
        const c = nb().alloc(1);
        nb().matmulBf16(c, buf([1.00390625]), buf([3]), 1, 1, 1, false, false, false, 1, 1, 1, 1);
        assert.equal(c[0], 3, "1.00390625 rounds to bf16 1.0 (nearest even)");
        // and the emulated bf16 attention: one query, one key (P = 1), v rounds like the GEMM's inputs
        const o = nb().alloc(1), l = nb().alloc(1);
        nb().attentionForwardBf16(o, l, buf([0.5]), buf([0.25]), buf([1.00390625]), 1, 1, 1, 1, 1, 1, 1);
        assert.equal(o[0], 1, "attentionForwardBf16 rounds v to bf16");
        assert.equal(l[0], Math.fround(0.125), "lse = the single score");
      }
      nb().useIsa("generic", "auto");
      assert.equal(nb().isa, "generic");
      assert.equal(nb().bf16, "emulated");
      assert.throws(() => nb().useIsa("generic", "native"), (e: unknown) => e instanceof BackendError && /needs the avx512 table/.test(e.message));
      assert.throws(() => nb().useIsa("sse9"), (e: unknown) => e instanceof BackendError && /cannot run the 'sse9' kernel table/.test(e.message));
      assert.equal(nb().isa, "generic", "a refused switch leaves the table as it was");
    } finally {
      nb().useIsa(isa, "auto");
    }
    // SMOL_BF16=emulated at load keeps the emulated GEMM; a bad value is one clear load error.
    const addon = fileURLToPath(new URL("../../src/backend/native.js", import.meta.url));
    const probe = (env: Record<string, string>) =>
      spawnSync(process.execPath, ["--input-type=module", "-e", `import { loadNative } from ${JSON.stringify(addon)}; try { console.log(loadNative().bf16); } catch (e) { console.log("ERR " + e.message); }`], { encoding: "utf8", env: { ...process.env, ...env } }).stdout.trim();
    assert.equal(probe({ SMOL_BF16: "emulated" }), "emulated");
    assert.match(probe({ SMOL_BF16: "fast" }), /^ERR native addon failed to load: .*SMOL_BF16 must be native or emulated, got 'fast'/);
  });

  it("a kernel-table setting that cannot be met stops the CLI with one error (no quiet fallback)", async () => {
    const fixture = path.join(packageRoot(), "test", "fixtures", "tiny-llama");
    const ids = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "smol-isa-")), "ids.json");
    fs.writeFileSync(ids, JSON.stringify({ input_ids: [[1, 2, 3]] }));
    const ok = await runSmol(["score", "--model", fixture, "--tokens", ids, "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    for (const [env, re] of [[{ SMOL_BF16: "fast" }, /SMOL_BF16 must be native or emulated/], [{ SMOL_ISA: "sse9" }, /SMOL_ISA must be avx512, avx2 or generic/]] as const) {
      const r = await runSmol(["score", "--model", fixture, "--tokens", ids], { env });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^smol: error: native addon failed to load: /m);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /using the slow reference backend/);
    }
  });

  it("allocates zeroed, 64-byte aligned memory and tracks native bytes", () => {
    const before = nb().nativeBytes();
    const a = nb().alloc(1000);
    assert.equal(a.length, 1000);
    assert.ok(a.every((x) => x === 0));
    assert.equal(nb().nativeBytes(), before + 4000);
    const b = nb().alloc(3);
    assert.equal(nb().nativeBytes(), before + 4012);
    nb().free(a);
    nb().free(b);
    assert.equal(nb().nativeBytes(), before);
  });

  it("detaches freed arrays; double free is a no-op; foreign arrays are refused", () => {
    const a = nb().alloc(16);
    a[3] = 7;
    nb().free(a);
    assert.equal(a.length, 0);
    assert.equal(a.buffer.byteLength, 0);
    assert.equal(a[3], undefined);
    nb().free(a);
    assert.throws(() => nb().free(new Float32Array(4)), /not allocated by alloc/);
    const b = nb().alloc(8);
    assert.throws(() => nb().free(b.subarray(2)), /subarray/);
    nb().free(b);
    const empty = nb().alloc(0);
    assert.equal(empty.length, 0);
    nb().free(empty);
  });

  it("sets and reports the thread count", () => {
    const t0 = nb().getThreads();
    assert.ok(t0 >= 1);
    nb().setThreads(1);
    assert.equal(nb().getThreads(), 1);
    nb().setThreads(3);
    assert.equal(nb().getThreads(), 3);
    assert.throws(() => nb().setThreads(0), BackendError);
    nb().setThreads(t0);
  });

  it("checks shapes before calling C++, naming the op", () => {
    const a = nb().alloc(4);
    assert.throws(() => nb().add(a, a, a, 5), (e: unknown) => e instanceof ShapeError && /^add: out has 4 elements, needs 5/.test(e.message));
    assert.throws(() => nb().matmul(a, a, a, 2, 2, 3, false, false, false, 1, 0, 0, 0), /matmul: A/);
    const ids = new Int32Array([0, 5]);
    assert.throws(() => nb().embeddingForward(a, ids, a, 2, 2, 2), /embeddingForward: ids\[1\] = 5/);
    assert.throws(
      () => nb().attentionForward(a, a, a, a, a, 1, 2, 1, 1, 1, 1, 1),
      /attentionForward: Tk \(1\) must be >= Tq \(2\)/,
    );
    nb().free(a);
  });

  it("elementwise ops, sums and matmul", () => {
    const x = buf([1, 2, 3, 4]);
    const y = buf([10, 20, 30, 40]);
    const out = nb().alloc(4);
    nb().add(out, x, y, 4);
    assert.deepEqual(Array.from(out), [11, 22, 33, 44]);
    nb().axpy(out, x, -2, 4);
    assert.deepEqual(Array.from(out), [9, 18, 27, 36]);
    assert.equal(nb().sum(x, 4), 10);
    assert.equal(nb().sumSquares(x, 4), 30);
    // [[1,2],[3,4]] @ [[10,20],[30,40]]
    nb().matmul(out, x, y, 2, 2, 2, false, false, false, 1, 0, 0, 0);
    assert.deepEqual(Array.from(out), [70, 100, 150, 220]);
    for (const b of [x, y, out]) nb().free(b);
  });

  it("rmsnorm: unit-rms rows come back scaled by w", () => {
    // Row 0 has mean(x^2) = 1 (rstd 1), row 1 has mean(x^2) = 4 (rstd 0.5); eps = 0.
    const x = buf([1, -1, 1, -1, 2, 2, 2, 2]);
    const w = buf([1, 2, 3, 0.5]);
    const out = nb().alloc(8);
    const rstd = nb().alloc(2);
    nb().rmsnormForward(out, rstd, x, w, 2, 4, 0);
    assert.deepEqual(Array.from(rstd), [1, 0.5]);
    assertClose(out, [1, -2, 3, -0.5, 1, 2, 3, 0.5], { atol: 1e-6 }, "rmsnorm out");
    for (const b of [x, w, out, rstd]) nb().free(b);
  });

  it("attention with one key returns v; with zero queries it averages the visible values", () => {
    // T = 1: softmax over a single key is 1, so every query head gets its KV head's value.
    const HS = 4;
    const q = buf([0.3, -1, 2, 0.5, 1, 1, -1, 0]); // NH = 2 heads
    const k = buf([0.5, 0.25, -1, 2]); // NKV = 1
    const v = buf([1, 2, 3, 4]);
    const out = nb().alloc(8);
    const lse = nb().alloc(2);
    nb().attentionForward(out, lse, q, k, v, 1, 1, 1, 2, 1, HS, 0.5);
    assertClose(out, [1, 2, 3, 4, 1, 2, 3, 4], { atol: 1e-6 }, "attention T=1 out");
    assertClose(lse, [0.5 * (0.15 - 0.25 - 2 + 1), 0.5 * (0.5 + 0.25 + 1)], { atol: 1e-6 }, "attention T=1 lse");
    // q = 0: uniform weights over keys 0..t (causal), so out[t] = mean(v[0..t]).
    const T = 3;
    const q0 = nb().alloc(T * HS);
    const k3 = buf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const v3 = buf([3, 0, 0, 6, 0, 3, 0, 0, 0, 0, 3, 0]);
    const o3 = nb().alloc(T * HS);
    const l3 = nb().alloc(T);
    nb().attentionForward(o3, l3, q0, k3, v3, 1, T, T, 1, 1, HS, 1);
    assertClose(o3, [3, 0, 0, 6, 1.5, 1.5, 0, 3, 1, 1, 1, 2], { atol: 1e-6 }, "attention uniform out");
    assertClose(l3, [0, Math.log(2), Math.log(3)], { atol: 1e-6 }, "attention uniform lse");
    for (const b of [q, k, v, out, lse, q0, k3, v3, o3, l3]) nb().free(b);
  });

  it("cross-entropy of uniform logits is log V; backward writes in place; ignored rows are zero", () => {
    const V = 7;
    const logits = nb().alloc(2 * V); // all zero
    const targets = new Int32Array([3, -1]);
    const losses = nb().alloc(2);
    const lse = nb().alloc(2);
    nb().crossEntropyForward(losses, lse, logits, targets, 2, V);
    assertClose(losses, [Math.log(V), 0], { atol: 1e-6 }, "ce losses");
    assertClose(lse, [Math.log(V), Math.log(V)], { atol: 1e-6 }, "ce lse");
    const dl = buf([2, 5]);
    nb().crossEntropyBackward(logits, logits, lse, targets, dl, 2, V); // aliased
    const want = Array.from({ length: 2 * V }, (_, i) => (i < V ? 2 * (1 / V - (i === 3 ? 1 : 0)) : 0));
    assertClose(logits, want, { atol: 1e-6 }, "ce dlogits");
    for (const b of [logits, losses, lse, dl]) nb().free(b);
  });

  it("embedding backward accumulates repeated ids", () => {
    const table = buf([1, 2, 3, 4, 5, 6]); // V = 3, C = 2
    const ids = new Int32Array([2, 0, 2]);
    const out = nb().alloc(6);
    nb().embeddingForward(out, ids, table, 3, 2, 3);
    assert.deepEqual(Array.from(out), [5, 6, 1, 2, 5, 6]);
    const dtable = buf([1, 1, 1, 1, 1, 1]);
    nb().embeddingBackward(dtable, buf([1, 2, 3, 4, 5, 6]), ids, 3, 2, 3);
    assert.deepEqual(Array.from(dtable), [4, 5, 1, 1, 7, 9]);
  });

  it("swiglu and adamw at hand-computed points", () => {
    const gate = buf([0, 2]);
    const up = buf([5, 3]);
    const out = nb().alloc(2);
    nb().swigluForward(out, gate, up, 2);
    assertClose(out, [0, (2 / (1 + Math.exp(-2))) * 3], { rtol: 1e-6 }, "swiglu");
    // Step 1: m̂ = g, v̂ = g², so p ← p (1 - lr wd) - lr g / (|g| + eps).
    const p = buf([1, -1]);
    const g = buf([0.5, -2]);
    const m = nb().alloc(2);
    const v = nb().alloc(2);
    nb().adamw(p, g, m, v, 2, 0.1, 0.9, 0.95, 1e-8, 0.5, 1);
    assertClose(p, [1 * 0.95 - 0.1, -1 * 0.95 + 0.1], { atol: 1e-6 }, "adamw param");
    assertClose(m, [0.05, -0.2], { atol: 1e-7 }, "adamw m");
    assertClose(v, [0.0125, 0.2], { atol: 1e-7 }, "adamw v");
  });
});
