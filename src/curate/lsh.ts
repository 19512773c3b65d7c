// LSH bucketing on disk and duplicate clusters: band keys are appended to one file per band
// (records of h1, h2, document index: 12 bytes), so collecting never holds more than a small buffer;
// resolving reads one band at a time, radix-sorts it by key, and unions documents that share a
// bucket (union-find, the smaller index is the root). Memory while resolving: 12 bytes per document
// for one band, plus 4 bytes per document for the union-find.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic.js";

const REC = 3; // u32 values per record
const asBytes = (a: Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Appends band-key records to `dir/band-XX.bin`, buffered. */
export class BandSpill {
  private bufs: Uint32Array[];
  private fill: number[];
  private readonly cap = 1 << 15; // records per band buffer
  count = 0;
  constructor(readonly dir: string, readonly bands: number) {
    fs.mkdirSync(dir, { recursive: true });
    for (let b = 0; b < bands; b++) fs.writeFileSync(this.file(b), "");
    this.bufs = Array.from({ length: bands }, () => new Uint32Array(this.cap * REC));
    this.fill = new Array(bands).fill(0);
  }
  file(b: number): string {
    return path.join(this.dir, `band-${String(b).padStart(2, "0")}.bin`);
  }
  /** Add one document's keys (`keys[off + 2b]`, `keys[off + 2b + 1]` for band b). */
  add(idx: number, keys: Uint32Array, off: number): void {
    this.count++;
    for (let b = 0; b < this.bands; b++) {
      const buf = this.bufs[b];
      let f = this.fill[b];
      buf[f * REC] = keys[off + 2 * b];
      buf[f * REC + 1] = keys[off + 2 * b + 1];
      buf[f * REC + 2] = idx;
      f++;
      if (f === this.cap) {
        fs.appendFileSync(this.file(b), asBytes(buf));
        f = 0;
      }
      this.fill[b] = f;
    }
  }
  close(): void {
    for (let b = 0; b < this.bands; b++) {
      if (this.fill[b] > 0) fs.appendFileSync(this.file(b), asBytes(this.bufs[b].subarray(0, this.fill[b] * REC)));
      this.fill[b] = 0;
    }
  }
}

/** Union-find over document indices; the root of a set is its smallest index. */
export class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const p = this.parent;
    let r = x;
    while (p[r] !== r) r = p[r];
    while (p[x] !== r) {
      const next = p[x];
      p[x] = r;
      x = next;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }
}

/** Sort record positions by the 32-bit key column `col` (LSD radix, two 16-bit passes; stable). */
function radixOrder(recs: Uint32Array, n: number, col: number, order: Uint32Array, tmp: Uint32Array): void {
  const count = new Uint32Array(65537);
  let src = order;
  let dst = tmp;
  for (let shift = 0; shift <= 16; shift += 16) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[((recs[src[i] * REC + col] >>> shift) & 0xffff) + 1]++;
    for (let i = 1; i <= 65536; i++) count[i] += count[i - 1];
    for (let i = 0; i < n; i++) {
      const r = src[i];
      dst[count[(recs[r * REC + col] >>> shift) & 0xffff]++] = r;
    }
    const t = src;
    src = dst;
    dst = t;
  }
}

/** Read one band file and union every pair of documents whose keys are equal. Returns pairs found. */
export function unionBand(file: string, uf: UnionFind): number {
  let bytes = fs.readFileSync(file);
  if (bytes.byteOffset % 4 !== 0) bytes = Buffer.from(bytes);
  const recs = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const n = recs.length / REC;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const tmp = new Uint32Array(n);
  // Sort by h2 then (stably) by h1: equal (h1, h2) keys end up adjacent.
  radixOrder(recs, n, 1, order, tmp);
  radixOrder(recs, n, 0, order, tmp);
  let pairs = 0;
  for (let i = 1; i < n; i++) {
    const a = order[i - 1] * REC;
    const b = order[i] * REC;
    if (recs[a] === recs[b] && recs[a + 1] === recs[b + 1]) {
      uf.union(recs[a + 2], recs[b + 2]);
      pairs++;
    }
  }
  return pairs;
}

/** Cluster every document of a spill: returns, per document index, its cluster's root (itself if alone). */
export function clusterBands(spill: { dir: string; bands: number }, nDocs: number): { roots: Int32Array; pairs: number } {
  const uf = new UnionFind(nDocs);
  let pairs = 0;
  for (let b = 0; b < spill.bands; b++) pairs += unionBand(path.join(spill.dir, `band-${String(b).padStart(2, "0")}.bin`), uf);
  const roots = new Int32Array(nDocs);
  for (let i = 0; i < nDocs; i++) roots[i] = uf.find(i);
  return { roots, pairs };
}

/** Save / load cluster roots (resume). */
export function saveRoots(file: string, roots: Int32Array): void {
  writeFileAtomic(file, new Uint8Array(roots.buffer, roots.byteOffset, roots.byteLength));
}
export function loadRoots(file: string): Int32Array {
  const b = fs.readFileSync(file);
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
