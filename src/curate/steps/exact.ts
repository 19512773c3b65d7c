// Exact deduplication: a hash of the normalised text (lower-cased words, punctuation and spacing
// ignored; or the raw text with `normalize: false`); the first document with a hash is kept, later
// ones are removed naming the first one's id. The hash set lives in memory (8 bytes of key per
// distinct document plus the first id).
import { createHash } from "node:crypto";
import type { CurateDoc } from "../records.js";
import { forEachNgramKey, U32Buf, wordHashes } from "../text.js";
import type { LocalStep, Removal } from "./step.js";

export interface ExactDedupConfig {
  normalize: boolean;
}

export function exactDedupStep(name: string, cfg: ExactDedupConfig): LocalStep {
  let seen = new Map<number | string, string>();
  let removed = 0;
  const words = new U32Buf();
  const key = (text: string): number | string => {
    if (!cfg.normalize) return createHash("sha1").update(text).digest("base64");
    const n = wordHashes(text, words);
    let k = 0;
    forEachNgramKey(words.data, n, n, (key) => {
      k = key;
    });
    return k;
  };
  return {
    kind: "local",
    name,
    type: "exact_dedup",
    reset() {
      seen = new Map();
      removed = 0;
    },
    apply(doc: CurateDoc): Removal | undefined {
      const k = key(doc.text);
      const first = seen.get(k);
      if (first === undefined) {
        seen.set(k, doc.id);
        return undefined;
      }
      removed++;
      return { reason: `exact duplicate of ${first}${cfg.normalize ? " (normalised text)" : ""}`, details: { duplicate_of: first } };
    },
    summary: () => ({ distinct: seen.size, duplicates: removed }),
  };
}
