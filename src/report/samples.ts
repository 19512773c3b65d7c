// RUN/samples.jsonl: text generated from a run's checkpoints (one JSON object per line: step,
// prompt, completion and the sampling settings), for reports and the dashboard to show beside the
// curves. Written whole and atomically; samples of a step replace earlier ones of the same step.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic.js";

export const SAMPLES_FILE = "samples.jsonl";

export interface Sample {
  step: number;
  prompt: string;
  completion: string;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  seed?: number;
}

/** The samples of a run (none when the file is missing; unreadable lines are skipped). */
export function readSamples(runDir: string): Sample[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, SAMPLES_FILE), "utf8");
  } catch {
    return [];
  }
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const s = JSON.parse(line);
      if (s && typeof s.step === "number" && typeof s.prompt === "string" && typeof s.completion === "string") out.push(s);
    } catch {
      /* skip */
    }
  }
  return out;
}

/** Add samples to RUN/samples.jsonl, replacing those of the same steps. */
export function writeSamples(runDir: string, samples: readonly Sample[]): string {
  const steps = new Set(samples.map((s) => s.step));
  const all = [...readSamples(runDir).filter((s) => !steps.has(s.step)), ...samples].sort((a, b) => a.step - b.step);
  const file = path.join(runDir, SAMPLES_FILE);
  writeFileAtomic(file, all.map((s) => JSON.stringify(s) + "\n").join(""));
  return file;
}
