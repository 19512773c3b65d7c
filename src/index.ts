// The public API of the `smollab` package (`import { … } from "smollab"`): compute backends,
// Llama/SmolLM2 models as Hugging Face directories, tokenizers, token shards, scoring, generation,
// evaluation, LR schedules, FLOPs and scaling-law fits, training. Everything here is typed;
// anything not re-exported is internal and may change.

// ---- errors: every library error is a SmolError with an optional `hint` ----
export {
  SmolError, ShapeError, ConfigError, CheckpointError, DataError, BackendError, UsageError, NonFiniteError,
} from "./errors.js";

// ---- compute backends ----
export type { Backend, FloatBuf } from "./backend/backend.js";
export { defaultBackend, type BackendChoice } from "./backend/index.js";
export { loadNative } from "./backend/native.js";
export { ReferenceBackend } from "./backend/reference.js";

// ---- models ----
export { parameterShapes, parameterCount, type LlamaConfig } from "./models/config.js";
export { LlamaModel, KVCache } from "./models/llama.js";
export { PRESETS, findPreset, type Preset } from "./models/presets.js";
export { parseModelSpec } from "./models/shape.js";
export { loadModel, saveModel, type LoadOptions, type SaveOptions } from "./models/hf.js";
export { generate, sampleToken, type GenerateOptions, type GenerateResult, type SampleOptions } from "./models/generate.js";
export { renderChat, CHATML_TEMPLATE, type ChatMessage } from "./models/chat.js";
export { allFinite, assertFiniteParams } from "./models/finite.js";
export { Engine } from "./tensor/engine.js";

// ---- tokenizers ----
export type { Tokenizer } from "./tokenizer/types.js";
export { HfTokenizer, loadTokenizer, saveTokenizer, saveTrainedTokenizer, copyTokenizerFiles, type LoadTokenizerOptions } from "./tokenizer/tokenizer.js";
export { trainBpeFromFiles, trainBpeFromText, type TrainBpeOptions, type TrainedBpe } from "./tokenizer/bpe/train.js";

// ---- data: token shards and mixtures ----
export { tokenizeSources, type TokenizeOptions, type SourceResult } from "./data/tokenize.js";
export { openShards, readIndex, tokenizerFingerprint, type ShardIndex, type Split } from "./data/shards.js";
export { readDocuments } from "./data/sources.js";

// ---- scoring and evaluation ----
export { scoreSequences, type ScoreResult } from "./eval/score.js";
export { runEvalTasks, type EvalOptions, type EvalResults, type TaskResult } from "./eval/run.js";
export { TASKS, GROUPS, type TaskDef } from "./eval/tasks.js";

// ---- optimisation and LR schedules ----
export { AdamW, ADAMW_DEFAULTS, type AdamWConfig } from "./optim/adamw.js";
export {
  makeSchedule, scheduleValues, checkSchedule, cooldownBranch, decayFactor,
  SCHEDULE_KINDS, DECAY_SHAPES, type ScheduleConfig, type ScheduleKind, type DecayShape, type BranchOptions,
} from "./optim/schedule.js";

// ---- FLOPs and scaling laws ----
export { flopsPerToken, runFlops, type FlopsPerToken, type RunFlops } from "./scaling/flops.js";
export { parseScalingCsv, readScalingCsv, type ScalingPoint } from "./scaling/csv.js";
export {
  fitChinchilla, bootstrapFit, predictLoss, computeOptimal, dropHighestLoss,
  type ChinchillaFit, type FitOptions, type BootstrapOptions, type BootstrapResult, type ComputeOptimal,
} from "./scaling/fit.js";
export { isoflopAnalysis, type IsoflopOptions, type IsoflopResult } from "./scaling/isoflop.js";

// ---- files ----
export { openSafetensors, writeSafetensors, openCheckpoint, type TensorToWrite } from "./io/safetensors.js";

// ---- training ----
// Training: one library call for fresh, resumed, branched and continued runs (docs/training.md).
export { train, type TrainJob } from "./train/run.js";
export { Trainer, TrainingError, nextTokenObjective, type BatchSource, type Objective, type ProgressInfo, type TrainHooks, type TrainSummary } from "./train/trainer.js";
export { readConfigFile, resolveTrainConfig, trainConfigHelp, TRAIN_SCHEMA, type TrainConfig, type TrainConfigInput, type StageConfig } from "./train/config.js";
export { prepareRun, modelConfigFor, type PreparedRun } from "./train/preflight.js";
export { RunDir, RunLockedError, configHash, type ResolvedRunFile, type RunIdentity } from "./train/rundir.js";
export { planBranch, type BranchRequest } from "./train/cooldown.js";
export type { TokenBatch } from "./train/stream.js";
