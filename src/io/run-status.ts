// RUN/status.json: what a training process says about its run (running with its pid and host,
// finished, or failed with the error), written atomically at start, end and failure. Readers
// (the dashboard) trust "running" only while that pid is alive on this host.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeJsonAtomic } from "./atomic.js";

export const RUN_STATUS_FILE = "status.json";

export type RunState = "running" | "finished" | "failed";

export interface RunStatusFile {
  state: RunState;
  pid: number;
  host: string;
  /** ISO time of the write. */
  time: string;
  step?: number;
  error?: string;
}

/** Write RUN/status.json for the current process. */
export function writeRunStatus(runDir: string, state: RunState, extra: { step?: number; error?: string } = {}): void {
  const rec: RunStatusFile = { state, pid: process.pid, host: os.hostname(), time: new Date().toISOString(), ...extra };
  writeJsonAtomic(path.join(runDir, RUN_STATUS_FILE), rec);
}

/** RUN/status.json, or undefined when missing or unreadable. */
export function readRunStatus(runDir: string): RunStatusFile | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(runDir, RUN_STATUS_FILE), "utf8"));
    return r && typeof r.state === "string" ? (r as RunStatusFile) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote a "running" status is still alive (same host only; else unknown). */
export function statusProcessAlive(st: RunStatusFile): boolean | undefined {
  if (st.host && st.host !== os.hostname()) return undefined;
  try {
    process.kill(st.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
