// RUN/metrics.jsonl: one JSON object per line (train records every log step, eval records).
// Lines are appended and fsynced; on resume the file is cut back to the checkpoint's step (and
// any torn last line dropped), so a resumed run's file matches an uninterrupted one.
import * as fs from "node:fs";
import { writeFileAtomic } from "../io/atomic.js";

export type MetricRecord = { type: string; step: number } & Record<string, unknown>;

export class MetricsLog {
  private fd: number | undefined;

  constructor(readonly file: string) {}

  /** Drop records after `step` and any unparsable (torn) lines. */
  truncateAfter(step: number): void {
    this.close();
    if (!fs.existsSync(this.file)) return;
    const keep = readMetrics(this.file).filter((r) => r.step <= step);
    writeFileAtomic(this.file, keep.map((r) => JSON.stringify(r) + "\n").join(""));
  }

  append(rec: MetricRecord): void {
    if (this.fd === undefined) this.fd = fs.openSync(this.file, "a");
    fs.writeSync(this.fd, JSON.stringify(rec) + "\n");
    fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Every complete record of a metrics file (a torn trailing line is ignored). */
export function readMetrics(file: string): MetricRecord[] {
  if (!fs.existsSync(file)) return [];
  const out: MetricRecord[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line);
      if (r && typeof r.step === "number") out.push(r);
    } catch {
      break;
    }
  }
  return out;
}
