// runEvalTasks: the one entry point for `smol eval` and for the trainer at checkpoints. Takes a
// loaded model and tokenizer and a list of task specs, checks every name and data file before any
// model work, runs the tasks in order and returns per-task metrics (value, stderr, chance) plus a
// flat "task/metric" map for metrics.jsonl. Timing is per task (items/s).
import * as fs from "node:fs";
import * as path from "node:path";
import type { FloatBuf } from "../backend/backend.js";
import type { Tokenizer } from "../data/tokenizer-types.js";
import { ConfigError, DataError } from "../errors.js";
import { readResolvedFile } from "../io/run-layout.js";
import type { LlamaModel } from "../models/llama.js";
import { bundledEvalDir, findEvalFile, readJsonlRecords } from "./data.js";
import { docRequests } from "./encode.js";
import { evalGsm8k } from "./gsm8k.js";
import { scoreLoglik } from "./loglik.js";
import { evalChoiceDocs } from "./multiple-choice.js";
import { fileStream, isShardDir, predictedBytes, shardValStreams, streamLoss } from "./perplexity.js";
import { gsm8kProblem, lambadaDoc } from "./prompts.js";
import { meanWithStderr } from "./stats.js";
import { loadChoiceDocs, locateTaskData, parseTaskList, type TaskSpec } from "./tasks.js";

export interface EvalOptions {
  /** At most this many items per task (windows for val). */
  limit?: number;
  /** Folder with the task data files (default: the bundled data/eval). */
  dataDir?: string;
  /** Items scored together (default 8). */
  batchSize?: number;
  /** Seed for GSM8K shot sampling (default 1234). */
  seed?: number;
  /** GSM8K shots (default 5; a gsm8k:K spec overrides). */
  shots?: number;
  /** GSM8K generation budget (default 256). */
  maxNewTokens?: number;
  /** Default data for `val`: a text/JSONL file or a shard directory. */
  valData?: string;
  /** Window length for `val` (default: the run's seq_len, else the model's context). */
  seqLen?: number;
  /** The model's directory: a run checkpoint (runs/x/step-N) lets `val` find the run's shards. */
  modelDir?: string;
  /** Progress within the current task. */
  onProgress?: (task: string, done: number, total: number) => void;
  /** Instruct models (`smol eval --chat`): wrap each context / prompt as a user turn of the chat template. */
  chat?: (text: string) => string;
}

export interface TaskMetric {
  name: string;
  value: number;
  stderr?: number;
  /** Expected value under uniform random guessing (accuracy metrics). */
  chance?: number;
  higherIsBetter: boolean;
}

export interface TaskResult {
  /** The task spec, or "val/<source>" for a shard directory's sources. */
  task: string;
  /** Items scored (predicted tokens for val). */
  n: number;
  unit: "items" | "tokens";
  metrics: TaskMetric[];
  seconds: number;
  /** n / seconds. */
  perSecond: number;
  extra?: Record<string, unknown>;
}

export interface EvalResults {
  results: TaskResult[];
  /** "task/metric" → value, e.g. {"hellaswag/acc_norm": 0.31}. */
  flat: Record<string, number>;
}

/** What a run directory says about its data, for `val` on a run checkpoint. */
export interface RunDataInfo {
  dataDir: string;
  seqLen?: number;
  tokens?: number;
}

/** The shard directory (and seq_len, eval tokens) of the run that wrote checkpoint `modelDir`, if any. */
export function runDataFor(modelDir: string): RunDataInfo | undefined {
  const runDir = path.dirname(path.resolve(modelDir));
  const cfg = readResolvedFile(runDir) as { config?: { data?: { dir?: unknown }; batch?: { seq_len?: unknown }; eval?: { tokens?: unknown } } } | undefined;
  if (!cfg) return undefined;
  const dir = cfg.config?.data?.dir;
  if (typeof dir !== "string") return undefined;
  const candidates = path.isAbsolute(dir) ? [dir] : [path.resolve(dir), path.resolve(runDir, dir), path.resolve(runDir, "..", "..", dir)];
  const found = candidates.find((d) => isShardDir(d));
  if (!found) return undefined;
  const num = (v: unknown) => (typeof v === "number" && v > 0 ? v : undefined);
  return { dataDir: found, seqLen: num(cfg.config?.batch?.seq_len), tokens: num(cfg.config?.eval?.tokens) };
}

/** Run the tasks named in `tasks` (names, groups, `name:ARG` specs) on a loaded model. */
export async function runEvalTasks<Fb extends FloatBuf>(model: LlamaModel<Fb>, tok: Tokenizer, tasks: readonly string[], opts: EvalOptions = {}): Promise<EvalResults> {
  const specs = parseTaskList(tasks);
  const dataDir = opts.dataDir ?? bundledEvalDir();
  if (tok.vocabSize > model.config.vocab) {
    throw new ConfigError(`the tokenizer has ${tok.vocabSize} ids but the model's vocabulary is ${model.config.vocab}`, [], "use the tokenizer the model was trained with");
  }
  for (const t of specs) {
    locateTaskData(t, dataDir);
    if (t.def.kind === "val") valSource(t, opts);
    if (t.def.kind === "gsm8k" && shotsFor(t, opts) > 0) gsm8kTrainFile(dataDir);
  }
  const results: TaskResult[] = [];
  for (const t of specs) results.push(...(await runOne(model, tok, t, dataDir, opts)));
  const flat: Record<string, number> = {};
  for (const r of results) for (const m of r.metrics) flat[`${r.task}/${m.name}`] = m.value;
  return { results, flat };
}

function shotsFor(t: TaskSpec, opts: EvalOptions): number {
  return t.arg !== undefined ? Number(t.arg) : opts.shots ?? 5;
}

function gsm8kTrainFile(dataDir: string): string {
  return findEvalFile(dataDir, "gsm8k_train", "gsm8k (few-shot pool)", '{"question": "…", "answer": "… #### n"} from the GSM8K train split (never the test split)');
}

function valSource(t: TaskSpec, opts: EvalOptions): { path: string; run?: RunDataInfo } {
  const p = t.arg ?? opts.valData;
  if (p !== undefined) {
    if (!fs.existsSync(p)) throw new DataError(`val: ${p} does not exist`, 'give a text file, JSONL with a "text" field per line, or a shard directory from `smol tokenize`');
    return { path: p };
  }
  const run = opts.modelDir ? runDataFor(opts.modelDir) : undefined;
  if (run) return { path: run.dataDir, run };
  throw new DataError("val: no data given", "name a file or shard directory: --data PATH or --tasks val:PATH (a run checkpoint's own shards are used when its run directory still has them)");
}

async function runOne<Fb extends FloatBuf>(model: LlamaModel<Fb>, tok: Tokenizer, t: TaskSpec, dataDir: string, opts: EvalOptions): Promise<TaskResult[]> {
  const progress = (done: number, total: number) => opts.onProgress?.(t.spec, done, total);
  const t0 = performance.now();
  const finish = (n: number, metrics: TaskMetric[], extra?: Record<string, unknown>, task = t.spec, unit: TaskResult["unit"] = "items"): TaskResult => {
    const seconds = (performance.now() - t0) / 1000;
    return { task, n, unit, metrics, seconds, perSecond: seconds > 0 ? n / seconds : 0, ...(extra ? { extra } : {}) };
  };
  switch (t.def.kind) {
    case "mc": {
      let docs = loadChoiceDocs(t, dataDir, opts.limit);
      if (opts.chat) docs = docs.map((d) => ({ ...d, contexts: d.contexts.map(opts.chat!) }));
      const r = evalChoiceDocs(model, tok, docs, { batchSize: opts.batchSize, onProgress: progress });
      const metrics: TaskMetric[] = t.def.metrics.map((name) => ({ name, ...r.metrics[name as "acc" | "acc_norm"], chance: r.chance, higherIsBetter: true }));
      return [finish(docs.length, metrics)];
    }
    case "lambada": {
      const file = findEvalFile(dataDir, t.def.file!, t.def.name, t.def.format ?? "");
      const docs = readJsonlRecords(file, opts.limit).map(lambadaDoc);
      const reqs = docs.map((d) => docRequests(tok, { contexts: [opts.chat ? opts.chat(d.context) : d.context], continuations: [d.continuation], gold: 0 }).requests[0]);
      const scores = scoreLoglik(model, reqs, { batchSize: opts.batchSize, greedy: true, onProgress: progress });
      const acc = meanWithStderr(scores.map((s) => (s[0].greedy ? 1 : 0)));
      const meanLl = scores.reduce((a, s) => a + s[0].logprob, 0) / scores.length;
      return [finish(docs.length, [
        { name: "acc", ...acc, chance: 0, higherIsBetter: true },
        { name: "ppl", value: Math.exp(-meanLl), higherIsBetter: false },
      ])];
    }
    case "gsm8k": {
      const file = findEvalFile(dataDir, t.def.file!, t.def.name, t.def.format ?? "");
      const problems = readJsonlRecords(file, opts.limit).map(gsm8kProblem);
      const shots = shotsFor(t, opts);
      const train = shots > 0 ? readJsonlRecords(gsm8kTrainFile(dataDir)).map(gsm8kProblem) : [];
      const r = evalGsm8k(model, tok, problems, train, { shots, seed: opts.seed ?? 1234, maxNewTokens: opts.maxNewTokens ?? 256, onProgress: progress, chat: opts.chat });
      return [finish(problems.length, [
        { name: "em", ...r.metrics.em, chance: 0, higherIsBetter: true },
        { name: "em_strict", ...r.metrics.em_strict, chance: 0, higherIsBetter: true },
      ], { shots, generated_tokens: r.generatedTokens, samples: r.items.slice(0, 3).map((it) => ({ gold: it.gold, pred: it.pred ?? null, output: it.output })) })];
    }
    case "val": {
      const src = valSource(t, opts);
      const seqLen = Math.min(model.config.maxSeq, opts.seqLen ?? src.run?.seqLen ?? model.config.maxSeq);
      const valMetrics = (loss: number, nats: number, bytes: number): TaskMetric[] => [
        { name: "loss", value: loss, higherIsBetter: false },
        { name: "ppl", value: Math.exp(loss), higherIsBetter: false },
        ...(bytes > 0 ? [{ name: "bpb", value: nats / Math.LN2 / bytes, higherIsBetter: false }] : []),
      ];
      if (isShardDir(src.path)) {
        const maxTokens = opts.limit !== undefined ? opts.limit * seqLen + 1 : (src.run?.tokens ?? 16384) + 1;
        const out: TaskResult[] = [];
        for (const { source, stream } of shardValStreams(src.path, maxTokens)) {
          const ts = performance.now();
          const r = streamLoss(model, stream, { seqLen, maxWindows: opts.limit, onProgress: (d, n) => opts.onProgress?.(`val/${source}`, d, n) });
          const bytes = predictedBytes(tok, stream, r.tokens);
          const seconds = (performance.now() - ts) / 1000;
          out.push({ task: `val/${source}`, n: r.tokens, unit: "tokens", metrics: valMetrics(r.loss, r.nats, bytes), seconds, perSecond: r.tokens / seconds, extra: { data: src.path, seq_len: seqLen, bytes } });
        }
        return out;
      }
      const stream = await fileStream(tok, src.path);
      const r = streamLoss(model, stream, { seqLen, maxWindows: opts.limit, onProgress: progress });
      const bytes = predictedBytes(tok, stream, r.tokens);
      return [finish(r.tokens, valMetrics(r.loss, r.nats, bytes), { data: src.path, seq_len: seqLen, bytes }, t.spec, "tokens")];
    }
  }
}
