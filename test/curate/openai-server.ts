// Test helpers around the real OpenAI-compatible server (src/serve/server.ts, `smol serve`): start
// it on a tiny SmolLab model at 127.0.0.1 (random port), give a model a chat template, and a
// pass-through proxy that answers the first N chat requests with 503 so that retries with backoff
// are exercised against the real server.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { defaultBackend } from "../../src/backend/index.js";
import { createServer } from "../../src/serve/server.js";

/** Copy the ChatML template of the post-training examples into a model directory. */
export function withChatTemplate(modelDir: string): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
  const src = [path.join(root, "examples", "post-training", "chatml.jinja"), path.join(root, "..", "examples", "post-training", "chatml.jinja")].find((f) => fs.existsSync(f))!;
  fs.copyFileSync(src, path.join(modelDir, "chat_template.jinja"));
  return modelDir;
}

export interface RunningServer {
  url: string;
  /** Chat-completion requests answered with 200 so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startTinyServer(modelDir: string): Promise<RunningServer> {
  const srv = await createServer({ modelDir: withChatTemplate(modelDir), backend: defaultBackend().backend, name: "tiny" });
  let answered = 0;
  srv.server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method === "POST" && req.url?.endsWith("/chat/completions")) res.on("finish", () => res.statusCode === 200 && answered++);
  });
  await new Promise<void>((r) => srv.server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(srv.server.address() as AddressInfo).port}/v1`,
    get requests() {
      return answered;
    },
    close: () => srv.close(),
  };
}

export interface FaultyProxy {
  url: string;
  /** Requests received, including those answered with 503. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function faultyProxy(target: string, failFirst: number): Promise<FaultyProxy> {
  const t = new URL(target);
  let left = failFirst;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (left > 0) {
      left--;
      req.resume();
      res.writeHead(503, { "content-type": "application/json" });
      res.end('{"error":{"message":"busy"}}');
      return;
    }
    const fwd = http.request({ host: t.hostname, port: t.port, path: t.pathname.replace(/\/v1$/, "") + (req.url ?? "").replace(/^\/v1/, "/v1"), method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
