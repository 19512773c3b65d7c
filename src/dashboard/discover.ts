// Finding runs and sweeps under the dashboard's root directories, and each run's status. A run is
// a directory with metrics.jsonl or config.resolved.json; a sweep one with results.json (its runs
// lie below it). Symlinked directories are followed only when they resolve inside the same root.
import * as fs from "node:fs";
import * as path from "node:path";
import { readRunStatus, statusProcessAlive, type RunStatusFile } from "../io/run-status.js";

export type RunStatus = "running" | "finished" | "failed" | "stale";

export interface Entry {
  /** Stable id: "<root index>:<path relative to the root>" ("." for the root itself). */
  id: string;
  kind: "run" | "sweep";
  root: number;
  rel: string;
  dir: string;
  /** The sweep this run belongs to (its id), if any. */
  sweep?: string;
}

export interface RunSummary {
  id: string;
  name: string;
  rel: string;
  root: number;
  sweep?: string;
  status: RunStatus;
  /** Why the status was chosen (e.g. "no update for 12 min"). */
  detail: string;
  step: number;
  steps: number | null;
  loss: number | null;
  tokens: number | null;
  stage: string | null;
  /** metrics.jsonl modification time (ms since the epoch), or null. */
  updated: number | null;
}

export interface SweepSummary {
  id: string;
  name: string;
  rel: string;
  root: number;
  complete: boolean | null;
  runs: number;
}

/** Held by the process training in a run directory (the trainer's lock; see train/). */
export const LOCK_FILE = "train.lock";

const SKIP = new Set(["node_modules", "report", "swa", "eval", "tensorboard"]);
const MAX_DEPTH = 8;

/** Every run and sweep below `roots` (already resolved to real paths), in a stable order. */
export function discover(roots: readonly string[]): Entry[] {
  const out: Entry[] = [];
  roots.forEach((root, ri) => {
    const seen = new Set<string>();
    const walk = (dir: string, depth: number, sweep: string | undefined) => {
      let real: string;
      try {
        real = fs.realpathSync(dir);
      } catch {
        return;
      }
      if (seen.has(real) || !inside(root, real)) return;
      seen.add(real);
      let names: fs.Dirent[];
      try {
        names = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      const has = (n: string) => names.some((d) => d.name === n && (d.isFile() || d.isSymbolicLink()));
      const rel = path.relative(root, dir).split(path.sep).join("/") || ".";
      const id = `${ri}:${rel}`;
      if (has("metrics.jsonl") || has("config.resolved.json")) {
        out.push({ id, kind: "run", root: ri, rel, dir, ...(sweep ? { sweep } : {}) });
        return; // a run's subdirectories are checkpoints, not runs
      }
      let here = sweep;
      if (has("results.json")) {
        out.push({ id, kind: "sweep", root: ri, rel, dir });
        here = id;
      }
      if (depth >= MAX_DEPTH) return;
      for (const d of names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (d.name.startsWith(".") || SKIP.has(d.name) || /^step-\d+$/.test(d.name)) continue;
        if (d.isDirectory() || d.isSymbolicLink()) walk(path.join(dir, d.name), depth + 1, here);
      }
    };
    walk(root, 0, undefined);
  });
  return out;
}

/** Whether `p` is `root` or lies below it (both absolute, real paths). */
export function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The last complete train record of a metrics file, read from its tail (no full read). */
export function lastTrainRecord(file: string): Record<string, unknown> | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    for (let span = 16384; ; span *= 4) {
      const start = Math.max(0, size - span);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      const lines = buf.toString("utf8").split("\n");
      if (start > 0) lines.shift(); // may be cut
      for (let i = lines.length - 1; i >= 0; i--) {
        if (!lines[i].includes('"train"')) continue;
        try {
          const r = JSON.parse(lines[i]);
          if (r && r.type === "train" && typeof r.step === "number") return r;
        } catch {
          /* torn line */
        }
      }
      if (start === 0) return undefined;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface StatusInput {
  step: number;
  steps: number | null;
  updated: number | null;
  now: number;
  staleAfterS: number;
  file?: RunStatusFile;
  alive?: boolean;
}

/** A run's status from what is on disk (pure; see RunStatus). */
export function inferStatus(x: StatusInput): { status: RunStatus; detail: string } {
  const ago = x.updated === null ? null : (x.now - x.updated) / 1000;
  const fmtAgo = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
  if (x.file?.state === "failed") return { status: "failed", detail: x.file.error ? `failed: ${x.file.error}` : "the trainer reported a failure" };
  if (x.file?.state === "finished" || (x.steps !== null && x.step >= x.steps)) return { status: "finished", detail: `${x.step} of ${x.steps ?? x.step} steps` };
  if (x.file?.state === "running" && x.alive === true) return { status: "running", detail: `process ${x.file.pid} is alive` };
  if (x.file?.state === "running" && x.alive === false) return { status: "stale", detail: `process ${x.file.pid} is gone at step ${x.step}` };
  if (ago !== null && ago <= x.staleAfterS) return { status: "running", detail: `updated ${fmtAgo(ago)} ago` };
  return { status: "stale", detail: ago === null ? "no metrics yet" : `no update for ${fmtAgo(ago)} (step ${x.step}${x.steps ? ` of ${x.steps}` : ""})` };
}

/** The trainer's lock file (train.lock: {pid, host, started}) read as a "running" status. */
function lockAsStatus(dir: string): RunStatusFile | undefined {
  try {
    const l = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8"));
    if (typeof l?.pid !== "number") return undefined;
    return { state: "running", pid: l.pid, host: typeof l.host === "string" ? l.host : "", time: String(l.started ?? "") };
  } catch {
    return undefined;
  }
}

const summaryCache = new Map<string, { key: string; resolved: { steps: number | null } ; last: Record<string, unknown> | undefined }>();

/** The run list entry of one run directory. */
export function summarizeRun(e: Entry, opts: { now: number; staleAfterS: number }): RunSummary {
  const metrics = path.join(e.dir, "metrics.jsonl");
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(metrics);
  } catch {
    st = undefined;
  }
  const key = st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "none";
  let c = summaryCache.get(e.dir);
  if (!c || c.key !== key) {
    let steps: number | null = null;
    try {
      const r = JSON.parse(fs.readFileSync(path.join(e.dir, "config.resolved.json"), "utf8"));
      if (typeof r?.config?.steps === "number") steps = r.config.steps;
    } catch {
      /* no or unreadable resolved config: steps unknown */
    }
    c = { key, resolved: { steps }, last: st ? lastTrainRecord(metrics) : undefined };
    summaryCache.set(e.dir, c);
  }
  const last = c.last;
  // RUN/status.json (io/run-log.ts) says how a run ended; while training, the trainer's lock file
  // ({pid, host, started}) says which process holds the run.
  const file = readRunStatus(e.dir) ?? lockAsStatus(e.dir);
  const step = typeof last?.step === "number" ? last.step : 0;
  const s = inferStatus({ step, steps: c.resolved.steps, updated: st ? st.mtimeMs : null, now: opts.now, staleAfterS: opts.staleAfterS, file, alive: file?.state === "running" ? statusProcessAlive(file) : undefined });
  const rootName = e.rel === "." ? path.basename(e.dir) : e.rel;
  return {
    id: e.id, name: rootName, rel: e.rel, root: e.root, ...(e.sweep ? { sweep: e.sweep } : {}),
    status: s.status, detail: s.detail, step, steps: c.resolved.steps,
    loss: typeof last?.loss === "number" ? last.loss : null,
    tokens: typeof last?.tokens === "number" ? last.tokens : null,
    stage: typeof last?.stage === "string" ? last.stage : null,
    updated: st ? st.mtimeMs : null,
  };
}
