// Worker thread for MinHash: receives batches of texts, returns their LSH band keys (bands × 2
// u32 per document) and which documents had words. Started by steps/minhash.ts.
import { parentPort, workerData } from "node:worker_threads";
import { MinHasher, type MinHashParams } from "./minhash.js";

const hasher = new MinHasher(workerData as MinHashParams);
const per = 2 * hasher.p.bands;

parentPort!.on("message", (msg: { id: number; texts: string[] }) => {
  const keys = new Uint32Array(msg.texts.length * per);
  const ok = new Uint8Array(msg.texts.length);
  hasher.bandKeysBatch(msg.texts, keys, ok);
  parentPort!.postMessage({ id: msg.id, keys, ok }, [keys.buffer, ok.buffer]);
});
