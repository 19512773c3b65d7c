#!/usr/bin/env node
// MPI_Allreduce alone, through SmolLab's collective (bucketed, in place, float32 sum), for the
// scaling model in BENCHMARKS.md: a barrier before each call so that only the reduction is timed.
// Run under MPI: mpirun -np 2 node bench/allreduce.mjs [MB,...]   (rank 0 prints a table)
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { defaultCollective } = await import(path.join(root, "dist", "src", "backend", "collective.js"));
const comm = defaultCollective({ bucketMB: 16 });
const sizes = (process.argv[2] ?? "1,5.25,21,135,540").split(",").map(Number);
const rows = [];
for (const mb of sizes) {
  const buf = new Float32Array(Math.round((mb * 1e6) / 4)).fill(1);
  const reps = mb > 100 ? 3 : 10;
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    comm.barrier();
    const t0 = performance.now();
    comm.allreduceSum(buf);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  rows.push(`| ${mb} | ${(best * 1000).toFixed(2)} | ${((2 * (comm.size - 1)) / comm.size * mb / 1000 / best).toFixed(2)} |`);
}
if (comm.rank === 0) {
  console.log(`${comm.description}; fastest of the repeats\n\n| MB per rank | ms | bus GB/s (2(N−1)/N · bytes / t) |\n|---:|---:|---:|\n${rows.join("\n")}`);
}
