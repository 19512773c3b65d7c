// `smol generate`: KV-cached sampling from a model, streaming text as tokens arrive.
import { UsageError } from "../../errors.js";
import { loadTokenizer } from "../../tokenizer/tokenizer.js";
import { renderChat } from "../../models/chat.js";
import { generate } from "../../models/generate.js";
import { loadModel } from "../../models/hf.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, requireOpt, weightsOpt, type Command } from "../command.js";

export const command: Command = {
  name: "generate",
  summary: "generate text from a prompt with KV-cached decoding",
  help: `Usage: smol generate --model DIR --prompt "…" [options]

Streams the continuation as it is produced, then prints tokens/s on stderr.

Options:
  --model DIR            model directory with a tokenizer (required)
  --prompt "…"           the prompt text (required)
  --max-new-tokens N     tokens to generate (default 64)
  --temperature T        0 = greedy (default 0.8)
  --top-k K              sample from the K most likely tokens (default 0 = off)
  --top-p P              nucleus sampling threshold (default 1 = off)
  --seed S               sampling seed (default 0)
  --chat                 wrap the prompt with the model's chat template (an error if it has none)
  --json                 print {"text", "ids", "tokens_per_s"} instead of streaming
  --weights W            what decoding multiplies: auto (default: a GGUF file's own Q8_0 codes or
                         BF16 bits, else fp32), fp32, bf16 (half the bytes to read per token) or
                         q8_0 (0.28 of them). bf16/q8_0 first round the weights to that type; the
                         tokens are those of the fp32 model with the rounded weights

Example:
  smol generate --model runs/demo/final --prompt "Once upon a time" --max-new-tokens 40`,
  async run(argv) {
    const { values } = parseCommandArgs("generate", argv, {
      model: { type: "string" }, prompt: { type: "string" }, "max-new-tokens": { type: "string" },
      temperature: { type: "string" }, "top-k": { type: "string" }, "top-p": { type: "string" },
      seed: { type: "string" }, chat: { type: "boolean" }, json: { type: "boolean" }, weights: { type: "string" },
    });
    const weights = weightsOpt("generate", values.weights);
    const dir = requireOpt("generate", "model", values.model);
    const promptText = values.prompt as string | undefined;
    if (promptText === undefined) throw new UsageError("generate: missing --prompt", 'e.g. --prompt "Once upon a time"');
    const opts = {
      maxNewTokens: numberOpt("generate", "max-new-tokens", values["max-new-tokens"], { int: true, min: 1 }) ?? 64,
      temperature: numberOpt("generate", "temperature", values.temperature, { min: 0 }) ?? 0.8,
      topK: numberOpt("generate", "top-k", values["top-k"], { int: true, min: 0 }) ?? 0,
      topP: numberOpt("generate", "top-p", values["top-p"], { min: 0, max: 1 }) ?? 1,
      seed: numberOpt("generate", "seed", values.seed, { int: true, min: 0 }) ?? 0,
    };
    const tok = await loadTokenizer(dir);
    const model = loadModel(dir, cliBackend(), { withGrad: false, weights });
    const text = values.chat ? renderChat([{ role: "user", content: promptText }], dir) : promptText;
    const prompt = tok.encode(text);
    if (prompt.length === 0) throw new UsageError("generate: the prompt encodes to no tokens");
    const stopIds = [tok.eosId, tok.tokenToId("<|im_end|>")].filter((x): x is number => x !== undefined);
    const gen: number[] = [];
    let shown = "";
    const res = generate(model, prompt, {
      ...opts, stopIds,
      onToken: (id) => {
        if (values.json) return;
        // The prompt is echoed with the first token, once the model has produced finite logits.
        if (gen.length === 0 && !values.chat) process.stdout.write(promptText);
        gen.push(id);
        const full = tok.decode(gen, true);
        // Hold back an incomplete UTF-8 sequence (shown as U+FFFD) until its next byte arrives.
        if (full.endsWith("\uFFFD")) return;
        process.stdout.write(full.slice(shown.length));
        shown = full;
      },
    });
    const tps = res.ids.length / Math.max(res.decodeSeconds, 1e-9);
    if (values.json) {
      console.log(JSON.stringify({ text: tok.decode(res.ids, true), ids: res.ids, prompt_tokens: prompt.length, tokens_per_s: tps }));
    } else {
      process.stdout.write("\n");
      process.stderr.write(`[${res.ids.length} tokens in ${res.decodeSeconds.toFixed(2)}s: ${tps.toFixed(1)} tokens/s; prompt ${prompt.length} tokens in ${res.prefillSeconds.toFixed(2)}s; stopped by ${res.stoppedBy}]\n`);
    }
    return 0;
  },
};
