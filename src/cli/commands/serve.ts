// `smol serve`: a local model behind an OpenAI-compatible HTTP API (serve/openai.ts), for LLM-judge
// annotation (`smol curate annotate`) and any OpenAI client. Runs until Ctrl-C / SIGTERM.
import { defaultBackend } from "../../backend/index.js";
import { startServer } from "../../serve/openai.js";
import { numberOpt, parseCommandArgs, requireOpt, type Command } from "../command.js";

const NAME = "serve";

const help = `smol serve — serve a local model over an OpenAI-compatible HTTP API

Usage: smol serve --model DIR [--host 127.0.0.1] [--port 8000] [--name ID]

Endpoints: GET /v1/models and POST /v1/chat/completions (non-streaming: messages, max_tokens,
temperature, top_p, seed). The model's chat template renders the messages (ChatML when the folder has
none); prompts longer than the context are cut from the left. One request is answered at a time.

Options:
  --model DIR          a Hugging Face model folder (SmolLab run checkpoint or a SmolLM2 download)
  --host H             address to bind (default 127.0.0.1: only this machine can connect)
  --port N             port (default 8000; 0 picks a free one, printed at start)
  --name ID            model id to report (default: the folder name)
  --max-tokens-cap N   most new tokens one request may ask for (default 1024)

Example:
  smol serve --model runs/demo/run/step-550 --port 8000 &
  smol curate annotate --input data/corpora/web.jsonl.gz --sample 50 \\
    --endpoint http://127.0.0.1:8000/v1 --model step-550 --out ann.jsonl`;

const OPTIONS = { model: { type: "string" }, host: { type: "string" }, port: { type: "string" }, name: { type: "string" }, "max-tokens-cap": { type: "string" } } as const;

export const command: Command = {
  name: NAME,
  summary: "serve a local model over an OpenAI-compatible HTTP API (chat completions)",
  help,
  async run(argv) {
    const { values } = parseCommandArgs(NAME, argv, OPTIONS);
    const modelDir = requireOpt(NAME, "model", values.model);
    const port = numberOpt(NAME, "port", values.port, { int: true, min: 0, max: 65535 }) ?? 8000;
    const cap = numberOpt(NAME, "max-tokens-cap", values["max-tokens-cap"], { int: true, min: 1 }) ?? 1024;
    const choice = defaultBackend();
    if (choice.fallbackReason) process.stderr.write(`smol: warning: ${choice.fallbackReason}\n`);
    const server = await startServer(choice.backend, { modelDir, host: (values.host as string) ?? "127.0.0.1", port, name: values.name as string | undefined, maxTokensCap: cap });
    console.log(`serving ${server.name} on ${server.url} (POST /chat/completions, GET /models); Ctrl-C stops`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await server.close();
    return 0;
  },
};
