// Every check a training start can make before it writes anything: the shards and their index,
// the mixture's source names, the tokenizer against the shards' fingerprint, the model (preset,
// shape keys, or a model.from directory with its overrides) against the vocabulary and the
// sequence length, benchmark tasks, a branch's parent checkpoint, and an existing run directory's
// identity. A start that fails here leaves the run directory exactly as it was.
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, SmolError } from "../errors.js";
import { readIndex, tokenizerFingerprint, type ShardIndex } from "../data/shards.js";
import { parseTaskList } from "../eval/tasks.js";
import { readHfConfig } from "../io/hf-config.js";
import { openCheckpoint } from "../io/safetensors.js";
import type { LlamaConfig } from "../models/config.js";
import { findPreset } from "../models/presets.js";
import type { TrainConfig } from "./config.js";
import { checkpointRanks, parallelProblems } from "./parallel.js";
import { configHash, RunDir, sha256File, verifyManifest, type ResolvedRunFile, type RunIdentity } from "./rundir.js";

export interface PreparedRun {
  cfg: TrainConfig;
  runDir: RunDir;
  /** The shard index (absent for post-training runs, whose data comes from their own files). */
  index?: ShardIndex;
  modelConfig: LlamaConfig;
  identity: RunIdentity;
  /** The tokenizer copied into checkpoints (checked against the shards), if any. */
  tokenizerDir?: string;
  /** A branch's starting checkpoint (cooldowns, ablations). */
  from?: { checkpoint: string };
  /** The run directory's resolved file when it already holds this run (a resume). */
  existing?: ResolvedRunFile;
}

/** The model a config asks for; every problem is appended to `problems` (throws only for unreadable files). */
export function modelConfigFor(cfg: TrainConfig, dataVocab: number, dataEos: number, problems: string[] = []): LlamaConfig {
  const m = cfg.model;
  let c: LlamaConfig;
  if (m.from) {
    c = readHfConfig(m.from);
    if (c.vocab < dataVocab) problems.push(`model.from: ${m.from} has a vocabulary of ${c.vocab}, smaller than the shards' tokenizer (${dataVocab}); were the shards made with another tokenizer?`);
  } else {
    c = m.preset
      ? { ...findPreset(m.preset).config }
      : { vocab: dataVocab, d: 0, layers: 0, heads: 0, kvHeads: 0, headDim: 0, ffn: 0, ropeTheta: 10000, normEps: 1e-5, tied: true, maxSeq: 2048, initStd: 0.02 };
    // Shape keys given beside a preset override it (the resolved config records the result).
    if (m.d_model !== undefined) c.d = m.d_model;
    if (m.layers !== undefined) c.layers = m.layers;
    if (m.heads !== undefined) c.heads = m.heads;
    if (m.kv_heads !== undefined) c.kvHeads = m.kv_heads;
    if (m.ffn !== undefined) c.ffn = m.ffn;
    c.headDim = c.d / c.heads;
    c.vocab = m.vocab ?? dataVocab;
    c.bosTokenId = dataEos;
    c.eosTokenId = dataEos;
    if (m.init_std !== undefined) c.initStd = m.init_std;
    if (m.tied !== undefined) c.tied = m.tied;
    if (c.vocab < dataVocab) problems.push(`model.vocab: ${c.vocab} is smaller than the tokenizer's vocabulary ${dataVocab}`);
    if (c.d % c.heads !== 0) problems.push(`model.heads: ${c.heads} does not divide d_model ${c.d}`);
    else if (c.headDim % 2 !== 0) problems.push(`model.heads: head size ${c.headDim} must be even for RoPE`);
    if (c.heads % c.kvHeads !== 0) problems.push(`model.kv_heads: ${c.kvHeads} does not divide heads ${c.heads}`);
  }
  if (m.rope_theta !== undefined) c.ropeTheta = m.rope_theta;
  if (m.max_seq !== undefined) c.maxSeq = m.max_seq;
  if (cfg.batch.seq_len > c.maxSeq) problems.push(`batch.seq_len: ${cfg.batch.seq_len} exceeds the model's context ${c.maxSeq} (set model.max_seq)`);
  return c;
}

/** SHA-256 of a shard directory's index: the data part of a run's identity. */
export function dataIndexHash(dataDir: string): string {
  return sha256File(path.join(dataDir, "index.json"));
}

/**
 * Data that is not a shard directory (post-training: SFT conversations, DPO pairs), checked and
 * tokenized by its owner before the start: its identity, the tokenizer, and the model it trains.
 */
export interface ExternalData {
  /** SHA-256 (or any stable digest) of the tokenized data: the data part of the run's identity. */
  identity: string;
  tokenizerFingerprint: string;
  /** The tokenizer directory copied into checkpoints (with its chat template). */
  tokenizerDir: string;
  /** The model to train (e.g. model.from's config with a vocabulary grown by chat tokens). */
  modelConfig: LlamaConfig;
}

/** Check a run whose data is not a shard directory (post-training); reading only. */
function prepareExternal(cfg: TrainConfig, runDirPath: string, ext: ExternalData, from?: { checkpoint: string }): PreparedRun {
  const problems: string[] = [];
  if (cfg.model.from) {
    try {
      openCheckpoint(cfg.model.from).close();
    } catch (e) {
      if (!(e instanceof SmolError)) throw e;
      problems.push(`model.from: ${e.message.split("\n")[0]}`);
    }
  }
  if (cfg.batch.seq_len > ext.modelConfig.maxSeq) problems.push(`batch.seq_len: ${cfg.batch.seq_len} exceeds the model's context ${ext.modelConfig.maxSeq}`);
  if (problems.length) throw new ConfigError("invalid training config", problems);
  const runDir = new RunDir(runDirPath);
  const identity: RunIdentity = { config_hash: configHash(cfg), data_index_sha256: ext.identity, tokenizer_fingerprint: ext.tokenizerFingerprint };
  const existing = runDir.readResolved();
  if (existing) runDir.checkIdentity(existing, identity);
  else if (runDir.checkpoints().length) throw new ConfigError(`${runDir.dir} holds checkpoints but no ${path.basename(runDir.resolvedFile)}`, [], "use a new --run-dir");
  return { cfg, runDir, modelConfig: ext.modelConfig, identity, tokenizerDir: ext.tokenizerDir, from, existing };
}

/** Check everything a start needs, reading only. Throws ConfigError (all problems), DataError or CheckpointError. */
export function prepareRun(cfg: TrainConfig, runDirPath: string, opts: { from?: { checkpoint: string }; external?: ExternalData; ranks?: number } = {}): PreparedRun {
  if (opts.external) return prepareExternal(cfg, runDirPath, opts.external, opts.from);
  const index = readIndex(cfg.data.dir);
  const problems: string[] = [];
  const sources = Object.keys(index.sources);
  cfg.data.stages.forEach((s, i) => {
    for (const name of Object.keys(s.mixture)) {
      if (!index.sources[name]) problems.push(`data.stages[${i}].mixture.${name}: no source "${name}" in ${cfg.data.dir} (it has: ${sources.join(", ")})`);
    }
  });
  // The tokenizer: the config's, else model.from's own when it has one; always the shards' one.
  let tokenizerDir = cfg.tokenizer;
  if (!tokenizerDir && cfg.model.from && fs.existsSync(path.join(cfg.model.from, "tokenizer.json"))) tokenizerDir = cfg.model.from;
  if (tokenizerDir) {
    let fp: string | undefined;
    try {
      fp = tokenizerFingerprint(tokenizerDir);
    } catch (e) {
      problems.push(`tokenizer: ${(e as Error).message}`);
    }
    if (fp !== undefined && fp !== index.fingerprint) {
      const which = tokenizerDir === cfg.tokenizer ? "tokenizer" : "model.from";
      problems.push(`${which}: ${tokenizerDir}/tokenizer.json is not the tokenizer the shards in ${cfg.data.dir} were made with (fingerprint ${fp} vs ${index.fingerprint}); give the tokenizer directory used by \`smol tokenize\``);
    }
  }
  if (cfg.eval.tasks.length) {
    try {
      parseTaskList(cfg.eval.tasks);
    } catch (e) {
      problems.push(`eval.tasks: ${(e as Error).message.split("\n")[0]}`);
    }
    if (!tokenizerDir) problems.push("eval.tasks: benchmark tasks need the run's tokenizer; set tokenizer: to the directory the shards were made with");
  }
  let modelConfig: LlamaConfig;
  try {
    modelConfig = modelConfigFor(cfg, index.vocabSize, index.eosId, problems);
    if (cfg.model.from) openCheckpoint(cfg.model.from).close(); // the weights are there and readable
  } catch (e) {
    if (!(e instanceof SmolError)) throw e;
    throw new ConfigError("invalid training config", [...problems, `model.from: ${e.message.split("\n")[0]}`]);
  }
  if (opts.from) {
    try {
      verifyManifest(opts.from.checkpoint);
    } catch (e) {
      problems.push(`branch: the starting checkpoint is damaged: ${(e as Error).message}`);
    }
  }
  const ranks = opts.ranks ?? 1;
  problems.push(...parallelProblems(cfg.batch.accumulation, ranks));
  if (problems.length) throw new ConfigError("invalid training config", problems, "fix the keys above; `smol train --help` lists every key");
  const runDir = new RunDir(runDirPath);
  const identity: RunIdentity = { config_hash: configHash(cfg), data_index_sha256: dataIndexHash(cfg.data.dir), tokenizer_fingerprint: index.fingerprint };
  const existing = runDir.readResolved();
  if (existing) runDir.checkIdentity(existing, identity);
  else if (runDir.checkpoints().length) {
    throw new ConfigError(`${runDir.dir} holds checkpoints but no ${path.basename(runDir.resolvedFile)}`, [], "use a new --run-dir");
  }
  const ckpts = runDir.checkpoints();
  const wrote = ckpts.length ? checkpointRanks(runDir.checkpointDir(ckpts[ckpts.length - 1])) : undefined;
  if (wrote !== undefined && wrote !== ranks) {
    throw new ConfigError(
      `${runDir.dir}: its checkpoints were written by ${wrote} data-parallel rank${wrote === 1 ? "" : "s"}, this start has ${ranks}`, [],
      `resume with ${wrote === 1 ? "a single process (no mpirun)" : `mpirun -np ${wrote}`}: another rank count sums the gradients in another order and would not reproduce the run bit for bit; to change it, branch into a new run directory (smol cooldown / from:)`,
    );
  }
  return { cfg, runDir, index, modelConfig, identity, tokenizerDir, from: opts.from, existing };
}
