// Test fixture for training: a byte-level tokenizer (ids 0..255 are bytes, 256 is EOS; also saved
// as ROOT/tokenizer/tokenizer.json, whose fingerprint the shards carry) and a shard directory
// with two small synthetic sources, built with the real `tokenizeSources`.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Tokenizer } from "../../src/tokenizer/types.js";
import { tokenizeSources } from "../../src/data/tokenize.js";
import { tokenizerFingerprint } from "../../src/data/shards.js";
import { byteTokenizerDir } from "../eval/fixture.js";
import { Rng } from "../../src/util/rng.js";
import type { TrainConfig } from "../../src/train/config.js";
import { resolveTrainConfig } from "../../src/train/config.js";

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 257;
  readonly eosId = 256;
  readonly bosId = undefined;
  readonly specialTokens = ["<eos>"];
  encode(text: string): number[] {
    return Array.from(Buffer.from(text, "utf8"));
  }
  decode(ids: readonly number[]): string {
    return Buffer.from(ids.filter((i) => i < 256)).toString("utf8");
  }
  tokenToId(t: string): number | undefined {
    return t === "<eos>" ? 256 : undefined;
  }
  idToToken(id: number): string | undefined {
    return id === 256 ? "<eos>" : String.fromCharCode(id);
  }
}

const WORDS = ["the", "cat", "dog", "sat", "on", "a", "mat", "and", "ran", "to", "big", "red", "ball", "home", "then", "slept"];

/** Write two JSONL sources (story-like prose and arithmetic) and tokenize them. */
export async function makeShardDir(root = fs.mkdtempSync(path.join(os.tmpdir(), "smol-train-"))): Promise<string> {
  const rng = new Rng(7);
  const prose: string[] = [];
  for (let d = 0; d < 120; d++) {
    const n = 8 + rng.int(20);
    prose.push(JSON.stringify({ text: Array.from({ length: n }, () => WORDS[rng.int(WORDS.length)]).join(" ") + "." }));
  }
  const math: string[] = [];
  for (let d = 0; d < 120; d++) {
    const a = rng.int(50), b = rng.int(50);
    math.push(JSON.stringify({ text: `${a} + ${b} = ${a + b}. ${b} + ${a} = ${a + b}.` }));
  }
  fs.writeFileSync(path.join(root, "prose.jsonl"), prose.join("\n") + "\n");
  fs.writeFileSync(path.join(root, "math.jsonl"), math.join("\n") + "\n");
  const out = path.join(root, "shards");
  await tokenizeSources({
    out,
    sources: [
      { name: "prose", paths: [path.join(root, "prose.jsonl")] },
      { name: "math", paths: [path.join(root, "math.jsonl")] },
    ],
    tokenizer: new ByteTokenizer(),
    // The byte tokenizer as a tokenizer.json (same ids), so configs can name it as `tokenizer:`.
    fingerprint: tokenizerFingerprint(byteTokenizerDir(path.join(root, "tokenizer"))),
    valFraction: 0.1,
  });
  return out;
}

/** A small two-stage config on the debug preset; `over` patches the raw tree. */
export function tinyConfig(dataDir: string, over: Record<string, unknown> = {}, sets: string[] = []): TrainConfig {
  const tree: Record<string, unknown> = {
    name: "tiny",
    seed: 1,
    model: { preset: "debug" },
    data: {
      dir: dataDir,
      stages: [
        { name: "one", tokens: 256 * 12, mixture: { prose: 0.8, math: 0.2 } },
        { name: "two", tokens: 256 * 8, mixture: { prose: 0.4, math: 0.6 } },
      ],
    },
    optimizer: { lr: 0.01, weight_decay: 0.01 },
    schedule: { kind: "wsd", warmup: 2, decay_fraction: 0.25, shape: "1-sqrt" },
    batch: { seq_len: 32, micro_batch: 4, tokens_per_step: 256 },
    eval: { every: 10, tokens: 256 },
    checkpoint: { every: 5, keep_last: 2 },
    log: { every: 1 },
    ...over,
  };
  return resolveTrainConfig(tree, { sets });
}

/** Write a CLI training config (JSON) for `smol train` tests: two stages on the fixture shards. */
export function writeRunConfig(data: string, name: string, extra: Record<string, unknown> = {}, stageSteps: [number, number] = [10, 10]): string {
  const cfg = {
    name, seed: 3, model: { preset: "debug" }, threads: 2,
    data: { dir: data, stages: [{ tokens: 256 * stageSteps[0], mixture: { prose: 0.7, math: 0.3 } }, { tokens: 256 * stageSteps[1], mixture: { prose: 0.3, math: 0.7 } }] },
    optimizer: { lr: 0.01 },
    schedule: { kind: "wsd", warmup: 2, decay_fraction: 0.2 },
    batch: { seq_len: 32, micro_batch: 4, tokens_per_step: 256 },
    eval: { every: 0, tokens: 256 },
    checkpoint: { every: 3, keep_last: 2 },
    log: { every: 1 },
    ...extra,
  };
  const file = path.join(path.dirname(data), `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(cfg));
  return file;
}
