// Longer SWA horizons formed after the fact: the mean of several saved window means
// (RUN/swa/window-<end>.safetensors, equal-length windows), written as an HF model directory.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { CheckpointError } from "../errors.js";
import { openSafetensors } from "../io/safetensors.js";
import { readHfConfig } from "../io/hf-config.js";
import { LlamaModel } from "../models/llama.js";
import { listCheckpoints, checkpointDir } from "../io/run-layout.js";

/** End steps of the saved SWA windows of a run, ascending. */
export function listSwaWindows(runDir: string): number[] {
  const dir = path.join(runDir, "swa");
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).map((n) => /^window-(\d+)\.safetensors$/.exec(n)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** Average the windows ending in (from, to] into a model (config from the run's checkpoints). */
export function averageWindows<F extends FloatBuf>(be: Backend<F>, runDir: string, from: number, to: number): { model: LlamaModel<F>; windows: number[] } {
  const windows = listSwaWindows(runDir).filter((s) => s > from && s <= to);
  if (!windows.length) throw new CheckpointError(`${runDir}: no SWA windows end in (${from}, ${to}]`, `saved windows end at: ${listSwaWindows(runDir).join(", ") || "none (set averaging.swa_window in the config)"}`);
  const ck = listCheckpoints(runDir);
  if (!ck.length) throw new CheckpointError(`${runDir}: no checkpoint to read the model config from`);
  const model = new LlamaModel(be, readHfConfig(checkpointDir(runDir, ck[ck.length - 1])), { withGrad: false });
  const p = model.params;
  for (const w of windows) {
    const f = openSafetensors(path.join(runDir, "swa", `window-${w}.safetensors`));
    try {
      for (const [name, t] of p.tensors) {
        const src = f.read(name);
        for (let j = 0; j < src.length; j++) t.data[j] += src[j] / windows.length;
      }
    } finally {
      f.close();
    }
  }
  return { model, windows };
}
