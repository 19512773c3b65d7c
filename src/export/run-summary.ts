// What a run directory says about how a checkpoint was trained, read defensively (every field is
// optional, so older runs and cooldown branches still summarise): tokens, stages with their
// mixtures, the LR schedule, and the final evaluations. Feeds the model card (export/card.ts).
import * as fs from "node:fs";
import * as path from "node:path";

type Json = Record<string, unknown>;

export interface RunSummary {
  runDir: string;
  name?: string;
  step?: number;
  tokens?: number;
  tokensBySource?: Record<string, number>;
  stages: Array<{ name: string; tokens?: number; mixture?: Record<string, number> }>;
  schedule?: Json;
  optimizer?: Json;
  batch?: Json;
  parent?: { run_dir?: string; step?: number };
  /** Last train record at or before the step. */
  lastTrain?: { step: number; loss?: number; lr?: number };
  /** Last eval record at or before the step: validation loss per source and any task scores. */
  lastEval?: { step: number; valLoss?: Record<string, number>; extra: Record<string, number> };
  tokenizer?: string;
  dataDir?: string;
  initFrom?: string;
}

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The run directory a checkpoint belongs to: RUN for RUN/step-N (when RUN has config.resolved.json). */
export function runDirOf(modelDir: string): string | undefined {
  const parent = path.dirname(path.resolve(modelDir));
  return fs.existsSync(path.join(parent, "config.resolved.json")) ? parent : undefined;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

/** Summarise `runDir` up to `step` (default: the checkpoint's trainer_state.json step, else the end). */
export function readRunSummary(runDir: string, modelDir?: string): RunSummary {
  const resolved = readJson(path.join(runDir, "config.resolved.json"));
  const cfg = isObj(resolved) && isObj(resolved.config) ? resolved.config : isObj(resolved) ? resolved : {};
  const state = modelDir ? readJson(path.join(modelDir, "trainer_state.json")) : undefined;
  const s: RunSummary = { runDir, stages: [] };
  if (typeof cfg.name === "string") s.name = cfg.name;
  if (typeof cfg.tokenizer === "string") s.tokenizer = cfg.tokenizer;
  const data = isObj(cfg.data) ? cfg.data : {};
  if (typeof data.dir === "string") s.dataDir = data.dir;
  if (Array.isArray(data.stages)) {
    for (const st of data.stages) {
      if (!isObj(st)) continue;
      const mixture = isObj(st.mixture) ? Object.fromEntries(Object.entries(st.mixture).filter(([, v]) => typeof v === "number")) as Record<string, number> : undefined;
      s.stages.push({ name: String(st.name ?? `stage ${s.stages.length + 1}`), tokens: num(st.tokens), mixture });
    }
  }
  if (isObj(cfg.schedule)) s.schedule = cfg.schedule;
  if (isObj(cfg.optimizer)) s.optimizer = cfg.optimizer;
  if (isObj(cfg.batch)) s.batch = cfg.batch;
  if (isObj(cfg.parent)) s.parent = { run_dir: typeof cfg.parent.run_dir === "string" ? cfg.parent.run_dir : undefined, step: num(cfg.parent.step) };
  if (isObj(cfg.model) && typeof cfg.model.from === "string") s.initFrom = cfg.model.from;
  if (isObj(state)) {
    s.step = num(state.step);
    s.tokens = num(state.tokens);
    if (isObj(state.tokens_by_source)) s.tokensBySource = state.tokens_by_source as Record<string, number>;
  }
  const metricsFile = path.join(runDir, "metrics.jsonl");
  if (fs.existsSync(metricsFile)) {
    for (const line of fs.readFileSync(metricsFile, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let r: unknown;
      try {
        r = JSON.parse(line);
      } catch {
        break;
      }
      if (!isObj(r) || typeof r.step !== "number") continue;
      if (s.step !== undefined && r.step > s.step) continue;
      if (r.type === "train") {
        s.lastTrain = { step: r.step, loss: num(r.loss), lr: num(r.lr) };
        if (s.step === undefined) {
          if (num(r.tokens) !== undefined) s.tokens = num(r.tokens);
          if (isObj(r.tokens_by_source)) s.tokensBySource = r.tokens_by_source as Record<string, number>;
        }
      } else if (r.type === "eval") {
        const extra: Record<string, number> = {};
        for (const [k, v] of Object.entries(r)) if (typeof v === "number" && !["step", "tokens"].includes(k)) extra[k] = v;
        s.lastEval = { step: r.step, valLoss: isObj(r.val_loss) ? (r.val_loss as Record<string, number>) : undefined, extra };
      }
    }
  }
  return s;
}
