#!/usr/bin/env node
// The cost of refusing bad input (issue 13): (1) .zst decoding with content-checksum verification
// (src/data/zstd.ts) against plain fzstd streaming (the decoder alone, as SmolLab read .zst before)
// and the zstd CLI (`zstd -dc`) on the same file; (2) loading a model with the NaN/Inf weight scan
// (models/finite.ts: the countNonFinite kernel) against the same load without it, and the scan
// itself against a float64 sum over the same buffer.
// Best of N rounds, interleaved. Usage: node bench/integrity.mjs [--mb 64] [--rounds 5]
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

const root = path.join(new URL(".", import.meta.url).pathname, "..");
if (!fs.existsSync(path.join(root, "dist", "src", "index.js"))) {
  console.error("bench/integrity: dist/ is missing; run `npm run build` first");
  process.exit(1);
}
const { zstdDecode } = await import(path.join(root, "dist/src/data/zstd.js"));
const { allFinite } = await import(path.join(root, "dist/src/models/finite.js"));
const { loadNative } = await import(path.join(root, "dist/src/backend/native.js"));
const { Decompress } = (await import("fzstd")).default ?? (await import("fzstd"));
const { values } = parseArgs({ options: { mb: { type: "string", default: "64" }, rounds: { type: "string", default: "5" } } });
const MB = Number(values.mb), ROUNDS = Number(values.rounds);

if (spawnSync("zstd", ["--version"]).status !== 0) {
  console.error("bench/integrity: the zstd CLI is needed to make the test file (apt-get install zstd)");
  process.exit(1);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smol-bench-integrity-"));
const plain = path.join(dir, "corpus.jsonl");
{
  // Deterministic JSONL of ~MB megabytes from a 20,000-word made-up vocabulary with a Zipf-like
  // draw, so it compresses about as well as English text does (3-4× at zstd -3).
  const { Rng } = await import(path.join(root, "dist/src/util/rng.js"));
  const rng = new Rng(1);
  let out = [], bytes = 0, i = 0;
  const r = () => rng.next();
  const syl = "ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu".split(" ");
  const words = Array.from({ length: 20000 }, () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => syl[Math.floor(r() * syl.length)]).join(""));
  const pick = () => words[Math.floor(words.length * r() ** 3)];
  while (bytes < MB * 1e6) {
    const n = 20 + Math.floor(r() * 200);
    const text = Array.from({ length: n }, () => pick() + (r() < 0.05 ? ` ${Math.floor(r() * 1e6)}` : "")).join(" ");
    const line = JSON.stringify({ id: i++, text }) + "\n";
    out.push(line);
    bytes += line.length;
  }
  fs.writeFileSync(plain, out.join(""));
}
const zst = plain + ".zst";
spawnSync("zstd", ["-q", "-f", "-3", plain, "-o", zst]);
const textBytes = fs.statSync(plain).size;

async function* fileStream(f) {
  const fd = fs.openSync(f, "r");
  const buf = Buffer.alloc(1 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      yield Buffer.from(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
}
async function timeIt(fn) {
  const t0 = performance.now();
  const n = await fn();
  return { s: (performance.now() - t0) / 1000, n };
}
const runs = {
  "fzstd alone (reference: no checksum)": async () => {
    let n = 0;
    const dec = new Decompress((d) => (n += d.length));
    for await (const c of fileStream(zst)) dec.push(c);
    dec.push(new Uint8Array(0), true);
    return n;
  },
  "SmolLab zstdDecode (checksum + size verified)": async () => {
    let n = 0;
    for await (const c of zstdDecode(fileStream(zst), zst)) n += c.length;
    return n;
  },
  "zstd -dc CLI (reference, native C)": async () => spawnSync("zstd", ["-dc", zst], { maxBuffer: 2 ** 31 }).stdout.length,
};
const best = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(runs)) {
    const { s, n } = await timeIt(fn);
    if (n !== textBytes) throw new Error(`${name}: decoded ${n} bytes, want ${textBytes}`);
    best[name] = Math.min(best[name] ?? Infinity, s);
  }
}
const cpu = (spawnSync("lscpu", [], { encoding: "utf8" }).stdout.match(/Model name:\s*(.*)/) ?? [])[1] ?? "?";
console.log(`CPU: ${cpu}; ${os.cpus().length} logical CPUs; node ${process.version}; best of ${ROUNDS}`);
console.log(`\n.zst decoding: ${(textBytes / 1e6).toFixed(1)} MB of JSONL, ${(fs.statSync(zst).size / 1e6).toFixed(1)} MB compressed (zstd -3)\n`);
console.log("| decoder | s | MB/s (decoded) | vs fzstd alone |\n|---|---:|---:|---:|");
const refS = best["fzstd alone (reference: no checksum)"];
for (const [name, s] of Object.entries(best)) console.log(`| ${name} | ${s.toFixed(3)} | ${(textBytes / 1e6 / s).toFixed(0)} | ${(refS / s).toFixed(2)}× |`);

// (2) The weight scan, as part of what it guards: loading SmolLM2-135M (134,515,008 float32
// weights, page-cached) with and without it, interleaved.
const { LlamaModel } = await import(path.join(root, "dist/src/models/llama.js"));
const { findPreset } = await import(path.join(root, "dist/src/models/presets.js"));
const { saveModel, loadModel } = await import(path.join(root, "dist/src/models/hf.js"));
const be = loadNative();
const cfg = findPreset("smollm2-135m").config;
const dirs = { float32: path.join(dir, "m135-f32"), bfloat16: path.join(dir, "m135-bf16") };
{
  const m = new LlamaModel(be, cfg, { withGrad: false });
  m.initialize(1);
  for (const [dtype, d] of Object.entries(dirs)) saveModel(m, d, { dtype });
  m.params.dispose();
}
for (const [dtype, modelDir] of Object.entries(dirs)) {
  const load = { "loadModel, no scan (reference)": Infinity, "loadModel + NaN/Inf scan": Infinity };
  let scan = Infinity, viaSum = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, checkFinite] of [["loadModel, no scan (reference)", false], ["loadModel + NaN/Inf scan", true]]) {
      const t0 = performance.now();
      const m = loadModel(modelDir, be, { withGrad: false, checkFinite });
      load[name] = Math.min(load[name], (performance.now() - t0) / 1000);
      const t1 = performance.now();
      if (!m.params.data.every((c) => allFinite(be, c))) throw new Error("finite weights reported non-finite");
      scan = Math.min(scan, (performance.now() - t1) / 1000);
      const t2 = performance.now();
      if (!m.params.data.every((c) => Number.isFinite(be.sum(c, c.length)))) throw new Error("finite weights summed to non-finite");
      viaSum = Math.min(viaSum, (performance.now() - t2) / 1000);
      m.params.dispose();
    }
  }
  console.log(`\nLoading SmolLM2-135M stored as ${dtype} (${(fs.statSync(path.join(modelDir, "model.safetensors")).size / 1e6).toFixed(0)} MB, page-cached), ${be.getThreads()} threads, isa ${be.isa}\n`);
  console.log("| step | s | vs reference |\n|---|---:|---:|");
  const ref = load["loadModel, no scan (reference)"];
  for (const [name, s] of Object.entries(load)) console.log(`| ${name} | ${s.toFixed(3)} | ${(s / ref).toFixed(2)}× |`);
  console.log(`| the scan alone (allFinite: countNonFinite kernel) | ${scan.toFixed(3)} | ${(scan / ref).toFixed(2)}× |`);
  console.log(`| the same scan as a float64 sum (be.sum; the first version) | ${viaSum.toFixed(3)} | ${(viaSum / ref).toFixed(2)}× |`);
}
fs.rmSync(dir, { recursive: true, force: true });
