// `smol eval --tasks ifeval`: IFEval scores (prompt- and instruction-level, strict and loose) of
// given responses (--responses FILE: the reference's {"prompt", "response"} lines; no model needed)
// or of a chat model's own greedy responses (--model DIR, rendered with its chat template), with
// the reference's per-prompt files under --details DIR.
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../errors.js";
import { loadTokenizer } from "../../tokenizer/tokenizer.js";
import { bundledEvalDir } from "../../eval/data.js";
import { readIfevalPrompts, readResponses, scoreAll, writeDetails } from "../../eval/ifeval/ifeval.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { ChatTemplate } from "../../models/chat.js";
import { generate } from "../../models/generate.js";
import { loadModel } from "../../models/hf.js";
import { cliBackend } from "../backend.js";
import { numberOpt, weightsOpt } from "../command.js";
import type { WeightChoice } from "../../models/packed.js";
import { Progress, table } from "../output.js";

export async function runIfevalCli(values: Record<string, unknown>): Promise<number> {
  if (values.tasks !== "ifeval") throw new UsageError("eval: --responses scores IFEval only; use --tasks ifeval", "run other tasks in a separate `smol eval`");
  const dataDir = (values["data-dir"] as string | undefined) ?? bundledEvalDir();
  const inputFile = path.join(dataDir, "ifeval", "input_data.jsonl");
  if (!fs.existsSync(inputFile)) throw new UsageError(`eval: no IFEval prompts at ${inputFile}`, "omit --data-dir to use the bundled data");
  let prompts = readIfevalPrompts(inputFile);
  const limit = numberOpt("eval", "limit", values.limit, { int: true, min: 1 });
  let responses: Map<string, string>;
  if (values.responses !== undefined) {
    responses = readResponses(values.responses as string);
  } else {
    if (values.model === undefined) throw new UsageError("eval: IFEval needs --responses FILE, or --model DIR to generate the responses");
    if (limit) prompts = prompts.slice(0, limit);
    responses = await generateResponses(values.model as string, prompts.map((p) => p.prompt), numberOpt("eval", "max-new-tokens", values["max-new-tokens"], { int: true, min: 1 }) ?? 1280, weightsOpt("eval", values.weights));
  }
  const r = scoreAll(prompts, responses);
  if (r.missing.length) process.stderr.write(`eval: ${r.missing.length} IFEval prompt(s) have no response and are left out (as the reference does): key ${r.missing.slice(0, 5).join(", ")}\n`);
  const s = r.scores;
  console.log(table(["task", "metric", "value", "n"], [
    ["ifeval", "prompt_level_strict_acc", s.prompt_level_strict_acc.toFixed(4), String(s.prompts)],
    ["ifeval", "inst_level_strict_acc", s.inst_level_strict_acc.toFixed(4), String(s.instructions)],
    ["ifeval", "prompt_level_loose_acc", s.prompt_level_loose_acc.toFixed(4), String(s.prompts)],
    ["ifeval", "inst_level_loose_acc", s.inst_level_loose_acc.toFixed(4), String(s.instructions)],
  ]));
  if (values.details !== undefined) {
    writeDetails(values.details as string, r.strict, r.loose);
    console.log(`wrote ${path.join(values.details as string, "eval_results_strict.jsonl")} and eval_results_loose.jsonl`);
  }
  const json = values.json as string | undefined;
  if (json !== undefined && json !== "-") writeFileAtomic(json, JSON.stringify({ task: "ifeval", scores: s }, null, 2) + "\n");
  if (json === "-") console.log(JSON.stringify({ task: "ifeval", scores: s }));
  return 0;
}

/** Greedy responses of a chat model to each prompt (one user turn, the model's own template). */
async function generateResponses(dir: string, prompts: string[], maxNew: number, weights?: WeightChoice): Promise<Map<string, string>> {
  const tpl = ChatTemplate.fromDir(dir);
  const tok = await loadTokenizer(dir);
  const model = loadModel(dir, cliBackend(), { withGrad: false, weights });
  const stopIds = [tok.eosId, tok.tokenToId("<|im_end|>")].filter((x): x is number => x !== undefined);
  const out = new Map<string, string>();
  const progress = new Progress();
  try {
    prompts.forEach((p, i) => {
      const ids = tok.encode(tpl.render([{ role: "user", content: p }], true));
      const room = model.config.maxSeq - ids.length;
      const res = room > 0 ? generate(model, ids, { maxNewTokens: Math.min(maxNew, room), temperature: 0, topK: 0, topP: 1, seed: 0, stopIds }) : { ids: [] };
      out.set(p, tok.decode(res.ids.filter((t) => !stopIds.includes(t)), true));
      progress.update(`ifeval: ${i + 1}/${prompts.length}`, i + 1 === prompts.length);
    });
  } finally {
    progress.done();
    model.dispose();
  }
  return out;
}
