// Shared test utilities: seeded random data and closeness checks that report the max
// difference and where it happened (llm.c check_tensor style). Tolerances are passed at the call.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { NativeBackend } from "../src/backend/native.js";
import { Rng } from "../src/util/rng.js";

/** Deterministic uniform [0, 1) test data from the project's one RNG (src/util/rng.ts). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** n uniform values in [-scale, scale). */
export function randn(n: number, seed: number, scale = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

export interface Tol {
  atol?: number;
  rtol?: number;
  /**
   * A second, tighter bound that all but a `fraction` of the elements must meet (checked by
   * assertClose and the conformance suite): for kernels whose outputs are at arithmetic precision
   * except where a rare rounding decision flips (bf16 attention).
   */
  mostly?: { atol: number; rtol: number; fraction: number };
}

/** The fraction of elements outside atol + rtol·|expected|. */
export function fractionOutside(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): number {
  let n = 0;
  for (let i = 0; i < expected.length; i++) if (!(Math.abs(actual[i] - expected[i]) <= atol + rtol * Math.abs(expected[i]))) n++;
  return expected.length ? n / expected.length : 0;
}

/** Max |a-b| and the first index violating |a-b| <= atol + rtol*|b|. */
export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol) {
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  let maxDiff = 0;
  let worst = -1;
  let bad = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxDiff)) {
      maxDiff = d;
      worst = i;
    }
    if (bad < 0 && !(d <= atol + rtol * Math.abs(expected[i]))) bad = i;
  }
  return { maxDiff, worst, bad };
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol, label = "") {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} != ${expected.length}`);
  const { maxDiff, worst, bad } = compare(actual, expected, tol);
  if (bad >= 0) {
    assert.fail(
      `${label}: mismatch at [${bad}] got ${actual[bad]} want ${expected[bad]}; ` +
        `max |diff| ${maxDiff.toExponential(3)} at [${worst}] (atol ${tol.atol ?? 0}, rtol ${tol.rtol ?? 0})`,
    );
  }
  if (tol.mostly) {
    const f = fractionOutside(actual, expected, tol.mostly.atol, tol.mostly.rtol);
    assert.ok(f <= tol.mostly.fraction, `${label}: ${(100 * f).toFixed(2)}% of elements outside atol ${tol.mostly.atol}, rtol ${tol.mostly.rtol} (at most ${100 * tol.mostly.fraction}% may be)`);
  }
}

/** argv prefix that runs the `smol` CLI from the tree this test runs from (dist/ or src/ via tsx). */
export function smolArgv(): string[] {
  const here = new URL(import.meta.url).pathname;
  const root = here.replace(/\/(dist\/)?test\/helpers\.(ts|js)$/, "");
  return here.endsWith(".ts") ? [process.execPath, "--import", "tsx", `${root}/src/cli/main.ts`] : [process.execPath, `${root}/dist/src/cli/main.js`];
}

/** Run the CLI to completion; returns exit code and output. */
export async function runSmol(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { spawn } = await import("node:child_process");
  const [cmd, ...pre] = smolArgv();
  return new Promise((resolve) => {
    const p = spawn(cmd, [...pre, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Run the CLI synchronously from the package root: exit code, stdout, stderr. */
export function smolSync(args: string[], cwd?: string): { code: number | null; out: string; err: string } {
  const [cmd, ...pre] = smolArgv();
  const r = spawnSync(cmd, [...pre, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * The native backend, or the reason it cannot load (a test's skip message; `note` is appended
 * to it, e.g. why the test does not fall back to the reference backend).
 */
export async function loadNativeOrSkip(note = ""): Promise<{ native?: NativeBackend; skip?: string }> {
  try {
    return { native: (await import("../src/backend/native.js")).loadNative() };
  } catch (e) {
    return { skip: `native addon unavailable${note}: ${(e as Error).message}` };
  }
}
