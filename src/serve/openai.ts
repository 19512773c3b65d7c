// A minimal OpenAI-compatible HTTP server over a local SmolLab model: GET /v1/models and
// non-streaming POST /v1/chat/completions (the model's chat template, or ChatML, renders the
// messages; the prompt is cut from the left to fit the context; generation stops at EOS or
// max_tokens). Requests are answered one at a time. Errors use OpenAI's {"error": {...}} shape.
// Binds 127.0.0.1 unless told otherwise. The post-training work extends this (streaming, batching).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { SmolError } from "../errors.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { renderChat, type ChatMessage } from "../models/chat.js";
import { generate } from "../models/generate.js";
import { loadModel } from "../models/hf.js";
import type { LlamaModel } from "../models/llama.js";

export interface ServeOptions {
  modelDir: string;
  host?: string;
  port?: number;
  /** Model id reported and accepted (default: the folder name). */
  name?: string;
  /** Most new tokens a request may ask for (default 1024). */
  maxTokensCap?: number;
}

export interface RunningServer {
  url: string;
  name: string;
  /** Chat-completion requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

class RequestError extends Error {
  constructor(readonly status: number, message: string, readonly param?: string) {
    super(message);
  }
}

interface ChatRequest {
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

/** Check a chat-completions body; throws RequestError naming the bad field. */
export function parseChatRequest(body: unknown, cap: number): ChatRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new RequestError(400, "the body must be a JSON object");
  const b = body as Record<string, unknown>;
  if (b.stream === true) throw new RequestError(400, "streaming is not supported by this server yet; send stream: false", "stream");
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw new RequestError(400, "messages must be a non-empty list", "messages");
  const messages = b.messages.map((m, i) => {
    const mm = m as Record<string, unknown>;
    if (!mm || typeof mm.role !== "string" || typeof mm.content !== "string") throw new RequestError(400, `messages[${i}] must have a string role and content`, "messages");
    return { role: mm.role, content: mm.content } as ChatMessage;
  });
  const num = (k: string, dflt: number, ok: (v: number) => boolean) => {
    const v = b[k] ?? dflt;
    if (typeof v !== "number" || !ok(v)) throw new RequestError(400, `${k} is out of range: ${JSON.stringify(v)}`, k);
    return v;
  };
  return {
    messages,
    maxTokens: Math.min(cap, num("max_tokens", 256, (v) => Number.isInteger(v) && v >= 1)),
    temperature: num("temperature", 1, (v) => v >= 0 && v <= 2),
    topP: num("top_p", 1, (v) => v > 0 && v <= 1),
    seed: num("seed", 0, (v) => Number.isInteger(v)),
  };
}

/** Generate one chat completion with a loaded model. */
export function chatCompletion<F extends FloatBuf>(model: LlamaModel<F>, tok: Tokenizer, modelDir: string, q: ChatRequest): { text: string; promptTokens: number; completionTokens: number; finish: "stop" | "length" } {
  let ids = tok.encode(renderChat(q.messages, modelDir));
  const room = model.config.maxSeq - Math.min(q.maxTokens, model.config.maxSeq - 1);
  if (ids.length > room) ids = ids.slice(ids.length - room);
  const eos = tok.eosId ?? (Array.isArray(model.config.eosTokenId) ? model.config.eosTokenId[0] : model.config.eosTokenId);
  const out = generate(model, ids, { maxNewTokens: q.maxTokens, temperature: q.temperature, topK: 0, topP: q.topP, seed: q.seed, stopIds: eos !== undefined ? [eos] : [] });
  const gen = out.stoppedBy === "stop" ? out.ids.slice(0, -1) : out.ids;
  return { text: tok.decode(gen, true), promptTokens: ids.length, completionTokens: out.ids.length, finish: out.stoppedBy === "stop" ? "stop" : "length" };
}

/** Load the model folder and listen; resolves once the port is bound. */
export async function startServer<F extends FloatBuf>(be: Backend<F>, o: ServeOptions): Promise<RunningServer> {
  const model = loadModel(o.modelDir, be, { withGrad: false });
  const tok = await loadTokenizer(o.modelDir);
  const name = o.name ?? path.basename(path.resolve(o.modelDir));
  const cap = o.maxTokensCap ?? 1024;
  let requests = 0;
  const server = http.createServer((req, res) => {
    const send = (status: number, obj: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    const fail = (e: RequestError) => send(e.status, { error: { message: e.message, type: e.status === 404 ? "not_found_error" : "invalid_request_error", param: e.param ?? null, code: null } });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
      if (body.length > 16 << 20) req.destroy();
    });
    req.on("end", () => {
      try {
        const url = (req.url ?? "").split("?")[0];
        if (req.method === "GET" && url === "/v1/models") return send(200, { object: "list", data: [{ id: name, object: "model", created: 0, owned_by: "smollab" }] });
        if (req.method !== "POST" || url !== "/v1/chat/completions") throw new RequestError(404, `no route ${req.method} ${url} (this server has GET /v1/models and POST /v1/chat/completions)`);
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          throw new RequestError(400, "the body is not valid JSON");
        }
        const q = parseChatRequest(parsed, cap);
        const r = chatCompletion(model, tok, o.modelDir, q);
        requests++;
        send(200, {
          id: `chatcmpl-${requests}`, object: "chat.completion", created: Math.floor(Date.now() / 1000), model: name,
          choices: [{ index: 0, message: { role: "assistant", content: r.text }, finish_reason: r.finish }],
          usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens },
        });
      } catch (e) {
        if (e instanceof RequestError) fail(e);
        else send(500, { error: { message: (e as Error).message, type: "server_error", param: null, code: null } });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      model.dispose();
      reject(new SmolError(`cannot listen on ${o.host ?? "127.0.0.1"}:${o.port ?? 8000}: ${e.code ?? e.message}`, e.code === "EADDRINUSE" ? "pick another --port (0 picks a free one)" : undefined));
    });
    server.listen(o.port ?? 8000, o.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/v1`,
    name,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          model.dispose();
          resolve();
        });
      }),
  };
}
