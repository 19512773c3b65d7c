#!/usr/bin/env node
// Data-parallel training speed (issue 19): the same training job as 1 process × 2 threads and as
// `mpirun -np 2` × 1 thread each, alternating, fastest of the repeats kept; tokens/s over the
// steady-state steps, and the time and bytes of the gradient all-reduce per step (from the train
// records' allreduce_s / allreduce_bytes). Writes bench/results/data-parallel.md and .jsonl.
// Usage: node bench/data-parallel.mjs [--steps 10] [--repeats 2] [--quick]
// Needs `npm run build`, mpirun and the MPI addon; the shards are the test fixture's (dist/test).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const quick = process.argv.includes("--quick");
const steps = arg("steps", quick ? 6 : 10);
const repeats = arg("repeats", quick ? 1 : 2);
const main = path.join(root, "dist", "src", "cli", "main.js");
if (!fs.existsSync(main)) {
  console.error("data-parallel: dist/ is missing: run `npm run build` first");
  process.exit(2);
}
const { makeShardDir } = await import(path.join(root, "dist", "test", "train", "fixture.js"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "smol-dp-bench-"));
const data = await makeShardDir(work);
// A small research shape (the machine is 2 shared cores); 4 micro-batches of 4 × 128 tokens per step.
const shape = { d_model: 128, layers: 4, heads: 4, kv_heads: 2, ffn: 384, vocab: 4096 };
const seq = 128;
const tps = 4 * 4 * seq;
const cfgFile = (threads) => {
  const f = path.join(work, `cfg-${threads}.json`);
  fs.writeFileSync(f, JSON.stringify({
    name: "dp-bench", seed: 1, threads, model: { ...shape, max_seq: seq },
    data: { dir: data, max_epochs: 1000, stages: [{ tokens: tps * steps, mixture: { prose: 0.5, math: 0.5 } }] },
    optimizer: { lr: 0.003 }, schedule: { kind: "wsd", warmup: 1 },
    batch: { seq_len: seq, micro_batch: 4, tokens_per_step: tps },
    eval: { every: 0, tokens: 256 }, checkpoint: { every: 0, keep_last: 1 }, log: { every: 1 },
    parallel: { check_every: 0 },
  }));
  return f;
};
// Passive OpenMP waits, and MPI ranks that yield the core while polling: both matter on cores shared with other work.
const mpiEnv = { ...process.env, OMP_WAIT_POLICY: "passive", OMPI_MCA_mpi_yield_when_idle: "1", OMPI_MCA_btl_vader_single_copy_mechanism: "none", OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1" };
const warm = 2;

function measure(kind, n) {
  const dir = path.join(work, `${kind}-${n}`);
  const cmd = kind === "single"
    ? [process.execPath, main, "train", cfgFile(2), "--run-dir", dir]
    : ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "2", process.execPath, main, "train", cfgFile(1), "--run-dir", dir];
  const r = spawnSync(cmd[0], cmd.slice(1), { env: mpiEnv, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${kind}: ${r.stderr}${r.stdout}`);
  const recs = fs.readFileSync(path.join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((x) => x.type === "train");
  const a = recs[warm - 1];
  const b = recs.at(-1);
  const s = b.elapsed_s - a.elapsed_s;
  const n_ = b.step - a.step;
  return {
    kind, tokens_per_s: (n_ * tps) / s, step_s: s / n_,
    allreduce_ms_per_step: b.allreduce_s !== undefined ? ((b.allreduce_s - a.allreduce_s) / n_) * 1000 : 0,
    wait_ms_per_step: b.allreduce_wait_s !== undefined ? ((b.allreduce_wait_s - a.allreduce_wait_s) / n_) * 1000 : 0,
    allreduce_bytes_per_step: b.allreduce_bytes !== undefined ? (b.allreduce_bytes - a.allreduce_bytes) / n_ : 0,
    params_bytes: b.allreduce_bytes !== undefined ? b.allreduce_bytes / b.step : 0,
  };
}

const load0 = os.loadavg()[0];
const best = {};
const rows = [];
for (let i = 0; i < repeats; i++) {
  for (const kind of ["single", "mpi"]) {
    const m = measure(kind, i);
    rows.push(m);
    if (!best[kind] || m.tokens_per_s > best[kind].tokens_per_s) best[kind] = m;
    console.error(`${kind} run ${i + 1}: ${m.tokens_per_s.toFixed(0)} tok/s, wait ${m.wait_ms_per_step.toFixed(1)} ms/step, all-reduce ${m.allreduce_ms_per_step.toFixed(1)} ms/step`);
  }
}
const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) ?? [])[1] ?? "?";
const ratio = best.mpi.tokens_per_s / best.single.tokens_per_s;
const md = [
  `Machine: ${cpu}, ${os.availableParallelism()} CPUs, load average ${load0.toFixed(2)} at start and ${os.loadavg()[0].toFixed(2)} at end. Model d ${shape.d_model}, ${shape.layers} layers, ${shape.heads}/${shape.kv_heads} heads, ffn ${shape.ffn},`,
  `vocab ${shape.vocab} (${(best.mpi.allreduce_bytes_per_step / 4 / 1e6).toFixed(2)} M parameters incl. padding), ${tps} tokens per step (4 micro-batches of 4 × ${seq}), ${steps} steps, first ${warm} not timed; fastest of ${repeats}.`,
  "",
  "| layout | tokens/s | s/step | wait for slowest rank ms/step | all-reduce ms/step | all-reduce bytes/step |",
  "|---|---:|---:|---:|---:|---:|",
  `| 1 rank × 2 threads | ${best.single.tokens_per_s.toFixed(0)} | ${best.single.step_s.toFixed(3)} | — | — | — |`,
  `| 2 ranks × 1 thread (mpirun) | ${best.mpi.tokens_per_s.toFixed(0)} | ${best.mpi.step_s.toFixed(3)} | ${best.mpi.wait_ms_per_step.toFixed(1)} | ${best.mpi.allreduce_ms_per_step.toFixed(1)} | ${(best.mpi.allreduce_bytes_per_step / 1e6).toFixed(2)} MB |`,
  "",
  `2 ranks × 1 thread reach **${(ratio * 100).toFixed(0)}%** of 1 rank × 2 threads.`,
  "",
];
fs.mkdirSync(path.join(root, "bench", "results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench", "results", "data-parallel.md"), md.join("\n"));
fs.writeFileSync(path.join(root, "bench", "results", "data-parallel.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
console.log(md.join("\n"));
fs.rmSync(work, { recursive: true, force: true });
