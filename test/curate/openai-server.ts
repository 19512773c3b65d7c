// A real OpenAI-compatible HTTP server for tests (127.0.0.1, random port): GET /v1/models and
// non-streaming POST /v1/chat/completions, answering with a real SmolLab model through
// models/generate.ts (chat template rendered, prompt tokens truncated to the context from the
// left). `failFirst` answers the first requests with 503 so retries are exercised.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { defaultBackend } from "../../src/backend/index.js";
import { loadTokenizer } from "../../src/data/tokenizer.js";
import { renderChat, type ChatMessage } from "../../src/models/chat.js";
import { generate } from "../../src/models/generate.js";
import { loadModel } from "../../src/models/hf.js";

export interface TestServer {
  url: string;
  /** Chat-completion requests received (including those answered with 503). */
  requests: number;
  close(): Promise<void>;
}

export async function startOpenAiServer(modelDir: string, opts: { failFirst?: number; name?: string } = {}): Promise<TestServer> {
  const be = defaultBackend().backend;
  const model = loadModel(modelDir, be, { withGrad: false });
  const tok = await loadTokenizer(modelDir);
  const name = opts.name ?? "tiny";
  let failLeft = opts.failFirst ?? 0;
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const send = (code: number, obj: unknown) => {
        res.writeHead(code, { "content-type": "application/json" });
        res.end(JSON.stringify(obj));
      };
      if (req.method === "GET" && req.url === "/v1/models") return send(200, { object: "list", data: [{ id: name, object: "model", owned_by: "smollab" }] });
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") return send(404, { error: { message: "not found" } });
      state.requests++;
      if (failLeft > 0) {
        failLeft--;
        return send(503, { error: { message: "busy" } });
      }
      let q: { model?: string; messages?: ChatMessage[]; max_tokens?: number; temperature?: number };
      try {
        q = JSON.parse(body);
      } catch {
        return send(400, { error: { message: "body is not JSON" } });
      }
      if (!Array.isArray(q.messages)) return send(400, { error: { message: "messages must be a list" } });
      const maxNew = Math.min(q.max_tokens ?? 16, 32);
      let ids = tok.encode(renderChat(q.messages));
      ids = ids.slice(Math.max(0, ids.length - (model.config.maxSeq - maxNew - 1)));
      const out = generate(model, ids, { maxNewTokens: maxNew, temperature: q.temperature ?? 0, topK: 0, topP: 1, seed: 1, stopIds: tok.eosId !== undefined ? [tok.eosId] : [] });
      const text = tok.decode(out.ids, true);
      send(200, {
        id: `chatcmpl-${state.requests}`, object: "chat.completion", created: 0, model: q.model ?? name,
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: out.stoppedBy === "stop" ? "stop" : "length" }],
        usage: { prompt_tokens: ids.length, completion_tokens: out.ids.length, total_tokens: ids.length + out.ids.length },
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        model.dispose();
      }),
  };
}
