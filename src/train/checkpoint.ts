// Checkpoints of a run: RUN/step-<n>/ is a loadable Hugging Face model directory plus
// optimizer.safetensors (AdamW moments), averaging state, and trainer_state.json (step, tokens,
// RNG, data cursor). Each is written to a temp directory and renamed into place, so a run killed
// at any moment leaves only complete checkpoints; a manifest (SHA-256 of every file) lets a resume
// detect a damaged one. Retention keeps the last K and every M-th.
import * as fs from "node:fs";
import * as path from "node:path";
import type { FloatBuf } from "../backend/backend.js";
import { CheckpointError } from "../errors.js";
import { writeDirAtomic, writeJsonAtomic } from "../io/atomic.js";
import { openSafetensors, writeSafetensors } from "../io/safetensors.js";
import { AVERAGES_FILE, OPTIMIZER_FILE, STATE_FILE, checkpointDir, listCheckpoints } from "../io/run-layout.js";
import { writeModelFiles, type SaveOptions } from "../models/hf.js";
import type { LlamaModel } from "../models/llama.js";
import { writeManifest } from "./rundir.js";


export interface TrainerState {
  format: "smollab-trainer-state";
  version: 1;
  step: number;
  tokens: number;
  /** Hash of the resolved config (everything that changes the numbers). */
  config_hash: string;
  optimizer_step: number;
  data_cursor: unknown;
  rng: unknown;
  averaging: unknown;
  stage: number;
  elapsed_s: number;
  tokens_by_source: Record<string, number>;
  tokens_by_stage?: Record<string, number>;
  /** Steps whose update was skipped for a non-finite loss (on_nonfinite: skip). */
  skipped_steps?: number;
  /** Data-parallel ranks that wrote it (absent: 1); a resume must use the same count. */
  ranks?: number;
}

/**
 * Named buffers saved next to the model (AdamW moments, SWA sums, EMA weights), each in its own
 * storage dtype: float buffers as F32, bf16 bit patterns (Uint16Array) as BF16, 8-bit codes as
 * I8/U8, so a resume restores exactly the bits that were saved.
 */
export type ExtraBuffers = Record<string, Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array>;

function dtypeOf(b: ExtraBuffers[string]): "F32" | "BF16" | "I8" | "U8" {
  return b instanceof Uint16Array ? "BF16" : b instanceof Int8Array ? "I8" : b instanceof Uint8Array ? "U8" : "F32";
}

/** Write a checkpoint atomically. */
export function saveCheckpoint<F extends FloatBuf>(
  runDir: string, model: LlamaModel<F>, state: TrainerState, optimizer: ExtraBuffers, averages: ExtraBuffers, save: SaveOptions = {},
): string {
  const final = checkpointDir(runDir, state.step);
  const toTensors = (bufs: ExtraBuffers) => Object.entries(bufs).map(([name, data]) => ({ name, dtype: dtypeOf(data), shape: [data.length], data }));
  writeDirAtomic(final, (tmp) => {
    writeModelFiles(model, tmp, save);
    writeSafetensors(path.join(tmp, OPTIMIZER_FILE), toTensors(optimizer));
    if (Object.keys(averages).length) writeSafetensors(path.join(tmp, AVERAGES_FILE), toTensors(averages));
    writeJsonAtomic(path.join(tmp, STATE_FILE), state);
    writeManifest(tmp);
  });
  return final;
}

/** Read a checkpoint's trainer state, validating it. */
export function readTrainerState(dir: string): TrainerState {
  const file = path.join(dir, STATE_FILE);
  let s: TrainerState;
  try {
    s = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new CheckpointError(`${file}: unreadable trainer state (${(e as Error).message})`, "the checkpoint is incomplete or corrupt; delete it to resume from the previous one");
  }
  if (s?.format !== "smollab-trainer-state" || !Number.isInteger(s.step)) throw new CheckpointError(`${file}: not a SmolLab trainer state`);
  return s;
}

/** Load named buffers from a checkpoint file into preallocated destinations (sizes checked). */
export function loadBuffers(file: string, into: ExtraBuffers): void {
  const f = openSafetensors(file);
  try {
    for (const [name, dst] of Object.entries(into)) {
      const info = f.tensors.get(name);
      if (!info) throw new CheckpointError(`${file}: missing tensor "${name}"`, "the checkpoint was written by a different run configuration");
      const want = dtypeOf(dst);
      if (info.dtype !== want) {
        throw new CheckpointError(`${file}: tensor "${name}" is stored as ${info.dtype}, this run keeps it as ${want}`, "resume with the optimizer.moments setting the checkpoint was written with");
      }
      if (want === "F32") {
        const src = f.read(name);
        if (src.length !== dst.length) throw new CheckpointError(`${file}: tensor "${name}" has ${src.length} values, expected ${dst.length}`);
        dst.set(src);
      } else {
        const raw = f.readRaw(name);
        if (raw.byteLength !== dst.byteLength) throw new CheckpointError(`${file}: tensor "${name}" has ${raw.byteLength} bytes, expected ${dst.byteLength}`);
        new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(raw);
      }
    }
  } finally {
    f.close();
  }
}

/** Delete checkpoints beyond the retention policy; `protect` steps are always kept. */
export function applyRetention(runDir: string, keepLast: number, keepEvery: number, protect: readonly number[] = []): number[] {
  const steps = listCheckpoints(runDir);
  const keep = new Set(steps.slice(-keepLast));
  for (const s of steps) if ((keepEvery > 0 && s % keepEvery === 0) || protect.includes(s)) keep.add(s);
  const removed = steps.filter((s) => !keep.has(s));
  for (const s of removed) fs.rmSync(checkpointDir(runDir, s), { recursive: true, force: true });
  return removed;
}
