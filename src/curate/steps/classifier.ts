// The classifier filter step: every document gets `score` (the classifier's regression output)
// and `int_score` (clamped to 0–5 and rounded, as FineWeb-Edu); documents with int_score below
// the threshold are removed. Scores feed a histogram in report.html.
import { intScore, loadClassifier } from "../classify/model.js";
import { addToHistogram, newHistogram, type LocalStep } from "./step.js";

export interface ClassifierStepConfig {
  model: string;
  threshold: number;
  keepScores: boolean;
}

export async function classifierStep(name: string, cfg: ClassifierStepConfig): Promise<LocalStep> {
  const scorer = await loadClassifier(cfg.model);
  let hist = newHistogram(`${name}: score`, 0, 5, 25);
  return {
    kind: "local",
    name,
    type: "classifier",
    reset() {
      hist = newHistogram(`${name}: score`, 0, 5, 25);
    },
    apply(doc) {
      const score = scorer.score(doc.text);
      const is = intScore(score);
      addToHistogram(hist, score);
      const rounded = Math.round(score * 1e4) / 1e4;
      if (cfg.keepScores) doc.added = { ...doc.added, score: rounded, int_score: is };
      if (is < cfg.threshold) return { reason: `int_score ${is} < ${cfg.threshold} (score ${rounded})`, details: { score: rounded, int_score: is } };
      return undefined;
    },
    histograms: () => [hist],
    summary: () => ({ model: cfg.model, kind: scorer.meta.kind, threshold: cfg.threshold }),
  };
}
