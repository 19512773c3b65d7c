// GEMM throughput of a backend: square sizes and the matmul shapes of a training step
// (tokens × d_model × {d_model, ffn, vocab}, in the three layouts a linear layer uses).
import type { Backend, FloatBuf } from "../backend/backend.js";
import type { LlamaConfig } from "../models/config.js";

export interface GemmShape {
  label: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

export interface GemmResult extends GemmShape {
  threads: number;
  seconds: number;
  gflops: number;
}

export function squareShapes(sizes = [256, 512, 1024, 2048]): GemmShape[] {
  return sizes.map((n) => ({ label: `square ${n}`, M: n, N: n, K: n, transA: false, transB: false }));
}

/** The three GEMMs of a linear layer out×in over `tokens` rows: forward, dX, dW. */
export function linearShapes(name: string, tokens: number, inF: number, outF: number): GemmShape[] {
  return [
    { label: `${name} fwd  x·Wᵀ`, M: tokens, N: outF, K: inF, transA: false, transB: true },
    { label: `${name} dX   dY·W`, M: tokens, N: inF, K: outF, transA: false, transB: false },
    { label: `${name} dW   dYᵀ·x`, M: outF, N: inF, K: tokens, transA: true, transB: false },
  ];
}

/** Training-step shapes of a model: attention projection, MLP and output head. */
export function trainingShapes(c: LlamaConfig, tokens: number, label: string): GemmShape[] {
  return [
    ...linearShapes(`${label} d→d`, tokens, c.d, c.d),
    ...linearShapes(`${label} d→ffn`, tokens, c.d, c.ffn),
    ...linearShapes(`${label} d→vocab`, tokens, c.d, c.vocab),
  ];
}

/** Time one shape: a warm-up call, then repeat until minSeconds; report the best-of-3 mean. */
export function timeGemm<F extends FloatBuf>(be: Backend<F>, s: GemmShape, minSeconds = 0.3): GemmResult {
  const a = be.alloc(s.M * s.K);
  const b = be.alloc(s.K * s.N);
  const c = be.alloc(s.M * s.N);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  for (let i = 0; i < b.length; i++) b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  const call = () => be.matmul(c, a, b, s.M, s.N, s.K, s.transA, s.transB, false, 1, 0, 0, 0);
  call();
  const flop = 2 * s.M * s.N * s.K;
  const reps = Math.max(1, Math.ceil((minSeconds / 3) / Math.max(1e-6, time(call))));
  let best = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) call();
    best = Math.min(best, (performance.now() - t0) / 1000 / reps);
  }
  be.free(a);
  be.free(b);
  be.free(c);
  return { ...s, threads: be.getThreads(), seconds: best, gflops: flop / best / 1e9 };
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}
