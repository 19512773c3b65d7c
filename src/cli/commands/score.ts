// `smol score`: per-token log-probabilities and mean loss of token sequences or text.
import * as fs from "node:fs";
import { DataError, UsageError } from "../../errors.js";
import { loadTokenizer } from "../../tokenizer/tokenizer.js";
import { scoreSequences } from "../../eval/score.js";
import { loadModel } from "../../models/hf.js";
import { cliBackend } from "../backend.js";
import { parseCommandArgs, requireOpt, weightsOpt, type Command } from "../command.js";
import { table } from "../output.js";

/** Read {"input_ids": [[...], ...]} strictly, naming the file and the bad entry. */
export function readTokenFile(file: string): number[][] {
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(`${file}: ${code === "ENOENT" ? "no such file" : `not valid JSON (${(e as Error).message})`}`, 'expected JSON like {"input_ids": [[1, 2, 3], [4, 5]]}');
  }
  const ids = (obj as { input_ids?: unknown })?.input_ids;
  if (!Array.isArray(ids) || ids.length === 0) throw new DataError(`${file}: "input_ids" must be a non-empty array of token-id arrays`, 'expected JSON like {"input_ids": [[1, 2, 3]]}');
  return ids.map((row, b) => {
    if (!Array.isArray(row)) throw new DataError(`${file}: input_ids[${b}] must be an array of integers`);
    return row.map((x, t) => {
      if (!Number.isInteger(x) || x < 0) throw new DataError(`${file}: input_ids[${b}][${t}] must be a non-negative integer, got ${JSON.stringify(x)}`);
      return x as number;
    });
  });
}

export const command: Command = {
  name: "score",
  summary: "log-probabilities and loss of token sequences or text under a model",
  help: `Usage: smol score --model DIR (--tokens FILE | --text "…") [--json] [--weights W]

For every position t, logprobs[b][t] = log p(ids[b][t+1] | ids[b][0..t]); loss is the mean of
their negatives over all positions of all sequences.

Options:
  --model DIR     a Hugging Face model directory or a run checkpoint (required)
  --tokens FILE   JSON {"input_ids": [[…], …]}
  --text "…"      score text through the model's tokenizer instead
  --json          print {"logprobs": [[…], …], "loss": x}
  --weights W     auto (default: a GGUF file's own Q8_0/BF16 values), fp32, bf16 or q8_0 (the
                  weights rounded to that type first)

Example:
  smol score --model models/r2m --text "The cat sat on the mat." --json`,
  async run(argv) {
    const { values } = parseCommandArgs("score", argv, { model: { type: "string" }, tokens: { type: "string" }, text: { type: "string" }, json: { type: "boolean" }, weights: { type: "string" } });
    const dir = requireOpt("score", "model", values.model);
    if ((values.tokens === undefined) === (values.text === undefined)) throw new UsageError("score: give exactly one of --tokens FILE or --text");
    let seqs: number[][];
    if (values.tokens !== undefined) seqs = readTokenFile(values.tokens as string);
    else seqs = [(await loadTokenizer(dir)).encode(values.text as string)];
    const model = loadModel(dir, cliBackend(), { withGrad: false, weights: weightsOpt("score", values.weights) });
    const res = scoreSequences(model, seqs);
    if (values.json) {
      console.log(JSON.stringify(res));
      return 0;
    }
    console.log(table(["sequence", "tokens", "loss", "perplexity"], res.logprobs.map((lp, b) => {
      const l = -lp.reduce((a, c) => a + c, 0) / lp.length;
      return [String(b), lp.length + 1, l, Math.exp(l)];
    })));
    console.log(`\nmean loss ${res.loss.toFixed(4)} nats/token, perplexity ${Math.exp(res.loss).toFixed(2)}`);
    return 0;
  },
};
