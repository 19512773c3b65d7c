#!/usr/bin/env node
// Per-op profile of a SmolLab training step: wraps the backend in a Proxy that times every method
// call (wall ms per op name, and per matmul shape with its GFLOP/s), runs benchTrain from
// dist/src/bench/model.js with it, and prints where a steady-state step spends its time.
// Benchmark tooling only (no src/ changes); needs `npm run build` first.
//
// Usage: node bench/profile-step.mjs [--model PRESET|SHAPE] [--seq 256] [--batch 16] [--steps 3]
//          [--warmup 1] [--threads N] [--top 15] [--precision fp32|bf16] [--cpu-time] [--json] [--out FILE.md]
// Example: node bench/profile-step.mjs --model research-7m --threads 2 --out bench/results/profile-step.md
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const HELP = `Usage: node bench/profile-step.mjs [options]
  Times every backend call of a SmolLab training step (forward, backward, clipping, AdamW) and
  prints ms per op name and % of the step, plus the matmul shapes with their GFLOP/s.

Options:
  --model PRESET|SHAPE  model (default research-7m), e.g. vocab=8192,d=256,layers=6,heads=8,kv=4,ffn=768
  --seq T (default 256)  --batch B (default 16)  --steps N measured steps (default 3)
  --warmup N (default 1)  --threads N (default: the backend's)  --top N matmul shapes shown (default 15)
  --precision fp32|bf16  linear-layer matmul precision (default fp32)
  --cpu-time  time calls by process CPU time (user + system), not wall time: on a shared machine
           this ignores time the scheduler gives to others; exact for 1 thread, a sum over
           threads (so "ms" = CPU-ms) with more
  --json   print one JSON object instead of tables
  --out F  also write the markdown tables to F (atomically)

Example:
  node bench/profile-step.mjs --model research-7m --threads 2`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

class CliError extends Error {}
/** Something to fix in the checkout (e.g. no build), not in the command line: no usage text. */
class EnvError extends Error {}

function fail(msg) {
  process.stderr.write(`profile-step: error: ${msg}\n`);
  process.exit(2);
}

async function importDist(rel) {
  const file = join(root, "dist", "src", rel);
  if (!existsSync(file)) throw new EnvError(`${file} is missing: run \`npm run build\` (npx tsc -p .) first`);
  return import(pathToFileURL(file).href);
}

function posInt(name, v, dflt, min = 1) {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name}: expected an integer >= ${min}, got "${v}"`);
  return n;
}

/**
 * A Proxy over `be` timing each method call. Calls run with `this` = the real backend, so a
 * method's internal helper calls are not counted twice. Only calls inside the window count.
 */
let clock = () => performance.now();
function profiled(be, hooks) {
  const wrappers = new Map();
  return new Proxy(be, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function" || typeof prop !== "string") return v;
      let w = wrappers.get(prop);
      if (!w) {
        w = (...args) => {
          hooks.before(prop, args);
          const t0 = clock();
          let out;
          try {
            out = v.apply(target, args);
          } finally {
            hooks.after(prop, args, clock() - t0, out);
          }
          return out;
        };
        wrappers.set(prop, w);
      }
      return w;
    },
  });
}

function mdTable(head, rows, rightCols) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map((_, i) => (rightCols.includes(i) ? "---:" : "---"))), ...rows.map(line)].join("\n");
}

async function main() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      model: { type: "string" }, seq: { type: "string" }, batch: { type: "string" }, steps: { type: "string" },
      warmup: { type: "string" }, threads: { type: "string" }, top: { type: "string" }, json: { type: "boolean" },
      out: { type: "string" }, help: { type: "boolean", short: "h" }, precision: { type: "string" },
      "cpu-time": { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const o = {
    seq: posInt("seq", values.seq, 256), batch: posInt("batch", values.batch, 16),
    steps: posInt("steps", values.steps, 3), warmup: posInt("warmup", values.warmup, 1, 0), peakFlops: 228e9,
    precision: values.precision ?? "fp32",
  };
  if (!["fp32", "bf16"].includes(o.precision)) throw new CliError(`--precision: fp32 or bf16, got "${o.precision}"`);
  if (values["cpu-time"]) clock = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
  const top = posInt("top", values.top, 15);
  const { benchTrain, computeFlopsPerToken } = await importDist("bench/model.js");
  const { parseModelSpec } = await importDist("models/shape.js");
  const { parameterCount, parameterShapes } = await importDist("models/config.js");
  const { defaultBackend } = await importDist("backend/index.js");
  const { name, config } = parseModelSpec(values.model ?? "research-7m");
  const choice = defaultBackend();
  if (choice.fallbackReason) process.stderr.write(`profile-step: warning: ${choice.fallbackReason}\n`);
  const be = choice.backend;
  if (values.threads !== undefined) be.setThreads(posInt("threads", values.threads, 1));

  // Step boundaries: each step starts with ParamStore.zeroGrad(), a zero fill over the whole
  // gradient buffer. Parameter-sized buffers are recognised by their length at alloc time.
  const P = parameterCount(config);
  const slack = 16 * (parameterShapes(config).length + 1); // per-tensor alignment padding
  const paramSized = new WeakSet();
  const ops = new Map(); // op -> { ms, calls }
  const mms = new Map(); // matmul shape -> { ms, calls, flop }
  let boundaries = 0;
  let state = "warmup"; // warmup -> measure -> done
  let tStart = 0, tEnd = 0, tAll0 = 0;
  const hooks = {
    before(op, args) {
      if (op === "fill" && args[1] === 0 && paramSized.has(args[0]) && args[2] === args[0].length) {
        boundaries++;
        if (state === "warmup" && boundaries === o.warmup + 1) {
          state = "measure";
          ops.clear();
          mms.clear();
          tStart = clock();
        }
      }
      if (state === "measure" && (op === "getThreads" || op === "nativeBytes")) {
        state = "done"; // benchTrain's finish(): the timed loop is over
        tEnd = clock();
      }
    },
    after(op, args, ms, out) {
      if (op === "alloc" && out && out.length >= P && out.length <= P + slack) paramSized.add(out);
      if (state === "done") return;
      const s = ops.get(op) ?? { ms: 0, calls: 0 };
      s.ms += ms;
      s.calls++;
      ops.set(op, s);
      if (op === "matmul" || op === "matmulBf16") {
        const [, , , M, N, K, tA, tB, acc, batch] = args;
        const key = `${op === "matmulBf16" ? "bf16 " : ""}${tA ? "T" : "N"}${tB ? "T" : "N"}${acc ? "+" : ""} ${M}×${N}×${K}${batch > 1 ? ` ×${batch}` : ""}`;
        const m = mms.get(key) ?? { ms: 0, calls: 0, flop: 0 };
        m.ms += ms;
        m.calls++;
        m.flop += 2 * M * N * K * batch;
        mms.set(key, m);
      }
    },
  };
  tAll0 = clock();
  const res = benchTrain(profiled(be, hooks), config, o);
  if (state !== "done") tEnd = clock();
  const exact = boundaries === o.warmup + o.steps && tStart > 0;
  if (!exact) tStart = tAll0;
  const windowMs = tEnd - tStart;
  const nSteps = exact ? o.steps : o.warmup + o.steps;
  const stepMs = windowMs / nSteps;
  const opMs = [...ops.values()].reduce((a, s) => a + s.ms, 0);
  const rows = [...ops.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([op, s]) => ({
    op, msPerStep: s.ms / nSteps, callsPerStep: s.calls / nSteps, pct: (100 * s.ms) / windowMs,
  }));
  rows.push({ op: "(outside backend calls: JS, autograd, tape)", msPerStep: (windowMs - opMs) / nSteps, callsPerStep: 0, pct: (100 * (windowMs - opMs)) / windowMs });
  const mmRows = [...mms.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top).map(([shape, m]) => ({
    shape, msPerStep: m.ms / nSteps, callsPerStep: m.calls / nSteps, gflops: m.flop / (m.ms / 1e3) / 1e9, pct: (100 * m.ms) / windowMs,
  }));
  const flopPerStep = o.batch * o.seq * computeFlopsPerToken(config, o.seq).train;
  const summary = {
    model: name, backend: be.name, isa: be.isa ?? null, threads: res.threads, seq: o.seq, batch: o.batch, steps: nSteps,
    warmupExcluded: exact, profiledStepMs: stepMs, benchStepMs: res.stepSeconds * 1e3,
    gflopsProfiled: flopPerStep / (stepMs / 1e3) / 1e9, ops: rows, matmuls: mmRows,
  };
  if (values.json) {
    console.log(JSON.stringify(summary));
  } else {
    const f1 = (x) => x.toFixed(1), f2 = (x) => x.toFixed(2);
    const md = [
      `Per-op profile of one SmolLab training step: ${name}, ${o.seq}×${o.batch} tokens, ${res.threads} threads, backend ${be.name}${be.isa ? ` (${be.isa})` : ""}, precision ${o.precision}${values["cpu-time"] ? ", timed by process CPU time" : ""}.`,
      `Mean over ${nSteps} step(s)${exact ? ` after ${o.warmup} warm-up step(s)` : " INCLUDING warm-up (step boundaries not detected)"}: ` +
        `${f1(stepMs)} ms/step with timing (median ${f1(res.stepSeconds * 1e3)} ms in benchTrain), ${f1(summary.gflopsProfiled)} GFLOP/s of model FLOPs.`,
      "",
      mdTable(["op", "ms / step", "calls / step", "% of step"],
        rows.map((r) => [r.op, f1(r.msPerStep), r.callsPerStep ? f1(r.callsPerStep) : "", f1(r.pct)]), [1, 2, 3]),
      "",
      `Top ${mmRows.length} matmul shapes (NT = C = A·Bᵀ, TN = Aᵀ·B, + = accumulate; M×N×K):`,
      "",
      mdTable(["matmul", "ms / step", "calls / step", "GFLOP/s", "% of step"],
        mmRows.map((r) => [r.shape, f1(r.msPerStep), f1(r.callsPerStep), f1(r.gflops), f2(r.pct)]), [1, 2, 3, 4]),
      "",
    ].join("\n");
    process.stdout.write(md);
    if (values.out) {
      const out = resolve(values.out);
      mkdirSync(dirname(out), { recursive: true });
      const { writeFileAtomic } = await importDist("io/atomic.js");
      writeFileAtomic(out, md);
      process.stderr.write(`profile-step: wrote ${out}\n`);
    }
  }
}

main().catch((e) => {
  if (e instanceof CliError || e?.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" || e?.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" || e?.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") fail(`${e.message}\n${HELP}`);
  if (e instanceof EnvError) fail(e.message);
  if (e && typeof e === "object" && "hint" in e) fail(`${e.message}${e.hint ? ` (${e.hint})` : ""}`);
  fail(e?.message ?? String(e));
});
