// runEvalTasks: the one entry point for `smol eval` and for the trainer at checkpoints. Takes a
// loaded model and tokenizer and a list of task specs, checks every name and data file before any
// model work, runs the tasks in order and returns per-task metrics (value, stderr, chance) plus a
// flat "task/metric" map for metrics.jsonl. Timing is per task (items/s).
import * as fs from "node:fs";
import * as path from "node:path";
import type { FloatBuf } from "../backend/backend.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { ConfigError, DataError } from "../errors.js";
import { readResolvedFile } from "../io/run-layout.js";
import type { LlamaModel } from "../models/llama.js";
import { bundledEvalDir, findEvalFile, readJsonlRecords, sampleItems } from "./data.js";
import { docRequests } from "./encode.js";
import { fitPrompt, generateAll } from "./generative.js";
import { evalGsm8k, GSM8K_STOP, gsm8kPrompts } from "./gsm8k.js";
import { scoreLoglik } from "./loglik.js";
import { evalChoiceDocs } from "./multiple-choice.js";
import { fileStream, isShardDir, predictedBytes, shardValStreams, streamLoss } from "./perplexity.js";
import { gsm8kProblem, lambadaDoc } from "./prompts.js";
import { choiceRequest, type TextRequest } from "./requests.js";
import { meanWithStderr } from "./stats.js";
import { loadChoiceDocs, locateTaskData, parseTaskList, type TaskSpec } from "./tasks.js";

export interface EvalOptions {
  /** At most this many items per task, a seeded sample (windows for val: the first N). */
  limit?: number;
  /** Folder with the task data files (default: the bundled data/eval). */
  dataDir?: string;
  /** Items scored together (default 8). */
  batchSize?: number;
  /** Seed for GSM8K shot sampling and for the --limit sample (default 1234). */
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
  /** Prompts decoded together by the generative tasks (default 16; 1 = one at a time). */
  genBatchSize?: number;
  /** Called with every request a task builds, before it is scored (`--dump-requests`). */
  onRequest?: (r: TextRequest) => void;
  /** Build and report the requests only; score nothing (results are empty). */
  requestsOnly?: boolean;
  /**
   * Wrap every prompt (a multiple-choice context, a generation prompt with its shots) as one user
   * turn of the model's chat template with the assistant turn opened (`smol eval --chat`).
   */
  chat?: (prompt: string) => string;
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
  const avg = arcAverage(results);
  if (avg) results.push(avg);
  const flat: Record<string, number> = {};
  for (const r of results) for (const m of r.metrics) flat[`${r.task}/${m.name}`] = m.value;
  return { results, flat };
}

/**
 * "arc": the unweighted mean of arc_easy's and arc_challenge's metrics, the ARC number SmolLM2
 * reports, added when both ran.
 */
export function arcAverage(results: readonly TaskResult[]): TaskResult | undefined {
  const e = results.find((r) => r.task === "arc_easy");
  const c = results.find((r) => r.task === "arc_challenge");
  if (!e || !c) return undefined;
  const metrics: TaskMetric[] = e.metrics.flatMap((m) => {
    const o = c.metrics.find((x) => x.name === m.name);
    if (!o) return [];
    const stderr = m.stderr !== undefined && o.stderr !== undefined ? Math.sqrt(m.stderr ** 2 + o.stderr ** 2) / 2 : undefined;
    return [{ name: m.name, value: (m.value + o.value) / 2, ...(stderr !== undefined ? { stderr } : {}), chance: m.chance !== undefined && o.chance !== undefined ? (m.chance + o.chance) / 2 : undefined, higherIsBetter: m.higherIsBetter }];
  });
  const seconds = e.seconds + c.seconds;
  return { task: "arc", n: e.n + c.n, unit: "items", metrics, seconds, perSecond: seconds > 0 ? (e.n + c.n) / seconds : 0, extra: { mean_of: ["arc_easy", "arc_challenge"] } };
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
  const seed = opts.seed ?? 1234;
  const t0 = performance.now();
  const finish = (n: number, metrics: TaskMetric[], extra?: Record<string, unknown>, task = t.spec, unit: TaskResult["unit"] = "items"): TaskResult => {
    const seconds = (performance.now() - t0) / 1000;
    return { task, n, unit, metrics, seconds, perSecond: seconds > 0 ? n / seconds : 0, ...(extra ? { extra } : {}) };
  };
  switch (t.def.kind) {
    case "mc": {
      const docs = loadChoiceDocs(t, dataDir, opts.limit, seed);
      if (opts.chat) for (const d of docs) d.item.contexts = d.item.contexts.map(opts.chat);
      for (const d of docs) opts.onRequest?.(choiceRequest(t.spec, d.id, d.item));
      if (opts.requestsOnly) return [];
      const r = evalChoiceDocs(model, tok, docs.map((d) => d.item), { batchSize: opts.batchSize, onProgress: progress });
      const metrics: TaskMetric[] = t.def.metrics.map((name) => ({ name, ...r.metrics[name as "acc" | "acc_norm"], chance: r.chance, higherIsBetter: true }));
      return [finish(docs.length, metrics)];
    }
    case "lambada": {
      const file = findEvalFile(dataDir, t.def.file!, t.def.name, t.def.format ?? "");
      const recs = readJsonlRecords(file);
      const ids = sampleItems(recs.length, opts.limit, seed, t.def.name);
      const docs = ids.map((i) => lambadaDoc(recs[i])).map((d) => (opts.chat ? { ...d, context: opts.chat(d.context) } : d));
      ids.forEach((id, j) => opts.onRequest?.(choiceRequest(t.spec, id, { contexts: [docs[j].context], continuations: [docs[j].continuation], gold: 0 })));
      if (opts.requestsOnly) return [];
      const reqs = docs.map((d) => docRequests(tok, { contexts: [d.context], continuations: [d.continuation], gold: 0 }).requests[0]);
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
      const recs = readJsonlRecords(file);
      const ids = sampleItems(recs.length, opts.limit, seed, t.def.name);
      const problems = ids.map((i) => gsm8kProblem(recs[i]));
      const shots = shotsFor(t, opts);
      const train = shots > 0 ? readJsonlRecords(gsm8kTrainFile(dataDir)).map(gsm8kProblem) : [];
      const gopts = { shots, seed, maxNewTokens: opts.maxNewTokens ?? 256, ids, batchSize: opts.genBatchSize, onProgress: progress, wrap: opts.chat };
      const prompts = gsm8kPrompts(tok, model.config.maxSeq, problems, train, gopts);
      prompts.forEach((f, j) => opts.onRequest?.({ task: t.spec, doc_id: ids[j], kind: "generate", context: f.prompt, stop: [...GSM8K_STOP], max_new_tokens: f.maxNewTokens }));
      if (opts.requestsOnly) return [];
      const r = evalGsm8k(model, tok, problems, train, gopts);
      return [finish(problems.length, [
        { name: "em_strict", ...r.metrics.em_strict, chance: 0, higherIsBetter: true },
        { name: "em", ...r.metrics.em, chance: 0, higherIsBetter: true },
      ], { shots, mean_shots_kept: r.meanShots, generated_tokens: r.generatedTokens, samples: r.items.slice(0, 3).map((it) => ({ gold: it.gold, pred: it.pred ?? null, output: it.output })) })];
    }
    case "gen": {
      const g = t.def.gen!;
      const items = g.load(dataDir, opts.limit, seed, t.arg);
      const chat = opts.chat;
      const fitted = items.map((it) => fitPrompt(tok, chat ? (k) => chat(it.build(k)) : it.build, it.shots, model.config.maxSeq, g.maxNewTokens));
      fitted.forEach((f, j) => opts.onRequest?.({ task: t.spec, doc_id: items[j].id, kind: "generate", context: f.prompt, stop: [...g.stop], max_new_tokens: f.maxNewTokens }));
      if (opts.requestsOnly) return [];
      const outs = generateAll(model, tok, fitted.map((f) => ({ ids: f.ids, maxNewTokens: f.maxNewTokens, stop: g.stop })), { batchSize: opts.genBatchSize, onProgress: progress });
      const sc = await g.score(items, outs.map((o) => o.text), progress);
      return [finish(items.length, [{ name: sc.metric, ...sc.value, chance: 0, higherIsBetter: true }], {
        ...sc.extra,
        mean_shots_kept: fitted.reduce((a, f) => a + f.shots, 0) / Math.max(1, fitted.length),
        generated_tokens: outs.reduce((a, o) => a + o.tokens, 0),
        samples: outs.slice(0, 3).map((o) => o.text),
      })];
    }
    case "val": {
      if (opts.requestsOnly) return [];
      const src = valSource(t, opts);
      const seqLen = Math.min(model.config.maxSeq, opts.seqLen ?? src.run?.seqLen ?? model.config.maxSeq);
      // Bits per byte leaves out the loss of predicting EOS: that token carries no bytes.
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
          const r = streamLoss(model, stream, { seqLen, maxWindows: opts.limit, byteless: tok.eosId, onProgress: (d, n) => opts.onProgress?.(`val/${source}`, d, n) });
          const bytes = predictedBytes(tok, stream, r.tokens);
          const seconds = (performance.now() - ts) / 1000;
          out.push({ task: `val/${source}`, n: r.tokens, unit: "tokens", metrics: valMetrics(r.loss, r.byteNats, bytes), seconds, perSecond: r.tokens / seconds, extra: { data: src.path, seq_len: seqLen, bytes } });
        }
        return out;
      }
      const stream = await fileStream(tok, src.path);
      const r = streamLoss(model, stream, { seqLen, maxWindows: opts.limit, byteless: tok.eosId, onProgress: progress });
      const bytes = predictedBytes(tok, stream, r.tokens);
      return [finish(r.tokens, valMetrics(r.loss, r.byteNats, bytes), { data: src.path, seq_len: seqLen, bytes }, t.spec, "tokens")];
    }
  }
}
