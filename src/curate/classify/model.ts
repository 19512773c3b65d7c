// A saved quality classifier: a folder with `classifier.json` (kind, settings, held-out metrics)
// and `weights.safetensors`. Two kinds: "hashed-ngram" (hashed.ts) and "embedding-head" (a ridge
// head on mean-pooled hidden states of a local Llama model, embed.ts). Also the evaluation
// metrics FineWeb-Edu reports: MSE, precision/recall/F1 at a threshold, and the confusion matrix.
import * as fs from "node:fs";
import * as path from "node:path";
import { CheckpointError } from "../../errors.js";
import { writeJsonAtomic } from "../../io/atomic.js";
import { openSafetensors, writeSafetensors } from "../../io/safetensors.js";
import { Embedder } from "./embed.js";
import { hashedFeatures, predictHashed, type HashedModel } from "./hashed.js";
import { U32Buf } from "../text.js";

export const CLASSIFIER_FORMAT = "smollab-quality-classifier";

export interface ClassifierMeta {
  format: typeof CLASSIFIER_FORMAT;
  kind: "hashed-ngram" | "embedding-head";
  /** hashed-ngram */
  bits?: number;
  ngrams?: number;
  /** embedding-head: the encoder model folder (absolute) and tokens read per document. */
  encoder?: string;
  max_tokens?: number;
  metrics?: ClassifierMetrics;
  trained_on?: { train: number; heldout: number; source: string };
}

export interface ClassifierMetrics {
  mse: number;
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  /** confusion[true int score][predicted int score], scores 0..5 */
  confusion: number[][];
  n: number;
}

/** Clamp to [0, 5] and round (FineWeb-Edu's int_score). */
export const intScore = (s: number) => Math.round(Math.max(0, Math.min(5, s)));

export function evaluate(pred: number[], gold: number[], threshold = 3): ClassifierMetrics {
  let mse = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const confusion = Array.from({ length: 6 }, () => new Array(6).fill(0));
  for (let i = 0; i < pred.length; i++) {
    mse += (pred[i] - gold[i]) ** 2;
    const p = intScore(pred[i]) >= threshold;
    const g = intScore(gold[i]) >= threshold;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
    confusion[intScore(gold[i])][intScore(pred[i])]++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return { mse: mse / Math.max(1, pred.length), threshold, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, confusion, n: pred.length };
}

/** Scores texts with a loaded classifier. */
export interface Scorer {
  meta: ClassifierMeta;
  score(text: string): number;
  dispose(): void;
}

export function saveHashed(dir: string, m: HashedModel, meta: Omit<ClassifierMeta, "format" | "kind" | "bits" | "ngrams">): void {
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, "weights.safetensors"), [
    { name: "weight", dtype: "F32", shape: [m.weight.length], data: m.weight },
    { name: "bias", dtype: "F32", shape: [1], data: Float32Array.of(m.bias) },
  ]);
  writeJsonAtomic(path.join(dir, "classifier.json"), { format: CLASSIFIER_FORMAT, kind: "hashed-ngram", bits: m.bits, ngrams: m.ngrams, ...meta });
}

export function saveEmbeddingHead(dir: string, head: { w: Float64Array; b: number }, meta: Omit<ClassifierMeta, "format" | "kind">): void {
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, "weights.safetensors"), [
    { name: "weight", dtype: "F32", shape: [head.w.length], data: head.w },
    { name: "bias", dtype: "F32", shape: [1], data: Float32Array.of(head.b) },
  ]);
  writeJsonAtomic(path.join(dir, "classifier.json"), { format: CLASSIFIER_FORMAT, kind: "embedding-head", ...meta });
}

export function readClassifierMeta(dir: string): ClassifierMeta {
  const f = path.join(dir, "classifier.json");
  if (!fs.existsSync(f)) throw new CheckpointError(`${dir}: not a classifier folder (no classifier.json)`, "train one with `smol curate train`");
  const meta = JSON.parse(fs.readFileSync(f, "utf8")) as ClassifierMeta;
  if (meta.format !== CLASSIFIER_FORMAT || (meta.kind !== "hashed-ngram" && meta.kind !== "embedding-head")) throw new CheckpointError(`${f}: unknown classifier format or kind`);
  return meta;
}

/** Load a classifier folder for scoring. */
export async function loadClassifier(dir: string): Promise<Scorer> {
  const meta = readClassifierMeta(dir);
  const st = openSafetensors(path.join(dir, "weights.safetensors"));
  const weight = st.read("weight");
  const bias = st.read("bias")[0];
  st.close();
  if (meta.kind === "hashed-ngram") {
    const m: HashedModel = { bits: meta.bits!, ngrams: meta.ngrams!, weight, bias };
    if (weight.length !== 1 << m.bits) throw new CheckpointError(`${dir}: weight has ${weight.length} entries, expected 2^${m.bits}`);
    const buf = new U32Buf();
    return { meta, score: (t) => predictHashed(m, hashedFeatures(t, m.bits, m.ngrams, buf)), dispose() {} };
  }
  const emb = await Embedder.load(meta.encoder!, meta.max_tokens ?? 512);
  if (emb.dim !== weight.length) throw new CheckpointError(`${dir}: head has ${weight.length} inputs but ${meta.encoder} has hidden size ${emb.dim}`);
  return {
    meta,
    score(t) {
      const x = emb.embed(t);
      let s = bias;
      for (let j = 0; j < x.length; j++) s += weight[j] * x[j];
      return s;
    },
    dispose: () => emb.dispose(),
  };
}
