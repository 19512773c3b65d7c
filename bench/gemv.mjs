#!/usr/bin/env node
// The decode-time skinny product C[M,N] = A[M,K]·W[N,K]ᵀ on decoding shapes, with W in fp32
// (matmul → native/gemv.inc), bf16 (linearBf16) or Q8_0 (linearQ8, native/gemv_packed.inc):
// ms per call, weight GB/s (bytes of W as stored) and GFLOP/s for M = 1..16 rows, fastest of R
// repeats (the machine may be shared: the load average is printed). Needs `npm run build`.
//   node bench/gemv.mjs [--threads 1] [--reps 20] [--shapes 16384x384,49152x576,1536x576]
//                       [--weights fp32,bf16,q8_0]
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as os from "node:os";

const { values } = parseArgs({ options: { threads: { type: "string", default: "1" }, reps: { type: "string", default: "20" }, shapes: { type: "string", default: "16384x384,49152x576,1536x576,576x1536" }, rows: { type: "string", default: "1,2,4,8,16" }, weights: { type: "string", default: "fp32,bf16,q8_0" } } });
process.env.SMOL_THREADS = values.threads;
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { defaultBackend } = await import(`${root}/dist/src/backend/index.js`);
const { packBf16, packQ8, packedBytes } = await import(`${root}/dist/src/models/packed.js`);
const be = defaultBackend().backend;
be.setThreads(Number(values.threads));
const R = Number(values.reps);
console.log(`isa ${be.isa}, ${values.threads} thread(s), ${os.cpus()[0]?.model}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
for (const shape of values.shapes.split(",")) {
  const [N, K] = shape.split("x").map(Number);
  const w = be.alloc(N * K);
  for (let i = 0; i < w.length; i++) w[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const packs = { fp32: null, bf16: packBf16(w, N, K), q8_0: packQ8(w, N, K) };
  for (const kind of values.weights.split(",")) {
    const p = packs[kind];
    const bytes = p ? packedBytes(p) : N * K * 4;
    for (const M of values.rows.split(",").map(Number)) {
      const a = be.alloc(M * K).fill(0.01);
      const c = be.alloc(M * N);
      let best = Infinity;
      for (let r = 0; r < R; r++) {
        const t0 = performance.now();
        if (!p) be.matmul(c, a, w, M, N, K, false, true, false, 1, 0, 0, 0);
        else if (p.kind === "bf16") be.linearBf16(c, a, p.bits, M, N, K);
        else be.linearQ8(c, a, p.codes, p.scales, M, N, K);
        best = Math.min(best, performance.now() - t0);
      }
      const gbs = bytes / (best / 1000) / 1e9;
      const gf = (2 * M * N * K) / (best / 1000) / 1e9;
      console.log(`${kind.padEnd(4)} N=${String(N).padStart(6)} K=${String(K).padStart(5)} M=${String(M).padStart(2)}: ${best.toFixed(3).padStart(8)} ms  ${gbs.toFixed(1).padStart(6)} GB/s weights  ${gf.toFixed(1).padStart(6)} GFLOP/s`);
      be.free(a);
      be.free(c);
    }
  }
  be.free(w);
}
