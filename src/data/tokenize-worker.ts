// Worker thread for tokenize.ts: loads a tokenizer once, through a module that exports
// `loadTokenizer(dir)`, then encodes batches of texts and sends back flat ids plus per-text lengths
// (transferred, not copied). Ordering, EOS and shard writing stay in the main thread.
import { parentPort, workerData } from "node:worker_threads";
import type { Tokenizer } from "../tokenizer/types.js";

export interface WorkerInit {
  module: string;
  dir: string;
}
export interface EncodeJob {
  id: number;
  texts: string[];
}
export type WorkerReply =
  | { kind: "ready"; vocabSize: number; eosId: number | undefined }
  | { kind: "done"; id: number; ids: Uint32Array; lengths: Uint32Array }
  | { kind: "error"; id: number; message: string };

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  let tok: Tokenizer;
  try {
    const mod = (await import(init.module)) as { loadTokenizer?: (dir: string) => Promise<Tokenizer> | Tokenizer };
    if (typeof mod.loadTokenizer !== "function") throw new Error(`${init.module} exports no loadTokenizer(dir)`);
    tok = await mod.loadTokenizer(init.dir);
  } catch (e) {
    port.postMessage({ kind: "error", id: -1, message: (e as Error).message } satisfies WorkerReply);
    throw e;
  }
  port.postMessage({ kind: "ready", vocabSize: tok.vocabSize, eosId: tok.eosId } satisfies WorkerReply);
  port.on("message", (job: EncodeJob) => {
    try {
      const parts = job.texts.map((t) => tok.encode(t));
      const lengths = new Uint32Array(parts.length);
      let n = 0;
      parts.forEach((p, i) => {
        lengths[i] = p.length;
        n += p.length;
      });
      const ids = new Uint32Array(n);
      let o = 0;
      for (const p of parts) {
        ids.set(p, o);
        o += p.length;
      }
      port.postMessage({ kind: "done", id: job.id, ids, lengths } satisfies WorkerReply, [ids.buffer, lengths.buffer]);
    } catch (e) {
      port.postMessage({ kind: "error", id: job.id, message: (e as Error).message } satisfies WorkerReply);
    }
  });
}
