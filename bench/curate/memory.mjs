#!/usr/bin/env node
// Peak memory and time of `smol curate` (exact dedup + MinHash-LSH, zstd output) on N synthetic
// web-sized documents (default 1,000,000; 80–800 words from a Zipf-like vocabulary, every 20th a
// near-duplicate of an earlier one). Reads the peak resident set (VmHWM) of the curate process
// from /proc while it runs. Usage: node bench/curate/memory.mjs [--docs N] [--workers W] [--dir TMP]
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({ options: { docs: { type: "string", default: "1000000" }, workers: { type: "string", default: "2" }, dir: { type: "string" } } });
const N = Number(values.docs);
const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "smol-curate-mem-"));
fs.mkdirSync(path.join(dir, "raw"), { recursive: true });

// Deterministic generator (mulberry32) and a 60k-word vocabulary drawn with a Zipf-like law.
let s = 12345;
const rnd = () => {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = Math.imul(s ^ (s >>> 15), s | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const vocab = Array.from({ length: 60000 }, () => {
  let w = "";
  const len = 2 + Math.floor(rnd() * 8);
  for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(rnd() * 26));
  return w;
});
const word = () => vocab[Math.floor(Math.pow(rnd(), 2.2) * vocab.length)];
const t0 = Date.now();
const files = 8;
let bytes = 0;
const recent = [];
for (let f = 0; f < files; f++) {
  const fd = fs.openSync(path.join(dir, "raw", `part-${f}.jsonl`), "w");
  let buf = [];
  for (let i = Math.floor((f * N) / files); i < Math.floor(((f + 1) * N) / files); i++) {
    let text;
    if (i % 20 === 19 && recent.length) {
      const base = recent[Math.floor(rnd() * recent.length)].split(" ");
      for (let k = 0; k < 3; k++) base[Math.floor(rnd() * base.length)] = word();
      text = base.join(" ");
    } else {
      const n = 80 + Math.floor(rnd() * 720);
      const ws = new Array(n);
      for (let k = 0; k < n; k++) ws[k] = word();
      text = ws.join(" ");
      if (i % 97 === 0) recent.push(text);
      if (recent.length > 200) recent.shift();
    }
    const line = JSON.stringify({ id: `doc-${i}`, text, url: `https://example.org/${i}` }) + "\n";
    bytes += line.length;
    buf.push(line);
    if (buf.length === 2000) {
      fs.writeSync(fd, buf.join(""));
      buf = [];
    }
  }
  fs.writeSync(fd, buf.join(""));
  fs.closeSync(fd);
}
console.log(`generated ${N} documents, ${(bytes / 1e9).toFixed(2)} GB of JSONL in ${((Date.now() - t0) / 1000).toFixed(0)} s → ${dir}/raw`);
fs.writeFileSync(path.join(dir, "p.yaml"), 'input: { paths: ["raw/*.jsonl"] }\nsteps:\n  - exact_dedup: {}\n  - minhash: { ngram: 5, bands: 14, rows: 8 }\noutput: { format: jsonl.zst }\n');
fs.rmSync(path.join(dir, "out"), { recursive: true, force: true });
const t1 = Date.now();
const p = spawn(process.execPath, [path.join(root, "dist/src/cli/main.js"), "curate", path.join(dir, "p.yaml"), "--out", path.join(dir, "out"), "--workers", values.workers, "--json"], { stdio: ["ignore", "pipe", "inherit"] });
let peak = 0;
const poll = setInterval(() => {
  try {
    const m = fs.readFileSync(`/proc/${p.pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
    if (m) peak = Math.max(peak, Number(m[1]) * 1024);
  } catch {
    /* finished */
  }
}, 200);
let out = "";
p.stdout.on("data", (d) => (out += d));
p.on("close", (code) => {
  clearInterval(poll);
  const secs = (Date.now() - t1) / 1000;
  const stats = code === 0 ? JSON.parse(out) : undefined;
  console.log(JSON.stringify({ docs: N, gb: +(bytes / 1e9).toFixed(2), exit: code, seconds: +secs.toFixed(0), peak_rss_gib: +(peak / 2 ** 30).toFixed(2), exact_removed: stats?.steps[0].removed, minhash_removed: stats?.steps[1].removed, kept: stats?.output.documents, load: os.loadavg() }));
});
