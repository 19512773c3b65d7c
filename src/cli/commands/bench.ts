// `smol bench`: engine and model speed on this machine (gemm, train, eval, generate).
import { UsageError } from "../../errors.js";
import { squareShapes, timeGemm, trainingShapes, type GemmResult } from "../../bench/gemm.js";
import { benchEval, benchGenerate, benchTrain, type ModelBenchResult } from "../../bench/model.js";
import { findPreset } from "../../models/presets.js";
import { parseModelSpec } from "../../models/shape.js";
import { MOMENT_DTYPES, type MomentDtype } from "../../optim/adamw.js";
import { PRECISIONS, type Precision } from "../../tensor/engine.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, type Command } from "../command.js";
import { fmtNum, table } from "../output.js";

const HELP = `Usage: smol bench <gemm|train|eval|generate> [options]

  smol bench gemm [--threads N] [--sizes 256,512,1024,2048] [--json]
      GFLOP/s of the engine's matmul on square sizes and on the GEMMs of a training step
      (tokens × d_model × {d_model, ffn, vocab}: forward x·Wᵀ, dX = dY·W, dW = dYᵀ·x) for the
      research-7m (4096 tokens) and smollm2-135m (2048 tokens) shapes. --json: one object per shape.

  smol bench train --model PRESET|SHAPE [--seq T] [--batch B] [--steps N] [--threads N] [--json]
      Steady-state training steps (forward, backward, clipping, AdamW) after warm-up: tokens/s,
      step time, achieved GFLOP/s, MFU against --peak (default 228 GFLOP/s, the FP32 FMA peak of
      2 Zen 4 cores; 455 with --precision bf16, their bf16 dot-product peak) and peak RSS.
      SHAPE is inline, e.g. vocab=8192,d=256,layers=6,heads=8,kv=4,ffn=768.
  smol bench eval ...      the same for forward-only evaluation
  smol bench generate ...  KV-cached decoding tokens/s after a --seq-token prompt (--steps new tokens)

Options:
  --seq T (default 256)  --batch B (default 16)  --steps N (default 5; generate: 64)
  --warmup N (default 2)  --peak GFLOPS
  --precision fp32|bf16 (default fp32; train and eval): bf16 rounds the linear layers' matmul
      and attention's product inputs to bfloat16 and accumulates in fp32; softmax statistics,
      weights, gradients and AdamW stay fp32
  --moments fp32|bf16|int8 (train; default fp32): AdamW moment storage (optimizer.moments)
  --activation-checkpointing (train): recompute each layer's activations in backward
  --cpu-time (train and eval, with --threads 1): time steps by process CPU time instead of wall
      time, so a shared machine's other processes do not inflate them

Examples:
  smol bench gemm --threads 1
  smol bench train --model research-7m --seq 256 --batch 16
  smol bench train --model research-7m --seq 256 --batch 16 --precision bf16
  smol bench train --model smollm2-1.7b --seq 512 --batch 1 --steps 2 --warmup 1 --moments int8 --activation-checkpointing`;

export const command: Command = {
  name: "bench",
  summary: "measure matmul, training, evaluation and decoding speed on this machine",
  help: HELP,
  async run(argv) {
    const sub = argv[0];
    const { values } = parseCommandArgs(`bench ${sub ?? ""}`.trim(), argv.slice(1), {
      threads: { type: "string" }, json: { type: "boolean" }, sizes: { type: "string" }, model: { type: "string" },
      seq: { type: "string" }, batch: { type: "string" }, steps: { type: "string" }, warmup: { type: "string" },
      precision: { type: "string" }, peak: { type: "string" }, moments: { type: "string" },
      "activation-checkpointing": { type: "boolean" }, "cpu-time": { type: "boolean" },
    });
    const be = cliBackend();
    const threads = numberOpt("bench", "threads", values.threads, { int: true, min: 1 });
    if (threads !== undefined) be.setThreads(threads);
    if (sub === "gemm") {
      const sizes = values.sizes ? String(values.sizes).split(",").map((s) => numberOpt("bench", "sizes", s, { int: true, min: 1 })!) : undefined;
      const shapes = [...squareShapes(sizes), ...trainingShapes(findPreset("research-7m").config, 4096, "r7m"), ...trainingShapes(findPreset("smollm2-135m").config, 2048, "135m")];
      const rows: GemmResult[] = [];
      for (const s of shapes) {
        const r = timeGemm(be, s);
        rows.push(r);
        if (values.json) console.log(JSON.stringify({ shape: r.label, M: r.M, N: r.N, K: r.K, transA: r.transA, transB: r.transB, threads: r.threads, seconds: r.seconds, gflops: r.gflops, backend: be.name }));
      }
      if (!values.json) console.log(table(["shape", "M", "N", "K", "threads", "ms", "GFLOP/s"], rows.map((r) => [r.label, r.M, r.N, r.K, r.threads, r.seconds * 1e3, r.gflops])));
      return 0;
    }
    if (sub === "train" || sub === "eval" || sub === "generate") {
      if (!values.model) throw new UsageError(`bench ${sub}: missing --model PRESET|SHAPE`, "e.g. --model research-7m or --model vocab=8192,d=256,layers=6,heads=8,kv=4,ffn=768");
      const precision = String(values.precision ?? "fp32") as Precision;
      if (!PRECISIONS.includes(precision)) throw new UsageError(`bench ${sub}: --precision must be one of ${PRECISIONS.join(", ")}, got "${precision}"`);
      if (sub === "generate" && precision !== "fp32") throw new UsageError("bench generate: decoding runs in fp32 only; drop --precision or use bench eval");
      const moments = String(values.moments ?? "fp32") as MomentDtype;
      if (!MOMENT_DTYPES.includes(moments)) throw new UsageError(`bench ${sub}: --moments must be one of ${MOMENT_DTYPES.join(", ")}, got "${moments}"`);
      const checkpointing = values["activation-checkpointing"] === true;
      if (sub !== "train" && (values.moments !== undefined || checkpointing)) throw new UsageError(`bench ${sub}: --moments and --activation-checkpointing apply to bench train only`);
      if (values["cpu-time"] && (sub === "generate" || threads !== 1)) throw new UsageError(`bench ${sub}: --cpu-time needs train or eval with --threads 1`, "process CPU time is a step's time only when one thread runs it");
      const { name, config } = parseModelSpec(String(values.model));
      const o = {
        seq: numberOpt("bench", "seq", values.seq, { int: true, min: 1 }) ?? 256,
        batch: numberOpt("bench", "batch", values.batch, { int: true, min: 1 }) ?? 16,
        steps: numberOpt("bench", "steps", values.steps, { int: true, min: 1 }) ?? (sub === "generate" ? 64 : 5),
        warmup: numberOpt("bench", "warmup", values.warmup, { int: true, min: 0 }) ?? 2,
        peakFlops: (numberOpt("bench", "peak", values.peak, { min: 1 }) ?? (precision === "bf16" ? 455 : 228)) * 1e9,
        precision, moments, checkpointing,
        now: values["cpu-time"] ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; } : undefined,
      };
      const run = sub === "train" ? benchTrain : sub === "eval" ? benchEval : benchGenerate;
      const r: ModelBenchResult = run(be, config, o);
      if (values.json) console.log(JSON.stringify({ model: name, backend: be.name, precision, ...(sub === "train" ? { moments, activationCheckpointing: checkpointing } : {}), ...r }));
      else {
        console.log(table(["model", "mode", "precision", "params", "threads", "seq×batch", "tokens/s", "step ms", "GFLOP/s", "MFU", "peak RSS MiB"], [
          [name, r.mode, precision, r.params, r.threads, `${r.seq}×${r.batch}`, r.tokensPerS, r.stepSeconds * 1e3, r.gflops, `${fmtNum(r.mfu * 100)}%`, r.peakRssMiB],
        ]));
      }
      return 0;
    }
    throw new UsageError(sub ? `bench: unknown benchmark "${sub}"` : "bench: name a benchmark", "one of: gemm, train, eval, generate");
  },
};
