// `smol serve` latency and throughput at 1, 4 and 16 concurrent streaming clients (issue 15),
// beside `smol bench generate`'s single-sequence decode speed for the same model shape, measured in
// the same run. The server is a real `smol serve` process; clients stream /v1/completions with
// fetch. Writes bench/results/serve.md.
// With --pin (needs more CPUs than --threads), the server and `bench generate` run on CPUs
// 0..threads-1 and this client process on the others, so the client's own work (parsing the
// streams) does not take cores from the decoder: the comparison then measures serving overhead.
//   node bench/posttrain/serve.mjs [--model SHAPE] [--tokens 64] [--threads 2] [--pin] [--rounds 5] [--out serve.md]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const dist = (p) => path.join(root, "dist/src", p);
const cli = dist("cli/main.js");
const { values: o } = parseArgs({ options: { model: { type: "string", default: "vocab=50257,d=256,layers=6,heads=8,kv=4,ffn=768" }, tokens: { type: "string", default: "64" }, threads: { type: "string", default: "2" }, pin: { type: "boolean", default: false }, out: { type: "string", default: "serve.md" }, rounds: { type: "string", default: "5" } } });
const N = +o.tokens;
const env = { ...process.env, SMOL_THREADS: o.threads };
const ncpu = os.availableParallelism();
if (o.pin && ncpu <= +o.threads) {
  console.error(`serve.mjs: error: --pin needs more than ${o.threads} CPUs (this machine has ${ncpu}); lower --threads or drop --pin`);
  process.exit(2);
}
const serverCpus = `0-${+o.threads - 1}`, clientCpus = `${+o.threads}-${ncpu - 1}`;
if (o.pin) spawnSync("taskset", ["-cp", clientCpus, String(process.pid)]);
/** argv for a child process: under taskset on the server's CPUs with --pin. */
const pinned = (args) => (o.pin ? ["taskset", ["-c", serverCpus, process.execPath, ...args]] : [process.execPath, args]);
const { loadNative } = await import(dist("backend/native.js"));
const { parseModelSpec } = await import(dist("models/shape.js"));
const { LlamaModel } = await import(dist("models/llama.js"));
const { saveModel } = await import(dist("models/hf.js"));
const be = loadNative();
const cfg = { ...parseModelSpec(o.model).config, maxSeq: 1024 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smol-servebench-"));
const dir = path.join(tmp, "model");
{
  const m = new LlamaModel(be, cfg, { withGrad: false });
  m.initialize(0);
  saveModel(m, dir, { tokenizerDir: path.join(root, "data/tokenizer/gpt2") });
  m.dispose();
}

// Reference: single-sequence decoding speed of the same shape.
const bench = spawnSync(...pinned([cli, "bench", "generate", "--model", o.model, "--seq", "16", "--steps", String(N), "--threads", o.threads, "--json"]), { encoding: "utf8", env });
if (bench.status !== 0) throw new Error(bench.stderr);
const benchTps = JSON.parse(bench.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop()).tokensPerS;

const load0 = os.loadavg()[0];
const child = spawn(...pinned([cli, "serve", "--model", dir, "--port", "0", "--name", "bench"]), { env, stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise((resolve) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const m = /127\.0\.0\.1:(\d+)/.exec(out);
    if (m) resolve(+m[1]);
  });
});

async function client(i) {
  const t0 = performance.now();
  const r = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "bench", prompt: `The story number ${i} begins on a quiet morning when`, max_tokens: N, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  let first = 0, tokens = 0, buf = "";
  for await (const chunk of r.body) {
    if (!first) first = performance.now();
    buf += Buffer.from(chunk).toString();
    for (const m of buf.matchAll(/"completion_tokens":(\d+)/g)) tokens = +m[1];
  }
  return { ttft: (first - t0) / 1000, total: (performance.now() - t0) / 1000, tokens };
}

// Each concurrency level runs --rounds times (after 3 warm-up requests that let the server's JIT
// settle); every metric is the median over the rounds.
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (let i = 0; i < 3; i++) await client(i); // warm-up
for (const c of [1, 4, 16]) {
  const rounds = [];
  for (let k = 0; k < +o.rounds; k++) {
    const t0 = performance.now();
    const res = await Promise.all(Array.from({ length: c }, (_, i) => client(i)));
    const wall = (performance.now() - t0) / 1000;
    const tokens = res.reduce((a, r) => a + r.tokens, 0);
    rounds.push({ agg: tokens / wall, perClient: med(res.map((r) => r.tokens / r.total)), decode: med(res.map((r) => (r.tokens - 1) / (r.total - r.ttft))), ttft: med(res.map((r) => r.ttft)), total: med(res.map((r) => r.total)) });
  }
  const row = { c };
  for (const key of Object.keys(rounds[0])) row[key] = med(rounds.map((r) => r[key]));
  rows.push(row);
  console.log(row);
}
child.kill("SIGTERM");
const cpu = fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
const one = rows[0].agg;
const md = [
  `\`smol serve\`, model ${o.model} (random weights, GPT-2 tokenizer), streaming /v1/completions, ${N} new tokens per request, greedy, median of ${o.rounds} rounds per row after 3 warm-up requests, ${o.threads} threads, ${cpu}${o.pin ? `, server pinned to CPUs ${serverCpus} and clients to ${clientCpus}` : ", server and clients sharing every CPU"}; load average ${load0.toFixed(2)} before the run. \`smol bench generate\` on the same shape in the same run: **${benchTps.toFixed(1)} tokens/s**.`,
  "",
  "| concurrent clients | aggregate tokens/s | per client tokens/s | per client decode tokens/s (after the first token) | median time to first token | median request time | aggregate vs 1 client | 1 client's decode vs bench generate |",
  "|---|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.c} | ${r.agg.toFixed(1)} | ${r.perClient.toFixed(1)} | ${r.decode.toFixed(1)} | ${(r.ttft * 1000).toFixed(0)} ms | ${r.total.toFixed(2)} s | ${(r.agg / one).toFixed(2)}× | ${r.c === 1 ? `${((r.decode / benchTps) * 100).toFixed(0)}%` : ""} |`),
];
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results", o.out), md.join("\n") + "\n");
console.log(md.join("\n"));
fs.rmSync(tmp, { recursive: true, force: true });
