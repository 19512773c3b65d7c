#!/usr/bin/env node
// SmolLab's curation speed beside plain Python/numpy implementations of the same algorithms
// (bench/curate/reference.py), same machine, same run, interleaved: MinHash signatures + band keys
// (native kernel and the TypeScript fallback), the whole MinHash dedup, the heuristic filters and
// hashed-classifier scoring. CPU seconds (process.cpuUsage / time.process_time) are the per-core
// measure — the machine is shared — and wall seconds are printed beside them. Also cross-checks
// SmolLab's band keys against the Python implementation with the exact word hash (--fnv).
// Writes bench/results/curate.md. Usage: node bench/curate/run.mjs [--repeats 3] [--python python3]
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const dist = (p) => pathToFileURL(path.join(root, "dist/src", p)).href;
if (!fs.existsSync(path.join(root, "dist/src/curate/minhash.js"))) {
  console.error("run `npm run build` first");
  process.exit(1);
}
const { values } = parseArgs({ options: { repeats: { type: "string", default: "3" }, python: { type: "string", default: "python3" } } });
const repeats = Number(values.repeats);
const { MinHasher, hashFamily, nativeMinhashKernel } = await import(dist("curate/minhash.js"));
const H = await import(dist("curate/steps/heuristics.js"));
const { hashedFeatures, predictHashed } = await import(dist("curate/classify/hashed.js"));
const { parsePipeline } = await import(dist("curate/config.js"));
const { runCurate } = await import(dist("curate/pipeline.js"));

// The corpus: SmolLab's bundled corpora (Brown-corpus prose, TypeScript sources, GSM8K-train math).
const docs = [];
for (const f of ["web", "code", "math"]) {
  for (const line of gunzipSync(fs.readFileSync(path.join(root, "data/corpora", `${f}.jsonl.gz`))).toString().split("\n")) if (line.trim()) docs.push(JSON.parse(line).text);
}
const bytes = docs.reduce((a, d) => a + Buffer.byteLength(d), 0);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smol-curate-bench-"));
const corpus = path.join(tmp, "corpus.jsonl");
fs.writeFileSync(corpus, docs.map((t, i) => JSON.stringify({ id: `d${i}`, text: t }) + "\n").join(""));
const params = { ngram: 5, bands: 14, rows: 8, seed: 1 };
const fam = hashFamily(params);
const famFile = path.join(tmp, "family.json");
fs.writeFileSync(famFile, JSON.stringify({ xor: Array.from(fam.xor, (x) => x >>> 0), mul: Array.from(fam.mul, (x) => x >>> 0), bands: 14, rows: 8 }));

function measure(fn) {
  let best;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const res = fn();
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    const wall = (performance.now() - w0) / 1000;
    if (!best || cpu < best.cpu) best = { cpu, wall, res };
  }
  return best;
}
async function measureAsync(fn) {
  let best;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const res = await fn(r);
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    const wall = (performance.now() - w0) / 1000;
    if (!best || cpu < best.cpu) best = { cpu, wall, res };
  }
  return best;
}
function python(task, extra = []) {
  const r = spawnSync(values.python, [path.join(here, "reference.py"), task, corpus, "--repeat", String(repeats), "--family", famFile, ...extra], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`reference.py ${task}: ${r.stderr}`);
  const o = JSON.parse(r.stdout.trim().split("\n").pop());
  return { cpu: o.cpu_s, wall: o.wall_s, res: o };
}

const rows = [];
const row = (what, impl, m, note = "") => {
  rows.push({ what, impl, docsPerS: docs.length / m.cpu, mbPerS: bytes / 1e6 / m.cpu, wallMbPerS: bytes / 1e6 / m.wall, note });
  console.log(`${what} | ${impl}: ${(bytes / 1e6 / m.cpu).toFixed(1)} MB/s per CPU-s (${(docs.length / m.cpu).toFixed(0)} docs/s), wall ${(bytes / 1e6 / m.wall).toFixed(1)} MB/s ${note}`);
};

// Cross-check: band keys of the first 40 documents against Python with the exact word hash.
const checkFile = path.join(tmp, "check.jsonl");
fs.writeFileSync(checkFile, docs.slice(0, 40).map((t) => JSON.stringify({ text: t }) + "\n").join(""));
const ck = spawnSync(values.python, [path.join(here, "reference.py"), "keys", checkFile, "--family", famFile], { encoding: "utf8" });
const pyKeys = JSON.parse(ck.stdout).keys;
const h = new MinHasher(params);
let same = 0;
docs.slice(0, 40).forEach((t, i) => {
  const k = new Uint32Array(28);
  const ok = h.bandKeys(t, k, 0);
  const mine = ok ? Array.from({ length: 14 }, (_, b) => [k[2 * b], k[2 * b + 1]]) : null;
  if (JSON.stringify(mine) === JSON.stringify(pyKeys[i])) same++;
});
console.log(`cross-check: band keys identical to the Python/numpy implementation for ${same}/40 documents`);

const batch = 256;
const keys = new Uint32Array(batch * 28);
const ok = new Uint8Array(batch);
const kernel = nativeMinhashKernel();
const sigs = (k) => () => {
  for (let i = 0; i < docs.length; i += batch) h.bandKeysBatch(docs.slice(i, i + batch), keys, ok, k);
};
// Interleave SmolLab and Python per task.
if (kernel) row("MinHash signatures + band keys (5-gram, 14×8)", "SmolLab (native kernel)", measure(sigs(kernel)));
row("MinHash signatures + band keys (5-gram, 14×8)", "SmolLab (TypeScript fallback)", measure(sigs(null)));
row("MinHash signatures + band keys (5-gram, 14×8)", "Python/numpy", python("minhash"));

const pipe = parsePipeline({ input: { paths: [corpus] }, steps: [{ exact_dedup: {} }, { minhash: {} }], output: { format: "jsonl.zst" } }, tmp);
const dd = await measureAsync((r) => runCurate(pipe, { out: path.join(tmp, `out-${r}`) }));
row("whole dedup (exact + MinHash-LSH, clusters, kept/removed shards)", "SmolLab `smol curate` (read, 2 passes, zstd output)", dd, `removed ${dd.res.stats.steps[0].removed + dd.res.stats.steps[1].removed}`);
const pd = python("dedup");
row("whole dedup (exact + MinHash-LSH, clusters, kept/removed shards)", "Python/numpy (in-memory dict buckets + union-find, no I/O)", pd, `removed ${pd.res.removed}`);

const filt = () => {
  let removed = 0;
  for (const t of docs) {
    if (H.gopherQuality(t, H.GOPHER_QUALITY_DEFAULTS) || H.gopherRepetition(t, H.GOPHER_REPETITION_DEFAULTS) || "reason" in H.c4Filter(t, H.C4_DEFAULTS) || H.fineWebQuality(t, H.FINEWEB_DEFAULTS)) removed++;
  }
  return removed;
};
const fm = measure(filt);
row("heuristic filters (Gopher quality + repetition, C4, FineWeb)", "SmolLab", fm, `removed ${fm.res}`);
const pf = python("filters");
row("heuristic filters (Gopher quality + repetition, C4, FineWeb)", "Python", pf, `removed ${pf.res.removed}`);

const weight = new Float32Array(1 << 18).map((_, i) => Math.sin(i));
const model = { bits: 18, ngrams: 2, weight, bias: 0 };
row("hashed-n-gram classifier scoring (2^18 features)", "SmolLab", measure(() => docs.reduce((a, t) => a + predictHashed(model, hashedFeatures(t, 18, 2)), 0)));
row("hashed-n-gram classifier scoring (2^18 features)", "Python/numpy", python("classify"));

const cpuName = os.cpus()[0]?.model ?? "?";
const md = [
  `Measured ${new Date().toISOString().slice(0, 16)}Z on ${cpuName}, ${os.cpus().length} vCPUs, Node ${process.version}, load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(" ")} (the machine was shared with other work).`,
  `Corpus: SmolLab's bundled corpora, ${docs.length} documents, ${(bytes / 1e6).toFixed(1)} MB of UTF-8 text. Best of ${repeats}; throughput per CPU-second (one core), wall-clock beside it.`,
  `Cross-check: SmolLab's band keys equal the Python/numpy implementation's (exact word hash) for ${same}/40 documents.`,
  "",
  "| task | implementation | docs/s per core | MB/s per core | MB/s wall | note |",
  "|---|---|---:|---:|---:|---|",
  ...rows.map((r) => `| ${r.what} | ${r.impl} | ${r.docsPerS.toFixed(0)} | ${r.mbPerS.toFixed(1)} | ${r.wallMbPerS.toFixed(1)} | ${r.note} |`),
];
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/curate.md"), md.join("\n") + "\n");
console.log(md.join("\n"));
fs.rmSync(tmp, { recursive: true, force: true });
