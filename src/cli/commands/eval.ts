// `smol eval`: benchmark tasks (lighteval-style log-likelihood multiple choice, LAMBADA, GSM8K)
// and validation loss / bits per byte on a model directory or run checkpoint. Prints a table and
// items/s per task; writes the results as JSON with --json.
import * as fs from "node:fs";
import { DataError, UsageError } from "../../errors.js";
import { loadTokenizer } from "../../tokenizer/tokenizer.js";
import { bundledEvalDir } from "../../eval/data.js";
import { requestLine } from "../../eval/requests.js";
import { runEvalTasks, type EvalResults } from "../../eval/run.js";
import { GROUPS, TASKS } from "../../eval/tasks.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { renderChat } from "../../models/chat.js";
import { loadModel } from "../../models/hf.js";
import { ChatTemplate } from "../../models/chat.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, requireOpt, weightsOpt, type Command } from "../command.js";
import { duration, Progress, table } from "../output.js";

const taskLines = TASKS.map((t) => `  ${t.name.padEnd(20)}${t.summary}${t.arg ? `\n  ${"".padEnd(20)}${t.name}:${t.arg}` : ""}`).join("\n");
const groupLines = Object.entries(GROUPS).map(([g, l]) => `  ${g.padEnd(20)}${l.join(", ")}`).join("\n");

export const command: Command = {
  name: "eval",
  summary: "benchmark tasks (HellaSwag, ARC, PIQA, …, GSM8K) and validation loss / bits per byte",
  help: `Usage: smol eval --model DIR --tasks LIST [options]

Multiple-choice tasks are scored by log-likelihood as lighteval does: acc takes the choice with
the highest summed log-probability, acc_norm divides each sum by the choice's length in
characters (without its leading space). stderr is the standard error of the mean; chance is the
score of uniform random guessing. Prompt templates and deviations from lighteval: docs/eval.md.

Options:
  --model DIR          a Hugging Face model directory or a run checkpoint (runs/x/step-N) (required)
  --tasks LIST         comma-separated tasks and groups (required), e.g. hellaswag,arc,val:data.jsonl
  --data-dir DIR       folder with your task data files; files not there come from the bundled
                       ${bundledEvalDir()}
  --limit N            at most N items per task: a sample drawn with --seed across the whole
                       set, in file order (for val: the first N windows)
  --batch-size B       items scored together (default 8)
  --json FILE          also write the results as JSON ("-" prints JSON instead of the table)
  --seed S             seed for few-shot sampling and the --limit sample (default 1234)
  --tokenizer DIR      tokenizer to use (default: the model directory's)
  --data PATH          data for val: a text/JSONL file ("text" field) or a shard directory
  --seq-len N          val window length (default: the run's seq_len, else the model's context)
  --shots K            GSM8K shots (default 5)
  --max-new-tokens N   GSM8K generation budget (default 256; shrunk, and whole shots dropped,
                       to fit the model's context)
  --chat               prompts as one user turn of the model's chat template (instruct models);
                       the suite name smollm2 then runs SmolLM2's instruct table
  --gen-batch-size B   prompts decoded together by generative tasks (default 16; 1 = one at a time)
  --weights W          weights the model computes with: auto (default: a GGUF file's own Q8_0
                       codes or BF16 bits, else fp32), fp32, bf16 or q8_0 (rounded to that type;
                       generation then reads the packed copy: see smol generate --help)
  --dump-requests FILE write every request the tasks build, one JSON line each, and exit without
                       scoring: {"task", "doc_id", "kind": "loglikelihood", "context",
                       "continuations", "gold"} or {…, "kind": "generate", "context", "stop",
                       "max_new_tokens"} (context/continuations after lighteval's whitespace move)
  --responses FILE     ifeval only: score these {"prompt", "response"} lines (no model needed)
  --details DIR        ifeval: write DIR/eval_results_strict.jsonl and eval_results_loose.jsonl

Tasks:
${taskLines}

Groups:
${groupLines}

Suites: smollm2 runs SmolLM2's base-model table (ARC also as the easy/challenge average "arc");
with --chat, its instruct table (smollm2_instruct). Tasks marked "your file" read data that is
not bundled from --data-dir (docs/eval.md lists the files and their formats).

IFEval (--tasks ifeval, alone): the 541 prompts of Zhou et al. (2023) with their verifiable
instructions, checked as the google-research reference does; prompt_level_{strict,loose}_acc and
inst_level_{strict,loose}_acc. With --model the responses are the model's greedy answers through
its chat template; with --responses they are read from a file.

MMLU needs the original CSVs: <subject>_test.csv (columns question,A,B,C,D,answer; no header)
in <data-dir>/mmlu/test/ or a folder given as mmlu:DIR.

Examples:
  smol eval --model runs/demo/step-400 --tasks hellaswag,arc_easy --limit 200
  smol eval --model models/r2m --tasks val --data data/corpora/web.jsonl.gz --json results.json
  smol eval --model runs/demo/step-400 --tasks smollm2 --limit 50 --dump-requests requests.jsonl
  smol eval --tasks ifeval --responses responses.jsonl --details out/ifeval`,
  async run(argv) {
    const { values } = parseCommandArgs("eval", argv, {
      model: { type: "string" }, tasks: { type: "string" }, "data-dir": { type: "string" }, limit: { type: "string" },
      "batch-size": { type: "string" }, json: { type: "string" }, seed: { type: "string" }, tokenizer: { type: "string" },
      data: { type: "string" }, "seq-len": { type: "string" }, shots: { type: "string" }, "max-new-tokens": { type: "string" },
      "gen-batch-size": { type: "string" }, "dump-requests": { type: "string" }, chat: { type: "boolean" },
      responses: { type: "string" }, details: { type: "string" }, weights: { type: "string" },
    });
    // IFEval (instruction following): scores given responses, or a chat model's own.
    if (values.responses !== undefined || values.tasks === "ifeval") return (await import("./eval-ifeval.js")).runIfevalCli(values);
    const dir = requireOpt("eval", "model", values.model);
    const chatMode = values.chat === true;
    const tasks = requireOpt("eval", "tasks", values.tasks as string | undefined)
      .split(",")
      .map((x) => (chatMode && x.trim() === "smollm2" ? "smollm2_instruct" : x))
      .join(",");
    const opts = {
      limit: numberOpt("eval", "limit", values.limit, { int: true, min: 1 }),
      batchSize: numberOpt("eval", "batch-size", values["batch-size"], { int: true, min: 1 }) ?? 8,
      seed: numberOpt("eval", "seed", values.seed, { int: true, min: 0 }) ?? 1234,
      seqLen: numberOpt("eval", "seq-len", values["seq-len"], { int: true, min: 1 }),
      shots: numberOpt("eval", "shots", values.shots, { int: true, min: 0 }) ?? 5,
      maxNewTokens: numberOpt("eval", "max-new-tokens", values["max-new-tokens"], { int: true, min: 1 }) ?? 256,
      genBatchSize: numberOpt("eval", "gen-batch-size", values["gen-batch-size"], { int: true, min: 1 }) ?? 16,
      dataDir: values["data-dir"] as string | undefined,
      valData: values.data as string | undefined,
      modelDir: dir,
    };
    if (opts.dataDir !== undefined && !fs.existsSync(opts.dataDir)) throw new UsageError(`eval: --data-dir ${opts.dataDir} does not exist`, `omit it to use the bundled data in ${bundledEvalDir()}`);
    if (!fs.existsSync(dir)) throw new UsageError(`eval: model directory ${dir} does not exist`);
    const tokDir = (values.tokenizer as string | undefined) ?? dir;
    const tok = await loadTokenizer(tokDir).catch((e: unknown) => {
      if (values.tokenizer === undefined && e instanceof DataError) throw new DataError(`eval: ${dir} has no tokenizer (${e.message})`, "pass --tokenizer DIR with the tokenizer the model was trained with");
      throw e;
    });
    const model = loadModel(dir, cliBackend(), { withGrad: false, weights: weightsOpt("eval", values.weights) });
    if (chatMode) Object.assign(opts, { chat: (p: string) => renderChat([{ role: "user", content: p }], tokDir) });
    const dump = values["dump-requests"] as string | undefined;
    if (dump !== undefined) {
      const lines: string[] = [];
      await runEvalTasks(model, tok, [tasks], { ...opts, requestsOnly: true, onRequest: (r) => lines.push(requestLine(r)) });
      writeFileAtomic(dump, lines.join("\n") + (lines.length ? "\n" : ""));
      console.log(`wrote ${lines.length} requests to ${dump}`);
      return 0;
    }
    const progress = new Progress();
    let current = "";
    const t0 = performance.now();
    // --chat: each context / prompt becomes a user turn of the model's chat template (an error if it has none).
    const template = values.chat ? ChatTemplate.fromDir(dir) : undefined;
    const res = await runEvalTasks(model, tok, [tasks], {
      ...opts,
      chat: template ? (text: string) => template.render([{ role: "user", content: text }], true) : undefined,
      onProgress: (task, done, total) => {
        if (task !== current) current = task;
        progress.update(`${task}: ${done}/${total} (${duration((performance.now() - t0) / 1000)})`, done === total);
      },
    });
    progress.done();
    const json = values.json as string | undefined;
    const doc = {
      model: dir,
      tokenizer: tokDir,
      backend: model.be.name,
      created: new Date().toISOString(),
      options: { tasks, limit: opts.limit ?? null, batch_size: opts.batchSize, seed: opts.seed, data_dir: opts.dataDir ?? bundledEvalDir() },
      results: res.results,
      flat: res.flat,
    };
    if (json === "-") {
      console.log(JSON.stringify(doc, null, 2));
      return 0;
    }
    console.log(renderTable(res));
    for (const r of res.results) {
      console.log(`${r.task}: ${r.n} ${r.unit} in ${r.seconds.toFixed(1)}s (${r.perSecond.toFixed(r.perSecond < 10 ? 2 : 0)} ${r.unit}/s)`);
    }
    if (json !== undefined) {
      writeFileAtomic(json, JSON.stringify(doc, null, 2) + "\n");
      console.log(`wrote ${json}`);
    }
    return 0;
  },
};

/** The results table: task, metric, value, stderr, n, chance. */
export function renderTable(res: EvalResults): string {
  const f = (x: number | undefined, digits = 4) => (x === undefined || !Number.isFinite(x) ? "-" : Math.abs(x) >= 1e5 ? x.toExponential(3) : x.toFixed(digits));
  const rows = res.results.flatMap((r) =>
    r.metrics.map((m) => [r.task, m.name, f(m.value), f(m.stderr), String(r.n), f(m.chance, 3)]),
  );
  return table(["task", "metric", "value", "stderr", "n", "chance"], rows);
}
