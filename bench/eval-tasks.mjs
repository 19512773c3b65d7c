// Evaluation speed per task family (issue 14): items/s of `runEvalTasks` for the multiple-choice
// tasks, LAMBADA, the generative tasks (GSM8K one prompt at a time vs batched, BBH, HumanEval with
// its sandbox) and val, on randomly initialised models of the research-7m and SmolLM2-135M shapes
// with GPT-2's tokenizer (the vocabulary is GPT-2's 50,257 for both, so the output head is the
// 135M one's size in both). A random model never emits a stop sequence, so every generation runs
// its whole budget: generative rows are worst cases. Writes results/eval-tasks.md + .jsonl.
//
//   node bench/eval-tasks.mjs [--shapes research-7m,smollm2-135m] [--limit 64] [--gen-limit 16]
//                             [--max-new 256] [--batch 16] [--shots 5] [--families mc,gsm8k,gen,val]
//                             [--weights fp32|bf16|q8_0] [--out eval-tasks]
// Each row also records the process's CPU seconds (user + system) for the run: on a machine
// shared with other work, items per CPU-second (with SMOL_THREADS=1) is the steadier comparison.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { execSync } from "node:child_process";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
if (!fs.existsSync(path.join(root, "dist/src/eval/run.js"))) {
  console.error("bench/eval-tasks.mjs: dist/ is missing; run `npm run build` first");
  process.exit(1);
}
const { defaultBackend } = await import(path.join(root, "dist/src/backend/index.js"));
const { loadTokenizer } = await import(path.join(root, "dist/src/tokenizer/tokenizer.js"));
const { LlamaModel } = await import(path.join(root, "dist/src/models/llama.js"));
const { findPreset } = await import(path.join(root, "dist/src/models/presets.js"));
const { runEvalTasks } = await import(path.join(root, "dist/src/eval/run.js"));
const { findPython } = await import(path.join(root, "dist/src/eval/sandbox.js"));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const shapes = arg("shapes", "research-7m,smollm2-135m").split(",");
const limit = Number(arg("limit", "64"));
const genLimit = Number(arg("gen-limit", "16"));
const maxNew = Number(arg("max-new", "64"));
const batch = Number(arg("batch", "16"));
const shots = Number(arg("shots", "5"));
const families = arg("families", "mc,gsm8k,gen,val").split(",");
const outName = arg("out", "eval-tasks");
const weights = arg("weights", "fp32"); // decode weights (models/packed.ts); the model's values are rounded to them

const be = defaultBackend().backend;
const tok = await loadTokenizer(path.join(root, "data/tokenizer/gpt2"));
const cpu = execSync("lscpu | grep 'Model name' || true").toString().replace(/Model name:\s*/, "").trim();
const rows = [];
const outDir = path.join(root, "bench/results");
fs.mkdirSync(outDir, { recursive: true });
const jsonl = path.join(outDir, `${outName}.jsonl`);
fs.writeFileSync(jsonl, "");
const log = (r) => {
  rows.push(r);
  fs.appendFileSync(jsonl, JSON.stringify(r) + "\n");
  console.log(`${r.shape.padEnd(14)} ${r.task.padEnd(28)} ${String(r.n).padStart(4)} items ${r.seconds.toFixed(2).padStart(8)} s ${r.perSecond.toFixed(2).padStart(9)} items/s  cpu ${r.cpuSeconds.toFixed(2)} s`);
};
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

for (const shape of shapes) {
  const cfg = { ...findPreset(shape).config, vocab: tok.vocabSize, maxSeq: 2048, eosTokenId: tok.eosId };
  const model = new LlamaModel(be, cfg, { withGrad: false });
  model.initialize(1);
  model.packWeights(weights);
  const run = async (task, opts, label = task) => {
    const c0 = cpuNow();
    const res = await runEvalTasks(model, tok, [task], opts);
    const cpuSeconds = cpuNow() - c0;
    const r = res.results[0];
    log({ shape, task: label, n: r.n, unit: r.unit, seconds: r.seconds, perSecond: r.perSecond, cpuSeconds });
    return { ...r, cpuSeconds };
  };
  if (families.includes("mc")) for (const t of ["hellaswag", "arc_easy", "piqa", "winogrande", "commonsense_qa", "lambada"]) await run(t, { limit });
  if (families.includes("gsm8k")) {
    const spec = `gsm8k:${shots}`;
    const one = await run(spec, { limit: genLimit, maxNewTokens: maxNew, genBatchSize: 1 }, `${spec} (1 at a time)`);
    const many = await run(spec, { limit: genLimit, maxNewTokens: maxNew, genBatchSize: batch }, `${spec} (batch ${batch})`);
    const r = { shape, task: `${spec} speed-up`, ratio: many.perSecond / one.perSecond, cpuRatio: one.cpuSeconds / many.cpuSeconds };
    rows.push(r);
    fs.appendFileSync(jsonl, JSON.stringify(r) + "\n");
    console.log(`${shape.padEnd(14)} ${spec} batched / one at a time: ${r.ratio.toFixed(2)}x wall, ${r.cpuRatio.toFixed(2)}x CPU`);
  }
  if (families.includes("gen")) {
    await run("bbh", { limit: genLimit, genBatchSize: batch }, `bbh (batch ${batch})`);
    if (findPython()) await run("humaneval", { limit: genLimit, genBatchSize: batch }, `humaneval (batch ${batch})`);
  }
  if (families.includes("val")) await run(`val:${path.join(root, "data/tokenizer/corpus.en")}`, { limit: 4, seqLen: 512 }, "val (tokens/s)");
  model.dispose();
}

const md = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu} (${os.availableParallelism()} cores${process.env.SMOL_THREADS ? `, SMOL_THREADS=${process.env.SMOL_THREADS}` : ""}), backend ${be.name}; ` +
    `decode weights ${weights}; load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}; ` +
    `--limit ${limit} (MC, LAMBADA), ${genLimit} items, ${shots} shots and ${maxNew} new tokens (GSM8K), BBH/HumanEval with their own budgets (256 / 512).`,
  "",
  "| shape | task | items | wall s | items/s | CPU s | items per CPU-s |",
  "|---|---|---:|---:|---:|---:|---:|",
  ...rows.filter((r) => r.n !== undefined).map((r) => `| ${r.shape} | ${r.task} | ${r.n} | ${r.seconds.toFixed(2)} | ${r.perSecond.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${(r.n / r.cpuSeconds).toFixed(2)} |`),
  "",
  ...rows.filter((r) => r.ratio !== undefined).map((r) => `- ${r.shape}: ${r.task} (batch ${batch} vs one prompt at a time): **${r.ratio.toFixed(2)}×** items/s wall, **${r.cpuRatio.toFixed(2)}×** per CPU-second`),
  "",
];
fs.writeFileSync(path.join(outDir, `${outName}.md`), md.join("\n"));
console.log(`wrote ${path.join(outDir, `${outName}.md`)}`);
