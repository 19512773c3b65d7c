// `smol serve`: an OpenAI-compatible HTTP server over one model (serve/server.ts), bound to
// 127.0.0.1 unless --host says otherwise; stops cleanly on Ctrl-C/SIGTERM.
import { UsageError } from "../../errors.js";
import { createServer } from "../../serve/server.js";
import { cliBackend } from "../backend.js";
import { numberOpt, parseCommandArgs, requireOpt, weightsOpt, type Command } from "../command.js";

export const command: Command = {
  name: "serve",
  summary: "serve a model over an OpenAI-compatible HTTP API (completions, chat, streaming)",
  help: `Usage: smol serve --model DIR [--port 8000] [--host 127.0.0.1] [options]

Serves one model with the OpenAI API, so the official clients and OpenAI-style tools work with it:
  GET  /v1/models
  POST /v1/completions         {"model", "prompt", "max_tokens", "temperature", "top_p", "stop", "seed", "stream"}
  POST /v1/chat/completions    {"model", "messages", …} rendered with the model's chat template
"stream": true answers with server-sent events ending in "data: [DONE]". Concurrent requests are
decoded together (continuous batching: up to --max-batch sequences per step, the rest queued); a
client that disconnects is dropped without disturbing the others. Bad requests (malformed JSON,
unknown fields, out-of-range values, max_tokens beyond the context) get a 400 with
{"error": {"message", "type", "param", "code"}}. "model" must be the served id (--name).

Listens on 127.0.0.1 (this machine only) unless --host is given; --host 0.0.0.0 exposes the server
to the network, without authentication.

Options:
  --model DIR            model directory with a tokenizer (required; chat needs a chat template)
  --port N               TCP port (default 8000; 0 = any free port, printed)
  --host ADDR            address to bind (default 127.0.0.1)
  --name ID              the model id clients use (default: the directory's name)
  --max-batch N          sequences decoded together (default 16)
  --weights W            what decoding multiplies: auto (default: a GGUF file's own Q8_0 codes or
                         BF16 bits, else fp32), fp32, bf16 or q8_0 (see smol generate --help)

Example:
  smol serve --model runs/dpo/step-40 --port 8000
  curl -s localhost:8000/v1/chat/completions -d '{"model": "step-40", "messages": [{"role": "user", "content": "Hi"}]}'`,
  async run(argv) {
    const { values } = parseCommandArgs("serve", argv, {
      model: { type: "string" }, port: { type: "string" }, host: { type: "string" }, name: { type: "string" }, "max-batch": { type: "string" },
      weights: { type: "string" },
    });
    const weights = weightsOpt("serve", values.weights);
    const modelDir = requireOpt("serve", "model", values.model);
    const port = numberOpt("serve", "port", values.port, { int: true, min: 0, max: 65535 }) ?? 8000;
    const host = (values.host as string | undefined) ?? "127.0.0.1";
    if (!host) throw new UsageError("serve: --host must not be empty");
    const maxBatch = numberOpt("serve", "max-batch", values["max-batch"], { int: true, min: 1, max: 256 }) ?? 16;
    const srv = await createServer({ modelDir, backend: cliBackend(), name: values.name as string | undefined, maxBatch, weights, onLog: (l) => process.stderr.write(l + "\n") });
    await new Promise<void>((resolve, reject) => {
      srv.server.once("error", (e: NodeJS.ErrnoException) => reject(new UsageError(`serve: cannot listen on ${host}:${port} (${e.code ?? e.message})`, e.code === "EADDRINUSE" ? "pick another --port" : undefined)));
      srv.server.listen(port, host, () => resolve());
    });
    const addr = srv.server.address();
    const actual = typeof addr === "object" && addr ? addr.port : port;
    console.log(`serving ${srv.modelId} on http://${host.includes(":") ? `[${host}]` : host}:${actual}/v1 (Ctrl-C to stop)`);
    if (host !== "127.0.0.1" && host !== "localhost" && host !== "::1") process.stderr.write(`smol serve: warning: listening on ${host}, reachable from other machines, without authentication\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void srv.close().then(resolve);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    return 0;
  },
};
