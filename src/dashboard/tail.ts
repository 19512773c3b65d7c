// Incremental reading of a run's metrics.jsonl: only the bytes appended since the last read are
// parsed; train records go into numeric columns (Float64Array, grown by doubling: step, tokens,
// loss, lr, …, nested objects flattened as "tokens_by_source/web"), eval records are kept whole. A
// file that shrank or was replaced (a resumed run cuts it back) is read again and reported as a
// reset. To save memory the columns may be cut to a thinned sketch (the offset is kept, so tailing
// goes on); they are rebuilt from the file when more points are asked for than the sketch holds.
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

/** A growable column of doubles; missing values are NaN. */
class Column {
  data: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  /** Pad with NaN up to n values. */
  padTo(n: number): void {
    while (this.length < n) this.push(NaN);
  }
}

/** Every k-th index of n (k = ceil(n / max)) and the last one. */
function thinIndex(n: number, max: number): number[] {
  const stride = n > max ? Math.ceil(n / max) : 1;
  const idx: number[] = [];
  for (let i = 0; i < n; i += stride) idx.push(i);
  if (n && idx[idx.length - 1] !== n - 1) idx.push(n - 1);
  return idx;
}

export class MetricsTail {
  private offset = 0;
  private ino = -1;
  private partial = "";
  private cols: Map<string, Column> | null = new Map();
  /** Rows held in the columns: every train record, or (a sketch) a thinned history plus what came after. */
  private rows = 0;
  private sketch = false;
  private sketchKeep = 0;
  /** Train records read so far (also while the columns are dropped). */
  count = 0;
  evals: Rec[] = [];

  constructor(readonly file: string) {}

  private clear(): void {
    this.offset = 0;
    this.partial = "";
    this.cols = new Map();
    this.rows = 0;
    this.sketch = false;
    this.count = 0;
    this.evals = [];
  }

  private addTrain(r: Rec): void {
    this.count++;
    const cols = this.cols;
    if (!cols) return;
    const n = this.rows++;
    const put = (k: string, v: number) => {
      let c = cols.get(k);
      if (!c) cols.set(k, (c = new Column()));
      c.padTo(n);
      c.push(v);
    };
    for (const k in r) {
      const v = r[k];
      if (typeof v === "number") put(k, v);
      else if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        for (const k2 in v as Record<string, unknown>) {
          const v2 = (v as Record<string, unknown>)[k2];
          if (typeof v2 === "number") put(`${k}/${k2}`, v2);
        }
      }
    }
  }

  /** Bytes of column data held (capacity). */
  bytes(): number {
    let b = 0;
    for (const c of this.cols?.values() ?? []) b += c.data.byteLength;
    return b;
  }

  /** Whether the columns are in memory. */
  get loaded(): boolean {
    return this.cols !== null;
  }

  /**
   * Free the columns, keeping a sketch of at most `keep` evenly spaced rows (and the last); later
   * records are still added in full. Requests for up to that many points are served from the
   * sketch; larger ones parse the file again. keep = 0 drops everything.
   */
  dropColumns(keep = 0): void {
    if (!this.cols || keep <= 0 || this.rows === 0) {
      this.cols = null;
      this.rows = 0;
      this.sketch = false;
      return;
    }
    if (this.rows <= keep) return;
    const idx = thinIndex(this.rows, keep);
    const cols = new Map<string, Column>();
    for (const [k, c] of this.cols) {
      c.padTo(this.rows);
      const d = new Column(idx.length);
      for (const i of idx) d.push(c.data[i]);
      cols.set(k, d);
    }
    this.cols = cols;
    this.rows = idx.length;
    this.sketch = true;
    this.sketchKeep = keep;
  }

  private busy: Promise<void> | null = null;

  /**
   * Read what was appended since the last call. With `collect` false the records are not returned
   * (a first read of a long file need not keep 100k objects alive). While a `catchUp` is reading,
   * this returns nothing (the next call picks up what it left).
   */
  poll(collect = true): TailUpdate {
    const upd: TailUpdate = { train: [], evals: [], reset: false };
    if (this.busy) return upd;
    const it = this.read(upd, collect);
    while (!it.next().done);
    return upd;
  }

  /**
   * Read everything appended so far without holding the event loop: the file is parsed in 4 MiB
   * slices with a yield between them (for a first read of a long run). Records are not collected.
   */
  async catchUp(): Promise<void> {
    while (this.busy) await this.busy;
    const upd: TailUpdate = { train: [], evals: [], reset: false };
    this.busy = (async () => {
      const it = this.read(upd, false);
      while (!it.next().done) await new Promise((r) => setImmediate(r));
    })();
    try {
      await this.busy;
    } finally {
      this.busy = null;
    }
  }

  /** The reading loop, one step per slice of the file. */
  private *read(upd: TailUpdate, collect: boolean): Generator<void> {
    let fd: number;
    try {
      fd = fs.openSync(this.file, "r");
    } catch {
      if (this.count || this.evals.length) {
        this.clear();
        upd.reset = true;
      }
      return;
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.ino !== this.ino || st.size < this.offset) {
        if (this.ino !== -1) upd.reset = true;
        this.clear();
        this.ino = st.ino;
      }
      if (this.offset >= st.size) return;
      const chunk = Buffer.alloc(Math.min(1 << 22, st.size - this.offset));
      while (this.offset < st.size) {
        const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, st.size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + chunk.toString("utf8", 0, n);
        let start = 0;
        for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
          const line = text.slice(start, nl);
          start = nl + 1;
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
            if (collect) upd.train.push(r);
          } else {
            this.evals.push(r);
            if (collect) upd.evals.push(r);
          }
        }
        this.partial = text.slice(start);
        if (this.offset < st.size) yield;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Rebuild dropped columns by reading the file again up to where tailing stands. */
  private async reload(): Promise<void> {
    const t = new MetricsTail(this.file);
    await t.catchUp();
    // Only what this tail has already seen; newer lines reach it through its own poll().
    if (this.cols && !this.sketch) return; // rebuilt meanwhile by another request
    this.cols = t.cols;
    this.rows = Math.min(t.rows, this.count);
    this.sketch = false;
    for (const c of this.cols?.values() ?? []) c.length = Math.min(c.length, this.rows);
  }

  /** The train columns (padded to equal length) thinned to at most `max` points (every k-th and the last). */
  async snapshot(max = Infinity): Promise<{ columns: Record<string, number[]>; count: number; stride: number }> {
    await this.catchUp();
    if (!this.cols || (this.sketch && max > this.sketchKeep)) await this.reload();
    const rows = this.rows;
    const idx = thinIndex(rows, max);
    const columns: Record<string, number[]> = {};
    for (const [k, c] of this.cols ?? []) {
      c.padTo(rows);
      columns[k] = idx.map((i) => c.data[i]);
    }
    const count = this.count;
    return { columns, count, stride: idx.length ? Math.max(1, Math.round(count / idx.length)) : 1 };
  }
}
