// `smol init`: a freshly initialised model from a preset, saved as a Hugging Face directory.
import * as fs from "node:fs";
import { UsageError } from "../../errors.js";
import { loadTokenizer } from "../../tokenizer/tokenizer.js";
import { saveModel } from "../../models/hf.js";
import { LlamaModel } from "../../models/llama.js";
import { parameterCount } from "../../models/config.js";
import { findPreset } from "../../models/presets.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";
import { human } from "../output.js";

export const command: Command = {
  name: "init",
  summary: "create a freshly initialised model directory from a preset",
  help: `Usage: smol init --preset NAME --out DIR [--seed S] [--tokenizer DIR] [--dtype float32|bfloat16] [--force]

Writes a Hugging Face model directory (config.json, model.safetensors, generation_config.json)
with weights drawn from Normal(0, init_std) and norms set to 1, as transformers initialises them.

Options:
  --preset NAME     a preset from \`smol models\` (required)
  --out DIR         output directory (required; must not exist unless --force)
  --seed S          random seed (default 0)
  --tokenizer DIR   copy this tokenizer into the model and size the vocabulary to it
  --dtype D         storage dtype: float32 (default) or bfloat16
  --force           replace an existing DIR

Example:
  smol init --preset research-2m --tokenizer runs/demo/tokenizer --out models/r2m`,
  async run(argv) {
    const { values } = parseCommandArgs("init", argv, {
      preset: { type: "string" }, out: { type: "string" }, seed: { type: "string" },
      tokenizer: { type: "string" }, dtype: { type: "string" }, force: { type: "boolean" },
    });
    const preset = findPreset(requireOpt("init", "preset", values.preset));
    const out = requireOpt("init", "out", values.out);
    const seed = numberOpt("init", "seed", values.seed, { int: true, min: 0 }) ?? 0;
    const dtype = (values.dtype as string | undefined) ?? "float32";
    if (dtype !== "float32" && dtype !== "bfloat16") throw new UsageError(`init: --dtype must be float32 or bfloat16, got "${dtype}"`);
    if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !values.force) {
      throw new UsageError(`init: ${out} already exists and is not empty`, "choose another --out or pass --force to replace it");
    }
    const config = preset.config;
    const tokDir = values.tokenizer as string | undefined;
    if (tokDir) {
      const tok = await loadTokenizer(tokDir);
      config.vocab = tok.vocabSize;
      if (tok.bosId !== undefined) config.bosTokenId = tok.bosId;
      if (tok.eosId !== undefined) config.eosTokenId = tok.eosId;
    }
    const model = new LlamaModel(cliBackend(), config, { withGrad: false });
    model.initialize(seed);
    saveModel(model, out, { dtype, tokenizerDir: tokDir });
    console.log(`wrote ${out}: ${preset.name}, ${human(parameterCount(config))} parameters, vocab ${config.vocab}, ${dtype}`);
    return 0;
  },
};
