#!/usr/bin/env node
// Stand-in "imported annotations" for the classifier example, from bundled data only: the Brown
// corpus (data/corpora/web.jsonl.gz) cut into passages of about 250 words, each scored 0–5 from its
// genre as an educational-value proxy (learned 4; government, hobbies, lore 3; religion,
// belles-lettres, news 2; editorial, reviews 1; fiction and humor 0). These are genre labels, not
// LLM judgements: with real annotations (e.g. FineWeb-Edu's Llama-3 annotations, Parquet with
// text and score) train on those instead. Usage: node examples/curate/brown-annotations.mjs > ann.jsonl
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import * as path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCORE = {
  learned: 4, government: 3, hobbies: 3, lore: 3, religion: 2, belles_lettres: 2, news: 2, editorial: 1, reviews: 1,
  fiction: 0, mystery: 0, science_fiction: 0, adventure: 0, romance: 0, humor: 0,
};
const lines = gunzipSync(readFileSync(path.join(root, "data/corpora/web.jsonl.gz"))).toString().trim().split("\n");
for (const line of lines) {
  const r = JSON.parse(line);
  const words = r.text.split(/\s+/);
  for (let i = 0, k = 0; i + 100 < words.length; i += 250, k++) {
    process.stdout.write(JSON.stringify({ id: `${r.id}-${k}`, text: words.slice(i, i + 250).join(" "), score: SCORE[r.genre], genre: r.genre }) + "\n");
  }
}
