// Near-deduplication by MinHash-LSH (datatrove's defaults: 5-word shingles, 14 bands × 8 hashes;
// FineMath's 1 × 10 is `bands: 1, rows: 10`). Pass 1 computes band keys (in worker threads when
// workers > 1) and spills them to disk; between passes the bands are clustered with union-find
// (lsh.ts) and the cluster roots saved; pass 2 keeps each cluster's first document and removes
// the rest, naming the kept one. The same-bucket probability for Jaccard s is 1 − (1 − s^rows)^bands.
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { BandSpill, clusterBands, loadRoots, saveRoots } from "../lsh.js";
import { MinHasher, type MinHashParams } from "../minhash.js";
import type { CurateDoc } from "../records.js";
import type { GlobalStep, Removal } from "./step.js";

export interface MinHashConfig extends MinHashParams {
  workers: number;
}

/** Probability that two documents of Jaccard similarity s share at least one bucket. */
export function lshProbability(s: number, bands: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(s, rows), bands);
}

class HashPool {
  private workers: Worker[] = [];
  private next = 0;
  private seq = 0;
  private waiting = new Map<number, { resolve: (r: { keys: Uint32Array; ok: Uint8Array }) => void; reject: (e: unknown) => void }>();
  constructor(n: number, params: MinHashParams) {
    const url = new URL("../minhash-worker.js", import.meta.url);
    for (let i = 0; i < n; i++) {
      const w = new Worker(url, { workerData: params });
      w.on("message", (m: { id: number; keys: Uint32Array; ok: Uint8Array }) => {
        const done = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        done?.resolve(m);
      });
      w.on("error", (e) => {
        for (const p of this.waiting.values()) p.reject(e);
        this.waiting.clear();
      });
      this.workers.push(w);
    }
  }
  run(texts: string[]): Promise<{ keys: Uint32Array; ok: Uint8Array }> {
    const id = this.seq++;
    const w = this.workers[this.next++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, texts });
    });
  }
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export function minhashStep(name: string, cfg: MinHashConfig): GlobalStep {
  const per = 2 * cfg.bands;
  let spill: BandSpill | undefined;
  let roots: Int32Array | undefined;
  let hasDup: Uint8Array | undefined;
  const markDups = () => {
    hasDup = new Uint8Array(roots!.length);
    for (let i = 0; i < roots!.length; i++) if (roots![i] !== i) hasDup[roots![i]] = 1;
  };
  let pool: HashPool | undefined;
  let hasher: MinHasher | undefined;
  const inflight: Array<Promise<void>> = [];
  let keptIds = new Map<number, string>();
  let clusters = 0;
  let pairs = 0;
  let collected = 0;
  let removed = 0;

  const addKeys = (docs: CurateDoc[], keys: Uint32Array, ok: Uint8Array) => {
    for (let i = 0; i < docs.length; i++) if (ok[i]) spill!.add(docs[i].idx, keys, i * per);
  };
  const stateFile = (dir: string) => path.join(dir, "roots.bin");
  const infoFile = (dir: string) => path.join(dir, "clusters.json");

  return {
    kind: "global",
    name,
    type: "minhash",
    reset() {
      keptIds = new Map();
      removed = 0;
    },
    load(dir) {
      if (!fs.existsSync(stateFile(dir)) || !fs.existsSync(infoFile(dir))) return false;
      roots = loadRoots(stateFile(dir));
      const info = JSON.parse(fs.readFileSync(infoFile(dir), "utf8")) as { clusters: number; pairs: number; collected: number };
      ({ clusters, pairs, collected } = info);
      markDups();
      return true;
    },
    begin(dir) {
      spill = new BandSpill(path.join(dir, "bands"), cfg.bands);
      if (cfg.workers > 1) pool = new HashPool(cfg.workers, cfg);
      else hasher = new MinHasher(cfg);
    },
    async collect(docs) {
      if (pool) {
        const texts = docs.map((d) => d.text);
        const prev = inflight.length ? inflight[inflight.length - 1] : Promise.resolve();
        const job = pool.run(texts);
        inflight.push(Promise.all([prev, job]).then(([, r]) => addKeys(docs, r.keys, r.ok)));
        if (inflight.length > 2 * cfg.workers) await inflight.shift();
        return;
      }
      const keys = new Uint32Array(docs.length * per);
      const ok = new Uint8Array(docs.length);
      hasher!.bandKeysBatch(docs.map((d) => d.text), keys, ok);
      addKeys(docs, keys, ok);
    },
    async resolve(dir, nDocs) {
      while (inflight.length) await inflight.shift();
      await pool?.close();
      pool = undefined;
      spill!.close();
      collected = spill!.count;
      const res = clusterBands(spill!, nDocs);
      roots = res.roots;
      pairs = res.pairs;
      clusters = 0;
      const sizes = new Map<number, number>();
      for (let i = 0; i < nDocs; i++) if (roots[i] !== i) sizes.set(roots[i], (sizes.get(roots[i]) ?? 0) + 1);
      clusters = sizes.size;
      markDups();
      saveRoots(stateFile(dir), roots);
      fs.writeFileSync(infoFile(dir), JSON.stringify({ clusters, pairs, collected }));
      fs.rmSync(path.join(dir, "bands"), { recursive: true, force: true });
    },
    apply(doc): Removal | undefined {
      const r = roots![doc.idx];
      if (r === doc.idx) {
        if (hasDup![doc.idx]) keptIds.set(doc.idx, doc.id);
        return undefined;
      }
      removed++;
      const keptId = keptIds.get(r) ?? `#${r}`;
      return { reason: `near-duplicate of ${keptId} (MinHash-LSH, ${cfg.bands}×${cfg.rows})`, details: { duplicate_of: keptId } };
    },
    summary: () => ({ ngram: cfg.ngram, bands: cfg.bands, rows: cfg.rows, documents_hashed: collected, bucket_pairs: pairs, clusters, removed }),
    async close() {
      await pool?.close();
    },
  };
}
