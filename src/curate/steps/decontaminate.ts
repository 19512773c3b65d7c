// Benchmark decontamination: a document sharing a word n-gram (default 13 normalised words:
// lower-cased, punctuation ignored) with any evaluation item is removed. Items shorter than n
// words are matched whole when they have at least `min_words` words, and skipped (counted) when
// shorter still. stats.json lists every benchmark item hit and in how many documents.
import type { CurateDoc } from "../records.js";
import { forEachNgramKey, U32Buf, wordHashes } from "../text.js";
import { loadBenchItems, type BenchItem } from "../benchmarks.js";
import type { LocalStep, Removal } from "./step.js";

export interface DecontamConfig {
  ngram: number;
  minWords: number;
  tasks: string[];
  dataDir?: string;
}

/** The n-gram index of a set of benchmark items: key → item number, per n-gram length. */
export class NgramIndex {
  readonly byLen = new Map<number, Map<number, number>>();
  tooShort = 0;
  keys = 0;
  constructor(readonly items: BenchItem[], readonly n: number, readonly minWords: number) {
    const words = new U32Buf();
    items.forEach((it, k) => {
      let any = false;
      for (const t of it.texts) {
        const len = wordHashes(t, words);
        if (len < minWords) continue;
        any = true;
        const L = Math.min(n, len);
        let m = this.byLen.get(L);
        if (!m) this.byLen.set(L, (m = new Map()));
        const map = m;
        forEachNgramKey(words.data, len, L, (key) => {
          if (!map.has(key)) {
            map.set(key, k);
            this.keys++;
          }
        });
      }
      if (!any) this.tooShort++;
    });
  }
  /** Items whose n-grams occur in the word hashes `w[0..len)` (distinct, in order found). */
  match(w: Uint32Array, len: number): number[] {
    const hits: number[] = [];
    for (const [L, map] of this.byLen) {
      forEachNgramKey(w, len, L, (key) => {
        const it = map.get(key);
        if (it !== undefined && !hits.includes(it)) hits.push(it);
      });
    }
    return hits;
  }
}

export function decontaminateStep(name: string, cfg: DecontamConfig): LocalStep {
  const index = new NgramIndex(loadBenchItems(cfg.tasks, cfg.dataDir), cfg.ngram, cfg.minWords);
  const words = new U32Buf();
  let hitCount = new Map<number, number>();
  let removed = 0;
  const label = (k: number) => `${index.items[k].task}#${index.items[k].item}`;
  return {
    kind: "local",
    name,
    type: "decontaminate",
    reset() {
      hitCount = new Map();
      removed = 0;
    },
    apply(doc: CurateDoc): Removal | undefined {
      const len = wordHashes(doc.text, words);
      const hits = index.match(words.data, len);
      if (hits.length === 0) return undefined;
      removed++;
      for (const h of hits) hitCount.set(h, (hitCount.get(h) ?? 0) + 1);
      const names = hits.map(label);
      return { reason: `shares a ${cfg.ngram}-gram with ${names.slice(0, 3).join(", ")}${names.length > 3 ? ` and ${names.length - 3} more` : ""}`, details: { benchmark_items: names } };
    },
    summary() {
      const perTask: Record<string, { items: number; items_hit: number; documents: number }> = {};
      for (const it of index.items) (perTask[it.task] ??= { items: 0, items_hit: 0, documents: 0 }).items++;
      const hits = [...hitCount.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      for (const [k, c] of hits) {
        perTask[index.items[k].task].items_hit++;
        perTask[index.items[k].task].documents += c;
      }
      return {
        ngram: cfg.ngram,
        min_words: cfg.minWords,
        tasks: cfg.tasks,
        items: index.items.length,
        items_too_short: index.tooShort,
        removed,
        per_task: perTask,
        hits: hits.map(([k, c]) => ({ task: index.items[k].task, item: index.items[k].item, documents: c })),
      };
    },
  };
}
