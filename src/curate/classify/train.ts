// Training a quality classifier from scored documents ({text, score} JSONL from `smol curate
// annotate` or imported annotations): a deterministic held-out split by text hash, the hashed
// n-gram model or a ridge head on frozen embeddings, held-out metrics, and the saved folder.
import { createHash } from "node:crypto";
import { DataError } from "../../errors.js";
import { Embedder, ridge } from "./embed.js";
import { hashedFeatures, predictHashed, trainHashed } from "./hashed.js";
import { evaluate, saveEmbeddingHead, saveHashed, type ClassifierMetrics } from "./model.js";

export interface TrainClassifierOptions {
  kind: "hashed-ngram" | "embedding-head";
  out: string;
  heldout: number;
  threshold: number;
  /** hashed-ngram */
  bits: number;
  ngrams: number;
  epochs: number;
  lr: number;
  l2: number;
  seed: number;
  /** embedding-head */
  encoder?: string;
  maxTokens: number;
  lambda: number;
  source: string;
  onProgress?: (what: string, done: number, total: number) => void;
}

export interface Scored {
  text: string;
  score: number;
}

/** True for the documents in the held-out split (a fixed fraction by text hash). */
export function isHeldOut(text: string, fraction: number): boolean {
  const h = createHash("sha1").update(text).digest().readUInt32BE(0);
  return h / 2 ** 32 < fraction;
}

export async function trainClassifier(data: Scored[], o: TrainClassifierOptions): Promise<{ metrics: ClassifierMetrics; train: number; heldout: number }> {
  const train = data.filter((d) => !isHeldOut(d.text, o.heldout));
  const test = data.filter((d) => isHeldOut(d.text, o.heldout));
  if (train.length < 2 || test.length < 1) throw new DataError(`too few scored documents to train and evaluate (${train.length} train, ${test.length} held out)`, "annotate more documents or lower --heldout");
  let pred: number[];
  if (o.kind === "hashed-ngram") {
    const xs = train.map((d) => hashedFeatures(d.text, o.bits, o.ngrams));
    const m = trainHashed(xs, train.map((d) => d.score), o);
    pred = test.map((d) => predictHashed(m, hashedFeatures(d.text, o.bits, o.ngrams)));
    const metrics = evaluate(pred, test.map((d) => d.score), o.threshold);
    saveHashed(o.out, m, { metrics, trained_on: { train: train.length, heldout: test.length, source: o.source } });
    return { metrics, train: train.length, heldout: test.length };
  }
  if (!o.encoder) throw new DataError("embedding-head needs --encoder MODEL_DIR (a local Llama model folder)");
  const emb = await Embedder.load(o.encoder, o.maxTokens);
  try {
    const X = train.map((d, i) => {
      o.onProgress?.("embedding", i + 1, train.length + test.length);
      return emb.embed(d.text);
    });
    const head = ridge(X, train.map((d) => d.score), o.lambda);
    pred = test.map((d, i) => {
      o.onProgress?.("embedding", train.length + i + 1, train.length + test.length);
      const x = emb.embed(d.text);
      let s = head.b;
      for (let j = 0; j < x.length; j++) s += head.w[j] * x[j];
      return s;
    });
    const metrics = evaluate(pred, test.map((d) => d.score), o.threshold);
    saveEmbeddingHead(o.out, head, { encoder: o.encoder, max_tokens: o.maxTokens, metrics, trained_on: { train: train.length, heldout: test.length, source: o.source } });
    return { metrics, train: train.length, heldout: test.length };
  } finally {
    emb.dispose();
  }
}
