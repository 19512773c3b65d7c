#!/usr/bin/env node
// Speed of the native causal attention kernels (forward, backward) on training shapes, at 1 and 2
// threads: best of N calls, GFLOP/s of causal FLOPs and % of the FP32 FMA peak (bench/compare.mjs
// measures it; pass --peak G per thread, default 116, 2 Zen 4 cores' measured figure).
// FLOPs count the visible (query, key) pairs only (causal: T(T+1)/2 per head and sequence):
// forward 4·HS per pair (Q Kᵀ and P V), backward 10·HS per pair (the FlashAttention-2 convention:
// recompute S, dP, dV, dK, dQ); SmolLab's two-pass backward executes the same 10·HS when it keeps
// pass A's dS tiles for pass B (causal self-attention whose tiles fit in 64 MiB: every shape here),
// else 14·HS (S and dP computed twice).
// The bf16 kernels (attentionForwardBf16 / attentionBackwardBf16: bf16 training; vdpbf16ps on
// CPUs with AVX512-BF16, else emulated) are timed the same way against the bf16 dot-product peak
// (--peak-bf16 G per thread, default 235: 2 Zen 4 cores' measured vdpbf16ps loop, BENCHMARKS.md);
// --precision fp32|bf16|both picks which (default both).
// With --cpu-time, 1-thread calls are timed by process CPU time (robust on a shared machine).
// Usage: node bench/attention.mjs [--threads 1,2] [--reps 5] [--cpu-time] [--peak 116] [--peak-bf16 235]
//        [--precision both]
import { dirname, join, resolve } from "node:path";
import { loadavg } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { threads: { type: "string" }, reps: { type: "string" }, "cpu-time": { type: "boolean" }, peak: { type: "string" }, "peak-bf16": { type: "string" }, precision: { type: "string" } } });
const { defaultBackend } = await import(pathToFileURL(join(root, "dist", "src", "backend", "index.js")).href);
const choice = defaultBackend();
if (choice.fallbackReason) throw new Error(choice.fallbackReason);
const be = choice.backend;
const threads = (values.threads ?? "1,2").split(",").map(Number);
const reps = Number(values.reps ?? 5), peak = Number(values.peak ?? 116), peakBf16 = Number(values["peak-bf16"] ?? 235);
const precisions = values.precision === undefined || values.precision === "both" ? ["fp32", "bf16"] : [values.precision];
if (precisions.some((p) => p !== "fp32" && p !== "bf16")) throw new Error(`--precision must be fp32, bf16 or both, got ${values.precision}`);
const SHAPES = [
  { name: "research-19m (B 8, T 512, 6/2 heads, HS 64)", B: 8, T: 512, NH: 6, NKV: 2, HS: 64 },
  { name: "SmolLM2-135M (B 4, T 512, 9/3 heads, HS 64)", B: 4, T: 512, NH: 9, NKV: 3, HS: 64 },
];
const now = () => {
  if (!values["cpu-time"]) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; isa ${be.isa}; bf16 kernels ${be.bf16}; peak ${peak} GFLOP/s per thread (FP32 FMA), ${peakBf16} (bf16 dot products)`);
for (const s of SHAPES) {
  const { B, T, NH, NKV, HS } = s;
  const rnd = (n) => { const a = be.alloc(n); for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.7) * 0.5; return a; };
  const q = rnd(B * T * NH * HS), k = rnd(B * T * NKV * HS), v = rnd(B * T * NKV * HS), dout = rnd(B * T * NH * HS);
  const out = be.alloc(B * T * NH * HS), lse = be.alloc(B * NH * T);
  const dq = be.alloc(q.length), dk = be.alloc(k.length), dv = be.alloc(v.length);
  const pairs = B * NH * (T * (T + 1)) / 2;
  for (const t of threads) {
    be.setThreads(t);
    const time = (f) => { f(); let best = Infinity; for (let r = 0; r < reps; r++) { const t0 = t === 1 ? now() : performance.now(); f(); best = Math.min(best, (t === 1 ? now() : performance.now()) - t0); } return best; };
    const scale = 1 / Math.sqrt(HS);
    for (const p of precisions) {
      const fwd = p === "bf16" ? be.attentionForwardBf16.bind(be) : be.attentionForward.bind(be);
      const bwd = p === "bf16" ? be.attentionBackwardBf16.bind(be) : be.attentionBackward.bind(be);
      const pk = p === "bf16" ? peakBf16 : peak, what = p === "bf16" ? "bf16" : "FP32";
      const fw = time(() => fwd(out, lse, q, k, v, B, T, T, NH, NKV, HS, scale));
      const bw = time(() => bwd(dq, dk, dv, dout, q, k, v, out, lse, B, T, T, NH, NKV, HS, scale));
      const gf = (4 * HS * pairs) / fw / 1e6, gb = (10 * HS * pairs) / bw / 1e6;
      console.log(`${s.name}, ${p}, ${t} thread(s): forward ${fw.toFixed(1)} ms = ${gf.toFixed(1)} GFLOP/s (${((100 * gf) / (pk * t)).toFixed(0)}% of ${what} peak); backward ${bw.toFixed(1)} ms = ${gb.toFixed(1)} GFLOP/s (${((100 * gb) / (pk * t)).toFixed(0)}%)`);
    }
  }
}
