// The worked example's data (examples/post-training/README.md), from the bundled GSM8K *train*
// split (data/eval/gsm8k_train.jsonl.gz; the test split stays for evaluation):
//   sft.jsonl            conversations: the question as the user turn, the worked solution as the answer
//   pairs-train.jsonl    preference pairs: chosen = the correct solution, rejected = the same solution
//   pairs-heldout.jsonl  with a wrong final answer (held-out pairs come from other problems)
// Usage: node examples/post-training/gsm8k/make-data.mjs [OUT_DIR] (default runs/gsm8k-chat/data)
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../..");
const out = process.argv[2] ?? "runs/gsm8k-chat/data";
const rows = zlib.gunzipSync(fs.readFileSync(path.join(root, "data/eval/gsm8k_train.jsonl.gz"))).toString("utf8").trim().split("\n").map((l) => JSON.parse(l));
// A fixed, simple permutation so the splits are reproducible.
const order = rows.map((_, i) => i).sort((a, b) => ((a * 7919) % rows.length) - ((b * 7919) % rows.length));
const clean = (a) => a.replace(/<<[^>]*>>/g, "");
const wrong = (a, i) => {
  const m = /####\s*(-?[\d,.]+)\s*$/.exec(a);
  const n = m ? Number(m[1].replace(/,/g, "")) : 0;
  const delta = [1, -1, 2, 10, -3][i % 5];
  return a.replace(/####\s*(-?[\d,.]+)\s*$/, `#### ${n + delta}`);
};
const user = (q) => [{ role: "user", content: q }];
const sft = order.slice(0, 3000).map((i) => ({ messages: [...user(rows[i].question), { role: "assistant", content: clean(rows[i].answer) }] }));
const pair = (i, k) => ({ prompt: user(rows[i].question), chosen: [{ role: "assistant", content: clean(rows[i].answer) }], rejected: [{ role: "assistant", content: wrong(clean(rows[i].answer), k) }] });
const train = order.slice(3000, 3800).map(pair);
const heldout = order.slice(3800, 4000).map(pair);
fs.mkdirSync(out, { recursive: true });
const write = (name, xs) => fs.writeFileSync(path.join(out, name), xs.map((x) => JSON.stringify(x)).join("\n") + "\n");
write("sft.jsonl", sft);
write("pairs-train.jsonl", train);
write("pairs-heldout.jsonl", heldout);
console.log(`wrote ${sft.length} conversations, ${train.length} + ${heldout.length} preference pairs to ${out}`);
