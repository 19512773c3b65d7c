// Incremental reading of a run's metrics.jsonl: only the bytes appended since the last read are
// parsed; train records go into numeric columns (step, tokens, loss, lr, …, and nested objects
// flattened as "tokens_by_source/web"), eval records are kept whole. A file that shrank or was
// replaced (a resumed run cuts it back) is read again from the start and reported as a reset.
import * as fs from "node:fs";

export type Rec = { type: string; step: number } & Record<string, unknown>;

/** Numeric fields of a record, nested objects flattened with "/" (one level, as metrics.jsonl has). */
export function flattenNumeric(rec: Record<string, unknown>, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rec)) {
    if (typeof v === "number") out[prefix + k] = v;
    else if (v && typeof v === "object" && !Array.isArray(v) && !prefix) Object.assign(out, flattenNumeric(v as Record<string, unknown>, `${k}/`));
  }
  return out;
}

export interface TailUpdate {
  train: Rec[];
  evals: Rec[];
  /** The file was cut back or replaced: everything was read again from the start. */
  reset: boolean;
}

export class MetricsTail {
  private offset = 0;
  private ino = -1;
  private partial = "";
  /** Train records as columns of equal length (missing values are NaN). */
  columns: Record<string, number[]> = {};
  count = 0;
  evals: Rec[] = [];

  constructor(readonly file: string) {}

  private clear(): void {
    this.offset = 0;
    this.partial = "";
    this.columns = {};
    this.count = 0;
    this.evals = [];
  }

  private addTrain(r: Rec): void {
    const flat = flattenNumeric(r);
    for (const k of Object.keys(flat)) if (!this.columns[k]) this.columns[k] = new Array<number>(this.count).fill(NaN);
    for (const [k, col] of Object.entries(this.columns)) col.push(k in flat ? flat[k] : NaN);
    this.count++;
  }

  /** Read what was appended since the last call. */
  poll(): TailUpdate {
    const upd: TailUpdate = { train: [], evals: [], reset: false };
    let fd: number;
    try {
      fd = fs.openSync(this.file, "r");
    } catch {
      if (this.count || this.evals.length) {
        this.clear();
        upd.reset = true;
      }
      return upd;
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.ino !== this.ino || st.size < this.offset) {
        if (this.ino !== -1) upd.reset = true;
        this.clear();
        this.ino = st.ino;
      }
      const chunk = Buffer.alloc(1 << 20);
      while (this.offset < st.size) {
        const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, st.size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + chunk.toString("utf8", 0, n);
        const lines = text.split("\n");
        this.partial = lines.pop() ?? "";
        for (const line of lines) {
          if (!line) continue;
          let r: Rec;
          try {
            r = JSON.parse(line);
          } catch {
            continue; // a damaged line; the trainer cuts torn lines on resume
          }
          if (!r || typeof r.step !== "number") continue;
          if (r.type === "train") {
            this.addTrain(r);
            upd.train.push(r);
          } else {
            this.evals.push(r);
            upd.evals.push(r);
          }
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return upd;
  }

  /** The train columns thinned to at most `max` points (every k-th point and the last one). */
  snapshot(max = Infinity): { columns: Record<string, number[]>; count: number; stride: number } {
    const stride = this.count > max ? Math.ceil(this.count / max) : 1;
    if (stride === 1) return { columns: this.columns, count: this.count, stride };
    const idx: number[] = [];
    for (let i = 0; i < this.count; i += stride) idx.push(i);
    if (idx[idx.length - 1] !== this.count - 1) idx.push(this.count - 1);
    const columns: Record<string, number[]> = {};
    for (const [k, col] of Object.entries(this.columns)) columns[k] = idx.map((i) => col[i]);
    return { columns, count: this.count, stride };
  }
}
