// `smol serve`'s HTTP server (node:http): the OpenAI API subset — GET /v1/models,
// POST /v1/completions and POST /v1/chat/completions, plain or streamed (SSE) — over one model and
// the continuous-batching scheduler. Bad requests are 400s with OpenAI's error shape; a client that
// disconnects has its sequence dropped at the next step. The caller chooses where it listens
// (the CLI binds 127.0.0.1 unless told otherwise).
import * as http from "node:http";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import type { Backend, FloatBuf } from "../backend/backend.js";
import { loadTokenizer } from "../tokenizer/tokenizer.js";
import { ChatTemplate, readChatTemplate, type ChatMessage } from "../models/chat.js";
import { loadModel } from "../models/hf.js";
import type { WeightChoice } from "../models/packed.js";
import type { LlamaModel } from "../models/llama.js";
import { CHAT_REQUEST, COMPLETION_REQUEST, HttpError, parseBody } from "./protocol.js";
import { decodesConcatenatively, IncrementalText } from "./detokenize.js";
import { Scheduler } from "./scheduler.js";

export interface ServeOptions {
  modelDir: string;
  backend: Backend<FloatBuf>;
  /** The id clients name in "model" (default: the directory's name). */
  name?: string;
  /** Sequences decoded together (default 16). */
  maxBatch?: number;
  /** Weights decoding multiplies (models/hf.ts LoadOptions.weights; default "auto"). */
  weights?: WeightChoice;
  /** Largest request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  onLog?: (line: string) => void;
}

export interface SmolServer {
  server: http.Server;
  scheduler: Scheduler;
  modelId: string;
  close(): Promise<void>;
}

interface Job {
  prompt: number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  stop: string[];
}

export async function createServer(opts: ServeOptions): Promise<SmolServer> {
  const tok = await loadTokenizer(opts.modelDir);
  const model = loadModel(opts.modelDir, opts.backend, { withGrad: false, weights: opts.weights });
  const found = readChatTemplate(opts.modelDir);
  const template = found ? new ChatTemplate(found.template, found.bosToken ?? "", found.eosToken ?? "", found.file) : undefined;
  const modelId = opts.name ?? path.basename(path.resolve(opts.modelDir));
  const scheduler = new Scheduler(model, opts.maxBatch ?? 16);
  const created = Math.floor(Date.now() / 1000);
  const stopIds = [tok.eosId, tok.tokenToId("<|im_end|>")].filter((x): x is number => x !== undefined);
  const log = opts.onLog ?? (() => {});
  const incremental = decodesConcatenatively(tok);

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      const e = err instanceof HttpError ? err : new HttpError(500, `internal error: ${(err as Error).message}`);
      if (!(err instanceof HttpError)) log(`error: ${(err as Error).stack ?? err}`);
      if (!res.headersSent) sendJson(res, e.status, e.body());
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? "/").split("?")[0].replace(/\/+$/, "");
    if (url === "/v1/models" || url === "/v1/models/" + modelId) {
      if (req.method !== "GET") throw new HttpError(405, `${req.method} is not allowed on ${url}; use GET`);
      const card = { id: modelId, object: "model", created, owned_by: "smollab" };
      return sendJson(res, 200, url === "/v1/models" ? { object: "list", data: [card] } : card);
    }
    if (url !== "/v1/completions" && url !== "/v1/chat/completions") throw new HttpError(404, `no route ${req.method} ${url} (routes: GET /v1/models, POST /v1/completions, POST /v1/chat/completions)`, null, "not_found");
    if (req.method !== "POST") throw new HttpError(405, `${req.method} is not allowed on ${url}; use POST`);
    const body = await readJson(req, opts.maxBodyBytes ?? 1 << 20);
    const chat = url === "/v1/chat/completions";
    const r = chat ? parseBody(CHAT_REQUEST, body) : parseBody(COMPLETION_REQUEST, body);
    if (r.model !== modelId) throw new HttpError(404, `the model "${r.model}" does not exist; this server serves "${modelId}"`, "model", "model_not_found");
    let text: string;
    if (chat) {
      if (!template) throw new HttpError(400, `${modelId} has no chat template; use /v1/completions, or serve a chat model (smol sft writes one)`, "messages", "no_chat_template");
      const messages: ChatMessage[] = (r as { messages: Array<{ role: ChatMessage["role"]; content: string | Array<{ text: string }> }> }).messages.map((m) => ({ role: m.role, content: typeof m.content === "string" ? m.content : m.content.map((p) => p.text).join("") }));
      text = template.render(messages, true);
    } else {
      const p = (r as { prompt: string | string[] }).prompt;
      text = Array.isArray(p) ? p[0] : p;
    }
    const prompt = tok.encode(text);
    if (!prompt.length) throw new HttpError(400, "the prompt encodes to no tokens", chat ? "messages" : "prompt");
    const ctx = model.config.maxSeq;
    const room = ctx - prompt.length;
    if (room < 1) throw new HttpError(400, `the prompt has ${prompt.length} tokens; the model's context is ${ctx}`, chat ? "messages" : "prompt", "context_length_exceeded");
    const asked = (chat ? ((r as { max_completion_tokens?: number | null }).max_completion_tokens ?? r.max_tokens) : r.max_tokens) ?? undefined;
    if (asked !== undefined && asked > room) {
      throw new HttpError(400, `max_tokens ${asked} plus the prompt's ${prompt.length} tokens exceeds the model's context of ${ctx} tokens (at most ${room})`, "max_tokens", "context_length_exceeded");
    }
    const job: Job = {
      prompt, maxTokens: asked ?? (chat ? room : Math.min(16, room)), temperature: r.temperature ?? 1, topP: r.top_p ?? 1,
      seed: r.seed ?? randomBytes(4).readUInt32LE(0), stop: r.stop === undefined || r.stop === null ? [] : Array.isArray(r.stop) ? r.stop : [r.stop],
    };
    const id = `${chat ? "chatcmpl" : "cmpl"}-${randomBytes(12).toString("hex")}`;
    await run(job, chat, id, r.stream === true, r.stream_options?.include_usage === true, req, res);
  }

  function run(job: Job, chat: boolean, id: string, stream: boolean, includeUsage: boolean, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      const decoded = new IncrementalText(tok, incremental);
      let produced = 0;
      let shown = 0; // characters of the final text already sent
      let final: string | undefined;
      const holdBack = Math.max(0, ...job.stop.map((s) => s.length - 1));
      const object = chat ? "chat.completion.chunk" : "text_completion";
      const chunk = (delta: string, finish: string | null) => {
        const choice = chat ? { index: 0, delta: finish ? {} : { content: delta }, logprobs: null, finish_reason: finish } : { index: 0, text: delta, logprobs: null, finish_reason: finish };
        return { id, object, created: Math.floor(Date.now() / 1000), model: modelId, choices: [choice] };
      };
      const send = (obj: object) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
      /** The visible text so far, cut at a stop string (returns whether one was found). */
      const current = (): { text: string; stopped: boolean } => {
        const full = decoded.text();
        let cut = -1;
        for (const s of job.stop) {
          const at = s ? full.indexOf(s) : -1;
          if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        return cut >= 0 ? { text: full.slice(0, cut), stopped: true } : { text: full, stopped: false };
      };
      const gen = {
        prompt: job.prompt, maxTokens: job.maxTokens, temperature: job.temperature, topK: 0, topP: job.topP, seed: job.seed, stopIds,
        onToken(tid: number) {
          produced++;
          if (!stopIds.includes(tid)) decoded.push(tid);
          const cur = current();
          if (cur.stopped) final = cur.text;
          if (stream) {
            let upto = cur.stopped ? cur.text.length : Math.max(shown, cur.text.length - holdBack);
            // Hold back an incomplete UTF-8 sequence (U+FFFD) until its next byte arrives.
            while (upto > shown && cur.text.charCodeAt(upto - 1) === 0xfffd) upto--;
            if (upto > shown) {
              send(chunk(cur.text.slice(shown, upto), null));
              shown = upto;
            }
          }
          return !cur.stopped;
        },
        onDone(reason: "stop" | "length" | "cancelled", err?: Error) {
          res.off("close", onClose);
          if (reason === "cancelled") {
            if (err && !res.headersSent) sendJson(res, 500, new HttpError(500, `generation failed: ${err.message}`).body());
            else res.end();
            return resolve();
          }
          const text = final ?? current().text;
          const usage = { prompt_tokens: job.prompt.length, completion_tokens: produced, total_tokens: 0 };
          usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
          if (stream) {
            if (text.length > shown) send(chunk(text.slice(shown), null));
            send(chunk("", reason));
            if (includeUsage) send({ id, object, created: Math.floor(Date.now() / 1000), model: modelId, choices: [], usage });
            res.end("data: [DONE]\n\n");
          } else {
            const choice = chat ? { index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: reason } : { index: 0, text, logprobs: null, finish_reason: reason };
            sendJson(res, 200, { id, object: chat ? "chat.completion" : "text_completion", created: Math.floor(Date.now() / 1000), model: modelId, choices: [choice], usage });
          }
          resolve();
        },
      } as Parameters<Scheduler["submit"]>[0];
      const onClose = () => {
        if (!res.writableFinished) gen.cancelled = true;
      };
      // The response closes early when the client goes away: its sequence is dropped at the next step.
      res.on("close", onClose);
      if (stream) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
        if (chat) send({ id, object, created: Math.floor(Date.now() / 1000), model: modelId, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
      }
      scheduler.submit(gen);
    });
  }

  return {
    server, scheduler, modelId,
    close: () => new Promise<void>((resolve) => {
      server.close(() => {
        scheduler.dispose();
        (model as LlamaModel<FloatBuf>).dispose();
        resolve();
      });
      server.closeAllConnections?.();
    }),
  };
}

function sendJson(res: http.ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new HttpError(413, `the request body exceeds ${limit} bytes`);
    parts.push(c as Buffer);
  }
  const text = Buffer.concat(parts).toString("utf8");
  if (!text.trim()) throw new HttpError(400, "the request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON (${(e as Error).message})`, null, "invalid_json");
  }
}

