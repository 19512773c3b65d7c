// Supervised fine-tuning on chat data (`smol sft`): conversations rendered with the model's chat
// template, loss on assistant tokens only (spans from the template, posttrain/encode.ts),
// truncation to max_length, optional packing, epochs, warmup ratio and global batch by gradient
// accumulation — a run directory on the shared loop (train/run.ts) with the same checkpoints,
// metrics and bit-exact resume as pretraining.
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { defaultBackend } from "../backend/index.js";
import { ConfigError } from "../errors.js";
import { newReadStats } from "../data/jsonl.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { readHfConfig } from "../io/hf-config.js";
import type { ChatTemplate } from "../models/chat.js";
import type { LlamaModel } from "../models/llama.js";
import { Engine } from "../tensor/engine.js";
import { train } from "../train/run.js";
import type { Objective, TrainHooks, TrainSummary } from "../train/trainer.js";
import { hashSequences, padRows, sequenceSource, type MaskedSequence, type SftBatch } from "./batches.js";
import { readSftRows, type SftRow } from "./chat-data.js";
import { chatTokenizer, grownConfig, loadGrown, writeTokenizerFiles } from "./chat-tokenizer.js";
import { checkFitsContext, toTrainConfig, type SftConfig } from "./config.js";
import { assistantSegments, encodeSegments } from "./encode.js";

/** Masked next-token cross-entropy: the mean over the micro-batch's assistant tokens. */
export const maskedObjective: Objective<SftBatch> = {
  loss(model, e, b) {
    return { loss: model.loss(e, b.inputs, b.targets, b.B, b.T).loss, tokensBySource: { [b.source]: b.tokens } };
  },
};

/** Tokenize conversations with their assistant masks; truncate or pack into sequences of at most maxLength tokens. */
export function buildSequences(rows: readonly SftRow[], tok: Tokenizer, tpl: ChatTemplate, maxLength: number, packing: boolean): { seqs: MaskedSequence[]; truncated: number; dropped: number } {
  const enc = rows.map((r) => encodeSegments(tok, assistantSegments(tpl, r.messages)));
  const seqs: MaskedSequence[] = [];
  let truncated = 0;
  let dropped = 0;
  const push = (ids: number[], mask: number[]) => {
    // A sequence is useful when some token after the first is trained.
    if (mask.slice(1).some((m) => m)) seqs.push({ ids: Int32Array.from(ids), mask: Uint8Array.from(mask) });
    else dropped++;
  };
  if (!packing) {
    for (const x of enc) {
      if (x.ids.length > maxLength) truncated++;
      push(x.ids.slice(0, maxLength), x.mask.slice(0, maxLength));
    }
  } else {
    // Conversations back to back, cut every maxLength tokens (attention crosses the boundaries).
    const ids = enc.flatMap((x) => x.ids);
    const mask = enc.flatMap((x) => x.mask);
    for (let s = 0; s < ids.length; s += maxLength) push(ids.slice(s, s + maxLength), mask.slice(s, s + maxLength));
  }
  return { seqs, truncated, dropped };
}

/** Mean masked loss of sequences (no gradients). */
export function maskedLoss(model: LlamaModel<FloatBuf>, seqs: readonly MaskedSequence[], micro: number, pad: number): number {
  const e = new Engine(model.be);
  let sum = 0;
  let n = 0;
  try {
    e.noGrad(() => {
      for (let i = 0; i < seqs.length; i += micro) {
        const b = padRows(seqs.slice(i, i + micro), pad);
        const r = model.loss(e, b.inputs, b.targets, b.B, b.T);
        sum += r.loss.data[0] * r.count;
        n += r.count;
        e.reset();
      }
    });
  } finally {
    e.arena.dispose();
  }
  return n ? sum / n : NaN;
}

export interface PosttrainJob {
  runDir: string;
  backend?: Backend<FloatBuf>;
  hooks?: TrainHooks;
  signal?: AbortSignal;
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** Run (or resume) an SFT job. */
export async function runSft(cfg: SftConfig, job: PosttrainJob): Promise<TrainSummary & { config: ReturnType<typeof toTrainConfig> }> {
  const log = job.hooks?.onLog ?? (() => {});
  const from = cfg.model.from;
  const baseConfig = readHfConfig(from);
  if (cfg.model.max_seq) baseConfig.maxSeq = cfg.model.max_seq;
  const ct = chatTokenizer({ tokenizerDir: cfg.tokenizer ?? from, modelDir: from, templateFile: cfg.chat_template, addChatTokens: cfg.model.add_chat_tokens });
  checkFitsContext("max_length", cfg.max_length, baseConfig.maxSeq, from);
  const modelConfig = ct.added.length ? grownConfig(baseConfig, ct.tokenizer.vocabSize, ct.tokenizer.eosId) : baseConfig;
  if (ct.tokenizer.vocabSize > modelConfig.vocab) throw new ConfigError(`tokenizer: ${ct.tokenizer.vocabSize} ids, more than the model's vocabulary ${modelConfig.vocab}`, [], "use the model's own tokenizer");
  if (ct.added.length) log(`added ${ct.added.length} chat token(s) (ids ${ct.added.join(", ")}); vocabulary ${baseConfig.vocab} → ${modelConfig.vocab}, new rows = mean embedding`);
  const stats = newReadStats();
  const rows = await readSftRows(list(cfg.data.train), { onBad: cfg.data.on_bad, field: cfg.data.field, stats });
  if (stats.skipped) log(`skipped ${stats.skipped} bad row(s); first: ${stats.problems[0]}`);
  const tpl = ct.template!;
  const built = buildSequences(rows, ct.tokenizer, tpl, cfg.max_length, cfg.packing);
  if (built.truncated) log(`${built.truncated} conversation(s) truncated to max_length ${cfg.max_length}`);
  if (built.dropped) log(`${built.dropped} sequence(s) without assistant tokens dropped`);
  if (!built.seqs.length) throw new ConfigError("sft: no sequence has assistant tokens to train on (after truncation)", [], "raise max_length or check the data");
  let evalSeqs: MaskedSequence[] = [];
  if (cfg.data.eval) evalSeqs = buildSequences(await readSftRows(list(cfg.data.eval), { onBad: cfg.data.on_bad, field: cfg.data.field }), ct.tokenizer, tpl, cfg.max_length, false).seqs;
  const { sequences_per_step: perStep, micro_batch: micro } = cfg.batch;
  const steps = Math.max(1, Math.ceil((cfg.epochs * built.seqs.length) / perStep));
  const config = toTrainConfig("sft", cfg, steps, cfg.max_length, perStep, micro, cfg.epochs);
  const pad = ct.tokenizer.eosId ?? 0;
  const identity = hashSequences(built.seqs.flatMap((s) => [s.ids, s.mask]), tpl.source);
  const tokenizerDir = path.resolve(job.runDir, "tokenizer");
  log(`SFT: ${rows.length} conversations → ${built.seqs.length} sequences${cfg.packing ? " (packed)" : ""}, ${steps} steps of ${perStep}`);
  const summary = await train({
    config, runDir: job.runDir, backend: job.backend ?? defaultBackend().backend, signal: job.signal,
    external: { identity, tokenizerFingerprint: ct.fingerprint, tokenizerDir, modelConfig },
    prepareDir: () => writeTokenizerFiles(tokenizerDir, ct.files),
    loadStart: ct.added.length ? (m) => loadGrown(from, baseConfig, m) : undefined,
    source: sequenceSource(built.seqs, micro, cfg.seed, cfg.data.shuffle, pad),
    objective: maskedObjective,
    hooks: {
      ...job.hooks,
      onEvaluate: evalSeqs.length ? ({ model }) => ({ eval_loss: maskedLoss(model, evalSeqs, micro, pad) }) : undefined,
    },
  });
  return { ...summary, config };
}
