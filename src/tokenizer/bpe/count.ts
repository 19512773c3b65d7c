// Counting GPT-2 pre-tokens over text files for BPE training: files are streamed in blocks,
// checked (empty, NUL bytes, invalid UTF-8 → DataError naming the file and byte offset), cut at
// safe points (pretokenize.ts) and counted on worker threads, or inline when threads <= 1.
import { open, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { DataError } from "../../errors.js";
import { countPretokens, findSafeCut, gpt2Regex, specialsRegex, splitOnSpecials } from "./pretokenize.js";

export interface CountProgress {
  bytesDone: number;
  bytesTotal: number;
  seconds: number;
}

export interface CountOptions {
  specials: readonly string[];
  /** Counting threads (default: available cores); <= 1 counts on the calling thread. */
  threads?: number;
  onProgress?: (p: CountProgress) => void;
  /** Bytes read per block (default 1 MiB); also the size of the chunks handed to workers. */
  blockBytes?: number;
}

/** Messages a count worker sends (count-worker.ts). */
type WorkerMsg = { type: "done"; chars: number } | { type: "counts"; keys: string[]; values: Float64Array };

/** Pre-token → count over all `files`; special tokens are cut out and never counted. */
export async function countPretokensInFiles(files: readonly string[], opts: CountOptions): Promise<Map<string, number>> {
  if (files.length === 0) throw new DataError("no input files given", "pass one or more UTF-8 text files");
  const sizes: number[] = [];
  for (const f of files) {
    const size = await fileSize(f);
    if (size === 0) throw new DataError(`${f} is empty`, "remove it from the inputs or give it some text");
    sizes.push(size);
  }
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  const sink: Sink = threads <= 1 ? new InlineSink(opts.specials) : new WorkerSink(threads, opts.specials);
  const t0 = performance.now();
  const block = opts.blockBytes ?? 1 << 20;
  let bytesDone = 0;
  try {
    for (let i = 0; i < files.length; i++) {
      await streamFile(files[i], block, opts.specials, sink, (n) => {
        bytesDone += n;
        opts.onProgress?.({ bytesDone, bytesTotal, seconds: (performance.now() - t0) / 1000 });
      });
    }
    return await sink.finish();
  } finally {
    await sink.close();
  }
}

async function fileSize(f: string): Promise<number> {
  try {
    const s = await stat(f);
    if (!s.isFile()) throw new DataError(`${f} is not a file`, "pass text files, not directories");
    return s.size;
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(`cannot read ${f}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
}

/** Read one file in blocks, validate it, and hand safe-cut chunks to the sink. */
async function streamFile(file: string, block: number, specials: readonly string[], sink: Sink, onBytes: (n: number) => void) {
  const fh = await open(file, "r");
  try {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    let carry = "";
    let pos = 0;
    let searched = 0;
    const maxSpecial = specials.reduce((m, t) => Math.max(m, t.length), 0);
    for (;;) {
      const buf = new Uint8Array(block);
      const { bytesRead } = await fh.read(buf, 0, block, null);
      if (bytesRead === 0) break;
      const view = buf.subarray(0, bytesRead);
      const nul = view.indexOf(0);
      if (nul >= 0) {
        throw new DataError(`${file}: NUL byte at byte offset ${pos + nul}: this looks like a binary file, not UTF-8 text`, "pass plain UTF-8 text files only");
      }
      try {
        carry += decoder.decode(view, { stream: true });
      } catch (e) {
        throw utf8Error(file, pos, view, e);
      }
      pos += bytesRead;
      if (carry.length >= block) {
        // Positions before `searched` were already found unsafe (and stay so, bar a special token
        // that could now end past them), so a text without any cut is not rescanned block by block.
        const cut = findSafeCut(carry, carry.length - 1, Math.max(0, searched - 2 - maxSpecial), specials);
        if (cut > 0) {
          await sink.push(carry.slice(0, cut));
          carry = carry.slice(cut);
          searched = 0;
        } else searched = carry.length;
      }
      onBytes(bytesRead);
    }
    try {
      carry += decoder.decode();
    } catch (e) {
      throw new DataError(`${file}: not valid UTF-8: the file ends inside a multi-byte character`, undefined, { cause: e });
    }
    if (carry.length) await sink.push(carry);
  } finally {
    await fh.close();
  }
}

function utf8Error(file: string, blockStart: number, view: Uint8Array, cause: unknown): DataError {
  let start = 0;
  while (start < 3 && start < view.length && (view[start] & 0xc0) === 0x80) start++;
  const i = firstInvalidUtf8(view, start);
  const where = i >= 0 ? `at byte offset ${blockStart + i}` : `near byte offset ${blockStart}`;
  return new DataError(`${file}: not valid UTF-8 (${where})`, "convert the file to UTF-8 text (e.g. with iconv)", { cause });
}

/** Index of the first byte that starts an invalid UTF-8 sequence; -1 if none (a cut-off last sequence counts as valid). */
export function firstInvalidUtf8(b: Uint8Array, from = 0): number {
  let i = from;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      if (i + k >= b.length) return -1;
      const d = b[i + k];
      if (k === 1 ? d < lo || d > hi : (d & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return -1;
}

interface Sink {
  push(text: string): Promise<void>;
  finish(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

class InlineSink implements Sink {
  private readonly counts = new Map<string, number>();
  private readonly sre: RegExp | undefined;
  private readonly re = gpt2Regex();
  constructor(specials: readonly string[]) {
    this.sre = specialsRegex(specials);
  }
  async push(text: string): Promise<void> {
    splitOnSpecials(text, this.sre, (piece) => countPretokens(piece, this.counts, this.re));
  }
  async finish(): Promise<Map<string, number>> {
    return this.counts;
  }
  async close(): Promise<void> {}
}

/** At most this many chunks queued on one worker: enough to keep it busy, bounded memory. */
const MAX_INFLIGHT = 2;

class WorkerSink implements Sink {
  private readonly workers: Worker[] = [];
  private readonly inflight: number[] = [];
  private readonly results: Array<Map<string, number> | undefined> = [];
  private waiters: Array<() => void> = [];
  private failure: Error | undefined;

  constructor(n: number, specials: readonly string[]) {
    for (let i = 0; i < n; i++) {
      const w = spawnCountWorker([...specials]);
      this.workers.push(w);
      this.inflight.push(0);
      this.results.push(undefined);
      w.on("message", (m: WorkerMsg) => {
        if (m.type === "done") this.inflight[i]--;
        else {
          const map = new Map<string, number>();
          for (let k = 0; k < m.keys.length; k++) map.set(m.keys[k], m.values[k]);
          this.results[i] = map;
        }
        this.wake();
      });
      w.on("error", (e) => this.fail(e));
      w.on("exit", (code) => {
        if (this.results[i] === undefined) this.fail(new Error(`pre-token counting worker exited early (code ${code})`));
      });
    }
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const f of ws) f();
  }
  private fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }
  private async until(cond: () => boolean): Promise<void> {
    while (!cond()) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  async push(text: string): Promise<void> {
    await this.until(() => this.inflight.some((c) => c < MAX_INFLIGHT));
    let best = 0;
    for (let i = 1; i < this.inflight.length; i++) if (this.inflight[i] < this.inflight[best]) best = i;
    this.inflight[best]++;
    this.workers[best].postMessage({ type: "chunk", text });
  }

  async finish(): Promise<Map<string, number>> {
    await this.until(() => this.inflight.every((c) => c === 0));
    for (const w of this.workers) w.postMessage({ type: "finish" });
    await this.until(() => this.results.every((r) => r !== undefined));
    const maps = this.results as Array<Map<string, number>>;
    maps.sort((a, b) => b.size - a.size);
    const total = maps[0];
    for (const m of maps.slice(1)) for (const [k, v] of m) total.set(k, (total.get(k) ?? 0) + v);
    return total;
  }

  async close(): Promise<void> {
    this.failure ??= new Error("closed");
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function spawnCountWorker(specials: string[]): Worker {
  const self = import.meta.url;
  if (self.endsWith(".ts")) {
    // Running from the TypeScript sources (tsx, tests): register tsx's loader in the worker first.
    const target = new URL("./count-worker.ts", self).href;
    const api = import.meta.resolve("tsx/esm/api");
    const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
    return new Worker(code, { eval: true, workerData: { specials } });
  }
  return new Worker(new URL("./count-worker.js", self), { workerData: { specials } });
}
